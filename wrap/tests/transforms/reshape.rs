//! Transforms that change the response shape: WrapType, WrapFields, HoistField, TransformQuery.

use quilt_wrap::transforms::{WrapFields, WrapType};
use serde_json::json;

use crate::support::{field_type, wrap};

#[tokio::test]
async fn wrap_type_nests_root_fields_and_maps_errors_back() {
    let w = wrap(vec![Box::new(WrapType::new("Query", "Namespace", "ns"))]).await;
    let schema = w.wrapped.schema();
    assert_eq!(schema.get_object("Query").unwrap().fields.len(), 1);
    assert_eq!(field_type(schema, "Query", "ns").as_deref(), Some("Namespace!"));
    assert_eq!(field_type(schema, "Namespace", "user").as_deref(), Some("User"));
    let result = w
        .run(
            "query($id: ID!, $no: Boolean!) {
               ns { __typename hello u: user(id: $id) { name } ...F posts(count: 13) @skip(if: $no) { maybeTitle } }
               x: ns @include(if: $no) { hello }
               y: ns { hello(name: \"y\") }
             }
             fragment F on Namespace { users(ids: [\"1\"]) { name } }",
            json!({"id": "3", "no": false}),
        )
        .await;
    let data = &result["data"];
    assert_eq!(data["ns"]["__typename"], json!("Namespace"));
    assert_eq!(data["ns"]["hello"], json!("Hello, world!"));
    assert_eq!(data["ns"]["u"], json!({"name": "Alan"}));
    assert_eq!(data["ns"]["users"], json!([{"name": "Ada"}]));
    assert_eq!(data["ns"]["posts"][0], json!({"maybeTitle": "Post 1"}));
    assert_eq!(data["ns"]["posts"].as_array().unwrap().len(), 13);
    assert!(data.get("x").is_none(), "an excluded wrapper is absent: {data}");
    assert_eq!(data["y"], json!({"hello": "Hello, y!"}));
    assert_eq!(data.as_object().unwrap().keys().collect::<Vec<_>>(), ["ns", "y"]);
    assert_eq!(result["errors"][0]["path"], json!(["ns", "posts", 12, "maybeTitle"]));
    let sent = w.last_query();
    assert!(sent.contains("_qw_ns__u: user(id: $id)") && !sent.contains("Namespace"), "{sent}");
}

#[tokio::test]
async fn wrap_fields_moves_chosen_fields_under_a_chain() {
    let w = wrap(vec![Box::new(
        WrapFields::new("Query", ["admin", "people"], ["Admin", "People"])
            .fields(|name, _| name.starts_with("user") || name == "fail"),
    )])
    .await;
    let schema = w.wrapped.schema();
    assert_eq!(field_type(schema, "Query", "admin").as_deref(), Some("Admin!"));
    assert_eq!(field_type(schema, "Admin", "people").as_deref(), Some("People!"));
    assert!(field_type(schema, "People", "usersByRole").is_some());
    assert!(field_type(schema, "Query", "user").is_none() && field_type(schema, "Query", "hello").is_some());
    let result = w
        .run(
            "{ hello admin { __typename people { t: __typename u: user(id: \"2\") { name } usersByRole(role: ADMIN) { name } fail } } }",
            json!({}),
        )
        .await;
    assert_eq!(result["data"]["hello"], json!("Hello, world!"));
    assert_eq!(result["data"]["admin"]["__typename"], json!("Admin"));
    let people = &result["data"]["admin"]["people"];
    assert_eq!(people["t"], json!("People"));
    assert_eq!(people["u"], json!({"name": "Grace"}));
    assert_eq!(people["usersByRole"], json!([{"name": "Ada"}]));
    assert_eq!(result["errors"][0]["path"], json!(["admin", "people", "fail"]));
}

#[tokio::test]
async fn wrap_fields_on_a_nested_object_type_inside_lists() {
    let w = wrap(vec![Box::new(
        WrapFields::new("User", ["profile"], ["Profile"]).fields(|name, _| name == "name" || name == "role"),
    )])
    .await;
    assert_eq!(field_type(w.wrapped.schema(), "User", "profile").as_deref(), Some("Profile!"));
    let result = w
        .run(
            "{ users(ids: [\"1\", \"9\", \"2\"]) { id profile { name role } } node(id: \"user:4\") { ... on User { p: profile { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "users": [
                {"id": "1", "profile": {"name": "Ada", "role": "ADMIN"}},
                null,
                {"id": "2", "profile": {"name": "Grace", "role": "MEMBER"}}
            ],
            "node": {"p": {"name": "Edsger"}}
        }})
    );
}
