//! The HTTP executor against misbehaving peers: each failure is a typed error, never a panic
//! or a hang.

#![allow(clippy::unwrap_used)] // a panic in a test is a test failure

mod http_support;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::Response as HttpResponse;
use axum::routing::any;
use futures::StreamExt;
use http_support::{serve, within};
use quilt_executor::http::{HttpExecutor, SubscriptionProtocol};
use quilt_executor::{ErrorKind, Executor, ExecutorError, Request};
use quilt_test_support::TestServer;
use serde_json::json;

/// A server answering every request with `status`, `content_type` and the body chunks; a
/// `None` chunk breaks the connection off there.
async fn answering(
    status: u16,
    content_type: &'static str,
    chunks: Vec<Option<&'static str>>,
) -> TestServer {
    let router = Router::new().route(
        "/graphql",
        any(move || {
            let chunks = chunks.clone();
            async move {
                let body = futures::stream::iter(chunks).map(|chunk| match chunk {
                    Some(text) => Ok(Bytes::from_static(text.as_bytes())),
                    None => Err(std::io::Error::other("the peer broke off")),
                });
                HttpResponse::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .body(Body::from_stream(body))
                    .unwrap()
            }
        }),
    );
    serve(router).await
}

async fn query_error(executor: &HttpExecutor) -> ExecutorError {
    match within(executor.execute(Request::new("{ a }").unwrap())).await {
        Ok(response) => match within(response.into_single()).await {
            Ok(result) => panic!("expected an error, got {result:?}"),
            Err(error) => error,
        },
        Err(error) => error,
    }
}

