//! The rename family.

use quilt_wrap::transforms::{
    RenameInputObjectFields, RenameInterfaceFields, RenameObjectFieldArguments, RenameObjectFields,
    RenameRootFields, RenameRootTypes, RenameTypes,
};
use serde_json::json;

use crate::support::{field_type, wrap};

#[tokio::test]
async fn rename_types_maps_fragments_variables_and_typenames() {
    let w = wrap(vec![Box::new(RenameTypes::new(|name| {
        Some(format!("Gh{name}"))
    }))])
    .await;
    let schema = w.wrapped.schema();
    assert!(schema.types.contains_key("GhUser") && !schema.types.contains_key("User"));
    assert!(
        schema.types.contains_key("GhQuery"),
        "root types are renamed too"
    );
    assert!(
        schema.types.contains_key("String"),
        "built-in scalars keep their names"
    );
    assert_eq!(
        field_type(schema, "GhQuery", "node").as_deref(),
        Some("GhNode")
    );
    assert!(w.sdl().contains("type GhUser implements GhNode"));

    let result = w
        .run(
            "query Q($f: GhUserFilter!, $role: GhRole!) {
               __typename
               searchUsers(filter: $f) { ...U }
               usersByRole(role: $role) { __typename id }
               a: node(id: \"user:2\") { __typename ... on GhUser { name } ... on GhPost { title } }
               b: node(id: \"post:3\") { t: __typename ... on GhPost { title } }
             }
             fragment U on GhUser { __typename name role }",
            json!({"f": {"role": "ADMIN"}, "role": "ADMIN"}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "__typename": "GhQuery",
            "searchUsers": [{"__typename": "GhUser", "name": "Ada", "role": "ADMIN"}],
            "usersByRole": [{"__typename": "GhUser", "id": "1"}],
            "a": {"__typename": "GhUser", "name": "Grace"},
            "b": {"t": "GhPost", "title": "Post 3"}
        }})
    );
    let sent = w.last_query();
    assert!(
        sent.contains("$f: UserFilter!") && sent.contains("$role: Role!"),
        "{sent}"
    );
    assert!(
        sent.contains("fragment U on User") && sent.contains("... on Post"),
        "{sent}"
    );
    assert!(!sent.contains("Gh"), "{sent}");
}

#[tokio::test]
async fn rename_root_types_only_touches_roots() {
    let w = wrap(vec![Box::new(RenameRootTypes::new(|name| {
        Some(format!("Root{name}"))
    }))])
    .await;
    let schema = w.wrapped.schema();
    assert!(schema.types.contains_key("RootQuery") && schema.types.contains_key("RootMutation"));
    assert!(schema.types.contains_key("User"));
    assert_eq!(
        schema.schema_definition.query.as_ref().unwrap().name,
        "RootQuery"
    );
    let result = w
        .run(
            "{ __typename ...F } fragment F on RootQuery { hello }",
            json!({}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {"__typename": "RootQuery", "hello": "Hello, world!"}})
    );
    assert!(w.last_query().contains("fragment F on Query"));
}

#[tokio::test]
async fn rename_root_fields_aliases_and_keeps_client_aliases() {
    let w = wrap(vec![Box::new(RenameRootFields::new(|op, field, _| {
        (op == apollo_compiler::ast::OperationType::Query).then(|| format!("gh_{field}"))
    }))])
    .await;
    let schema = w.wrapped.schema();
    assert!(field_type(schema, "Query", "gh_hello").is_some());
    assert!(field_type(schema, "Query", "hello").is_none());
    assert!(
        field_type(schema, "Mutation", "increment").is_some(),
        "mutations untouched"
    );
    let result = w
        .run(
            "query($n: String!) { gh_hello(name: $n) mine: gh_hello gh_fail(message: \"bad\") }",
            json!({"n": "Quilt"}),
        )
        .await;
    // async-graphql leaves a failed nullable field out of `data`; the error path is what counts.
    assert_eq!(result["data"]["gh_hello"], json!("Hello, Quilt!"));
    assert_eq!(result["data"]["mine"], json!("Hello, world!"));
    assert_eq!(result["errors"][0]["path"], json!(["gh_fail"]));
    assert_eq!(result["errors"][0]["message"], json!("bad"));
    assert!(
        w.last_query().contains("gh_hello: hello(name: $n)"),
        "{}",
        w.last_query()
    );
    assert!(w.last_query().contains("mine: hello"), "{}", w.last_query());
}

