//! Stage 0: the request id. Every HTTP request to the GraphQL path gets one (the client's
//! `x-request-id` when it is acceptable, else a new one): it is put back into the request's
//! headers for the stages after this one, and answered in the response's `x-request-id`, so a
//! client can quote it and an operator finds the log lines about it.

use axum::body::Body;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use quilt_executor::RequestId;

/// Gives the request its id and answers it.
pub(crate) async fn request_id(mut request: http::Request<Body>, next: Next) -> Response {
    let id = RequestId::from_headers(request.headers());
    let value = HeaderValue::from_str(id.as_str()).ok();
    if let Some(value) = &value {
        request
            .headers_mut()
            .insert(RequestId::HEADER, value.clone());
    }
    request.extensions_mut().insert(id);
    let mut response = next.run(request).await;
    if let Some(value) = value {
        response.headers_mut().insert(RequestId::HEADER, value);
    }
    response
}
