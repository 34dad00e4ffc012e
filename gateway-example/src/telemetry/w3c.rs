//! W3C trace context propagation without exporting spans (the default).
//!
//! The gateway takes part in its clients' traces without recording them: no OpenTelemetry span
//! data is built (doing so for every span of every request cost 15 to 25 % of a heavy answer's
//! CPU while nothing was exported). Instead:
//!
//! - when the server opens a client request's span (`graphql.request`, or a WebSocket
//!   connection's `graphql.websocket`), [`adopt_parent`] keeps the client's trace — its trace
//!   id, sampled flag and `tracestate` — in that span's extensions, or starts a new trace (a
//!   random trace id, not sampled, as an unsampled gateway span would);
//! - the request's execution takes, once, from [`current`], a `traceparent` with that trace id,
//!   a parent id of the gateway's request (random, the same for all the request's calls) and
//!   the same flags, and the client's `tracestate` unchanged; every subgraph call of the
//!   request carries it ([`quilt_executor::trace::for_request`]). It is made then, not when the
//!   request arrives: a request that calls no subgraph (answered by an identical request's
//!   execution) formats none. Nothing is computed per call:
//!   taking the context per call (a `traceparent` formatted and the request's context copied
//!   for each) cost about 4 % of a heavy answer's instructions.
//!
//! Only those two server spans are enabled by this module's layer, so the gateway's inner spans
//! (execute, plan, fetch) are not created at all when nothing else asks for them.

use http::{HeaderMap, HeaderValue};
use quilt_executor::trace::{Propagation, TRACEPARENT, TRACESTATE, TraceContext};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{DynFilterFn, LevelFilter};
use tracing_subscriber::layer::Identity;
use tracing_subscriber::registry::{LookupSpan, Registry};

/// The server's spans a client's trace is kept on: one per HTTP request, one per WebSocket
/// connection (its operations belong to the connection's trace, as with exported spans).
const ROOT_SPANS: [&str; 2] = ["graphql.request", "graphql.websocket"];

/// Propagation without span data.
pub(super) const PROPAGATION: Propagation = Propagation {
    current,
    adopt_parent,
    per_request: true,
};

/// A layer that records nothing and only keeps the [`ROOT_SPANS`] enabled (whatever the log
/// level), so that their extensions can hold the trace.
///
/// The decision is made once per callsite (always or never), with INFO as the most verbose
/// level: a filter without that (a plain `filter_fn`) makes every `debug!`/`trace!` callsite of
/// every library ask the filters again each time it is reached, which cost about 5 % of a
/// heavy answer's instructions.
pub(super) fn layer<S>() -> impl Layer<S> + use<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let is_root = |meta: &Metadata<'_>| meta.is_span() && ROOT_SPANS.contains(&meta.name());
    Identity::new().with_filter(
        DynFilterFn::new(move |meta, _| is_root(meta))
            .with_callsite_filter(move |meta| {
                if is_root(meta) {
                    Interest::always()
                } else {
                    Interest::never()
                }
            })
            .with_max_level_hint(LevelFilter::INFO),
    )
}

/// The trace a client request belongs to, kept in its root span's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trace {
    trace_id: u128,
    sampled: bool,
    tracestate: Option<HeaderValue>,
}

/// What the request's upstream calls carry, kept in its root span's extensions once the first
/// call is made.
#[derive(Debug, Clone)]
struct Calls(TraceContext);

impl Trace {
    /// The client's trace from its `traceparent` (and `tracestate`), when the header is valid;
    /// a new unsampled trace otherwise (an invalid `traceparent` also drops `tracestate`).
    fn of(headers: &HeaderMap) -> Self {
        match headers.get(TRACEPARENT).and_then(parse_traceparent) {
            Some((trace_id, sampled)) => Self {
                trace_id,
                sampled,
                tracestate: headers.get(TRACESTATE).cloned(),
            },
            None => Self {
                trace_id: fastrand::u128(1..),
                sampled: false,
                tracestate: None,
            },
        }
    }

    /// The context of the calls to subgraphs made for one request: this trace, a new parent id.
    fn child(&self) -> Option<TraceContext> {
        let traceparent = format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            fastrand::u64(1..),
            u8::from(self.sampled)
        );
        Some(TraceContext {
            traceparent: HeaderValue::try_from(traceparent).ok()?,
            tracestate: self.tracestate.clone(),
        })
    }
}

