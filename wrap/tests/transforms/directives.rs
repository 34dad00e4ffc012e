//! Directives and deprecations on object fields.

use std::sync::{Arc, Mutex};

use quilt_executor::{Executor, Request, from_fn};
use quilt_test_support::JsPeer;
use quilt_wrap::transforms::{
    FilterObjectFieldDirectives, Matcher, RemoveObjectFieldDeprecations,
    RemoveObjectFieldDirectives, RemoveObjectFieldsWithDeprecation,
    RemoveObjectFieldsWithDirective,
};
use quilt_wrap::{Transform, WrapSchemaConfig, WrappedSchema, wrap_schema};
use serde_json::json;

use crate::support::{field_type, run, wrap};

const SDL: &str = r#"
directive @auth(role: String) on FIELD_DEFINITION
directive @cost(weight: Int) on FIELD_DEFINITION
type Query {
  public: String
  secret: String @auth(role: "admin")
  internal: String @auth(role: "staff") @cost(weight: 5)
  old: String @deprecated(reason: "gone soon")
}
"#;

/// A schema with custom directives (async-graphql's introspection cannot show them): the same
/// SDL is served by a real graphql-yoga server, reached over HTTP through a recorder of the
/// queries it gets. The server is returned to keep it alive.
async fn directive_schema(
    transform: impl Transform,
) -> (WrappedSchema, Arc<Mutex<Vec<String>>>, JsPeer) {
    let schema = apollo_compiler::Schema::parse_and_validate(SDL, "d.graphql")
        .unwrap()
        .into_inner();
    let server = JsPeer::start("directive-schema.mjs", &[]).await.unwrap();
    let http = quilt_executor::HttpExecutor::new(server.http_url("/graphql")).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let executor = from_fn(move |r: Request| {
        record.lock().unwrap().push(r.query().to_owned());
        http.execute(r)
    });
    let wrapped =
        wrap_schema(WrapSchemaConfig::new(schema, executor).transform(transform)).unwrap();
    (wrapped, seen, server)
}

fn directives_of(wrapped: &WrappedSchema, field: &str) -> Vec<String> {
    wrapped
        .schema()
        .type_field("Query", field)
        .unwrap()
        .directives
        .iter()
        .map(|d| d.to_string())
        .collect()
}

#[tokio::test]
async fn filter_object_field_directives_keeps_accepted_ones() {
    let (wrapped, seen, _server) =
        directive_schema(FilterObjectFieldDirectives::new(|name, args| {
            name == "deprecated" || (name == "auth" && args.get("role") == Some(&json!("admin")))
        }))
        .await;
    assert_eq!(
        directives_of(&wrapped, "secret"),
        ["@auth(role: \"admin\")"]
    );
    assert!(directives_of(&wrapped, "internal").is_empty());
    assert_eq!(directives_of(&wrapped, "old").len(), 1);
    let result = run(&wrapped, "{ public internal }", json!({})).await;
    assert_eq!(result["data"]["internal"], json!("i"));
    assert_eq!(seen.lock().unwrap().last().unwrap(), "{ public internal }");
}

#[tokio::test]
async fn remove_object_field_directives_by_name_and_args() {
    let (wrapped, _, _server) = directive_schema(
        RemoveObjectFieldDirectives::new("auth").with_args(json!({"role": "staff"})),
    )
    .await;
    assert_eq!(
        directives_of(&wrapped, "secret"),
        ["@auth(role: \"admin\")"]
    );
    assert_eq!(directives_of(&wrapped, "internal"), ["@cost(weight: 5)"]);
    let (wrapped, _, _server) =
        directive_schema(RemoveObjectFieldDirectives::new(Matcher::new(|n| {
            n != "deprecated"
        })))
        .await;
    assert!(
        directives_of(&wrapped, "internal").is_empty()
            && directives_of(&wrapped, "secret").is_empty()
    );
    let result = run(&wrapped, "{ secret }", json!({})).await;
    assert_eq!(result["data"]["secret"], json!("s"));
}

#[tokio::test]
async fn remove_object_fields_with_directive() {
    let (wrapped, seen, _server) =
        directive_schema(RemoveObjectFieldsWithDirective::new("auth")).await;
    assert!(field_type(wrapped.schema(), "Query", "secret").is_none());
    assert!(field_type(wrapped.schema(), "Query", "internal").is_none());
    assert!(field_type(wrapped.schema(), "Query", "public").is_some());
    let result = run(&wrapped, "{ public }", json!({})).await;
    assert_eq!(result["data"]["public"], json!("p"));
    assert_eq!(seen.lock().unwrap().len(), 1);
    let (wrapped, _, _server) = directive_schema(
        RemoveObjectFieldsWithDirective::new("cost").with_args(json!({"weight": 5})),
    )
    .await;
    assert!(field_type(wrapped.schema(), "Query", "internal").is_none());
    assert!(field_type(wrapped.schema(), "Query", "secret").is_some());
}

#[tokio::test]
async fn remove_object_field_deprecations_on_the_real_subgraph() {
    let w = wrap(vec![Box::new(RemoveObjectFieldDeprecations::new(
        "use hello",
    ))])
    .await;
    let greeting = w.wrapped.schema().type_field("Query", "greeting").unwrap();
    assert!(greeting.directives.get("deprecated").is_none());
    assert!(
        w.wrapped
            .original_schema()
            .type_field("Query", "greeting")
            .unwrap()
            .directives
            .get("deprecated")
            .is_some()
    );
    let result = w.run("{ greeting }", json!({})).await;
    assert_eq!(result, json!({"data": {"greeting": "Hi!"}}));
    let w = wrap(vec![Box::new(RemoveObjectFieldDeprecations::new(
        "another reason",
    ))])
    .await;
    assert!(
        w.wrapped
            .schema()
            .type_field("Query", "greeting")
            .unwrap()
            .directives
            .get("deprecated")
            .is_some()
    );
}

#[tokio::test]
async fn remove_object_fields_with_deprecation_on_the_real_subgraph() {
    let w = wrap(vec![Box::new(RemoveObjectFieldsWithDeprecation::new(
        Matcher::new(|r| r.contains("hello")),
    ))])
    .await;
    assert!(field_type(w.wrapped.schema(), "Query", "greeting").is_none());
    assert!(field_type(w.wrapped.schema(), "Query", "hello").is_some());
    let result = w.run("{ hello(name: \"you\") }", json!({})).await;
    assert_eq!(result, json!({"data": {"hello": "Hello, you!"}}));
}
