#![allow(clippy::unwrap_used)]
//! Differential tests of a batched entry point whose service answers in its own order and
//! leaves out what it does not know (test-support/js/parity-subgraph.mjs `profiles`: ids
//! reversed, unknown ids dropped, the bio of 3 an error): its results matched to the keys by
//! `EntryPoint::values_from_results` (graphql-tools' `valuesFromResults`, the reference) and by
//! `EntryPoint::match_by`. `people` returns persons 1, 2, 3, 9 and 2 again. The data must equal
//! the reference's as text; the error sits at the spec's path (graphql-tools drops the list
//! index of errors of batched entry points).

mod common;

use common::differential::error_paths;
use common::parity::Services;
use common::run;
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
        _ => entry.match_by("id"),
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
        .reference(&["people", "profiles"], json!({"merge": true}))
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
