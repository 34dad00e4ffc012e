//! `--poll-interval`: the subschemas are read again and a changed schema is swapped in without
//! disturbing requests in flight; a failed reload keeps the schema that serves.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::{settings, start, wait_for, within};
use gateway_example::demo::directives::{Sdl, with_sdl};
use gateway_example::gateway::Reload;
use gateway_example::spec::SubschemaSpec;
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use tokio_util::task::AbortOnDropHandle;

/// What the service is: version 1, version 2 (one more field), or down (HTTP 500).
const V1: u8 = 1;
const V2: u8 = 2;
const DOWN: u8 = 0;

/// Lets the test hold `slow` in flight and see when it is.
#[derive(Clone)]
struct Gate {
    release: Arc<Semaphore>,
    waiting: Arc<watch::Sender<usize>>,
}

async fn held(ctx: &Context<'_>) -> String {
    let gate = ctx.data_unchecked::<Gate>();
    gate.waiting.send_modify(|n| *n += 1);
    let _permit = gate.release.acquire().await;
    "done".into()
}

struct QueryV1;
#[Object]
impl QueryV1 {
    async fn hello(&self) -> &str {
        "v1"
    }
    async fn slow(&self, ctx: &Context<'_>) -> String {
        held(ctx).await
    }
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

struct QueryV2;
#[Object]
impl QueryV2 {
    async fn hello(&self) -> &str {
        "v2"
    }
    async fn goodbye(&self) -> &str {
        "bye"
    }
    async fn slow(&self, ctx: &Context<'_>) -> String {
        held(ctx).await
    }
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

#[derive(Clone)]
struct Service {
    version: Arc<AtomicU8>,
    v1: Schema<QueryV1, EmptyMutation, EmptySubscription>,
    v2: Schema<QueryV2, EmptyMutation, EmptySubscription>,
}

async fn graphql(State(service): State<Service>, request: GraphQLRequest) -> Response {
    let request = request.into_inner();
    match service.version.load(Ordering::SeqCst) {
        V1 => GraphQLResponse::from(service.v1.execute(request).await).into_response(),
        V2 => GraphQLResponse::from(service.v2.execute(request).await).into_response(),
        _ => http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn changing_service(gate: Gate) -> (Arc<AtomicU8>, SocketAddr, AbortOnDropHandle<()>) {
    let version = Arc::new(AtomicU8::new(V1));
    let service = Service {
        version: version.clone(),
        v1: with_sdl(|| {
            Schema::build(QueryV1, EmptyMutation, EmptySubscription).data(gate.clone())
        }),
        v2: with_sdl(|| {
            Schema::build(QueryV2, EmptyMutation, EmptySubscription).data(gate.clone())
        }),
    };
    let router = Router::new()
        .route("/graphql", post(graphql))
        .with_state(service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (version, addr, AbortOnDropHandle::new(task))
}

fn gate() -> Gate {
    Gate {
        release: Arc::new(Semaphore::new(0)),
        waiting: Arc::new(watch::channel(0).0),
    }
}

#[tokio::test]
async fn a_changed_subschema_is_swapped_in_while_a_request_is_in_flight() {
    let gate = gate();
    let (version, addr, _service) = changing_service(gate.clone()).await;
    let spec = SubschemaSpec::new("changing", format!("http://{addr}/graphql"));
    let gateway = Arc::new(start(settings(vec![spec])).await);
    let reloader = &gateway.prepared.gateway;

    assert_eq!(within(reloader.reload()).await.unwrap(), Reload::Unchanged);
    let goodbye = gateway.query("{ goodbye }").await;
    assert_eq!(
        goodbye["errors"][0]["extensions"]["code"],
        json!("GRAPHQL_VALIDATION_FAILED")
    );

    // A request is in flight at the service when the schema changes under it.
    let in_flight = tokio::spawn({
        let gateway = gateway.clone();
        async move { gateway.query("{ slow hello }").await }
    });
    wait_for(gate.waiting.subscribe(), |n| *n == 1).await;
    version.store(V2, Ordering::SeqCst);
    assert_eq!(within(reloader.reload()).await.unwrap(), Reload::Swapped);
    assert_eq!(
        gateway.query("{ goodbye }").await,
        json!({"data": {"goodbye": "bye"}})
    );
    gate.release.add_permits(1);
    let finished = within(in_flight).await.unwrap();
    assert_eq!(finished, json!({"data": {"slow": "done", "hello": "v1"}}));
}

#[tokio::test]
async fn a_failed_reload_keeps_the_serving_schema() {
    let (version, addr, _service) = changing_service(gate()).await;
    let spec = SubschemaSpec::new("changing", format!("http://{addr}/graphql"));
    let gateway = start(settings(vec![spec])).await;
    version.store(DOWN, Ordering::SeqCst);
    let error = within(gateway.prepared.gateway.reload()).await.unwrap_err();
    assert!(format!("{error:#}").contains("changing"), "{error:#}");
    version.store(V1, Ordering::SeqCst);
    assert_eq!(
        gateway.query("{ hello }").await,
        json!({"data": {"hello": "v1"}})
    );
}

#[tokio::test]
async fn polling_swaps_in_a_changed_subschema_by_itself() {
    let (version, addr, _service) = changing_service(gate()).await;
    let mut settings = settings(vec![SubschemaSpec::new(
        "changing",
        format!("http://{addr}/graphql"),
    )]);
    settings.poll_interval = Some(Duration::from_millis(50));
    let gateway = start(settings).await;
    let swaps = gateway.prepared.gateway.swaps();
    assert_eq!(*swaps.borrow(), 0);
    version.store(V2, Ordering::SeqCst);
    wait_for(swaps, |n| *n == 1).await;
    assert_eq!(
        gateway.query("{ hello goodbye }").await,
        json!({"data": {"hello": "v2", "goodbye": "bye"}})
    );
}
