#![allow(clippy::unwrap_used)]
//! Subscriptions over the HTTP callback protocol, between real servers on loopback: the
//! gateway side (a `CallbackExecutor` and the callback route of `GraphQLServerBuilder::callback`)
//! and the emitter side (the test subgraph, which implements the protocol; see
//! `quilt-test-support`'s `callback.rs`), or a hand-written emitter where the test must see
//! the subscription request itself. Counts are asserted at the emitter: what it POSTed and what
//! the gateway answered.

use std::time::Duration;

use axum::Json;
use axum::extract::State;

use futures::StreamExt;
use quilt_executor::callback::{CallbackExecutor, CallbackExecutorBuilder, CallbackRegistry};
use quilt_executor::{
    ErrorKind, ExecutionResult, Executor, HttpExecutor, Request, Response, ResultStream, from_fn,
};
use quilt_server::GraphQLServer;
use quilt_test_support::{Counters, TestServer, WAIT};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

/// The gateway side: the callback route on its own listener, and the registry behind it.
struct Gateway {
    registry: CallbackRegistry,
    _task: AbortOnDropHandle<()>,
}

async fn gateway() -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let registry = CallbackRegistry::new(format!("http://{addr}/callback")).unwrap();
    let nothing = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    let router = GraphQLServer::builder(nothing)
        .callback("/callback", registry.clone())
        .build()
        .router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Gateway {
        registry,
        _task: AbortOnDropHandle::new(task),
    }
}

/// A callback executor for `url`, sending `headers` (the emitter's test switches).
fn executor(
    url: &str,
    registry: &CallbackRegistry,
    headers: &[(&str, &str)],
    tune: impl FnOnce(CallbackExecutorBuilder) -> CallbackExecutorBuilder,
) -> CallbackExecutor {
    let mut http = HttpExecutor::builder(url).timeout(WAIT);
    for (name, value) in headers {
        http = http.header(name, value);
    }
    tune(CallbackExecutor::builder(
        http.build().unwrap(),
        registry.clone(),
    ))
    .build()
}

async fn subscribe(executor: &CallbackExecutor, query: &str) -> ResultStream {
    let response = tokio::time::timeout(WAIT, executor.execute(Request::new(query).unwrap()))
        .await
        .expect("the subscription request was answered in time")
        .unwrap();
    assert!(response.is_stream(), "the emitter accepted: a stream");
    response.into_stream()
}

async fn next(
    stream: &mut ResultStream,
) -> Option<Result<ExecutionResult, quilt_executor::ExecutorError>> {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("an item or the end in time")
}

async fn wait(emitter: &TestServer, predicate: impl Fn(&Counters) -> bool) -> Counters {
    emitter.stats().wait_for(WAIT, predicate).await.unwrap()
}

#[tokio::test]
async fn events_then_complete_reach_the_client_and_leave_nothing_open() {
    let gateway = gateway().await;
    let emitter = TestServer::start().await.unwrap();
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| b);
    let mut stream = subscribe(&executor, "subscription { count(to: 3) }").await;
    for n in 1..=3 {
        let event = next(&mut stream).await.unwrap().unwrap();
        assert_eq!(event.data_value(), Some(json!({ "count": n })));
    }
    assert!(
        next(&mut stream).await.is_none(),
        "complete ends the stream"
    );
    assert_eq!(gateway.registry.len(), 0);

    let seen = wait(&emitter, |c| c.callback_stopped == 1).await;
    assert_eq!(seen.callback_subscriptions, 1);
    assert_eq!(seen.callback_checks, 1, "one check, before answering");
    assert_eq!(seen.callback_nexts, 3);
    assert_eq!(seen.callback_completes, 1);
    assert_eq!(seen.callback_accepted, 5, "the gateway took every message");
    assert_eq!((seen.callback_not_found, seen.callback_refused), (0, 0));
    let stats = gateway.registry.stats();
    assert_eq!((stats.registered, stats.delivered, stats.open), (1, 3, 0));
}

#[tokio::test]
async fn heartbeats_keep_a_quiet_subscription_alive() {
    let gateway = gateway().await;
    let emitter = TestServer::start().await.unwrap();
    // Silence between the two events lasts eight heartbeat intervals (four windows).
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| {
        b.heartbeat_interval(Duration::from_millis(100))
    });
    let mut stream = subscribe(&executor, "subscription { count(to: 2, intervalMs: 800) }").await;
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap().data_value(),
        Some(json!({"count": 1}))
    );
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap().data_value(),
        Some(json!({"count": 2}))
    );
    assert!(next(&mut stream).await.is_none());

    let seen = wait(&emitter, |c| c.callback_stopped == 1).await;
    assert!(
        seen.callback_checks >= 4,
        "heartbeat checks were sent during the silence: {seen:?}"
    );
    assert_eq!(seen.callback_accepted, seen.callback_checks + 2 + 1);
    assert_eq!(gateway.registry.stats().heartbeat_timeouts, 0);
    assert!(gateway.registry.is_empty());
}

