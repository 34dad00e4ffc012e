#![allow(clippy::unwrap_used)]
//! Differential tests of a batched entry point whose service answers in its own order and
//! leaves out what it does not know (test-support/js/parity-subgraph.mjs `profiles`: ids
//! reversed, unknown ids dropped, the bio of 3 an error): its results matched to the keys by
//! `EntryPoint::values_from_results` (graphql-tools' `valuesFromResults`, the reference) and by
//! `EntryPoint::match_by`; and of an entry point written in code (`EntryPoint::resolve`,
//! graphql-tools' merged type `resolve`). `people` returns persons 1, 2, 3, 9 and 2 again. The
//! data must equal the reference's as text; the error sits at the spec's path (graphql-tools
//! drops the list index of errors of merged types' entry points).

mod common;

use common::differential::error_paths;
use common::parity::Services;
use common::run;
use quilt_executor::{Executor, PathSegment, Request};
use quilt_stitch::{EntryPoint, StitchedSchema};
use serde_json::{Value, json};

const CASES: [(&str, &str); 3] = [
    ("{ people { id name bio } }", "[\"people\",2,\"bio\"]"),
    ("{ people { n: name b: bio } }", "[\"people\",2,\"b\"]"),
    ("{ people { bio } }", "[\"people\",2,\"bio\"]"),
];

fn entry_point(matching: &str) -> EntryPoint {
    let entry = EntryPoint::key_field("profilesByIds", "id");
    match matching {
        "values" => entry.values_from_results(|results, keys| {
            keys.iter()
                .map(|key| {
                    results
                        .iter()
                        .find(|r| r.get("id") == Some(key))
                        .cloned()
                        .unwrap_or(Value::Null)
                })
                .collect()
        }),
        "by" => entry.match_by("id"),
        _ => EntryPoint::resolve("{ id }", |call| {
            Box::pin(async move {
                // One aliased `profile(id:)` per object, in one request.
                let count = call.representations.len();
                let fields: Vec<String> = (0..count)
                    .map(|i| format!("_{i}: profile(id: $id{i}) {}", call.selection))
                    .collect();
                let definitions: Vec<String> = (0..count).map(|i| format!("$id{i}: ID!")).collect();
                let query = format!(
                    "query ({}) {{ {} }} {}",
                    definitions.join(", "),
                    fields.join(" "),
                    call.fragments
                );
                let mut request = Request::new(query).unwrap();
                for (i, r) in call.representations.iter().enumerate() {
                    request.variables.insert(format!("id{i}"), r["id"].clone());
                }
                let response = call.executor.execute(request).await.unwrap();
                let result = response.into_single().await.unwrap();
                let data = result.data_value().unwrap_or_default();
                (0..count)
                    .map(|i| {
                        let alias = format!("_{i}");
                        let failed = result.errors.iter().find(|e| {
                            matches!(e.path.as_deref(), Some([PathSegment::Key(k), ..]) if *k == alias)
                        });
                        match failed {
                            Some(error) => Err(error.message.clone()),
                            None => Ok(data[&alias].clone()),
                        }
                    })
                    .collect()
            })
        }),
    }
}

fn quilt(services: &Services, matching: &str) -> StitchedSchema {
    services
        .quilt_with(
            &["people", "profiles"],
            |sub| {
                if sub.name() == "profiles" {
                    sub.merge("Person", entry_point(matching))
                } else {
                    sub
                }
            },
            |s| s,
        )
        .unwrap()
}

#[tokio::test]
async fn results_out_of_order_and_with_gaps_are_matched_to_their_keys_like_graphql_tools() {
    let services = Services::start_these(&["people", "profiles"]).await;
    let reference = services
        .reference(&["people", "profiles"], json!({"merge": "values"}))
        .await;
    assert_eq!(reference.error(), None);
    for matching in ["values", "by"] {
        let quilt = quilt(&services, matching);
        for (query, path) in CASES {
            let expected = reference.run(query).await;
            let actual = run(&quilt, query, json!({})).await;
            assert_eq!(
                serde_json::to_string(&expected["data"]).unwrap(),
                serde_json::to_string(&actual["data"]).unwrap(),
                "{matching}: {query}\n  reference: {expected}\n  quilt:     {actual}"
            );
            assert_eq!(error_paths(&actual), [path], "{matching}: {actual}");
            assert_eq!(
                actual["errors"][0]["message"], expected["errors"][0]["message"],
                "{matching}: {actual}"
            );
        }
    }
}

