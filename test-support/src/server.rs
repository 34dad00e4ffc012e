//! Serving a schema on 127.0.0.1 over GraphQL-over-HTTP (POST, GET, uploads, array batches),
//! SSE, Apollo multipart subscriptions and WebSocket (both subprotocols), with a hard stop that
//! drops every connection as a crash would, and a restart on the same port.

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, create_multipart_mixed_stream};
use async_graphql::{Data, ObjectType, Schema, SubscriptionType};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, State, WebSocketUpgrade};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::stats::Stats;
use crate::subgraph::{self, ConnectionParams, RequestHeaders};

/// A running test server. Dropping it stops it (every connection is dropped).
pub struct TestServer {
    addr: SocketAddr,
    stats: Stats,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts the test subgraph on `127.0.0.1:0`.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0".parse()?, Stats::default()).await
    }

    /// Starts the test subgraph on `addr`, counting into `stats` (pass the stats of a stopped
    /// server to keep counting across a restart).
    pub async fn start_on(addr: SocketAddr, stats: Stats) -> anyhow::Result<Self> {
        let schema = subgraph::schema(stats.clone());
        Self::serve(addr, graphql_router(schema, stats.clone()), stats).await
    }

    /// Serves any axum router on `addr` (for tests that need a misbehaving server).
    pub async fn serve(addr: SocketAddr, router: Router, stats: Stats) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, stop_rx));
        Ok(Self {
            addr,
            stats,
            stop,
            task: Some(task),
        })
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/graphql`.
    pub fn http_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// `ws://127.0.0.1:PORT/graphql`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.addr)
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Stops the server at once, dropping every connection (WebSockets without a close frame),
    /// and waits until the port is free.
    pub async fn stop(mut self) {
        self.halt().await;
    }

    async fn halt(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops the server and starts a new one on the same port with the same counters.
    pub async fn restart(mut self) -> anyhow::Result<Self> {
        let (addr, stats) = (self.addr, self.stats.clone());
        self.halt().await;
        Self::start_on(addr, stats).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(listener: TcpListener, router: Router, stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut stopped = stop.clone();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stopped| *stopped) => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone().layer(axum::Extension(StopSignal(stop.clone())));
                let service = TowerToHyperService::new(router);
                let mut conn_stop = stop.clone();
                connections.spawn(async move {
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = conn_stop.wait_for(|stopped| *stopped) => {}
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

struct AppState<Q, M, S> {
    schema: Schema<Q, M, S>,
    stats: Stats,
    /// The emitter's client for callback subscriptions.
    client: reqwest::Client,
}

impl<Q, M, S> Clone for AppState<Q, M, S> {
    fn clone(&self) -> Self {
        Self {
            schema: self.schema.clone(),
            stats: self.stats.clone(),
            client: self.client.clone(),
        }
    }
}

/// The router for a schema: `/graphql` for every protocol (and the emitter side of HTTP
/// callback subscriptions); `stats` counts HTTP requests, WebSocket connections and callback
/// messages.
pub fn graphql_router<Q, M, S>(schema: Schema<Q, M, S>, stats: Stats) -> Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    Router::new()
        .route("/graphql", any(graphql_handler::<Q, M, S>))
        .with_state(AppState {
            schema,
            stats,
            client: reqwest::Client::builder()
                .timeout(crate::WAIT)
                .build()
                .unwrap_or_default(),
        })
}

/// The router of the standard test subgraph.
pub fn subgraph_router(stats: Stats) -> Router {
    graphql_router(subgraph::schema(stats.clone()), stats)
}

/// The server's stop signal, handed to upgraded connections (which outlive the HTTP
/// connection task) so that a hard stop drops them too.
#[derive(Clone)]
struct StopSignal(watch::Receiver<bool>);

async fn graphql_handler<Q, M, S>(
    State(state): State<AppState<Q, M, S>>,
    request: axum::extract::Request,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let (mut parts, body) = request.into_parts();
    let headers = parts.headers.clone();
    let stop = parts.extensions.get::<StopSignal>().cloned();

    if headers.contains_key(http::header::UPGRADE) {
        let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
            Ok(protocol) => protocol,
            Err(rejection) => return rejection.into_response(),
        };
        let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(upgrade) => upgrade,
            Err(rejection) => return rejection.into_response(),
        };
        state.stats.record_ws_connection();
        let schema = state.schema.clone();
        return upgrade
            .protocols(ALL_WEBSOCKET_PROTOCOLS)
            .on_upgrade(move |socket| async move {
                let mut data = Data::default();
                data.insert(RequestHeaders(headers));
                let serve = GraphQLWebSocket::new(socket, schema, protocol)
                    .with_data(data)
                    .on_connection_init(|params| async move {
                        let mut data = Data::default();
                        data.insert(ConnectionParams(params));
                        Ok(data)
                    })
                    .keepalive_timeout(None)
                    .serve();
                match stop {
                    // A hard stop drops the socket without a close frame, as a crash would.
                    Some(StopSignal(mut stop)) => {
                        tokio::select! {
                            _ = serve => {}
                            _ = stop.wait_for(|stopped| *stopped) => {}
                        }
                    }
                    None => serve.await,
                }
            })
            .into_response();
    }

    state.stats.record_http_request();
    let request = axum::extract::Request::from_parts(parts, body);
    let batch =
        match GraphQLBatchRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
            request,
            &(),
        )
        .await
        {
            Ok(batch) => batch.into_inner(),
            Err(rejection) => return rejection.into_response(),
        };
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();

    let single = match batch {
        async_graphql::BatchRequest::Single(request) => request,
        batch => {
            let batch = batch.data(RequestHeaders(headers));
            let response = state.schema.execute_batch(batch).await;
            return async_graphql_axum::GraphQLResponse::from(response).into_response();
        }
    };
    let heartbeat = heartbeat_interval(&headers);
    if crate::callback::is_callback_request(&accept, &single) {
        let single = single.data(RequestHeaders(headers.clone()));
        return crate::callback::subscribe(
            state.schema.clone(),
            single,
            &headers,
            state.stats.clone(),
            state.client.clone(),
            stop.map(|s| s.0),
        )
        .await;
    }
    let single = single.data(RequestHeaders(headers));

    if accept.contains("text/event-stream") {
        let stream = state
            .schema
            .execute_stream(single)
            .map(|response| {
                let data = serde_json::to_string(&response).unwrap_or_default();
                Ok::<_, std::convert::Infallible>(Event::default().event("next").data(data))
            })
            .chain(futures::stream::once(async {
                Ok(Event::default().event("complete").data(""))
            }));
        return Sse::new(stream).into_response();
    }
    if accept.contains("multipart/mixed") && accept.contains("subscriptionSpec") {
        let stream = state.schema.execute_stream(single);
        return apollo_multipart(stream, heartbeat);
    }
    if prefers_multipart(&accept) {
        let stream = state.schema.execute_stream(single);
        let body = create_multipart_mixed_stream(stream, Duration::from_secs(5));
        return Response::builder()
            .header(
                http::header::CONTENT_TYPE,
                "multipart/mixed; boundary=\"graphql\"",
            )
            .body(axum::body::Body::from_stream(
                body.map(Ok::<_, std::convert::Infallible>),
            ))
            .unwrap_or_else(|_| http::StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let response = state.schema.execute(single).await;
    let mut response = async_graphql_axum::GraphQLResponse::from(response).into_response();
    if accept.contains("application/graphql-response+json") {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
        );
    }
    response
}

/// Whether the Accept header prefers `multipart/mixed` to JSON (by q-value, then by order), so
/// that `application/json, multipart/mixed;q=0.5` gets JSON.
fn prefers_multipart(accept: &str) -> bool {
    let mut best: Option<(f32, bool)> = None;
    for item in accept.split(',') {
        let mut params = item.split(';');
        let mime = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let multipart = match mime.as_str() {
            "multipart/mixed" => true,
            "application/json" | "application/graphql-response+json" | "*/*" => false,
            _ => continue,
        };
        if best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, multipart));
        }
    }
    best.is_some_and(|(_, multipart)| multipart)
}

