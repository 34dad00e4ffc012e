//! Header rules of a subschema (`headers = [ ... ]` in the TOML file): what a service receives
//! from a client's headers through a running gateway, read back by the test service's
//! `header(name:)` field, which echoes the headers of the request it got.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::{settings, start, within};
use gateway_example::config::FileConfig;
use quilt_executor::{Executor, HttpExecutor, Request};
use quilt_test_support::TestServer;
use serde_json::{Value, json};

/// Every header the service may have received, by alias.
const ECHO: &str = r#"{
  auth: header(name: "authorization")
  tenant: header(name: "x-tenant")
  user: header(name: "x-user-id")
  userUnrenamed: header(name: "x-user")
  traceId: header(name: "x-trace-id")
  traceSpan: header(name: "x-trace-span")
  key: header(name: "x-api-key")
  cookie: header(name: "cookie")
  internal: header(name: "x-internal-debug")
  other: header(name: "x-other")
}"#;

async fn echo(url: &str, client_headers: &[(&str, &str)]) -> Value {
    let mut client = HttpExecutor::builder(url);
    for (name, value) in client_headers {
        client = client.header(name, value);
    }
    let client = client.build().unwrap();
    let result = within(async {
        client
            .execute(Request::new(ECHO).unwrap())
            .await?
            .into_single()
            .await
    })
    .await
    .unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    result.data_value().unwrap()
}

#[tokio::test]
async fn header_rules_propagate_rename_insert_and_remove_and_authorization_is_forwarded() {
    let service = TestServer::start().await.unwrap();
    let file = FileConfig::parse(&format!(
        r#"
        [[subschemas]]
        name = "test"
        url = "{}"
        headers = [
          {{ propagate = {{ named = "X-Tenant" }} }},
          {{ propagate = {{ named = "x-user", rename = "x-user-id", default = "anonymous" }} }},
          {{ propagate = {{ matching = "^x-(trace|internal)-" }} }},
          {{ propagate = {{ named = "cookie" }} }},
          {{ insert = {{ name = "x-api-key", value = "secret" }} }},
          {{ remove = {{ named = "cookie" }} }},
          {{ remove = {{ matching = "^X-INTERNAL-" }} }},
        ]
        "#,
        service.http_url()
    ))
    .unwrap();
    let gateway = start(settings(file.subschemas)).await;

    let received = echo(
        &gateway.url,
        &[
            ("authorization", "Bearer ada"),
            ("x-tenant", "acme"),
            ("x-user", "ada"),
            ("x-trace-id", "t-1"),
            ("x-trace-span", "s-1"),
            ("x-internal-debug", "1"),
            ("x-api-key", "from-the-client"),
            ("cookie", "session=1"),
            ("x-other", "o"),
        ],
    )
    .await;
    assert_eq!(
        received,
        json!({
            "auth": "Bearer ada",
            "tenant": "acme",
            "user": "ada",
            "userUnrenamed": null,
            "traceId": "t-1",
            "traceSpan": "s-1",
            "key": "secret",
            "cookie": null,
            "internal": null,
            "other": null,
        })
    );

    // Without the client's headers: the default of the renamed one, the inserted one, nothing
    // else.
    let received = echo(&gateway.url, &[]).await;
    assert_eq!(
        received,
        json!({
            "auth": null,
            "tenant": null,
            "user": "anonymous",
            "userUnrenamed": null,
            "traceId": null,
            "traceSpan": null,
            "key": "secret",
            "cookie": null,
            "internal": null,
            "other": null,
        })
    );
}

#[tokio::test]
async fn without_rules_only_authorization_is_forwarded_and_it_can_be_turned_off() {
    let service = TestServer::start().await.unwrap();
    let file = FileConfig::parse(&format!(
        r#"
        [[subschemas]]
        name = "default"
        url = "{url}"

        [[subschemas]]
        name = "off"
        url = "{url}"
        forward_authorization = false
        transforms = {{ root_field_prefix = "off_" }}
        "#,
        url = service.http_url()
    ))
    .unwrap();
    let gateway = start(settings(file.subschemas)).await;
    let client = HttpExecutor::builder(gateway.url.as_str())
        .header("authorization", "Bearer ada")
        .header("x-tenant", "acme")
        .build()
        .unwrap();
    let query = r#"{
      auth: header(name: "authorization") tenant: header(name: "x-tenant")
      offAuth: off_header(name: "authorization")
    }"#;
    let result = within(async {
        client
            .execute(Request::new(query).unwrap())
            .await?
            .into_single()
            .await
    })
    .await
    .unwrap();
    assert_eq!(
        result.data_value(),
        Some(json!({"auth": "Bearer ada", "tenant": null, "offAuth": null})),
        "{:?}",
        result.errors
    );
}

#[test]
fn a_bad_rule_is_an_error_naming_the_subschema_key() {
    let error = FileConfig::parse(
        r#"
        [[subschemas]]
        name = "test"
        url = "http://h/graphql"
        headers = [ { propagate = { matching = "(" } } ]
        "#,
    )
    .err()
    .unwrap();
    let message = format!("{error:#}");
    assert!(message.contains("not a regular expression"), "{message}");
    assert!(message.contains("headers"), "{message}");
}

#[tokio::test]
async fn clients_differing_only_in_a_forwarded_header_never_share_an_execution() {
    use quilt_test_support::gated::GatedServer;
    let service = GatedServer::start().await.unwrap();
    // The service's `who` echoes `authorization`: here the client's `x-tenant`, renamed.
    let file = FileConfig::parse(&format!(
        r#"
        [[subschemas]]
        name = "gated"
        url = "{}"
        forward_authorization = false
        headers = [ {{ propagate = {{ named = "x-tenant", rename = "authorization" }} }} ]
        "#,
        service.http_url()
    ))
    .unwrap();
    let gateway = start(settings(file.subschemas)).await;
    let tenant = |name: &str| {
        HttpExecutor::builder(gateway.url.as_str())
            .header("x-tenant", name)
            .deduplicate_inflight(false)
            .build()
            .unwrap()
    };
    let (acme, globex) = (tenant("acme"), tenant("globex"));
    // Each `who` waits until two calls reached the service: one shared execution would fail.
    let query = "{ who(until: 2) }";
    let run = |client: &HttpExecutor| {
        let future = client.execute(Request::new(query).unwrap());
        async move {
            within(async { future.await?.into_single().await })
                .await
                .unwrap()
        }
    };
    let (for_acme, for_globex) = tokio::join!(run(&acme), run(&globex));
    assert_eq!(
        for_acme.data_value(),
        Some(json!({"who": "acme"})),
        "{:?}",
        for_acme.errors
    );
    assert_eq!(
        for_globex.data_value(),
        Some(json!({"who": "globex"})),
        "{:?}",
        for_globex.errors
    );
    assert_eq!(gateway.prepared.dedup_stats().unwrap().shared, 0);
}
