//! Small servers for the HTTP executor's tests: a recorder that shows what crossed the wire,
//! and a way to serve any axum handler on 127.0.0.1:0.

#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use quilt_test_support::{Stats, TestServer};
use tokio::sync::mpsc;

/// How long a test waits for a recorded request.
pub const WAIT: Duration = quilt_test_support::WAIT;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Seen {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

/// Serves `router` on 127.0.0.1:0.
pub async fn serve(router: Router) -> TestServer {
    TestServer::serve("127.0.0.1:0".parse().unwrap(), router, Stats::default())
        .await
        .unwrap()
}

/// A server that records every request and answers `status` with `content_type` and `answer`.
pub async fn recorder(
    status: u16,
    content_type: &'static str,
    answer: &'static str,
) -> (TestServer, mpsc::Receiver<Seen>) {
    let (tx, rx) = mpsc::channel(64);
    let router = Router::new().route(
        "/graphql",
        any(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                async move {
                    let _ = tx
                        .send(Seen {
                            method,
                            uri,
                            headers,
                            body,
                        })
                        .await;
                    axum::response::Response::builder()
                        .status(StatusCode::from_u16(status).unwrap())
                        .header("content-type", content_type)
                        .body(Body::from(answer))
                        .unwrap()
                }
            },
        ),
    );
    (serve(router).await, rx)
}

/// The next recorded request (fails after [`WAIT`]).
pub async fn next(rx: &mut mpsc::Receiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no request within the wait")
        .expect("the recorder stopped")
}

pub use quilt_test_support::within;