/// The heartbeat interval of Apollo multipart subscriptions: 5 s, or the `x-heartbeat-ms`
/// request header (so tests can see heartbeats without waiting).
fn heartbeat_interval(headers: &http::HeaderMap) -> Duration {
    headers
        .get("x-heartbeat-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

/// Apollo's multipart subscription protocol: each event is a part `{"payload": result}`,
/// heartbeats are `{}` parts, and the body ends with `--graphql--`.
fn apollo_multipart(
    events: impl futures::Stream<Item = async_graphql::Response> + Send + 'static,
    heartbeat: Duration,
) -> Response {
    fn part(json: &str) -> bytes::Bytes {
        bytes::Bytes::from(format!(
            "\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{json}"
        ))
    }
    let body = async_stream::stream! {
        let mut events = std::pin::pin!(events);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => {
                        let json = serde_json::json!({ "payload": event }).to_string();
                        yield Ok::<_, std::convert::Infallible>(part(&json));
                    }
                    None => break,
                },
                _ = ticker.tick() => yield Ok(part("{}")),
            }
        }
        yield Ok(bytes::Bytes::from_static(b"\r\n--graphql--\r\n"));
    };
    Response::builder()
        .header(
            http::header::CONTENT_TYPE,
            "multipart/mixed;boundary=\"graphql\";subscriptionSpec=\"1.0\"",
        )
        .body(axum::body::Body::from_stream(body))
        .unwrap_or_else(|_| http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
