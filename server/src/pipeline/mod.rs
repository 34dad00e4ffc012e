//! The HTTP request pipeline, one stage per file in the order data flows:
//! [`negotiate`] (Accept) → [`csrf`] → [`read_body`] / [`upload`] (body) → the
//! transport-neutral stages of [`crate::operation`] (parameters, persisted operations, the
//! document prepared under the limits) → [`inbound_dedup`] (optional: identical concurrent
//! queries share one execution and one serialized answer) → execution through [`crate::gate`]
//! → [`respond`] (or a streamed transport in [`crate::transport`]). Every stage here is HTTP's
//! own; WebSocket and SSE single-connection operations pass through `operation` and the gate
//! too.

pub mod csrf;
pub mod inbound_dedup;
pub mod negotiate;
pub mod read_body;
pub(crate) mod request_id;
pub mod respond;
pub mod upload;

use axum::body::Body;
use axum::extract::{FromRequestParts, State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, stream};
use http::request::Parts;
use http::{Method, header};
use quilt_executor::{
    Context, ExecutionResult, RequestId, Response as ExecutorResponse, SingleResponse,
};
use tracing::Instrument;

use crate::error::RequestError;
use crate::gate::{execute, execute_serialized};
use crate::metrics::OperationLabels;
use crate::operation::params::GraphQLParams;
use crate::operation::{Refusal, prepare_operation};
use crate::state::{ServerState, SharedState};
use crate::transport::{multipart, sse, sse_single};
use negotiate::{Accepted, StreamKind};
use read_body::{BodyKind, body_kind, read_limited};

/// The GraphQL endpoint: WebSocket upgrades, GraphiQL, GET, POST, and the SSE single connection
/// mode's PUT and DELETE.
pub(crate) async fn graphql_endpoint(
    State(state): State<SharedState>,
    mut request: axum::extract::Request,
) -> Response {
    let id = request_id::assign(&mut request);
    let mut response = endpoint(state, request).await;
    request_id::answer(&mut response, id);
    response
}

/// [`graphql_endpoint`] after the request id (stage 0).
async fn endpoint(state: SharedState, request: axum::extract::Request) -> Response {
    let (mut parts, body) = request.into_parts();
    if is_websocket_upgrade(&parts) {
        if state.csrf.enabled
            && state.csrf.check_websocket_origin
            && !crate::cors::websocket_origin_allowed(&parts.headers, state.cors.as_ref())
        {
            tracing::debug!(origin = ?parts.headers.get(header::ORIGIN), "WebSocket upgrade refused");
            return RequestError::ForbiddenOrigin.into_response();
        }
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => {
                let peer = crate::listen::peer(&parts.extensions);
                let slot = crate::listen::slot(&parts.extensions);
                crate::ws::upgrade(state, upgrade, parts.headers, peer, slot)
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    let accepted = Accepted::from_headers(&parts.headers);
    // The request id (stage 0) on every log line about the request.
    let request_id = parts
        .extensions
        .get::<quilt_executor::RequestId>()
        .map_or("", |id| id.as_str());
    let span = tracing::info_span!(
        "graphql.request",
        otel.kind = "server",
        request_id,
        http.method = %parts.method,
        http.path = %parts.uri.path(),
        http.response.status_code = tracing::field::Empty,
    );
    quilt_executor::trace::adopt_parent(&parts.headers, &span);
    let started = std::time::Instant::now();
    let _active = crate::metrics::GaugeGuard::new(metrics::gauge!(crate::metrics::ACTIVE_REQUESTS));
    let names = state.operation_names.clone();
    let response = async move {
        match handle(state, parts, body, accepted).await {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%error, "request refused");
                error.into_response_as(accepted.error_kind())
            }
        }
    }
    .instrument(span.clone())
    .await;
    span.record(
        "http.response.status_code",
        i64::from(response.status().as_u16()),
    );
    crate::metrics::record_request(
        started,
        response.status(),
        response.extensions().get::<OperationLabels>(),
        names.as_deref(),
    );
    response
}