/// The trace id and sampled flag of a W3C `traceparent`
/// (`{version}-{trace id}-{parent id}-{flags}`), when it is valid: two lowercase hex digits
/// other than `ff` for the version, 32 and 16 lowercase hex digits not all zero, two for the
/// flags; a version above `00` may carry more fields after the fourth.
fn parse_traceparent(value: &HeaderValue) -> Option<(u128, bool)> {
    let text = value.to_str().ok()?;
    let mut parts = text.splitn(5, '-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let parent_id = parts.next()?;
    let flags = parts.next()?;
    let rest = parts.next();
    let lower_hex = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let well_formed = lower_hex(version, 2)
        && lower_hex(trace_id, 32)
        && lower_hex(parent_id, 16)
        && lower_hex(flags, 2);
    if !well_formed || version == "ff" || (version == "00" && rest.is_some()) {
        return None;
    }
    let trace_id = u128::from_str_radix(trace_id, 16).ok()?;
    let parent_id = u64::from_str_radix(parent_id, 16).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    (trace_id != 0 && parent_id != 0).then_some((trace_id, flags & 1 == 1))
}

/// [`Propagation::adopt_parent`]: keeps the client's trace (or a new one) on the request's
/// span. What its calls carry is made from it by [`current`] when the first call is made: a
/// request answered by another one's execution (inbound deduplication) or refused before it
/// executes never formats a `traceparent` (that was about 3,000 instructions per request).
fn adopt_parent(headers: &HeaderMap, span: &tracing::Span) {
    let trace = Trace::of(headers);
    span.with_subscriber(|(id, dispatch)| {
        if let Some(registry) = dispatch.downcast_ref::<Registry>()
            && let Some(span) = registry.span(id)
        {
            span.extensions_mut().replace(trace);
        }
    });
}

/// [`Propagation::current`]: what the calls of the nearest enclosing client request carry
/// (made on the first call, then the same for every call of the request or connection);
/// `None` outside of one.
fn current(_: &quilt_executor::Context) -> Option<TraceContext> {
    tracing::Span::current()
        .with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            registry.span(id)?.scope().find_map(|span| {
                let trace = {
                    let extensions = span.extensions();
                    if let Some(calls) = extensions.get::<Calls>() {
                        return Some(calls.0.clone());
                    }
                    extensions.get::<Trace>()?.clone()
                };
                let mut extensions = span.extensions_mut();
                // Another call of the same connection may have made them meanwhile.
                if let Some(calls) = extensions.get_mut::<Calls>() {
                    return Some(calls.0.clone());
                }
                let calls = trace.child()?;
                extensions.insert(Calls(calls.clone()));
                Some(calls)
            })
        })
        .flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    const CLIENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    fn headers(traceparent: &str, tracestate: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_str(traceparent).unwrap());
        if let Some(state) = tracestate {
            headers.insert(TRACESTATE, HeaderValue::from_str(state).unwrap());
        }
        headers
    }

    #[test]
    fn only_valid_traceparents_are_followed() {
        let parse = |text: &str| parse_traceparent(&HeaderValue::from_str(text).unwrap());
        assert_eq!(
            parse(CLIENT),
            Some((0x0af7651916cd43dd8448eb211c80319c, true))
        );
        assert_eq!(
            parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").map(|t| t.1),
            Some(false)
        );
        // A later version may add fields; version 00 may not.
        assert!(parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x").is_some());
        for wrong in [
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333g-01",
            "",
        ] {
            assert_eq!(parse(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn calls_inside_a_request_span_continue_its_trace_with_the_gateways_parent_id() {
        let _alone = super::super::tests::SCOPED_SUBSCRIBER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let subscriber = tracing_subscriber::registry().with(layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            let request = tracing::info_span!("graphql.request");
            adopt_parent(&headers(CLIENT, Some("congo=t61rcWkgMzE")), &request);
            let _inside = request.enter();
            // Spans the layer does not enable are not created: the request span stays current.
            let _fetch = tracing::info_span!("quilt.fetch").entered();
            // Nothing is formatted until a call asks for it.
            let holds = |request: &tracing::Span| {
                request
                    .with_subscriber(|(id, dispatch)| {
                        let registry = dispatch.downcast_ref::<Registry>()?;
                        let extensions = registry.span(id)?;
                        let extensions = extensions.extensions();
                        Some((
                            extensions.get::<Trace>().is_some(),
                            extensions.get::<Calls>().is_some(),
                        ))
                    })
                    .flatten()
            };
            assert_eq!(holds(&request), Some((true, false)));
            let first = current(&quilt_executor::Context::default()).unwrap();
            assert_eq!(holds(&request), Some((true, true)));
            let second = current(&quilt_executor::Context::default()).unwrap();
            let parts = |trace: &TraceContext| {
                let text = trace.traceparent.to_str().unwrap().to_owned();
                text.split('-').map(str::to_owned).collect::<Vec<_>>()
            };
            let (a, b) = (parts(&first), parts(&second));
            assert_eq!(a[0], "00");
            assert_eq!(a[1], "0af7651916cd43dd8448eb211c80319c");
            assert_eq!(b[1], a[1]);
            assert_ne!(a[2], "b7ad6b7169203331");
            assert_eq!(
                a[2], b[2],
                "the calls of one request share the gateway's parent id"
            );
            assert_eq!(a[3], "01");
            assert_eq!(first.tracestate.unwrap(), "congo=t61rcWkgMzE");
        });
    }

    #[test]
    fn without_a_valid_client_trace_each_request_starts_its_own_unsampled_one() {
        let _alone = super::super::tests::SCOPED_SUBSCRIBER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let subscriber = tracing_subscriber::registry().with(layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            let trace_of = |headers: &HeaderMap| {
                let request = tracing::info_span!("graphql.request");
                adopt_parent(headers, &request);
                let _inside = request.enter();
                current(&quilt_executor::Context::default()).unwrap()
            };
            let invalid = headers("00-zz-b7ad6b7169203331-01", Some("congo=t61rcWkgMzE"));
            let one = trace_of(&invalid);
            assert_eq!(
                one.tracestate, None,
                "an invalid traceparent drops tracestate"
            );
            let one = one.traceparent.to_str().unwrap().to_owned();
            let two = trace_of(&HeaderMap::new());
            let two = two.traceparent.to_str().unwrap().to_owned();
            assert!(parse_traceparent(&HeaderValue::from_str(&one).unwrap()).is_some());
            assert!(one.ends_with("-00") && two.ends_with("-00"));
            assert_ne!(one.split('-').nth(1), two.split('-').nth(1));
            // Outside of a request there is no trace to continue.
            assert!(current(&quilt_executor::Context::default()).is_none());
        });
    }
}
