#![allow(clippy::unwrap_used)]
//! Differential tests: Quilt against the graphql-tools stitching gateway (npm
//! `@graphql-tools/stitch` 10.3.1 + `@graphql-tools/executor-http`, served by graphql-yoga),
//! both over the same three JavaScript subgraphs (test-support/js/stitch-subgraph.mjs). For
//! every operation of the corpus the data must be equal, key order included, and the errors
//! equal by count and paths. Invalid documents: both answer without `data` and with errors
//! (the wording and number of validation messages differ between graphql-js and
//! apollo-compiler).

mod common;

use std::time::Duration;

use common::run_op;
use quilt_stitch::{StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::js::js_dir;
use serde_json::{Value, json};

struct Case {
    query: &'static str,
    variables: Value,
    operation_name: Option<&'static str>,
}

fn case(query: &'static str) -> Case {
    Case {
        query,
        variables: json!({}),
        operation_name: None,
    }
}

fn with_vars(query: &'static str, variables: Value) -> Case {
    Case {
        query,
        variables,
        operation_name: None,
    }
}

fn named(query: &'static str, operation_name: &'static str) -> Case {
    Case {
        query,
        variables: json!({}),
        operation_name: Some(operation_name),
    }
}

fn corpus() -> Vec<Case> {
    vec![
        // One service.
        case("{ me { id name role } }"),
        case("{ user(id: \"2\") { id name email username } }"),
        case("{ user(id: \"9\") { id } }"),
        case("{ users { id name } }"),
        case("{ usersByRole(role: ADMIN) { name } }"),
        case("{ topProducts { upc name price tags } }"),
        case("{ topProducts(first: 1) { name eur: price(currency: EUR) } }"),
        case("{ product(upc: \"4\") { id upc name price } }"),
        case("{ reviews { id body rating authorId } }"),
        case("{ review(id: \"2\") { body } }"),
        // Several services.
        case("{ me { name } topProducts(first: 2) { name } reviews(first: 1) { body } }"),
        case("{ reviews(first: 2) { id } me { id } product(upc: \"1\") { name } users { id } }"),
        case("{ __typename me { __typename name } product(upc: \"2\") { __typename upc } }"),
        // Aliases.
        case("{ a: product(upc: \"1\") { name } b: product(upc: \"2\") { name } }"),
        case("{ p: product(upc: \"3\") { usd: price eur: price(currency: EUR) n: name } }"),
        case("{ x: me { n: name } y: user(id: \"2\") { n: name } z: reviews(first: 1) { i: id } }"),
        case("{ one: reviews(first: 1) { id } two: reviews(first: 2) { id } }"),
        // Fragments.
        case("{ me { ...U } } fragment U on User { id name }"),
        case("{ ...Q } fragment Q on Query { me { name } topProducts(first: 1) { name } }"),
        case("{ me { ... on User { name ... on User { role } } } }"),
        case(
            "query { ...A } fragment A on Query { ...B reviews(first: 1) { id } } fragment B on Query { me { ...C } } fragment C on User { name }",
        ),
        case("{ topProducts(first: 2) { ...P ...P } } fragment P on Product { upc name }"),
        case("{ ... on Query { me { id } } ... { product(upc: \"1\") { upc } } }"),
        // Interfaces and unions.
        case("{ search(term: \"a\") { ... on Product { upc name } ... on Category { title } } }"),
        case("{ search(term: \"furniture\") { __typename ... on Category { id title } } }"),
        case(
            "{ search(term: \"ch\") { ...S } } fragment S on SearchResult { __typename ... on Product { name } }",
        ),
        case("{ feed { id } }"),
        case("{ feed { __typename id ... on Review { rating } ... on Comment { text } } }"),
        case("{ feed { ... on Comment { text } } }"),
        case(
            "{ catalogNode(id: \"p2\") { id ... on Product { name } ... on Category { title } } }",
        ),
        case(
            "{ catalogNode(id: \"c1\") { __typename id } accountNode(id: \"1\") { __typename id ... on User { name } } }",
        ),
        case("{ accountNode(id: \"7\") { id } }"),
        case(
            "{ catalogNode(id: \"p1\") { ...N } } fragment N on Node { id ... on Product { upc } }",
        ),
        // Variables.
        with_vars(
            "query ($id: ID!) { user(id: $id) { name } }",
            json!({"id": "3"}),
        ),
        with_vars(
            "query ($upc: String! = \"2\") { product(upc: $upc) { name } }",
            json!({}),
        ),
        with_vars(
            "query ($c: Currency!) { topProducts(first: 2) { price(currency: $c) } }",
            json!({"c": "EUR"}),
        ),
        with_vars(
            "query ($f: ProductFilter) { filterProducts(filter: $f) { upc } }",
            json!({"f": {"upcs": ["1", "3"]}}),
        ),
        with_vars(
            "query ($f: ProductFilter) { filterProducts(filter: $f) { upc } }",
            json!({"f": null}),
        ),
        with_vars(
            "query ($f: ProductFilter) { filterProducts(filter: $f) { upc } }",
            json!({"f": {"maxPrice": 250, "currency": "EUR"}}),
        ),
        with_vars(
            "query ($n: Int) { reviews(first: $n) { id } }",
            json!({"n": null}),
        ),
        with_vars(
            "query ($n: Int = 2) { reviews(first: $n) { id } }",
            json!({}),
        ),
        with_vars(
            "query ($r: Role!, $n: Int) { usersByRole(role: $r) { name } reviews(first: $n) { id } }",
            json!({"r": "MEMBER", "n": 1}),
        ),
        with_vars(
            "query ($t: [String!]) { filterProducts(filter: {upcs: $t}) { name } }",
            json!({"t": ["2", "4"]}),
        ),
        // Directives.
        with_vars(
            "query ($s: Boolean!) { me @skip(if: $s) { name } product(upc: \"1\") { name } }",
            json!({"s": true}),
        ),
        with_vars(
            "query ($i: Boolean!) { me { name role @include(if: $i) } }",
            json!({"i": false}),
        ),
        with_vars(
            "query ($i: Boolean!) { ... @include(if: $i) { reviews(first: 1) { id } } me { id } }",
            json!({"i": true}),
        ),
        case("{ me { name @skip(if: true) id @include(if: true) } }"),
        // Operation names.
        named(
            "query A { me { name } } query B { topProducts(first: 1) { name } }",
            "B",
        ),
        named(
            "query A { me { name } } query B { topProducts(first: 1) { name } }",
            "A",
        ),
        // Mutations.
        case("mutation { renameUser(id: \"2\", name: \"G\") { id name } }"),
        case(
            "mutation { a: renameUser(id: \"1\", name: \"x\") { name } addProduct(name: \"Desk\", price: 5) { upc name price } b: renameUser(id: \"2\", name: \"y\") { name } }",
        ),
        with_vars(
            "mutation ($in: ReviewInput!) { addReview(input: $in) { id body rating } }",
            json!({"in": {"body": "ok", "rating": 4}}),
        ),
        case(
            "mutation { __typename addReview(input: {body: \"b\", rating: 1, productUpc: \"1\"}) { __typename body } }",
        ),
        // Errors.
        case("{ user(id: \"3\") { name email } }"),
        case("{ users { id email } }"),
        case("{ user(id: \"4\") { name username } me { name } }"),
        case("{ topProducts(first: 3) { upc stock } }"),
        case("{ topProducts(first: 4) { stock } reviews(first: 1) { id } }"),
        case("{ users { username } topProducts(first: 1) { name } }"),
        case("{ brokenReview { id } me { name } }"),
        case("{ me { email } u3: user(id: \"3\") { email } u4: user(id: \"4\") { username } }"),
        // Introspection mixed with root fields.
        case("{ __type(name: \"User\") { name kind fields { name } } me { name } }"),
        case("{ __schema { queryType { name } mutationType { name } subscriptionType { name } } }"),
        case("{ __type(name: \"SearchResult\") { possibleTypes { name } } }"),
        // Invalid documents.
        case("{ me { nope } }"),
        case("{ topProducts }"),
        case("{ user(id: 3.5) { name } }"),
        with_vars("query ($id: ID!) { user(id: $id) { name } }", json!({})),
    ]
}

async fn start() -> (StitchedSchema, JsPeer, [JsPeer; 3]) {
    let mut subgraphs = Vec::new();
    for name in ["accounts", "products", "reviews"] {
        subgraphs.push(JsPeer::start("stitch-subgraph.mjs", &[name]).await.unwrap());
    }
    let urls: Vec<String> = subgraphs.iter().map(|p| p.http_url("/graphql")).collect();
    let reference = JsPeer::start("stitch-gateway.mjs", &[&urls[0], &urls[1], &urls[2]])
        .await
        .unwrap();
    let mut stitcher = Stitcher::new();
    for (i, name) in ["accounts", "products", "reviews"].into_iter().enumerate() {
        let sdl = std::fs::read_to_string(js_dir().join(format!("stitch/{name}.graphql"))).unwrap();
        stitcher = stitcher.subschema(
            SubschemaConfig::from_sdl(name, &sdl, common::http(urls[i].clone())).unwrap(),
        );
    }
    let subgraphs: [JsPeer; 3] = subgraphs.try_into().ok().unwrap();
    (stitcher.build().unwrap(), reference, subgraphs)
}

async fn reference(client: &reqwest::Client, url: &str, case: &Case) -> Value {
    let mut body = json!({"query": case.query, "variables": case.variables});
    if let Some(name) = case.operation_name {
        body["operationName"] = json!(name);
    }
    let response = client.post(url).json(&body).send().await.unwrap();
    let bytes = response.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn error_paths(result: &Value) -> Vec<String> {
    let mut paths: Vec<String> = result["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["path"].to_string()).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

#[tokio::test]
async fn quilt_answers_like_graphql_tools_stitching() {
    let (quilt, gateway, _subgraphs) = start().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = gateway.http_url("/graphql");
    let corpus = corpus();
    assert!(
        corpus.len() >= 50,
        "the corpus has {} operations",
        corpus.len()
    );
    let mut failures = Vec::new();
    let mut invalid_count = 0;
    for (i, case) in corpus.iter().enumerate() {
        let expected = reference(&client, &url, case).await;
        let actual = run_op(
            &quilt,
            case.query,
            case.variables.clone(),
            case.operation_name,
        )
        .await;
        let invalid = expected.get("data").is_none();
        invalid_count += usize::from(invalid);
        let same = if invalid {
            actual.get("data").is_none()
                && actual["errors"].as_array().is_some_and(|e| !e.is_empty())
        } else {
            // Compared as text: `Value`'s equality ignores key order, the client does not.
            serde_json::to_string(&expected["data"]).unwrap()
                == serde_json::to_string(&actual["data"]).unwrap()
                && error_paths(&expected) == error_paths(&actual)
        };
        if !same {
            failures.push(format!(
                "#{i} {}\n  reference: {expected}\n  quilt:     {actual}",
                case.query
            ));
        }
    }
    // Only the four invalid documents at the end are request errors: the reference answered.
    assert_eq!(invalid_count, 4);
    assert!(
        failures.is_empty(),
        "{} of {} operations differ:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}