fn is_websocket_upgrade(parts: &Parts) -> bool {
    parts.method == Method::GET
        && parts
            .headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

async fn handle(
    state: SharedState,
    parts: Parts,
    body: Body,
    accepted: Accepted,
) -> Result<Response, RequestError> {
    let query = parts.uri.query();
    let token = sse_single::token_of(&parts.headers, query);
    let peer = crate::listen::peer(&parts.extensions);
    // The request id (stage 0) goes to the executor in the context, beside the headers.
    let request_id = parts.extensions.get::<RequestId>().cloned();
    let context = |headers| match &request_id {
        Some(id) => Context::from_headers(headers).insert(id.clone()),
        None => Context::from_headers(headers),
    };
    match parts.method {
        Method::GET => {
            if let Some(token) = token
                && accepted.stream == Some(StreamKind::Sse)
            {
                return sse_single::open_stream(state, token);
            }
            let has_query = query.is_some_and(|q| {
                url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "query")
            });
            if accepted.html && state.graphiql && !has_query {
                return Ok(crate::graphiql::page(
                    parts.uri.path(),
                    &state.graphiql_assets,
                ));
            }
            state.csrf.check(true, &parts.headers)?;
            let params = GraphQLParams::from_query_string(query.unwrap_or(""))?;
            run(
                &state,
                context(parts.headers),
                params,
                Vec::new(),
                accepted,
                true,
                peer,
            )
            .await
        }
        Method::POST => {
            state.csrf.check(false, &parts.headers)?;
            let kind = body_kind(&parts.headers)?;
            // An upload reserves its share of the upload budget before its body is read, and
            // holds it until it is answered.
            let _upload_budget = match kind {
                BodyKind::Multipart(_) => Some(upload::reserve(&state, &parts.headers)?),
                BodyKind::Json => None,
            };
            // The whole body must arrive within the body read timeout: a client trickling a
            // byte now and then must not hold the request (and its connection) for ever.
            let read = async {
                match kind {
                    BodyKind::Json => {
                        let bytes =
                            read_limited(&parts.headers, body, state.limits.max_body_bytes).await?;
                        Ok::<_, RequestError>((GraphQLParams::from_json(&bytes)?, Vec::new()))
                    }
                    BodyKind::Multipart(boundary) => {
                        let upload = upload::read_upload(body, boundary, &state.limits).await?;
                        Ok((upload.params, upload.files))
                    }
                }
            };
            let (params, files) = match state.limits.body_read_timeout {
                Some(limit) => tokio::time::timeout(limit, read)
                    .await
                    .map_err(|_| RequestError::BodyTimeout(limit))??,
                None => read.await?,
            };
            if let Some(token) = token {
                let operation_id = params
                    .extensions
                    .get("operationId")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let context = context(parts.headers);
                let prepared = prepare_operation(&state, params, context)
                    .await
                    .map_err(Refusal::into_result);
                return sse_single::start_operation(
                    state.clone(),
                    &token,
                    operation_id,
                    prepared,
                    peer,
                );
            }
            run(
                &state,
                context(parts.headers),
                params,
                files,
                accepted,
                false,
                peer,
            )
            .await
        }
        Method::PUT => sse_single::reserve(&state, peer),
        Method::DELETE => {
            let token = token.ok_or(RequestError::UnknownStreamToken)?;
            sse_single::stop_operation(&state, &token, query)
        }
        other => Err(RequestError::MethodNotAllowed(other.to_string())),
    }
}