#[tokio::test]
async fn rename_object_fields_in_nested_selections_and_fragments() {
    let w = wrap(vec![Box::new(RenameObjectFields::new(|ty, field, _| {
        (ty == "User" && field == "name").then(|| "fullName".to_owned())
    }))])
    .await;
    assert!(field_type(w.wrapped.schema(), "User", "fullName").is_some());
    assert!(field_type(w.wrapped.schema(), "User", "name").is_none());
    let result = w
        .run(
            "{ users(ids: [\"1\", \"9\"]) { fullName short: fullName } node(id: \"user:3\") { ... on User { fullName } } post(id: 13) { title } }",
            json!({}),
        )
        .await;
    assert_eq!(
        result["data"],
        json!({"users": [{"fullName": "Ada", "short": "Ada"}, null], "node": {"fullName": "Alan"}, "post": null})
    );
    assert_eq!(result["errors"][0]["path"], json!(["post", "title"]));
}

#[tokio::test]
async fn rename_interface_fields_renames_implementations_too() {
    let w = wrap(vec![Box::new(RenameInterfaceFields::new(
        |ty, field, _| (ty == "Node" && field == "id").then(|| "globalId".to_owned()),
    ))])
    .await;
    let schema = w.wrapped.schema();
    for ty in ["Node", "User", "Post"] {
        assert!(field_type(schema, ty, "globalId").is_some(), "{ty}");
        assert!(field_type(schema, ty, "id").is_none(), "{ty}");
    }
    let result = w
        .run(
            "{ u: node(id: \"user:1\") { globalId ... on User { name globalId } } p: node(id: \"post:2\") { ... on Post { globalId } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {"u": {"globalId": "1", "name": "Ada"}, "p": {"globalId": "2"}}})
    );
}

#[tokio::test]
async fn rename_object_field_arguments_in_literals_and_variables() {
    let w = wrap(vec![Box::new(RenameObjectFieldArguments::new(
        |ty, field, arg| {
            (ty == "Query" && field == "user" && arg == "id").then(|| "userId".to_owned())
        },
    ))])
    .await;
    let user = w.wrapped.schema().type_field("Query", "user").unwrap();
    assert!(user.argument_by_name("userId").is_some() && user.argument_by_name("id").is_none());
    let result = w
        .run(
            "query($id: ID!) { a: user(userId: $id) { name } b: user(userId: \"4\") { name } }",
            json!({"id": "2"}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {"a": {"name": "Grace"}, "b": {"name": "Edsger"}}})
    );
    assert!(
        w.last_query().contains("user(id: $id)"),
        "{}",
        w.last_query()
    );
}

#[tokio::test]
async fn rename_input_object_fields_in_literals_and_variables() {
    let w = wrap(vec![Box::new(RenameInputObjectFields::new(
        |ty, field, _| {
            (ty == "UserFilter" && field == "nameContains").then(|| "contains".to_owned())
        },
    ))])
    .await;
    let filter = w.wrapped.schema().get_input_object("UserFilter").unwrap();
    assert!(filter.fields.contains_key("contains") && !filter.fields.contains_key("nameContains"));
    let result = w
        .run(
            "query($f: UserFilter!) { a: searchUsers(filter: {contains: \"ra\"}) { name } b: searchUsers(filter: $f) { name } }",
            json!({"f": {"contains": "d", "role": "MEMBER"}}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "a": [{"name": "Grace"}, {"name": "Barbara"}],
            "b": [{"name": "Edsger"}]
        }})
    );
    assert_eq!(
        w.last_variables(),
        json!({"f": {"nameContains": "d", "role": "MEMBER"}})
    );
}