#[tokio::test]
async fn a_missing_heartbeat_ends_the_subscription_with_a_timeout_error() {
    let gateway = gateway().await;
    let emitter = TestServer::start().await.unwrap();
    let executor = executor(
        &emitter.http_url(),
        &gateway.registry,
        &[("x-callback-heartbeat", "off")],
        |b| b.heartbeat_interval(Duration::from_millis(100)),
    );
    // One event at once, the next a minute later, and no heartbeat in between.
    let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 60000) }").await;
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap().data_value(),
        Some(json!({"ticks": 1}))
    );
    let error = next(&mut stream).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.to_string().contains("no callback message"), "{error}");
    assert_eq!(error.to_graphql_error().code(), Some("TIMEOUT"));
    assert!(
        next(&mut stream).await.is_none(),
        "the error is the last item"
    );
    let stats = gateway.registry.stats();
    assert_eq!((stats.heartbeat_timeouts, stats.open), (1, 0));
    let seen = emitter.stats().snapshot();
    assert_eq!((seen.callback_checks, seen.callback_nexts), (1, 1));
}

#[tokio::test]
async fn a_client_that_leaves_stops_its_emitter_with_a_404() {
    let gateway = gateway().await;
    let emitter = TestServer::start().await.unwrap();
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| b);
    let mut stream = subscribe(&executor, "subscription { ticks(intervalMs: 20) }").await;
    for n in 1..=2 {
        assert_eq!(
            next(&mut stream).await.unwrap().unwrap().data_value(),
            Some(json!({"ticks": n}))
        );
    }
    drop(stream);
    assert!(
        gateway.registry.is_empty(),
        "dropping the stream unregisters it"
    );

    // The emitter's next `next` is refused with 404, and it stops: no more POSTs after it.
    let seen = wait(&emitter, |c| {
        c.active_callbacks() == 0 && c.callback_stopped == 1
    })
    .await;
    assert_eq!(seen.callback_not_found, 1);
    assert_eq!(seen.callback_refused, 0);
    let delivered = gateway.registry.stats().delivered;
    assert!(delivered >= 2);
    assert_eq!(
        seen.callback_nexts,
        delivered + 1,
        "every next was delivered but the refused one"
    );
    assert_eq!(gateway.registry.stats().not_found, 1);
    assert_eq!(emitter.stats().snapshot(), seen, "nothing after the 404");
}

#[tokio::test]
async fn initial_errors_end_the_subscription_with_them_and_nothing_is_called_back() {
    let gateway = gateway().await;
    let emitter = TestServer::start().await.unwrap();
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| b);
    let response = tokio::time::timeout(
        WAIT,
        executor.execute(Request::new("subscription { nope }").unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut items = response.into_stream();
    let result = next(&mut items).await.unwrap().unwrap();
    assert!(result.data.is_none() || result.data_value() == Some(Value::Null));
    assert!(result.errors[0].message.contains("nope"), "{result:?}");
    assert!(next(&mut items).await.is_none());
    assert!(gateway.registry.is_empty());
    let seen = emitter.stats().snapshot();
    assert_eq!((seen.callback_subscriptions, seen.callback_checks), (0, 0));
}

#[tokio::test]
async fn queries_go_to_the_http_executor_unchanged() {
    let gateway = gateway().await;
    let emitter = TestServer::start().await.unwrap();
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| b);
    let result = executor
        .execute(Request::new("{ hello }").unwrap())
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert_eq!(result.data_value(), Some(json!({"hello": "Hello, world!"})));
    assert_eq!(gateway.registry.stats().registered, 0);
}

/// What a hand-written emitter saw of the subscription request.
struct Seen {
    accept: String,
    body: Value,
}

/// An emitter that reports each subscription request, sends `check`, and answers
/// `{"data": null}`; the test sends the rest.
async fn hand_emitter() -> (TestServer, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel(4);
    async fn handle(
        State(tx): State<mpsc::Sender<Seen>>,
        headers: http::HeaderMap,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let sub = &body["extensions"]["subscription"];
        let check = json!({
            "kind": "subscription", "action": "check",
            "id": sub["subscriptionId"], "verifier": sub["verifier"],
        });
        let url = sub["callbackUrl"].as_str().unwrap_or_default().to_owned();
        let status = reqwest::Client::new()
            .post(url)
            .header("subscription-protocol", "callback/1.0")
            .json(&check)
            .timeout(WAIT)
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(status, 204, "the check of an open subscription");
        let accept = headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let _ = tx.send(Seen { accept, body }).await;
        Json(json!({ "data": null }))
    }
    let router = axum::Router::new()
        .route("/graphql", axum::routing::post(handle))
        .with_state(tx);
    let server = TestServer::serve("127.0.0.1:0".parse().unwrap(), router, Default::default())
        .await
        .unwrap();
    (server, rx)
}

