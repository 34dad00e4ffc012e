//! Trace context propagation without a tracing library in the core: the application installs
//! one [`Propagation`] (two plain functions) at start-up, and Quilt calls it where a trace
//! crosses the process boundary.
//!
//! - A server (`quilt-server`) calls [`adopt_parent`] with a client request's headers and the
//!   request's `tracing` span, so the span continues the client's trace (W3C `traceparent`).
//! - A gateway (`quilt-stitch`) calls [`with_current`] inside the span of each upstream fetch,
//!   which puts the answer of [`current`], a [`TraceContext`], in the upstream request's
//!   [`Context`]; with a [`Propagation::per_request`] propagation it calls [`for_request`] once
//!   when a client request's execution starts instead, and every fetch keeps that context.
//! - The HTTP executor sends it as the `traceparent` and `tracestate` headers (after the
//!   in-flight deduplication key is taken: requests that differ only in their trace still share
//!   one upstream request); the WebSocket executor, whose headers belong to the connection, puts
//!   it in the operation's `extensions.traceparent` (and `extensions.tracestate`).
//!
//! With nothing installed (the default) none of this costs more than one atomic load.
//! `gateway-example` installs an implementation over OpenTelemetry and `tracing-opentelemetry`.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::request::Context;

/// The `traceparent` header (W3C Trace Context).
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// The `tracestate` header (W3C Trace Context).
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The W3C trace context of one upstream call: what goes into its `traceparent` and
/// `tracestate` headers. Kept in the upstream request's [`Context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// `traceparent`: `00-{trace id}-{parent span id}-{flags}`.
    pub traceparent: HeaderValue,
    /// `tracestate`, when there is one.
    pub tracestate: Option<HeaderValue>,
}

impl TraceContext {
    /// Adds the headers to `headers`, replacing any of the same name.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(TRACEPARENT, self.traceparent.clone());
        if let Some(state) = &self.tracestate {
            headers.insert(TRACESTATE, state.clone());
        }
    }
}

/// How traces are carried across the process boundary: installed once with [`install`].
#[derive(Debug, Clone, Copy)]
pub struct Propagation {
    /// The trace context of an upstream call made now, in the current `tracing` span; `None`
    /// when there is no trace to continue. `context` is the upstream request's context (the
    /// client's headers among it).
    pub current: fn(context: &Context) -> Option<TraceContext>,
    /// Makes `span` (a server's span of one client request) continue the trace of the client's
    /// `headers`, when they carry one.
    pub adopt_parent: fn(headers: &HeaderMap, span: &tracing::Span),
    /// Whether every upstream call of one client request carries the same trace context, taken
    /// once when the request's execution starts ([`for_request`]), instead of one taken in
    /// the span of each call ([`with_current`]). True when spans are not recorded: the calls'
    /// parent is then the gateway's (unrecorded) request span, and nothing is computed per call.
    pub per_request: bool,
}

static PROPAGATION: OnceLock<Propagation> = OnceLock::new();

/// Installs the process's trace propagation; `false` if one was installed already (the first
/// one stays).
pub fn install(propagation: Propagation) -> bool {
    PROPAGATION.set(propagation).is_ok()
}

/// Whether a [`Propagation`] is installed.
pub fn is_installed() -> bool {
    PROPAGATION.get().is_some()
}

/// The trace context for an upstream call made now, if a [`Propagation`] is installed and
/// there is a trace.
pub fn current(context: &Context) -> Option<TraceContext> {
    PROPAGATION
        .get()
        .and_then(|propagation| (propagation.current)(context))
}

/// Makes `span` continue the trace of `headers`, if a [`Propagation`] is installed.
pub fn adopt_parent(headers: &HeaderMap, span: &tracing::Span) {
    if let Some(propagation) = PROPAGATION.get() {
        (propagation.adopt_parent)(headers, span);
    }
}

/// Puts the current trace context (if any) in `context`, for an upstream request. With a
/// [`Propagation::per_request`] propagation, a context that already has one (from
/// [`for_request`]) is returned as it is.
pub fn with_current(context: Context) -> Context {
    let Some(propagation) = PROPAGATION.get() else {
        return context;
    };
    if propagation.per_request && context.get::<TraceContext>().is_some() {
        return context;
    }
    match (propagation.current)(&context) {
        Some(trace) => context.insert(trace),
        None => context,
    }
}

/// The context of a client request whose execution starts now: with a
/// [`Propagation::per_request`] propagation, the request's trace context is put in it once,
/// for every upstream call it makes; otherwise it is returned as it is (each call takes its
/// own with [`with_current`]).
pub fn for_request(context: Context) -> Context {
    match PROPAGATION.get() {
        Some(propagation) if propagation.per_request => with_current(context),
        _ => context,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_context_writes_both_headers() {
        let trace = TraceContext {
            traceparent: HeaderValue::from_static(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            tracestate: Some(HeaderValue::from_static("congo=t61rcWkgMzE")),
        };
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_static("old"));
        trace.write_headers(&mut headers);
        assert_eq!(headers[TRACEPARENT], trace.traceparent);
        assert_eq!(headers[TRACESTATE], "congo=t61rcWkgMzE");
        assert_eq!(headers.len(), 2);
    }
}