async fn run(
    state: &SharedState,
    context: Context,
    params: GraphQLParams,
    files: Vec<(String, quilt_executor::Upload)>,
    accepted: Accepted,
    is_get: bool,
    peer: Option<std::net::IpAddr>,
) -> Result<Response, RequestError> {
    if accepted.is_unacceptable() {
        return Err(RequestError::NotAcceptable);
    }
    let mut request = match prepare_operation(state, params, context).await {
        Ok(request) => request,
        Err(Refusal::Request(error)) => return Err(error),
        Err(Refusal::Result(result)) => return Ok(single_result(state, accepted, *result)),
    };
    for (path, file) in files {
        request = request.upload(path, file);
    }
    if is_get && request.is_mutation() {
        return Err(RequestError::MutationOverGet);
    }
    let labels = OperationLabels {
        kind: request.operation_type(),
        name: state
            .operation_names
            .as_ref()
            .and(request.operation_name.clone()),
    };
    let mut response = answer(state, request, accepted, peer).await?;
    response.extensions_mut().insert(labels);
    Ok(response)
}

/// Stages 5 and 6 and the answer: deduplication, execution, the response in the accepted
/// format.
async fn answer(
    state: &SharedState,
    mut request: quilt_executor::Request,
    accepted: Accepted,
    peer: Option<std::net::IpAddr>,
) -> Result<Response, RequestError> {
    if request.is_subscription() && accepted.stream.is_none() {
        return Err(RequestError::StreamNotAccepted);
    }
    // A client that takes no stream gets `@defer` and `@stream` answered at once; one that
    // takes a stream and asks for them gets the payloads as they come (never a shared
    // single answer).
    let incremental = match accepted.stream {
        None => {
            request.context = std::mem::take(&mut request.context).insert(SingleResponse);
            false
        }
        Some(_) => {
            let text = request.document.as_str();
            text.contains("@defer") || text.contains("@stream")
        }
    };
    if let (Some(dedup), Some(kind), false) = (&state.dedup, accepted.json, incremental)
        && inbound_dedup::applies(&request)
    {
        match inbound_dedup::answer(dedup, state, request, kind).await {
            Ok(response) => return Ok(response),
            Err(unshared) => request = unshared,
        }
    }
    // A client that takes JSON gets the executor's serialized answer as it is.
    let answer = if accepted.json.is_some() {
        execute_serialized(state, request, "http", peer).await
    } else {
        execute(state, request, "http", peer).await
    };
    match answer {
        Ok(ExecutorResponse::Single(result)) => Ok(single_result(state, accepted, result)),
        Ok(ExecutorResponse::Stream(results)) => {
            let shutdown = state.shutdown.clone();
            match accepted.stream {
                Some(StreamKind::Sse) => Ok(sse::respond(results, shutdown, &state.streaming)),
                Some(StreamKind::Multipart { subscription_spec }) => Ok(multipart::respond(
                    results,
                    shutdown,
                    &state.streaming,
                    subscription_spec,
                )),
                None => Err(RequestError::StreamNotAccepted),
            }
        }
        Err(failure) => {
            let error = failure.into_http()?;
            Ok(match accepted.json {
                Some(kind) => respond::executor_error(kind, &error),
                None => single_result(
                    state,
                    accepted,
                    ExecutionResult::from_error(error.to_graphql_error()),
                ),
            })
        }
    }
}

/// A single result in the best format the client accepts: JSON if it takes JSON, else a
/// one-event stream.
fn single_result(state: &ServerState, accepted: Accepted, result: ExecutionResult) -> Response {
    match (accepted.json, accepted.stream) {
        (Some(kind), _) => respond::single(kind, &result),
        (None, Some(StreamKind::Sse)) => sse::respond(
            stream::once(async move { Ok(result) }).boxed(),
            // A single result is delivered even when shutdown begins.
            tokio_util::sync::CancellationToken::new(),
            &state.streaming,
        ),
        (None, Some(StreamKind::Multipart { subscription_spec })) => {
            multipart::single(result, &state.streaming, subscription_spec)
        }
        (None, None) => respond::single(negotiate::JsonKind::Json, &result),
    }
}
