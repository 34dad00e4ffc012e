#![allow(clippy::unwrap_used)]
//! Differential tests of a merged interface and of `@merge(key:, keyArg:, additionalArgs:)`
//! end to end, configured by graphql-tools' stitching directives in each service's SDL: `catalog`
//! returns `items: [Item!]!` (books and movies, with `title`); `stock` adds `inStock` to the
//! interface `Item` and its implementations, fetched for books by key objects built from
//! `id` and the catalog's `title` (`key: ["id", "name:title"]`, `keyArg: "keys"`) with a fixed
//! `warehouse: "main"` (`additionalArgs`), and for movies by id. Queried through fragments on
//! the implementations and on the interface; the data must equal graphql-tools' as text, the
//! error sit at the spec's path (graphql-tools drops the list index).

mod common;

use common::differential::error_paths;
use common::parity::Services;
use common::run;
use serde_json::json;

const CASES: [(&str, &[&str]); 4] = [
    (
        "{ items { id title ... on Book { author inStock warehouse } ... on Movie { director inStock } } }",
        &["[\"items\",2,\"inStock\"]"],
    ),
    ("{ items { id inStock } }", &["[\"items\",2,\"inStock\"]"]),
    (
        "{ items { ...F } } fragment F on Item { title ... on Book { warehouse } }",
        &[],
    ),
    (
        "{ items { __typename ... on Movie { t: title s: inStock } ... on Book { w: warehouse } } }",
        &[],
    ),
];

#[tokio::test]
async fn a_merged_interface_through_fragments_and_merge_key_arguments_match_graphql_tools() {
    let services = Services::start_these(&["catalog", "stock"]).await;
    let reference = services.reference(&["catalog", "stock"], json!({})).await;
    assert_eq!(reference.error(), None);
    let quilt = services.quilt(&["catalog", "stock"], |s| s).unwrap();
    for (query, paths) in CASES {
        let expected = reference.run(query).await;
        let sent_before = services.log("stock").await.len();
        let actual = run(&quilt, query, json!({})).await;
        assert_eq!(
            serde_json::to_string(&expected["data"]).unwrap(),
            serde_json::to_string(&actual["data"]).unwrap(),
            "{query}\n  reference: {expected}\n  quilt:     {actual}"
        );
        assert_eq!(error_paths(&actual), paths.to_vec(), "{actual}");
        // Quilt's requests to `stock` carry the key objects and the fixed argument.
        let log = services.log("stock").await;
        let sent = serde_json::to_string(&log[sent_before..]).unwrap();
        if query.contains("Book") || query.contains("inStock") {
            assert!(
                sent.contains(r#"{"id":"b1","name":"Dune"}"#) && sent.contains("main"),
                "{sent}"
            );
        }
    }
}
