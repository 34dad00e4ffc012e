//! Remote subschemas as the flags and the TOML file describe them: schema loading without
//! `_sdl`, headers, timeouts, `Authorization` forwarding over HTTP and WebSocket, the legacy
//! WebSocket protocol, and transforms.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::{settings, start, within};
use futures::StreamExt;
use gateway_example::config::FileConfig;
use gateway_example::demo::Demo;
use gateway_example::spec::{SubschemaSpec, WsProtocol};
use quilt_executor::{Executor, HttpExecutor, Request};
use quilt_test_support::{TestServer, WAIT};
use serde_json::json;

#[tokio::test]
async fn headers_authorization_and_timeouts_reach_a_service_without_sdl() {
    let service = TestServer::start().await.unwrap();
    let file = FileConfig::parse(&format!(
        r#"
        [[subschemas]]
        name = "test"
        url = "{}"
        timeout = 0.5
        headers = {{ "x-api-key" = "secret" }}
        "#,
        service.http_url()
    ))
    .unwrap();
    let gateway = start(settings(file.subschemas)).await;

    let result = gateway
        .query(r#"{ hello header(name: "x-api-key") }"#)
        .await;
    assert_eq!(
        result,
        json!({"data": {"hello": "Hello, world!", "header": "secret"}})
    );

    let client = HttpExecutor::builder(gateway.url.as_str())
        .header("authorization", "Bearer ada")
        .build()
        .unwrap();
    let result = within(async {
        client
            .execute(Request::new(r#"{ header(name: "authorization") }"#).unwrap())
            .await?
            .into_single()
            .await
    })
    .await
    .unwrap();
    assert_eq!(result.data_value(), Some(json!({"header": "Bearer ada"})));

    let slow = gateway.query("{ slow(ms: 5000) }").await;
    assert_eq!(
        slow["errors"][0]["extensions"]["code"],
        json!("TIMEOUT"),
        "{slow}"
    );
    assert_eq!(slow["errors"][0]["path"], json!(["slow"]));
}

#[tokio::test]
async fn subscriptions_reach_a_legacy_graphql_ws_service_with_the_client_token() {
    let service = TestServer::start().await.unwrap();
    let mut spec = SubschemaSpec::new("test", service.http_url());
    spec.ws_protocol = WsProtocol::GraphqlWs;
    let gateway = start(settings(vec![spec])).await;
    // The client's Authorization header reaches the service as connectionParams.token; the
    // gateway's own HttpExecutor client speaks SSE to the gateway.
    let client = HttpExecutor::builder(gateway.url.as_str())
        .header("authorization", "Bearer grace")
        .build()
        .unwrap();
    let query = r#"subscription { connectionParam(key: "token") }"#;
    let events: Vec<_> = within(async {
        client
            .execute(Request::new(query).unwrap())
            .await
            .unwrap()
            .into_stream()
            .collect::<Vec<_>>()
            .await
    })
    .await;
    assert_eq!(events.len(), 1);
    let data = events[0].as_ref().unwrap().data_value().clone();
    assert_eq!(data, Some(json!({"connectionParam": "Bearer grace"})));

    let counted: Vec<_> = within(async {
        client
            .execute(Request::new("subscription { count(to: 3) }").unwrap())
            .await
            .unwrap()
            .into_stream()
            .map(|event| event.unwrap().data_value().unwrap()["count"].clone())
            .collect::<Vec<_>>()
            .await
    })
    .await;
    assert_eq!(counted, [json!(1), json!(2), json!(3)]);
    assert!(service.stats().snapshot().ws_connections >= 1);
}

#[tokio::test]
async fn transforms_prefix_types_and_root_fields_and_filter_root_fields() {
    let demo = Demo::start().await.unwrap();
    let mut specs = demo.specs();
    specs.retain(|spec| spec.name == "products" || spec.name == "accounts");
    let products = specs
        .iter_mut()
        .find(|spec| spec.name == "products")
        .unwrap();
    products.transforms.keep_root_fields = Some(vec!["topProducts".into(), "product".into()]);
    products.transforms.type_prefix = Some("Shop".into());
    products.transforms.root_field_prefix = Some("shop_".into());
    let gateway = start(settings(specs)).await;

    let result = gateway
        .query(r#"{ me { name } shop_topProducts(first: 1) { upc __typename } shop_product(upc: "2") { name } }"#)
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "me": {"name": "Ada"},
            "shop_topProducts": [{"upc": "1", "__typename": "ShopProduct"}],
            "shop_product": {"name": "Couch"}
        }})
    );
    for filtered in [
        r#"{ shop_products(upcs: ["1"]) { upc } }"#,
        "{ topProducts { upc } }",
    ] {
        let result = gateway.query(filtered).await;
        assert!(result.get("data").is_none(), "{filtered}: {result}");
        assert_eq!(
            result["errors"][0]["extensions"]["code"],
            json!("GRAPHQL_VALIDATION_FAILED")
        );
    }
}

#[tokio::test]
async fn a_subschema_that_cannot_be_loaded_is_an_error_naming_it() {
    let service = TestServer::start().await.unwrap();
    let url = format!("http://{}/nothing-here", service.addr());
    let settings = settings(vec![SubschemaSpec::new("ghost", url)]);
    let prepared = gateway_example::run::prepare(&settings);
    let error = tokio::time::timeout(WAIT, prepared)
        .await
        .unwrap()
        .err()
        .unwrap();
    assert!(format!("{error:#}").contains("ghost"), "{error:#}");
}
