//! Stage 0: the request id. Every HTTP request to the GraphQL path gets one (the client's
//! `x-request-id` when it is acceptable, else a new one): it travels in the request's
//! extensions to the stages after this one (which put it in the executor's `Context`, not in
//! the client's headers: a header unique to every request would keep batching and
//! deduplication, which compare headers, from ever joining two), and is answered in the
//! response's `x-request-id`, so a client can quote it and an operator finds the log lines
//! about it.
//!
//! The endpoint calls [`assign`] first and [`answer`] last, around everything else. (It was an
//! axum `from_fn` middleware: that boxes the rest of the route and its future for every
//! request, about 1,300 instructions of a deduplicated answer's few tens of thousands.)

use axum::response::Response;
use http::{HeaderName, HeaderValue};
use quilt_executor::RequestId;

/// The response header that carries the id, made once: a name given as text is parsed and
/// validated at every insert (about 500 instructions per request in a profile).
const HEADER: HeaderName = HeaderName::from_static(RequestId::HEADER);

/// Gives `request` its id (in its extensions); the header value to [`answer`] it with.
pub(crate) fn assign<B>(request: &mut http::Request<B>) -> Option<HeaderValue> {
    let id = RequestId::from_headers(request.headers());
    let value = HeaderValue::from_str(id.as_str()).ok();
    request.extensions_mut().insert(id);
    value
}

/// Puts the id [`assign`] gave into `response`'s `x-request-id`.
pub(crate) fn answer(response: &mut Response, value: Option<HeaderValue>) {
    if let Some(value) = value {
        response.headers_mut().insert(HEADER, value);
    }
}