#[tokio::test]
async fn a_custom_entry_point_answers_like_a_graphql_tools_resolve() {
    let services = Services::start_these(&["people", "profiles"]).await;
    let reference = services
        .reference(&["people", "profiles"], json!({"merge": "resolve"}))
        .await;
    assert_eq!(reference.error(), None);
    let quilt = quilt(&services, "resolve");
    for (query, path) in CASES {
        let expected = reference.run(query).await;
        let actual = run(&quilt, query, json!({})).await;
        assert_eq!(
            serde_json::to_string(&expected["data"]).unwrap(),
            serde_json::to_string(&actual["data"]).unwrap(),
            "{query}\n  reference: {expected}\n  quilt:     {actual}"
        );
        assert_eq!(error_paths(&actual), [path], "{actual}");
        assert_eq!(
            actual["errors"][0]["message"],
            expected["errors"][0]["message"]
        );
    }
}

#[tokio::test]
async fn matching_results_needs_a_batched_entry_point_and_a_field_the_type_has() {
    let services = Services::start_these(&["people", "profiles"]).await;
    let build = |entry: EntryPoint| {
        services
            .quilt_with(
                &["people", "profiles"],
                |sub| {
                    if sub.name() == "profiles" {
                        sub.merge("Person", entry.clone())
                    } else {
                        sub
                    }
                },
                |s| s,
            )
            .unwrap_err()
            .to_string()
    };
    let text = build(EntryPoint::key_field("profilesByIds", "id").match_by("uuid"));
    assert!(text.contains("uuid") && text.contains("Person"), "{text}");
    let single = EntryPoint::single("profilesByIds", "{ id }", |rep| {
        serde_json::Map::from_iter([("ids".to_owned(), json!([rep["id"]]))])
    });
    let text = build(single.match_by("id"));
    assert!(text.contains("batched"), "{text}");
}

/// graphql-tools (delegate 12.3.3) calls `onLocatedError` but, where a single error meets a
/// null, relocates the original error, so its messages stay unmapped; data and paths are
/// compared with it, and Quilt's messages are the mapped ones.
#[tokio::test]
async fn a_delegated_field_maps_its_errors_with_on_located_error() {
    use quilt_stitch::FieldResolver;
    let services = Services::start_these(&["people", "profiles"]).await;
    let reference = services
        .reference(&["people", "profiles"], json!({"delegate": true}))
        .await;
    assert_eq!(reference.error(), None);
    let quilt = services
        .quilt(&["people", "profiles"], |s| {
            s.type_defs("extend type Query { profileOf(id: ID!): Person }")
                .resolve(
                    "Query.profileOf",
                    FieldResolver::delegate("profiles", "profile")
                        .arg_from_field("id", "id")
                        .on_located_error(|mut error| {
                            error.message = format!("profiles: {}", error.message);
                            error
                        }),
                )
        })
        .unwrap();
    for (query, path) in [
        (
            "{ profileOf(id: \"3\") { id bio } }",
            "[\"profileOf\",\"bio\"]",
        ),
        (
            "{ a: profileOf(id: \"1\") { bio } b: profileOf(id: \"3\") { b: bio } c: profileOf(id: \"9\") { id } }",
            "[\"b\",\"b\"]",
        ),
    ] {
        let expected = reference.run(query).await;
        let actual = run(&quilt, query, json!({})).await;
        assert_eq!(
            serde_json::to_string(&expected["data"]).unwrap(),
            serde_json::to_string(&actual["data"]).unwrap(),
            "{query}\n  reference: {expected}\n  quilt:     {actual}"
        );
        assert_eq!(error_paths(&actual), error_paths(&expected));
        assert_eq!(error_paths(&actual), [path]);
        assert_eq!(
            actual["errors"][0]["message"],
            format!(
                "profiles: {}",
                expected["errors"][0]["message"].as_str().unwrap()
            )
        );
    }
}
