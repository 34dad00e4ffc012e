//! The HTTP executor's two clients: plain `http://` JSON requests go on hyper's pooled client
//! directly, everything else (and every request of an executor given its own reqwest client)
//! through reqwest. Both must put the same bytes on the wire and fail with the same typed
//! errors, and a redirect is followed as reqwest follows it.

#![allow(clippy::unwrap_used)] // a panic in a test is a test failure

mod http_support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response as HttpResponse;
use axum::routing::any;
use futures::StreamExt;
use http_support::{recorder, serve, within};
use quilt_executor::http::HttpExecutor;
use quilt_executor::{ErrorKind, Executor, ExecutorError, Request};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The executor's own clients, and one given a reqwest client (which sends everything through
/// reqwest), for `url` with `configure` applied to both.
fn executors(
    url: &str,
    configure: impl Fn(
        quilt_executor::http::HttpExecutorBuilder,
    ) -> quilt_executor::http::HttpExecutorBuilder,
) -> [(&'static str, HttpExecutor); 2] {
    let given = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    [
        (
            "own",
            configure(HttpExecutor::builder(url)).build().unwrap(),
        ),
        (
            "reqwest",
            configure(HttpExecutor::builder(url).client(given))
                .build()
                .unwrap(),
        ),
    ]
}

/// A TCP server that keeps the raw bytes of each request it reads (head and `content-length`
/// body) and answers `{"data":{"a":1}}` on the same connection; with the count of connections
/// it accepted.
async fn raw_recorder() -> (
    String,
    tokio::sync::mpsc::Receiver<Vec<u8>>,
    Arc<AtomicUsize>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    let mut chunk = [0; 4096];
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(length) = complete_request(&buffer) {
                        let request: Vec<u8> = buffer.drain(..length).collect();
                        let _ = tx.send(request).await;
                        let body = br#"{"data":{"a":1}}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        if socket.write_all(head.as_bytes()).await.is_err()
                            || socket.write_all(body).await.is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, rx, accepted)
}

/// The length of the first whole request in `buffer` (head and `content-length` body).
fn complete_request(buffer: &[u8]) -> Option<usize> {
    let head_end = buffer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buffer[..head_end])
        .unwrap()
        .to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse::<usize>().unwrap());
    (buffer.len() >= head_end + length).then_some(head_end + length)
}

#[tokio::test]
async fn both_clients_put_the_same_bytes_on_the_wire() {
    let (url, mut seen, _) = raw_recorder().await;
    let mut sent = Vec::new();
    for (name, executor) in executors(&url, |b| b.header("x-team", "quilt")) {
        let mut requests = Vec::new();
        // A POST with variables, then a GET (queries over GET), each answered.
        let post = Request::new("query Q($n: Int) { a(n: $n) }")
            .unwrap()
            .operation_name("Q")
            .variable("n", json!(3));
        let result = within(executor.execute(post)).await.unwrap();
        let result = within(result.into_single()).await.unwrap();
        assert_eq!(result.data_value(), Some(json!({"a": 1})), "{name}");
        requests.push(within(seen.recv()).await.unwrap());
        sent.push((name, requests));
    }
    for (name, executor) in executors(&url, |b| b.use_get_for_queries(true)) {
        let get = Request::new("{ a }").unwrap();
        let result = within(executor.execute(get)).await.unwrap();
        within(result.into_single()).await.unwrap();
        let request = within(seen.recv()).await.unwrap();
        sent.iter_mut()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .push(request);
    }
    let text = |bytes: &Vec<u8>| String::from_utf8_lossy(bytes).into_owned();
    let (own, given) = (&sent[0].1, &sent[1].1);
    assert_eq!(own.len(), 2);
    for (own, given) in own.iter().zip(given) {
        assert_eq!(text(own), text(given));
    }
    // What that is: the method, the origin-form target, the executor's headers and the host.
    let post = text(&own[0]);
    assert!(post.starts_with("POST /graphql HTTP/1.1\r\n"), "{post}");
    assert!(post.contains("\r\nx-team: quilt\r\n"), "{post}");
    assert!(
        post.contains("\r\ncontent-type: application/json\r\n"),
        "{post}"
    );
    assert!(post.contains("\r\nhost: 127.0.0.1:"), "{post}");
    assert!(
        post.ends_with(
            r#"{"query":"query Q($n: Int) { a(n: $n) }","operationName":"Q","variables":{"n":3}}"#
        ),
        "{post}"
    );
    let get = text(&own[1]);
    assert!(
        get.starts_with("GET /graphql?query=%7B+a+%7D HTTP/1.1\r\n"),
        "{get}"
    );
    assert!(!get.contains("content-length"), "{get}");
}

