//! Persisted operations over a running server: Apollo's automatic persisted queries (memory,
//! and Redis shared by two servers), hash verification, GET and POST, WebSocket, and the
//! allow-list mode of a manifest file.
#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::sync::Arc;

use common::ws::{connect_with, recv, send};
use common::{client, start, start_with};

use quilt_server::{Manifest, PersistedQueries, RedisStore, RedisStoreOptions};
use serde_json::{Value, json};
use sha2::Digest;

fn sha256(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let response = client().post(url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(url: &str, params: &[(&str, String)]) -> (u16, Value) {
    let response = client()
        .get(url)
        .header("accept", "application/graphql-response+json")
        .query(params)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn apq_round_trip_in_memory_over_post_and_get() {
    let server = start().await;
    let url = server.url();
    let query = "query Greet { hello(name: \"apq\") }";
    let hash = sha256(query);
    // Hash only: not found, as Apollo answers it (HTTP 200).
    let (status, body) = post(&url, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // The query with its hash runs and registers it.
    let (status, body) = post(&url, json!({ "query": query, "extensions": apq(&hash) })).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["hello"], "Hello, apq!");
    // Hash only now runs, over POST and GET.
    let (status, body) = post(&url, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(
        (status, &body["data"]["hello"]),
        (200, &json!("Hello, apq!"))
    );
    let (status, body) = get(&url, &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(
        (status, &body["data"]["hello"]),
        (200, &json!("Hello, apq!"))
    );
    // Registering over GET works too; a mutation over GET is still refused.
    let other = "{ hello(name: \"get\") }";
    let (status, body) = get(&url, &[("extensions", apq(&sha256(other)).to_string())]).await;
    assert_eq!((status, code(&body)), (200, "PERSISTED_QUERY_NOT_FOUND"));
    let (_, body) = get(
        &url,
        &[
            ("query", other.to_owned()),
            ("extensions", apq(&sha256(other)).to_string()),
        ],
    )
    .await;
    assert_eq!(body["data"]["hello"], "Hello, get!");
    let (_, body) = get(&url, &[("extensions", apq(&sha256(other)).to_string())]).await;
    assert_eq!(body["data"]["hello"], "Hello, get!");
    let mutation = "mutation { increment }";
    post(
        &url,
        json!({ "query": mutation, "extensions": apq(&sha256(mutation)) }),
    )
    .await;
    let (status, _) = get(&url, &[("extensions", apq(&sha256(mutation)).to_string())]).await;
    assert_eq!(status, 405);
    // Over WebSocket.
    let mut socket = connect_with(&server.ws_url(), Some("graphql-transport-ws"), &[]).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({"type": "subscribe", "id": "1", "payload": {"extensions": apq(&hash)}}),
    )
    .await;
    let next = recv(&mut socket).await;
    assert_eq!(next["payload"]["data"]["hello"], "Hello, apq!", "{next}");
}

#[tokio::test]
async fn a_hash_that_is_not_the_querys_is_refused() {
    let server = start().await;
    let url = server.url();
    let query = "{ hello }";
    let wrong = sha256("{ something else }");
    let (status, body) = post(&url, json!({ "query": query, "extensions": apq(&wrong) })).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "PERSISTED_QUERY_HASH_MISMATCH");
    // Nothing was stored under the wrong hash.
    let (_, body) = post(&url, json!({ "extensions": apq(&wrong) })).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // Malformed extensions are clear 400s.
    for extensions in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": wrong } }),
        json!({ "persistedQuery": { "version": 1 } }),
        json!({ "persistedQuery": "x" }),
    ] {
        let (status, body) = post(&url, json!({ "extensions": extensions })).await;
        assert!(status == 400 || status == 200, "{body}");
        assert!(code(&body).starts_with("PERSISTED_QUERY") || code(&body) == "BAD_REQUEST");
        assert!(body.get("data").is_none());
    }
    // A query refused by a check is not stored: its hash stays unknown.
    let deep = "{ __schema { types { name } } }";
    let strict = start_with(|b| b.introspection(false)).await;
    let (_, body) = post(
        &strict.url(),
        json!({ "query": deep, "extensions": apq(&sha256(deep)) }),
    )
    .await;
    assert_eq!(code(&body), "INTROSPECTION_DISABLED");
    let (_, body) = post(&strict.url(), json!({ "extensions": apq(&sha256(deep)) })).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // The server keeps serving.
    let (status, body) = post(&url, json!({ "query": query })).await;
    assert_eq!(
        (status, &body["data"]["hello"]),
        (200, &json!("Hello, world!"))
    );
    // Switched off, a hash-only request is refused.
    let off = start_with(|b| b.persisted_queries(PersistedQueries::disabled())).await;
    let (_, body) = post(&off.url(), json!({ "extensions": apq(&wrong) })).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_SUPPORTED");
}

/// Skips outside CI when Redis is not there; fails under `CI=true`.
async fn redis_store(prefix: &str) -> Option<RedisStore> {
    let options = RedisStoreOptions {
        prefix: prefix.to_owned(),
        ..RedisStoreOptions::new("redis://127.0.0.1:6379")
    };
    match RedisStore::connect(options).await {
        Ok(store) => Some(store),
        Err(error) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("under CI Redis must be reachable: {error}");
            }
            eprintln!("SKIPPED: Redis at 127.0.0.1:6379: {error}");
            None
        }
    }
}

