#![allow(clippy::unwrap_used)]
//! Type merging across different keys, against graphql-tools over the same real services
//! (`test-support/js/keychain-subgraph.mjs`): `a` knows `Product` by `id` (name), `c` by `upc`
//! (price, related products), and only `b` knows both (weight), with an entry point by each.
//! A query from `a`'s root that selects `c`'s fields goes a → b → c, and the reverse
//! c → b → a, whether or not the client selects the intermediate key. Each answer equals the
//! reference's (data with key order, error paths), with one request per service per level.

mod common;

use common::differential::{Case, case, client, count, error_paths, post, spec};

use quilt_batch::BatchOptions;
use quilt_stitch::{EntryPoint, StitchedSchema, Stitcher, SubschemaConfig, ValidationLevel};
use quilt_test_support::JsPeer;
use quilt_wrap::{SchemaSource, load_schema};
use serde_json::json;

const NAMES: [&str; 3] = ["a", "b", "c"];

/// Both directions, with and without the intermediate key, lists, a chain inside a merged
/// list, both entry points of `b` in one operation, fragments and aliases.
fn code_corpus() -> Vec<Case> {
    vec![
        // a → b → c, the intermediate key not selected.
        spec(
            "{ aProducts { id price } }",
            vec![r#"["aProducts",4,"price"]"#],
        ),
        // The intermediate key selected too.
        spec(
            "{ aProducts { id upc weight price } }",
            vec![r#"["aProducts",4,"price"]"#],
        ),
        // c → b → a.
        spec(
            "{ cProducts { upc name } }",
            vec![r#"["cProducts",3,"name"]"#],
        ),
        spec(
            "{ cProducts { name id weight } }",
            vec![r#"["cProducts",3,"name"]"#],
        ),
        // Both entry points of b in one operation.
        spec(
            "{ aProducts { price } cProducts { name } }",
            vec![r#"["aProducts",4,"price"]"#, r#"["cProducts",3,"name"]"#],
        ),
        // A chain inside a merged list: related products are known by upc only.
        spec(
            "{ aProducts { id related { name weight } } }",
            vec![
                r#"["aProducts",1,"related",1,"name"]"#,
                r#"["aProducts",2,"related",0,"name"]"#,
            ],
        ),
        spec(
            "{ cProducts { related { upc name related { id price } } } }",
            vec![
                r#"["cProducts",0,"related",1,"related",1,"price"]"#,
                r#"["cProducts",1,"related",0,"related",1,"price"]"#,
                r#"["cProducts",1,"related",1,"related",0,"price"]"#,
                r#"["cProducts",2,"related",0,"related",0,"price"]"#,
                r#"["cProducts",1,"related",1,"name"]"#,
                r#"["cProducts",2,"related",0,"name"]"#,
            ],
        ),
        // Aliases and fragments.
        spec(
            "{ x: aProducts { ... on Product { p: price } ...N } } fragment N on Product { n: name }",
            vec![r#"["x",3,"n"]"#, r#"["x",4,"p"]"#],
        ),
        // An entry point called by the client, with variables.
        Case {
            variables: json!({"ids": ["p2", "p7", "p9"]}),
            ..case("query($ids: [ID!]!) { aProductsById(ids: $ids) { name price } }")
        },
    ]
}

async fn start_services() -> Vec<JsPeer> {
    let mut peers = Vec::new();
    for name in NAMES {
        peers.push(
            JsPeer::start("keychain-subgraph.mjs", &[name])
                .await
                .unwrap(),
        );
    }
    peers
}

fn urls(peers: &[JsPeer]) -> Vec<String> {
    peers.iter().map(|p| p.http_url("/graphql")).collect()
}

async fn reference(mode: &str, peers: &[JsPeer]) -> JsPeer {
    let urls = urls(peers);
    let mut args = vec![mode];
    args.extend(urls.iter().map(String::as_str));
    JsPeer::start("keychain-gateway.mjs", &args).await.unwrap()
}

/// Quilt with the merge config in code (the services' schemas by introspection, so without
/// their directives): `b` has two entry points.
async fn quilt_code(peers: &[JsPeer]) -> StitchedSchema {
    let mut stitcher = Stitcher::new();
    let entry_points = [
        vec![EntryPoint::key_field("aProductsById", "id")],
        vec![
            EntryPoint::key_field("bProductsById", "id"),
            EntryPoint::key_field("bProductsByUpc", "upc"),
        ],
        vec![EntryPoint::key_field("cProductsByUpc", "upc")],
    ];
    for ((name, url), entry_points) in NAMES.iter().zip(urls(peers)).zip(entry_points) {
        let executor = common::http(url);
        let schema = load_schema(&executor, SchemaSource::introspection())
            .await
            .unwrap();
        let mut sub = SubschemaConfig::new(*name, schema, executor).batch(BatchOptions::default());
        for entry_point in entry_points {
            sub = sub.merge("Product", entry_point);
        }
        stitcher = stitcher.subschema(sub);
    }
    stitcher.build().unwrap()
}

/// Quilt from stitching directives only: the services' SDL, `b`'s with a second `@merge`
/// field (several entry points per type in SDL).
async fn quilt_sdl_two_entry_points(peers: &[JsPeer]) -> StitchedSchema {
    let mut stitcher = Stitcher::new();
    for (name, url) in NAMES.iter().zip(urls(peers)) {
        let executor = common::http(url);
        let schema = load_schema(&executor, SchemaSource::sdl()).await.unwrap();
        let mut sdl = schema.to_string();
        if *name == "b" {
            sdl = sdl.replace(
                "bProductsById(ids: [ID!]!): [Product]!",
                "bProductsById(ids: [ID!]!): [Product]! @merge(keyField: \"id\")",
            );
            assert!(sdl.contains("keyField: \"id\""), "{sdl}");
        }
        let sub = SubschemaConfig::from_sdl(*name, &sdl, executor)
            .unwrap()
            .batch(BatchOptions::default());
        stitcher = stitcher.subschema(sub);
    }
    stitcher.build().unwrap()
}

/// Runs every case through `quilt` and the reference; returns the differences.
async fn compare(quilt: &StitchedSchema, reference: &JsPeer, corpus: &[Case]) -> Vec<String> {
    let client = client();
    let url = reference.http_url("/graphql");
    let mut failures = Vec::new();
    for (i, case) in corpus.iter().enumerate() {
        let expected = post(&client, &url, case.query, &case.variables).await;
        let actual = common::run(quilt, case.query, case.variables.clone()).await;
        assert!(expected["data"].is_object(), "#{i}: {expected}");
        let same_data = serde_json::to_string(&expected["data"]).unwrap()
            == serde_json::to_string(&actual["data"]).unwrap();
        let expected_paths = case.expected_paths(&expected);
        if !same_data || expected_paths != error_paths(&actual) {
            failures.push(format!(
                "#{i} {}\n  reference: {expected}\n  expected paths: {expected_paths:?}\n  quilt:     {actual}",
                case.query
            ));
        }
    }
    failures
}

#[tokio::test]
async fn key_chains_in_both_directions_answer_like_graphql_tools() {
    let peers = start_services().await;
    let reference = reference("code", &peers).await;
    let corpus = code_corpus();
    for (config, quilt) in [
        ("code", quilt_code(&peers).await),
        ("sdl", quilt_sdl_two_entry_points(&peers).await),
    ] {
        let failures = compare(&quilt, &reference, &corpus).await;
        assert!(
            failures.is_empty(),
            "merge config in {config}: {} operations differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[tokio::test]
async fn one_request_per_service_per_level_along_a_chain() {
    let peers = start_services().await;
    let quilt = quilt_code(&peers).await;
    let client = client();
    // (query, requests to a, b, c): levels as `plans.rs` shows them.
    let expectations = [
        // a(0) b(1) c(2)
        ("{ aProducts { price } }", [1, 1, 1]),
        // c(0) b(1) a(2)
        ("{ cProducts { name } }", [1, 1, 1]),
        // a and c at level 0; b's two entry points at level 1 in one batched request; c and a
        // at level 2.
        ("{ aProducts { price } cProducts { name } }", [2, 1, 2]),
        // a(0) b(1) c(2) b(3) a(4), whatever the list lengths.
        ("{ aProducts { related { name } } }", [2, 2, 1]),
    ];
    for (query, expected) in expectations {
        let before: Vec<u64> =
            futures::future::join_all(peers.iter().map(|p| count(&client, p))).await;
        let result = common::run(&quilt, query, json!({})).await;
        assert!(result["data"].is_object(), "{query}: {result}");
        let after: Vec<u64> =
            futures::future::join_all(peers.iter().map(|p| count(&client, p))).await;
        let delta: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!(delta, expected, "requests to {NAMES:?} for {query}");
    }
}

/// graphql-tools' stitching directives give one entry point per type and service, so from
/// `a`, whose objects carry only `id`, nothing reaches `b`'s and `c`'s fields (Quilt builds
/// with the check lowered to a warning); the other direction goes c → b → a, and `a`'s and
/// `c`'s `@merge` use `argsExpr` with `$key.<field>`, which reads the object's field.
fn sdl_corpus() -> Vec<Case> {
    vec![
        spec(
            "{ cProducts { upc name } }",
            vec![r#"["cProducts",3,"name"]"#],
        ),
        spec(
            "{ cProducts { weight name price } }",
            vec![r#"["cProducts",3,"name"]"#, r#"["cProducts",4,"price"]"#],
        ),
        spec(
            "{ cProducts { related { id name price } } }",
            vec![
                r#"["cProducts",1,"related",1,"name"]"#,
                r#"["cProducts",2,"related",0,"name"]"#,
                r#"["cProducts",2,"related",1,"price"]"#,
                r#"["cProducts",3,"related",0,"price"]"#,
            ],
        ),
        case("{ aProducts { id name } }"),
    ]
}

#[tokio::test]
async fn args_expr_reads_fields_of_the_key_object_like_graphql_tools() {
    let peers = start_services().await;
    let reference = reference("sdl", &peers).await;
    let mut stitcher = Stitcher::new().key_validation(ValidationLevel::Warn);
    for (name, url) in NAMES.iter().zip(urls(&peers)) {
        let executor = common::http(url);
        let schema = load_schema(&executor, SchemaSource::sdl()).await.unwrap();
        stitcher = stitcher.subschema(
            SubschemaConfig::new(*name, schema, executor).batch(BatchOptions::default()),
        );
    }
    let quilt = stitcher.build().unwrap();
    let failures = compare(&quilt, &reference, &sdl_corpus()).await;
    assert!(
        failures.is_empty(),
        "{} operations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The `$key.id` of `a`'s argsExpr reached `a` as the ids, not nulls.
    let log: Vec<String> = client()
        .get(peers[0].http_url("/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|body| body.contains("aProductsById") && body.contains("\"p1\"")),
        "{log:?}"
    );
}