async fn post(url: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .timeout(WAIT)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_subscription_request_carries_the_callback_extension_and_accept_header() {
    let gateway = gateway().await;
    let (emitter, mut seen) = hand_emitter().await;
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| {
        b.heartbeat_interval(Duration::from_millis(1500))
    });
    let mut stream = subscribe(&executor, "subscription { ticks }").await;
    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.accept, "application/json;callbackSpec=1.0");
    assert_eq!(seen.body["query"], "subscription { ticks }");
    let sub = &seen.body["extensions"]["subscription"];
    let id = sub["subscriptionId"].as_str().unwrap();
    assert_eq!(
        sub["callbackUrl"],
        format!("{}/{id}", gateway.registry.public_url())
    );
    assert_eq!(sub["heartbeatIntervalMs"], 1500);
    assert!(sub["verifier"].as_str().unwrap().len() >= 32);

    // The events the hand emitter sends reach the stream; `complete` with errors ends it.
    let url = sub["callbackUrl"].as_str().unwrap();
    let message = |action: &str| json!({"kind": "subscription", "action": action, "id": id, "verifier": sub["verifier"]});
    let mut event = message("next");
    event["payload"] = json!({"data": {"ticks": 7}});
    let reply = post(url, event).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["subscription-protocol"], "callback/1.0");
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap().data_value(),
        Some(json!({"ticks": 7}))
    );
    let mut complete = message("complete");
    complete["errors"] = json!([{"message": "the source went away"}]);
    assert_eq!(post(url, complete).await.status(), 202);
    let last = next(&mut stream).await.unwrap().unwrap();
    assert_eq!(last.errors[0].message, "the source went away");
    assert!(next(&mut stream).await.is_none());
    assert_eq!(post(url, message("check")).await.status(), 404, "ended");
    assert!(gateway.registry.is_empty());
}

#[tokio::test]
async fn a_wrong_verifier_is_refused_with_401_and_nothing_is_delivered() {
    let gateway = gateway().await;
    let (emitter, mut seen) = hand_emitter().await;
    let executor = executor(&emitter.http_url(), &gateway.registry, &[], |b| b);
    let mut stream = subscribe(&executor, "subscription { ticks }").await;
    let body = seen.recv().await.unwrap().body;
    let sub = &body["extensions"]["subscription"];
    let (id, url) = (
        sub["subscriptionId"].clone(),
        sub["callbackUrl"].as_str().unwrap(),
    );
    let forged = json!({"kind": "subscription", "action": "next", "id": id,
        "verifier": "0".repeat(64), "payload": {"data": {"ticks": 666}}});
    let reply = post(url, forged).await;
    assert_eq!(reply.status(), 401);
    let genuine = json!({"kind": "subscription", "action": "next", "id": id,
        "verifier": sub["verifier"], "payload": {"data": {"ticks": 1}}});
    assert_eq!(post(url, genuine).await.status(), 200);
    assert_eq!(
        next(&mut stream).await.unwrap().unwrap().data_value(),
        Some(json!({"ticks": 1})),
        "the forged event never reached the client"
    );
    let stats = gateway.registry.stats();
    assert_eq!((stats.unauthorized, stats.delivered), (1, 1));
    drop(stream);
    assert!(gateway.registry.is_empty());
}

#[tokio::test]
async fn unknown_subscriptions_get_404_and_malformed_messages_400() {
    let gateway = gateway().await;
    let base = gateway.registry.public_url().to_owned();
    let check =
        |id: &str| json!({"kind": "subscription", "action": "check", "id": id, "verifier": "v"});

    let unknown = post(&format!("{base}/1234"), check("1234")).await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()["subscription-protocol"], "callback/1.0");
    assert_eq!(
        post(&base, check("1234")).await.status(),
        404,
        "the id in the body alone"
    );

    let garbage = reqwest::Client::new()
        .post(format!("{base}/1234"))
        .body("{not json")
        .timeout(WAIT)
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert_eq!(
        post(&format!("{base}/1234"), json!({"kind": "subscription"}))
            .await
            .status(),
        400
    );
    assert_eq!(
        post(&format!("{base}/other"), check("1234")).await.status(),
        400,
        "ids differ"
    );
    let get = reqwest::Client::new()
        .get(format!("{base}/1234"))
        .timeout(WAIT)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    let stats = gateway.registry.stats();
    assert_eq!((stats.not_found, stats.malformed), (2, 3));
}
