//! The filter family.

use quilt_wrap::transforms::{
    FilterInputObjectFields, FilterInterfaceFields, FilterObjectFields, FilterRootFields,
    FilterTypes,
};
use serde_json::json;

use crate::support::{field_type, wrap};

#[tokio::test]
async fn filter_types_removes_types_and_what_refers_to_them() {
    let w = wrap(vec![Box::new(FilterTypes::new(|ty| ty.name() != "Post"))]).await;
    let schema = w.wrapped.schema();
    assert!(!schema.types.contains_key("Post"));
    assert!(
        field_type(schema, "Query", "posts").is_none()
            && field_type(schema, "Query", "post").is_none()
    );
    assert!(
        field_type(schema, "Query", "node").is_some(),
        "the interface stays"
    );
    let result = w
        .run(
            "{ node(id: \"user:1\") { id ... on User { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {"node": {"id": "1", "name": "Ada"}}})
    );
}

#[tokio::test]
async fn filter_root_fields_keeps_the_rest_working() {
    let w = wrap(vec![Box::new(FilterRootFields::new(|_, field, _| {
        !field.starts_with("fail")
    }))])
    .await;
    let schema = w.wrapped.schema();
    assert!(
        field_type(schema, "Query", "fail").is_none()
            && field_type(schema, "Query", "failNonNull").is_none()
    );
    assert!(field_type(schema, "Subscription", "failAfterOne").is_none());
    assert!(field_type(schema, "Query", "hello").is_some());
    let result = w
        .run(
            "query($ids: [ID!]) { users(ids: $ids) { name } post(id: 13) { title } }",
            json!({"ids": ["5"]}),
        )
        .await;
    assert_eq!(
        result["data"],
        json!({"users": [{"name": "Barbara"}], "post": null})
    );
    assert_eq!(result["errors"][0]["path"], json!(["post", "title"]));
}

#[tokio::test]
async fn filter_object_fields_and_interface_fields() {
    let w = wrap(vec![
        Box::new(FilterObjectFields::new(|ty, field, _| {
            !(ty == "User" && field == "bestFriendId")
        })),
        Box::new(FilterInterfaceFields::new(|ty, field, _| {
            !(ty == "Node" && field == "id")
        })),
    ])
    .await;
    let schema = w.wrapped.schema();
    assert!(field_type(schema, "User", "bestFriendId").is_none());
    assert!(field_type(schema, "User", "name").is_some());
    assert!(
        !schema.types.contains_key("Node"),
        "an interface left without fields is removed"
    );
    assert!(
        field_type(schema, "Query", "node").is_none(),
        "and fields returning it"
    );
    assert!(
        field_type(schema, "User", "id").is_some(),
        "implementations keep their fields"
    );
    let result = w.run("{ user(id: \"1\") { id name } }", json!({})).await;
    assert_eq!(
        result,
        json!({"data": {"user": {"id": "1", "name": "Ada"}}})
    );
}

#[tokio::test]
async fn filter_input_object_fields() {
    let w = wrap(vec![Box::new(FilterInputObjectFields::new(
        |ty, field, _| !(ty == "UserFilter" && field == "nameContains"),
    ))])
    .await;
    let filter = w.wrapped.schema().get_input_object("UserFilter").unwrap();
    assert!(!filter.fields.contains_key("nameContains") && filter.fields.contains_key("role"));
    let result = w
        .run(
            "query($f: UserFilter!) { searchUsers(filter: $f) { name } }",
            json!({"f": {"role": "ADMIN"}}),
        )
        .await;
    assert_eq!(result, json!({"data": {"searchUsers": [{"name": "Ada"}]}}));
}