/// The items of a subscription's stream, all of them (bounded by the test wait).
async fn subscription_items(
    executor: &HttpExecutor,
) -> Vec<Result<quilt_executor::ExecutionResult, ExecutorError>> {
    let response = within(executor.execute(Request::new("subscription { a }").unwrap()))
        .await
        .unwrap();
    assert!(response.is_stream());
    within(response.into_stream().collect::<Vec<_>>()).await
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/graphql");
    let executor = HttpExecutor::new(&url).unwrap();
    let error = query_error(&executor).await;
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    assert!(error.to_string().contains(&url), "{error}");
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    let router = Router::new().route("/graphql", any(futures::future::pending::<&'static str>));
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let error = query_error(&executor).await;
    assert!(
        matches!(&error, ExecutorError::Timeout { after, .. } if *after == Duration::from_millis(150)),
        "{error}"
    );
}

#[tokio::test]
async fn a_body_that_stalls_is_a_timeout() {
    let router = Router::new().route(
        "/graphql",
        any(|| async {
            let body = futures::stream::once(async {
                Ok::<_, Infallible>(Bytes::from_static(b"{\"data\":"))
            })
            .chain(futures::stream::pending());
            HttpResponse::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(body))
                .unwrap()
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    assert_eq!(query_error(&executor).await.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_502_with_an_html_body_is_an_http_status_error() {
    let server = answering(
        502,
        "text/html",
        vec![Some("<html><body><h1>502 Bad Gateway</h1></body></html>")],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let error = query_error(&executor).await;
    match &error {
        ExecutorError::HttpStatus {
            status,
            body_excerpt,
            endpoint,
        } => {
            assert_eq!(*status, 502);
            assert!(body_excerpt.contains("502 Bad Gateway"), "{body_excerpt}");
            assert_eq!(endpoint, &server.http_url());
        }
        other => panic!("expected an HTTP status error, got {other}"),
    }
}

#[tokio::test]
async fn a_500_with_a_graphql_body_is_still_an_http_status_error() {
    let server = answering(
        500,
        "application/json",
        vec![Some(r#"{"errors":[{"message":"x"}]}"#)],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    assert_eq!(query_error(&executor).await.status(), Some(500));
}

#[tokio::test]
async fn a_404_with_an_html_body_is_an_http_status_error() {
    let server = answering(404, "text/html", vec![Some("<html>not found</html>")]).await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let error = query_error(&executor).await;
    assert_eq!(error.status(), Some(404));
    assert!(!error.is_transient());
}

#[tokio::test]
async fn a_200_with_invalid_json_is_a_decode_error() {
    let server = answering(200, "application/json", vec![Some("{\"data\": {\"a\": ")]).await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let error = query_error(&executor).await;
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    assert!(error.to_string().contains("invalid JSON"), "{error}");
}

#[tokio::test]
async fn json_that_is_not_a_graphql_response_is_a_decode_error() {
    for body in [r#"{"result": 1}"#, "[1, 2]", "42"] {
        let server = answering(200, "application/json", vec![Some(body)]).await;
        let executor = HttpExecutor::new(server.http_url()).unwrap();
        let error = query_error(&executor).await;
        assert_eq!(error.kind(), ErrorKind::Decode, "{body}: {error}");
    }
}

#[tokio::test]
async fn a_body_broken_off_is_a_closed_error() {
    let server = answering(200, "application/json", vec![Some("{\"data\":"), None]).await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let error = query_error(&executor).await;
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

#[tokio::test]
async fn a_truncated_sse_stream_is_a_closed_error_after_its_events() {
    let server = answering(
        200,
        "text/event-stream",
        vec![
            Some("event: next\ndata: {\"data\":{\"a\":1}}\n\n"),
            Some("event: next\ndata: {\"da"),
        ],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let items = subscription_items(&executor).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(
        items[0].as_ref().unwrap().data_value(),
        Some(json!({"a": 1}))
    );
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    assert!(
        error.to_string().contains("without a `complete`"),
        "{error}"
    );
}

#[tokio::test]
async fn an_sse_connection_broken_off_is_a_closed_error() {
    let server = answering(
        200,
        "text/event-stream",
        vec![Some("event: next\ndata: {\"data\":{\"a\":1}}\n\n"), None],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    // The break may come before the response head is flushed (the request fails) or after
    // (the stream fails); either way it is a `Closed` error.
    let error = match within(executor.execute(Request::new("subscription { a }").unwrap())).await {
        Err(error) => error,
        Ok(response) => {
            let items: Vec<_> = within(response.into_stream().collect::<Vec<_>>()).await;
            assert!(items.len() <= 2, "{items:?}");
            items.into_iter().last().unwrap().unwrap_err()
        }
    };
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

#[tokio::test]
async fn an_sse_event_of_an_unknown_kind_is_a_protocol_error() {
    let server = answering(
        200,
        "text/event-stream",
        vec![Some("event: bogus\ndata: {}\n\nevent: complete\n\n")],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let items = subscription_items(&executor).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let error = items[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().contains("bogus"), "{error}");
}

#[tokio::test]
async fn an_sse_event_with_malformed_data_is_a_decode_error() {
    let server = answering(
        200,
        "text/event-stream",
        vec![Some("event: next\ndata: {not json\n\nevent: complete\n\n")],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let items = subscription_items(&executor).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn a_multipart_body_with_a_broken_boundary_is_a_protocol_error() {
    // The content type names one boundary, the body uses another.
    let server = answering(
        200,
        "multipart/mixed; boundary=\"graphql\"",
        vec![Some("--other\r\ncontent-type: application/json\r\n\r\n{\"data\":{\"a\":1}}\r\n--other--\r\n")],
    )
    .await;
    let executor = HttpExecutor::builder(server.http_url())
        .subscription_protocol(SubscriptionProtocol::ApolloMultipart)
        .build()
        .unwrap();
    let items = subscription_items(&executor).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let error = items[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");

    // The boundary is followed by garbage instead of a line end.
    let server = answering(
        200,
        "multipart/mixed; boundary=\"graphql\"",
        vec![Some("--graphql\r\ncontent-type: application/json\r\n\r\n{\"data\":{\"a\":1}}\r\n--graphqlGARBAGE\r\n")],
    )
    .await;
    let executor = HttpExecutor::new(server.http_url()).unwrap();
    let response = within(executor.execute(Request::new("{ a ... @defer { b } }").unwrap()))
        .await
        .unwrap();
    let items: Vec<_> = within(response.into_stream().collect::<Vec<_>>()).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(
        items[0].as_ref().unwrap().data_value(),
        Some(json!({"a": 1}))
    );
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn a_response_over_the_size_limit_is_refused() {
    // Announced by content-length, from the real subgraph.
    let server = TestServer::start().await.unwrap();
    let executor = HttpExecutor::builder(server.http_url())
        .max_response_size(10_000)
        .build()
        .unwrap();
    let error = within(executor.execute(Request::new("{ big(bytes: 50000) }").unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ExecutorError::ResponseTooLarge { limit: 10_000, .. }),
        "{error}"
    );
    let small = within(executor.execute(Request::new("{ big(bytes: 10) }").unwrap()))
        .await
        .unwrap();
    assert!(small.into_single().await.is_ok());

    // Chunked without a length, and never ending: refused once the limit is crossed.
    let router = Router::new().route(
        "/graphql",
        any(|| async {
            let chunk = Bytes::from(vec![b' '; 4096]);
            let body = futures::stream::once(async {
                Ok::<_, Infallible>(Bytes::from_static(b"{\"data\":\""))
            })
            .chain(futures::stream::repeat(chunk).map(Ok));
            HttpResponse::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(body))
                .unwrap()
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .max_response_size(64 * 1024)
        .build()
        .unwrap();
    let error = query_error(&executor).await;
    assert_eq!(error.kind(), ErrorKind::ResponseTooLarge, "{error}");
}

#[tokio::test]
async fn an_sse_event_over_the_size_limit_is_refused() {
    let router = Router::new().route(
        "/graphql",
        any(|| async {
            let chunk = Bytes::from(vec![b'x'; 4096]);
            let body = futures::stream::once(async {
                Ok::<_, Infallible>(Bytes::from_static(b"event: next\ndata: "))
            })
            .chain(futures::stream::repeat(chunk).map(Ok));
            HttpResponse::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(body))
                .unwrap()
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .max_response_size(64 * 1024)
        .build()
        .unwrap();
    let items = subscription_items(&executor).await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().kind(),
        ErrorKind::ResponseTooLarge
    );
}

#[tokio::test]
async fn a_multipart_part_over_the_size_limit_is_refused() {
    let router = Router::new().route(
        "/graphql",
        any(|| async {
            let chunk = Bytes::from(vec![b'x'; 4096]);
            let body = futures::stream::once(async {
                Ok::<_, Infallible>(Bytes::from_static(b"--graphql\r\n\r\n{\"payload\":\""))
            })
            .chain(futures::stream::repeat(chunk).map(Ok));
            HttpResponse::builder()
                .header("content-type", "multipart/mixed; boundary=graphql")
                .body(Body::from_stream(body))
                .unwrap()
        }),
    );
    let server = serve(router).await;
    let executor = HttpExecutor::builder(server.http_url())
        .subscription_protocol(SubscriptionProtocol::ApolloMultipart)
        .max_response_size(64 * 1024)
        .build()
        .unwrap();
    let items = subscription_items(&executor).await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().kind(),
        ErrorKind::ResponseTooLarge
    );
}

#[tokio::test]
async fn invalid_configuration_and_overrides_are_invalid_request_errors() {
    assert_eq!(
        HttpExecutor::new("not a url").unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        HttpExecutor::new("ftp://127.0.0.1/graphql")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        HttpExecutor::builder("http://127.0.0.1:9/graphql")
            .header("bad header", "x")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRequest
    );
    let executor = HttpExecutor::new("http://127.0.0.1:9/graphql").unwrap();
    let request = Request::new("{ a }")
        .unwrap()
        .extension("headers", json!({"x-n": 5}));
    let error = within(executor.execute(request)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
}
