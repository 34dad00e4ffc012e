#![allow(clippy::unwrap_used)]
//! Differential tests of the general field transforms (`TransformRootFields`,
//! `TransformObjectFields`, `TransformInterfaceFields`, `TransformCompositeFields`,
//! `TransformInputObjectFields`, `MapFields`): the products service of the stitching tests
//! wrapped in one transform and stitched, in Quilt and in graphql-tools with the same transform
//! (test-support/js/transform-gateway.mjs). Every operation's data must be equal as text (key
//! order included), and its errors equal by path (and, where the transform maps errors, by
//! message).

mod common;

use apollo_compiler::{Node, ast, name};
use common::differential::{client, error_paths, post};
use common::run;
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::js::js_dir;
use quilt_wrap::transforms::{
    FieldChange, FieldNodeChange, InputFieldChange, MapFields, TransformCompositeFields,
    TransformInputObjectFields, TransformInterfaceFields, TransformObjectFields,
    TransformRootFields,
};
use quilt_wrap::{Transform, WrapSchemaConfig as WrapConfig, wrap_schema};
use serde_json::{Value, json};

fn argument(name: &str, value: ast::Value) -> Node<ast::Argument> {
    Node::new(ast::Argument {
        name: apollo_compiler::Name::new(name).unwrap(),
        value: Node::new(value),
    })
}

/// Quilt's form of each scenario of transform-gateway.mjs.
fn transform(scenario: &str) -> Box<dyn Transform> {
    match scenario {
        "root" => Box::new(
            TransformRootFields::new(|_operation, field, definition| match field {
                "topProducts" => FieldChange::rename(definition, name!("bestSellers")),
                "search" => FieldChange::Remove,
                _ => FieldChange::Keep,
            })
            .field_nodes(|type_name, field, node| {
                if type_name == "Query" && field == "product" {
                    let mut node = node.clone();
                    node.arguments = vec![argument("upc", ast::Value::String("2".into()))];
                    FieldNodeChange::Field(node)
                } else {
                    FieldNodeChange::Keep
                }
            }),
        ),
        "object" => Box::new(TransformObjectFields::new(
            |type_name, field, definition| match (type_name, field) {
                ("Product", "name") => FieldChange::rename(definition, name!("title")),
                ("Product", "tags") => FieldChange::Remove,
                ("Category", "title") => {
                    let mut definition = definition.clone();
                    definition.description = Some(Node::from("The category title"));
                    FieldChange::Replace(definition)
                }
                _ => FieldChange::Keep,
            },
        )),
        "interface" => Box::new(
            TransformInterfaceFields::new(|type_name, field, definition| {
                if (type_name, field) == ("Node", "id") {
                    let mut definition = definition.clone();
                    definition.ty = ast::Type::Named(name!("ID"));
                    definition.description = Some(Node::from("Any id"));
                    FieldChange::Replace(definition)
                } else {
                    FieldChange::Keep
                }
            })
            .field_nodes(|type_name, field, node| {
                if (type_name, field) == ("Node", "id") {
                    let mut node = node.clone();
                    node.directives.push(Node::new(ast::Directive {
                        name: name!("skip"),
                        arguments: vec![argument("if", ast::Value::Boolean(true))],
                    }));
                    FieldNodeChange::Field(node)
                } else {
                    FieldNodeChange::Keep
                }
            }),
        ),
        "composite" => Box::new(
            TransformCompositeFields::new(|type_name, field, definition| {
                if field == "id" && ["Node", "Product", "Category"].contains(&type_name) {
                    FieldChange::rename(definition, name!("key"))
                } else {
                    FieldChange::Keep
                }
            })
            .objects(|type_name, object| {
                if type_name == "Product"
                    && let Some(Value::String(name)) = object.get_mut("name")
                {
                    *name = name.to_uppercase();
                }
            })
            .errors(|errors| {
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.message = format!("products: {}", e.message);
                        e
                    })
                    .collect()
            }),
        ),
        "input" => Box::new(TransformInputObjectFields::new(
            |type_name, field, definition| match (type_name, field) {
                ("ProductFilter", "upcs") => InputFieldChange::rename(definition, name!("codes")),
                ("ProductFilter", "nameContains") => InputFieldChange::Remove,
                _ => InputFieldChange::Keep,
            },
        )),
        "map" => Box::new(
            MapFields::new()
                .field_node("Product", "price", |node| {
                    let mut node = node.clone();
                    node.arguments = vec![argument("currency", ast::Value::Enum(name!("EUR")))];
                    FieldNodeChange::Field(node)
                })
                .object("Product", |product| {
                    if let Some(Value::String(upc)) = product.get_mut("upc") {
                        *upc = format!("upc-{upc}");
                    }
                }),
        ),
        _ => unreachable!("{scenario}"),
    }
}

