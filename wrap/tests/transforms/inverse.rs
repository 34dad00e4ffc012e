//! Table tests of exact inverses: a transform followed by its inverse must behave like the
//! service itself. For each pair, a table of queries (fragments, variables, enum values, input
//! objects, errors with paths) runs directly and through the doubly transformed schema against
//! the real subgraph, and the results must be equal (error locations aside: the documents
//! differ).

use quilt_executor::Executor;
use quilt_wrap::transforms::{
    HoistField, RenameInputObjectFields, RenameObjectFieldArguments, RenameObjectFields,
    RenameRootFields, RenameTypes, TransformEnumValues, WrapFields,
};
use quilt_wrap::{Transform, WrapSchemaConfig, wrap_schema};
use serde_json::{Value, json};

use crate::support::{Sent, http_executor, run, subgraph_schema};

const QUERIES: &[(&str, &str)] = &[
    ("{ hello users { id name role bestFriendId } }", "{}"),
    (
        "query($f: UserFilter!) { searchUsers(filter: $f) { ...U } } fragment U on User { __typename name role }",
        r#"{"f": {"role": "MEMBER", "nameContains": "a"}}"#,
    ),
    (
        "{ node(id: \"user:1\") { __typename id ... on User { name role } ... on Post { title } } p: node(id: \"post:4\") { __typename ... on Post { maybeTitle } } }",
        "{}",
    ),
    ("{ posts(count: 13) { id maybeTitle } }", "{}"),
    (
        "query($r: Role! = ADMIN) { usersByRole(role: $r) { name } m: usersByRole(role: MEMBER) { id } }",
        "{}",
    ),
    ("{ fail(message: \"x\") hello(name: \"y\") }", "{}"),
    (
        "query($i: EchoInput!) { echoInput(input: $i) }",
        r#"{"i": {"text": "ab", "times": 2}}"#,
    ),
    (
        "query Two($ids: [ID!]) { a: users(ids: $ids) { ... on User { name } } b: user(id: \"3\") { role n: name } }",
        r#"{"ids": ["2", "4"]}"#,
    ),
];

fn without_locations(mut value: Value) -> Value {
    if let Some(errors) = value.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors {
            if let Some(error) = error.as_object_mut() {
                error.remove("locations");
            }
        }
    }
    value
}

async fn assert_inverse(transforms: Vec<Box<dyn Transform>>, same_schema: bool) {
    let server = quilt_test_support::TestServer::start().await.unwrap();
    let direct = http_executor(server.http_url(), Sent::default());
    let mut config = WrapSchemaConfig::new(
        subgraph_schema(),
        http_executor(server.http_url(), Sent::default()),
    );
    config.transforms = transforms;
    let wrapped = wrap_schema(config).unwrap();
    if same_schema {
        assert_eq!(
            wrapped.schema().to_string(),
            wrapped.original_schema().to_string()
        );
    }
    for (query, variables) in QUERIES {
        let variables: Value = serde_json::from_str(variables).unwrap();
        let expected = without_locations(run(&direct, query, variables.clone()).await);
        let actual = without_locations(run(&wrapped, query, variables).await);
        assert_eq!(actual, expected, "query {query}");
        assert!(
            expected.get("data").is_some(),
            "the query itself works: {expected}"
        );
    }
    // The wrapped executor is usable as a shared executor.
    let shared: std::sync::Arc<dyn Executor> = std::sync::Arc::new(wrapped);
    assert_eq!(
        run(&shared, "{ hello }", json!({})).await,
        json!({"data": {"hello": "Hello, world!"}})
    );
}

#[tokio::test]
async fn renames_followed_by_their_inverses_are_the_identity() {
    assert_inverse(
        vec![
            Box::new(RenameTypes::new(|n| Some(format!("X{n}")))),
            Box::new(RenameRootFields::new(|_, f, _| Some(format!("r_{f}")))),
            Box::new(RenameObjectFields::new(|t, f, _| {
                (t == "XUser" && f == "name").then(|| "fullName".into())
            })),
            Box::new(RenameObjectFieldArguments::new(|_, f, a| {
                (f == "r_posts" && a == "count").then(|| "n".into())
            })),
            Box::new(RenameInputObjectFields::new(|_, f, _| {
                (f == "nameContains").then(|| "q".into())
            })),
            Box::new(TransformEnumValues::new(|_, v, _| Some(v.to_lowercase()))),
            // the inverses, in reverse order
            Box::new(TransformEnumValues::new(|_, v, _| Some(v.to_uppercase()))),
            Box::new(RenameInputObjectFields::new(|_, f, _| {
                (f == "q").then(|| "nameContains".into())
            })),
            Box::new(RenameObjectFieldArguments::new(|_, f, a| {
                (f == "r_posts" && a == "n").then(|| "count".into())
            })),
            Box::new(RenameObjectFields::new(|t, f, _| {
                (t == "XUser" && f == "fullName").then(|| "name".into())
            })),
            Box::new(RenameRootFields::new(|_, f, _| {
                f.strip_prefix("r_").map(str::to_owned)
            })),
            Box::new(RenameTypes::new(|n| n.strip_prefix('X').map(str::to_owned))),
        ],
        true,
    )
    .await;
}

#[tokio::test]
async fn wrap_fields_then_hoisting_them_back_keeps_every_answer() {
    assert_inverse(
        vec![
            Box::new(
                WrapFields::new("User", ["profile"], ["Profile"])
                    .fields(|n, _| n == "name" || n == "role"),
            ),
            Box::new(HoistField::new("User", ["profile", "name"], "name")),
            Box::new(HoistField::new("User", ["profile", "role"], "role")),
        ],
        false,
    )
    .await;
}