#[tokio::test]
async fn connections_are_reused() {
    let (url, mut seen, accepted) = raw_recorder().await;
    for (name, executor) in executors(&url, |b| b) {
        let before = accepted.load(Ordering::SeqCst);
        for _ in 0..5 {
            let response = within(executor.execute(Request::new("{ a }").unwrap()))
                .await
                .unwrap();
            within(response.into_single()).await.unwrap();
            within(seen.recv()).await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst) - before, 1, "{name}");
    }
}

#[tokio::test]
async fn a_redirect_is_followed_as_reqwest_follows_it() {
    let (target, mut seen) = recorder(200, "application/json", r#"{"data":{"a":2}}"#).await;
    let location = target.http_url();
    let router = Router::new().route(
        "/graphql",
        any(move || {
            let location = location.clone();
            async move {
                HttpResponse::builder()
                    .status(307)
                    .header("location", location)
                    .body(Body::empty())
                    .unwrap()
            }
        }),
    );
    let server = serve(router).await;
    for (name, executor) in executors(&server.http_url(), |b| b) {
        let request = Request::new("{ a }").unwrap();
        let response = within(executor.execute(request)).await.unwrap();
        let result = within(response.into_single()).await.unwrap();
        assert_eq!(result.data_value(), Some(json!({"a": 2})), "{name}");
        // A 307 keeps the method and the body.
        let moved = http_support::next(&mut seen).await;
        assert_eq!(moved.method, "POST", "{name}");
        assert_eq!(moved.json(), json!({"query": "{ a }"}), "{name}");
    }
}

/// The error of one query through `executor`.
async fn query_error(executor: &HttpExecutor) -> ExecutorError {
    match within(executor.execute(Request::new("{ a }").unwrap())).await {
        Ok(response) => within(response.into_single()).await.unwrap_err(),
        Err(error) => error,
    }
}

#[tokio::test]
async fn both_clients_fail_with_the_same_typed_errors() {
    // Refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}/graphql", listener.local_addr().unwrap());
    drop(listener);
    for (name, executor) in executors(&refused, |b| b) {
        let error = query_error(&executor).await;
        assert_eq!(error.kind(), ErrorKind::Connect, "{name}: {error}");
        assert!(error.is_transient(), "{name}");
    }

    // Silent: the attempt's deadline.
    let silent =
        serve(Router::new().route("/graphql", any(futures::future::pending::<&'static str>))).await;
    for (name, executor) in executors(&silent.http_url(), |b| {
        b.timeout(Duration::from_millis(150))
    }) {
        let error = query_error(&executor).await;
        assert!(
            matches!(&error, ExecutorError::Timeout { after, .. } if *after == Duration::from_millis(150)),
            "{name}: {error}"
        );
    }

    // A body broken off after its first bytes.
    let broken = serve(Router::new().route(
        "/graphql",
        any(|| async {
            let body = futures::stream::iter([
                Ok(Bytes::from_static(b"{\"data\":")),
                Err(std::io::Error::other("the peer broke off")),
            ]);
            HttpResponse::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(body))
                .unwrap()
        }),
    ))
    .await;
    for (name, executor) in executors(&broken.http_url(), |b| b) {
        let error = query_error(&executor).await;
        // (The server may break off before its head is flushed, or after.)
        assert_eq!(error.kind(), ErrorKind::Closed, "{name}: {error}");
        assert!(error.is_transient(), "{name}");
    }

    // A 502 with a page, and an endless body over the size limit.
    let (bad_gateway, _seen) = recorder(502, "text/html", "<html>bad gateway</html>").await;
    for (name, executor) in executors(&bad_gateway.http_url(), |b| b) {
        let error = query_error(&executor).await;
        assert!(
            matches!(&error, ExecutorError::HttpStatus { status: 502, body_excerpt, .. }
                if body_excerpt == "<html>bad gateway</html>"),
            "{name}: {error}"
        );
    }
    let endless = serve(Router::new().route(
        "/graphql",
        any(|| async {
            let body =
                futures::stream::repeat(Bytes::from(vec![b' '; 4096])).map(Ok::<_, Infallible>);
            HttpResponse::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(body))
                .unwrap()
        }),
    ))
    .await;
    for (name, executor) in executors(&endless.http_url(), |b| b.max_response_size(64 * 1024)) {
        let error = query_error(&executor).await;
        assert_eq!(error.kind(), ErrorKind::ResponseTooLarge, "{name}: {error}");
    }
}