/// One operation: query and variables.
type Op = (&'static str, Value);

fn corpus(scenario: &str) -> Vec<Op> {
    let q = |query: &'static str| (query, json!({}));
    match scenario {
        "root" => vec![
            q("{ bestSellers(first: 2) { upc name } product(upc: \"4\") { upc } }"),
            q("{ a: bestSellers { upc } b: bestSellers(first: 1) { n: name } }"),
            q("{ bestSellers(first: 3) { upc stock } }"),
            q(
                "{ ...Q } fragment Q on Query { bestSellers(first: 1) { upc } product(upc: \"1\") { name } }",
            ),
            q("{ __type(name: \"Query\") { fields { name } } }"),
        ],
        "object" => vec![
            q("{ topProducts(first: 2) { upc title } }"),
            q("{ search(term: \"a\") { ... on Product { upc title } ... on Category { title } } }"),
            q(
                "{ product(upc: \"3\") { t: title upc } p: product(upc: \"1\") { ...P } } fragment P on Product { title price }",
            ),
            q("{ topProducts(first: 3) { title stock } }"),
            q("{ catalogNode(id: \"c1\") { ... on Category { id title } } }"),
            q(
                "{ __type(name: \"Product\") { fields { name } } c: __type(name: \"Category\") { fields { name description } } }",
            ),
        ],
        "interface" => vec![
            q(
                "{ catalogNode(id: \"p1\") { id ... on Product { name } } c: catalogNode(id: \"c1\") { __typename id } }",
            ),
            q("{ catalogNode(id: \"p2\") { ... on Product { id upc } } }"),
            q("{ product(upc: \"1\") { id name } }"),
            q("{ __type(name: \"Node\") { fields { name description type { kind name } } } }"),
        ],
        "composite" => vec![
            q("{ topProducts(first: 3) { key name stock } }"),
            q(
                "{ catalogNode(id: \"p2\") { key ... on Product { name } } c: catalogNode(id: \"c1\") { key ... on Category { title } } }",
            ),
            q(
                "{ search(term: \"ch\") { ... on Product { key name } ... on Category { key title } } }",
            ),
            q("{ product(upc: \"2\") { upc stock } }"),
            q("{ __type(name: \"Node\") { fields { name } } }"),
        ],
        "input" => vec![
            q("{ filterProducts(filter: {codes: [\"1\", \"2\", \"3\"]}) { upc } }"),
            q("{ filterProducts(filter: {codes: [\"1\", \"3\"], maxPrice: 60}) { upc name } }"),
            (
                "query ($f: ProductFilter) { filterProducts(filter: $f) { upc } }",
                json!({"f": {"codes": ["2", "4"]}}),
            ),
            (
                "query ($c: [String!]) { filterProducts(filter: {codes: $c, currency: EUR, maxPrice: 300}) { upc } }",
                json!({"c": ["1", "2", "3"]}),
            ),
            q("{ filterProducts(filter: {codes: [\"2\", \"3\"]}) { upc stock } }"),
            q("{ __type(name: \"ProductFilter\") { inputFields { name } } }"),
        ],
        "map" => vec![
            q("{ topProducts(first: 2) { upc price name } }"),
            q("{ product(upc: \"3\") { p: price u: upc } }"),
            q(
                "{ search(term: \"a\") { ... on Product { upc price } } catalogNode(id: \"p4\") { ... on Product { upc } } }",
            ),
            q("{ topProducts(first: 3) { upc stock } }"),
        ],
        _ => unreachable!("{scenario}"),
    }
}

fn error_messages(result: &Value) -> Vec<String> {
    let mut messages: Vec<String> = result["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["message"].to_string()).collect())
        .unwrap_or_default();
    messages.sort();
    messages
}

async fn quilt(scenario: &str, url: &str) -> StitchedSchema {
    let sdl = std::fs::read_to_string(js_dir().join("stitch/products.graphql")).unwrap();
    let schema = apollo_compiler::Schema::parse_and_validate(sdl, "products.graphql")
        .unwrap()
        .into_inner();
    let mut config = WrapConfig::new(schema, common::http(url.to_owned()));
    config.transforms.push(transform(scenario));
    let wrapped = wrap_schema(config).unwrap();
    Stitcher::new()
        .subschema(SubschemaConfig::wrapped("products", wrapped))
        .build()
        .unwrap()
}

/// Quilt and graphql-tools, each with the scenario's transform, answer its corpus alike.
async fn differential(scenario: &str, compare_messages: bool) {
    let products = JsPeer::start("stitch-subgraph.mjs", &["products"])
        .await
        .unwrap();
    let url = products.http_url("/graphql");
    let reference = JsPeer::start("transform-gateway.mjs", &[scenario, &url])
        .await
        .unwrap();
    let quilt = quilt(scenario, &url).await;
    let client = client();
    let mut failures = Vec::new();
    let mut errors_seen = false;
    for (query, variables) in corpus(scenario) {
        let expected = post(&client, &reference.http_url("/graphql"), query, &variables).await;
        let actual = run(&quilt, query, variables).await;
        assert!(expected["data"].is_object(), "{query}: {expected}");
        errors_seen |= expected["errors"].is_array();
        let same = serde_json::to_string(&expected["data"]).unwrap()
            == serde_json::to_string(&actual["data"]).unwrap()
            && error_paths(&expected) == error_paths(&actual)
            && (!compare_messages || error_messages(&expected) == error_messages(&actual));
        if !same {
            failures.push(format!(
                "{query}\n  reference: {expected}\n  quilt:     {actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{scenario}:\n{}", failures.join("\n"));
    assert!(
        errors_seen,
        "{scenario}: the corpus has an operation with errors"
    );
}

#[tokio::test]
async fn transform_root_fields_answers_like_graphql_tools() {
    differential("root", false).await;
}

#[tokio::test]
async fn transform_object_fields_answers_like_graphql_tools() {
    differential("object", false).await;
}

#[tokio::test]
async fn transform_interface_fields_answers_like_graphql_tools() {
    differential("interface", false).await;
}

#[tokio::test]
async fn transform_composite_fields_maps_objects_and_errors_like_graphql_tools() {
    differential("composite", true).await;
}

#[tokio::test]
async fn transform_input_object_fields_answers_like_graphql_tools() {
    differential("input", false).await;
}

#[tokio::test]
async fn map_fields_answers_like_graphql_tools() {
    differential("map", false).await;
}
