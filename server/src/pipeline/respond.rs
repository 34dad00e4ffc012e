//! The last stage for single results: the status code the GraphQL-over-HTTP spec asks for, and
//! the body serialized once.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use quilt_executor::{ErrorKind, ExecutionResult, ExecutorError};

use crate::pipeline::negotiate::JsonKind;

/// A JSON response with `status`. A result whose data is already JSON
/// ([`quilt_executor::ResultData::Json`]) is sent in parts around those bytes, without copying them.
pub fn json_body(status: StatusCode, kind: JsonKind, result: &ExecutionResult) -> Response {
    match result.to_json_parts() {
        Ok(parts) => {
            let mut response = Response::new(parts_body(parts));
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

/// A body of buffers sent one after another, its length known (hyper writes them with one
/// vectored write).
pub(crate) fn parts_body(parts: Vec<Bytes>) -> Body {
    match <[Bytes; 1]>::try_from(parts) {
        Ok([one]) => Body::from(one),
        Err(parts) => Body::new(Parts::new(parts)),
    }
}

/// See [`parts_body`].
struct Parts {
    parts: std::collections::VecDeque<Bytes>,
    remaining: u64,
}

impl Parts {
    fn new(parts: Vec<Bytes>) -> Self {
        Self {
            remaining: parts.iter().map(|p| p.len() as u64).sum(),
            parts: parts.into(),
        }
    }
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.parts.pop_front();
        if let Some(part) = &next {
            self.remaining -= part.len() as u64;
        }
        std::task::Poll::Ready(next.map(|part| Ok(http_body::Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
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
