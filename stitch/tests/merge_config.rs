#![allow(clippy::unwrap_used)]
//! Merge config written in code (`SubschemaConfig::merge`, `EntryPoint`, `computed`) over the
//! same four JavaScript services as the type-merging differential, with their SDL stripped of
//! the stitching directives: the answers equal those of the directive-configured gateway. And
//! bad config, in code or directives, is a build error naming subschema, type and field.

mod common;

use common::run_op;
use quilt_stitch::{EntryPoint, StitchError, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::js::js_dir;
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::{Map, Value, json};

const NAMES: [&str; 4] = ["accounts", "products", "inventory", "reviews"];

/// The SDL without its `@directive(...)` applications.
fn strip_directives(sdl: &str) -> String {
    let mut out = String::new();
    let mut chars = sdl.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '@' {
            out.push(c);
            continue;
        }
        while chars
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            chars.next();
        }
        if chars.peek() == Some(&'(') {
            let mut depth = 0;
            for c in chars.by_ref() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out.replace("_sdl: String!", "")
}

fn sdl(name: &str) -> String {
    strip_directives(
        &std::fs::read_to_string(js_dir().join(format!("merge/{name}.graphql"))).unwrap(),
    )
}

fn code_config(name: &str, url: &str) -> SubschemaConfig {
    let sub = SubschemaConfig::from_sdl(name, &sdl(name), common::http(url.to_owned())).unwrap();
    match name {
        "accounts" => sub.merge(
            "User",
            EntryPoint::single("user", "{ id }", |rep| {
                Map::from_iter([("id".to_owned(), rep["id"].clone())])
            }),
        ),
        "products" => sub.merge("Product", EntryPoint::key_field("products", "upc")),
        "inventory" => sub
            .merge(
                "Product",
                EntryPoint::batched(
                    "_inventory",
                    "{ upc }",
                    |rep| {
                        let mut key = Map::new();
                        for field in ["upc", "price", "weight"] {
                            if let Some(value) = rep.get(field) {
                                key.insert(field.to_owned(), value.clone());
                            }
                        }
                        Value::Object(key)
                    },
                    |keys| Map::from_iter([("keys".to_owned(), Value::Array(keys))]),
                ),
            )
            .computed("Product.shippingEstimate", "{ price weight }"),
        _ => sub
            .merge("User", EntryPoint::key_field("_users", "id"))
            .merge("Product", EntryPoint::key_field("_products", "upc")),
    }
}

#[tokio::test]
async fn merge_config_in_code_answers_like_the_stitching_directives() {
    let mut peers = Vec::new();
    for name in NAMES {
        peers.push(JsPeer::start("merge-subgraph.mjs", &[name]).await.unwrap());
    }
    let urls: Vec<String> = peers.iter().map(|p| p.http_url("/graphql")).collect();
    let mut in_code = Stitcher::new();
    let mut from_sdl = Stitcher::new();
    for (name, url) in NAMES.iter().zip(&urls) {
        in_code = in_code.subschema(code_config(name, url));
        let executor = common::http(url.clone());
        let schema = load_schema(&executor, SchemaSource::sdl()).await.unwrap();
        from_sdl = from_sdl.subschema(SubschemaConfig::new(*name, schema, executor));
    }
    let (in_code, from_sdl) = (in_code.build().unwrap(), from_sdl.build().unwrap());
    for query in [
        "{ topProducts(first: 3) { name inStock shippingEstimate reviews { body author { name username reviews { id } } } } }",
        "{ reviews { id author { name email } product { upc name price shippingEstimate } } }",
        "{ recent { ... on Product { name inStock } ... on Review { author { name } } } }",
    ] {
        let expected = run_op(&from_sdl, query, json!({}), None).await;
        let actual = run_op(&in_code, query, json!({}), None).await;
        assert!(expected["data"].is_object(), "{expected}");
        assert_eq!(actual, expected, "{query}");
    }
}

fn build_error(subschemas: Vec<SubschemaConfig>) -> String {
    let mut stitcher = Stitcher::new();
    for sub in subschemas {
        stitcher = stitcher.subschema(sub);
    }
    let err = stitcher.build().unwrap_err();
    assert!(
        matches!(err, StitchError::InvalidMergeConfig { .. }),
        "{err}"
    );
    err.to_string()
}

fn local(name: &str, sdl: &str) -> SubschemaConfig {
    let executor = quilt_executor::from_fn(|_r: quilt_executor::Request| async {
        Ok(quilt_executor::Response::Single(
            quilt_executor::ExecutionResult::default(),
        ))
    });
    SubschemaConfig::from_sdl(name, sdl, executor).unwrap()
}

#[test]
fn bad_merge_config_is_a_build_error_naming_subschema_type_and_field() {
    let accounts = "type Query { users(ids: [ID!]!): [User]! } type User { id: ID! name: String }";
    // A merge field that does not exist.
    let text = build_error(vec![
        local("accounts", accounts).merge("User", EntryPoint::key_field("usersByIds", "id")),
    ]);
    assert!(
        text.contains("accounts") && text.contains("User") && text.contains("usersByIds"),
        "{text}"
    );
    // A key selection naming an unknown field.
    let text = build_error(vec![
        local("accounts", accounts).merge("User", EntryPoint::key_field("users", "uuid")),
    ]);
    assert!(
        text.contains("accounts") && text.contains("User") && text.contains("uuid"),
        "{text}"
    );
    // A computed field's requirements naming an unknown field.
    let text = build_error(vec![
        local("accounts", accounts)
            .merge("User", EntryPoint::key_field("users", "id"))
            .computed("User.name", "{ nickname }"),
    ]);
    assert!(
        text.contains("User.name") && text.contains("nickname"),
        "{text}"
    );
    // A directive with a malformed argument.
    let text = build_error(vec![local(
        "reviews",
        r#"type Query { users(ids: [ID!]!): [User]! @merge(argsExpr: "ids: [[$key.id]") }
           type User @key(selectionSet: "{ id }") { id: ID! reviews: [String] }"#,
    )]);
    assert!(
        text.contains("reviews") && text.contains("User") && text.contains("users"),
        "{text}"
    );
    // A key selection in a directive naming an unknown field.
    let text = build_error(vec![local(
        "reviews",
        r#"type Query { users(ids: [ID!]!): [User]! @merge(keyField: "id") }
           type User @key(selectionSet: "{ userId }") { id: ID! }"#,
    )]);
    assert!(
        text.contains("reviews") && text.contains("userId"),
        "{text}"
    );
    // A list entry point declared as single and vice versa.
    let text = build_error(vec![
        local(
            "accounts",
            "type Query { user(id: ID!): User } type User { id: ID! }",
        )
        .merge("User", EntryPoint::federation("{ id }")),
    ]);
    assert!(text.contains("_entities"), "{text}");
}
