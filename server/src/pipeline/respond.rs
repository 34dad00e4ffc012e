//! The last stage for single results: the status code the GraphQL-over-HTTP spec asks for, and
//! the body serialized once.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use quilt_executor::{ErrorKind, ExecutionResult, ExecutorError};

use crate::pipeline::negotiate::JsonKind;

/// A JSON response with `status`.
pub fn json_body(status: StatusCode, kind: JsonKind, result: &ExecutionResult) -> Response {
    match result.to_json() {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(kind.content_type()),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "could not serialize a GraphQL response");
            let mut response = Response::new(Body::from("could not serialize the response"));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

/// A single result. With `application/graphql-response+json` a result without `data` is a
/// request error (it never started executing: parse, validation, coercion, limits) and answers
/// 400; everything else, and every result with `application/json`, answers 200.
pub fn single(kind: JsonKind, result: &ExecutionResult) -> Response {
    let status = if kind == JsonKind::GraphQLResponse && !result.has_data() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_body(status, kind, result)
}

/// An executor failure as a GraphQL error response (`ExecutorError::to_graphql_error`, no
/// `data`). With `application/graphql-response+json` it answers 502 Bad Gateway (504 Gateway
/// Timeout for a timeout): the request was valid but the server behind could not answer. With
/// `application/json` it answers 200, as that media type's rules ask for every well-formed
/// request.
pub fn executor_error(kind: JsonKind, error: &ExecutorError) -> Response {
    let status = match (kind, error.kind()) {
        (JsonKind::Json, _) => StatusCode::OK,
        (JsonKind::GraphQLResponse, ErrorKind::Timeout) => StatusCode::GATEWAY_TIMEOUT,
        (JsonKind::GraphQLResponse, _) => StatusCode::BAD_GATEWAY,
    };
    json_body(
        status,
        kind,
        &ExecutionResult::from_error(error.to_graphql_error()),
    )
}