#[tokio::test]
async fn apq_through_redis_is_shared_by_two_servers() {
    let prefix = format!("quilt-test:apq:{:016x}:", rand_u64());
    let (Some(first), Some(second)) = (redis_store(&prefix).await, redis_store(&prefix).await)
    else {
        return;
    };
    let with_store = |store: RedisStore| {
        move |b: quilt_server::GraphQLServerBuilder| {
            b.persisted_queries(PersistedQueries {
                store: Arc::new(store),
                ..PersistedQueries::default()
            })
        }
    };
    let a = start_with(with_store(first)).await;
    let b = start_with(with_store(second)).await;
    let query = format!("{{ hello(name: \"{prefix}\") }}");
    let hash = sha256(&query);
    let (_, body) = post(&b.url(), json!({ "extensions": apq(&hash) })).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    // Registered through one server...
    let (_, body) = post(
        &a.url(),
        json!({ "query": query, "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(body["data"]["hello"], format!("Hello, {prefix}!"));
    // ...served by the other, over POST and GET.
    let (status, body) = post(&b.url(), json!({ "extensions": apq(&hash) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["hello"], format!("Hello, {prefix}!"));
    let (_, body) = get(&b.url(), &[("extensions", apq(&hash).to_string())]).await;
    assert_eq!(body["data"]["hello"], format!("Hello, {prefix}!"));
    // The key carries the prefix and a time to live.
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{prefix}{hash}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(ttl > 0, "TTL {ttl}");
    // A text in Redis that is not its key's query is never served.
    let forged = sha256("{ hello(name: \"forged\") }");
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}{forged}"))
        .arg("mutation { increment }")
        .arg("EX")
        .arg(60)
        .query_async(&mut connection)
        .await
        .unwrap();
    let (_, body) = post(&a.url(), json!({ "extensions": apq(&forged) })).await;
    assert_eq!(code(&body), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(a.stats.snapshot().counter, 0);
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}{hash}"))
        .arg(format!("{prefix}{forged}"))
        .query_async(&mut connection)
        .await
        .unwrap();
}

fn rand_u64() -> u64 {
    rand::random()
}

#[tokio::test]
async fn the_allow_list_serves_only_the_manifests_operations() {
    let listed = "query Listed { hello(name: \"listed\") }";
    let dir = std::env::temp_dir().join(format!("quilt-manifest-{:016x}", rand_u64()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("persisted-query-manifest.json");
    std::fs::write(
        &path,
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                { "id": sha256(listed), "body": listed, "name": "Listed", "type": "query" },
                { "id": "increment-1", "body": "mutation Increment { increment }", "name": "Increment", "type": "mutation" }
            ]
        })
        .to_string(),
    )
    .unwrap();
    let manifest = Manifest::from_file(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let server = start_with(|b| {
        b.persisted_queries(PersistedQueries {
            apq: false,
            manifest: Some(manifest),
            only_persisted: true,
            ..PersistedQueries::default()
        })
    })
    .await;
    let url = server.url();
    // By id: the APQ extension, and documentId (with and without its prefix).
    let (_, body) = post(&url, json!({ "extensions": apq(&sha256(listed)) })).await;
    assert_eq!(body["data"]["hello"], "Hello, listed!", "{body}");
    let (_, body) = post(&url, json!({ "documentId": "increment-1" })).await;
    assert_eq!(body["data"]["increment"], 1, "{body}");
    let (_, body) = post(
        &url,
        json!({ "documentId": format!("sha256:{}", sha256(listed)) }),
    )
    .await;
    assert_eq!(body["data"]["hello"], "Hello, listed!", "{body}");
    let (_, body) = get(&url, &[("documentId", sha256(listed))]).await;
    assert_eq!(body["data"]["hello"], "Hello, listed!", "{body}");
    // By its exact text.
    let (status, body) = post(&url, json!({ "query": listed })).await;
    assert_eq!(
        (status, &body["data"]["hello"]),
        (200, &json!("Hello, listed!"))
    );
    // Anything else is refused, and APQ registration is no way in.
    let other = "{ hello }";
    for request in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": apq(&sha256(other)) }),
        json!({ "query": "query Listed { hello(name: \"listed\") }  " }),
    ] {
        let (status, body) = post(&url, request).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(code(&body), "PERSISTED_QUERY_NOT_IN_LIST");
    }
    let (status, body) = post(&url, json!({ "extensions": apq(&sha256(other)) })).await;
    assert_eq!((status, code(&body)), (200, "PERSISTED_QUERY_NOT_FOUND"));
    // Over WebSocket too.
    let mut socket = connect_with(&server.ws_url(), Some("graphql-transport-ws"), &[]).await;
    send(&mut socket, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    send(
        &mut socket,
        json!({"type": "subscribe", "id": "1", "payload": {"query": other}}),
    )
    .await;
    let error = recv(&mut socket).await;
    assert_eq!(
        error["payload"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_IN_LIST",
        "{error}"
    );
    // Still serving.
    let (_, body) = post(&url, json!({ "documentId": "increment-1" })).await;
    assert_eq!(body["data"]["increment"], 2, "{body}");
    // Without the allow-list, the manifest's ids are served beside free text.
    let beside = start_with(|b| {
        b.persisted_queries(PersistedQueries {
            manifest: Some(Manifest::from_operations([("g", "{ hello }")])),
            ..PersistedQueries::default()
        })
    })
    .await;
    let (_, body) = post(&beside.url(), json!({ "documentId": "g" })).await;
    assert_eq!(body["data"]["hello"], "Hello, world!");
    let (_, body) = post(&beside.url(), json!({ "query": "{ greeting }" })).await;
    assert!(body["errors"].is_null(), "{body}");
}
