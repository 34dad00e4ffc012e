//! Transforms that change the response shape: WrapType, WrapFields, HoistField, TransformQuery.

use quilt_executor::PathSegment;
use quilt_wrap::transforms::{HoistField, TransformQuery, WrapFields, WrapType};
use serde_json::{Value, json};

use crate::support::{field_type, wrap};

#[tokio::test]
async fn wrap_type_nests_root_fields_and_maps_errors_back() {
    let w = wrap(vec![Box::new(WrapType::new("Query", "Namespace", "ns"))]).await;
    let schema = w.wrapped.schema();
    assert_eq!(schema.get_object("Query").unwrap().fields.len(), 1);
    assert_eq!(
        field_type(schema, "Query", "ns").as_deref(),
        Some("Namespace!")
    );
    assert_eq!(
        field_type(schema, "Namespace", "user").as_deref(),
        Some("User")
    );
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
    assert!(
        data.get("x").is_none(),
        "an excluded wrapper is absent: {data}"
    );
    assert_eq!(data["y"], json!({"hello": "Hello, y!"}));
    assert_eq!(
        data.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ns", "y"]
    );
    assert_eq!(
        result["errors"][0]["path"],
        json!(["ns", "posts", 12, "maybeTitle"])
    );
    let sent = w.last_query();
    assert!(
        sent.contains("_qw_ns__u: user(id: $id)") && !sent.contains("Namespace"),
        "{sent}"
    );
}

#[tokio::test]
async fn wrap_fields_moves_chosen_fields_under_a_chain() {
    let w = wrap(vec![Box::new(
        WrapFields::new("Query", ["admin", "people"], ["Admin", "People"])
            .fields(|name, _| name.starts_with("user") || name == "fail"),
    )])
    .await;
    let schema = w.wrapped.schema();
    assert_eq!(
        field_type(schema, "Query", "admin").as_deref(),
        Some("Admin!")
    );
    assert_eq!(
        field_type(schema, "Admin", "people").as_deref(),
        Some("People!")
    );
    assert!(field_type(schema, "People", "usersByRole").is_some());
    assert!(
        field_type(schema, "Query", "user").is_none()
            && field_type(schema, "Query", "hello").is_some()
    );
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
    assert_eq!(
        result["errors"][0]["path"],
        json!(["admin", "people", "fail"])
    );
}

#[tokio::test]
async fn wrap_fields_on_a_nested_object_type_inside_lists() {
    let w = wrap(vec![Box::new(
        WrapFields::new("User", ["profile"], ["Profile"])
            .fields(|name, _| name == "name" || name == "role"),
    )])
    .await;
    assert_eq!(
        field_type(w.wrapped.schema(), "User", "profile").as_deref(),
        Some("Profile!")
    );
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

#[tokio::test]
async fn hoist_field_exposes_a_deep_field_with_its_arguments() {
    let w = wrap(vec![Box::new(HoistField::new(
        "Query",
        ["user", "name"],
        "userName",
    ))])
    .await;
    let schema = w.wrapped.schema();
    let hoisted = schema.type_field("Query", "userName").unwrap();
    assert_eq!(hoisted.ty.to_string(), "String");
    assert!(hoisted.argument_by_name("id").is_some());
    assert!(
        field_type(schema, "User", "name").is_none(),
        "the field moves"
    );
    let result = w
        .run(
            "query($id: ID!) { userName(id: $id) other: userName(id: \"4\") nobody: userName(id: \"99\") }",
            json!({"id": "2"}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {"userName": "Grace", "other": "Edsger", "nobody": null}})
    );
    let sent = w.last_query();
    assert!(sent.contains("userName: user(id: $id) { name }"), "{sent}");
}

#[tokio::test]
async fn hoist_field_through_a_list_maps_items_and_error_paths() {
    let w = wrap(vec![Box::new(HoistField::new(
        "Query",
        ["posts", "maybeTitle"],
        "postTitles",
    ))])
    .await;
    assert_eq!(
        field_type(w.wrapped.schema(), "Query", "postTitles").as_deref(),
        Some("[String]!")
    );
    let result = w
        .run(
            "{ titles: postTitles(count: 13) ...F } fragment F on Query { postTitles(count: 2) }",
            json!({}),
        )
        .await;
    let titles = result["data"]["titles"].as_array().unwrap();
    assert_eq!(titles.len(), 13);
    assert_eq!(titles[0], json!("Post 1"));
    assert_eq!(titles[12], json!(null));
    assert_eq!(result["data"]["postTitles"], json!(["Post 1", "Post 2"]));
    assert_eq!(result["errors"][0]["path"], json!(["titles", 12]));
}

fn selections(source: &str) -> Vec<apollo_compiler::ast::Selection> {
    apollo_compiler::ast::Document::parse(source, "q.graphql")
        .unwrap()
        .definitions[0]
        .as_operation_definition()
        .unwrap()
        .selection_set
        .clone()
}

#[tokio::test]
async fn transform_query_rewrites_selection_result_and_error_paths() {
    let w = wrap(vec![
        Box::new(
            TransformQuery::new(["user"], |_| selections("{ id name }")).result(|value| match value {
                Value::Object(o) => json!({"name": format!("{}#{}", o["name"].as_str().unwrap_or(""), o["id"].as_str().unwrap_or(""))}),
                other => other,
            }),
        ),
        Box::new(
            TransformQuery::new(["post"], |_| selections("{ maybeTitle }"))
                .result(|value| match value {
                    Value::Object(mut o) => json!({"title": o.remove("maybeTitle")}),
                    other => other,
                })
                .error_path(|rest| {
                    rest.iter()
                        .map(|s| match s {
                            PathSegment::Key(k) if k == "maybeTitle" => PathSegment::Key("title".into()),
                            other => other.clone(),
                        })
                        .collect()
                }),
        ),
    ])
    .await;
    let result = w
        .run(
            "{ me: user(id: \"3\") { name } post(id: 13) { title } ok: post(id: 2) { title } }",
            json!({}),
        )
        .await;
    assert_eq!(result["data"]["me"], json!({"name": "Alan#3"}));
    assert_eq!(result["data"]["ok"], json!({"title": "Post 2"}));
    // async-graphql nulls the object whose nullable field failed; the error path is mapped.
    assert_eq!(result["data"]["post"], json!(null));
    assert_eq!(result["errors"][0]["path"], json!(["post", "title"]));
    let sent = w.last_query();
    assert!(
        sent.contains("me: user(id: \"3\") { id name }")
            && sent.contains("post(id: 13) { maybeTitle }"),
        "{sent}"
    );
}
