#![allow(clippy::unwrap_used)]
//! Differential tests of which types and directives are merged (`Stitcher::merge_types`,
//! `Stitcher::merge_directives`; graphql-tools' `mergeTypes` and `mergeDirectives`): services
//! `left` and `right` both define `User` and `Settings` with different fields and the directive
//! `@tag` with different arguments and locations. For each option, Quilt and the graphql-tools
//! gateway with the same option show the same types and directives, warn about the same
//! coordinates and answer the same data.

mod common;

use common::parity::{Services, same_answer, warned};
use common::run;
use quilt_stitch::{MergeTypes, StitchedSchema};
use serde_json::{Value, json};

const QUERIES: [&str; 3] = [
    "{ leftUser { id name code } rightUser { id name } leftSettings { theme } rightSettings { theme } shared(id: \"1\") }",
    "{ u: __type(name: \"User\") { fields { name type { kind name } } } s: __type(name: \"Settings\") { fields { name } } }",
    "{ __schema { directives { name locations args { name type { kind name ofType { name } } } } } }",
];

/// The result with `__schema.directives` cut down to the directives that are not built in
/// (their order is compared; the built-in ones each implementation lists its own way, and
/// `@defer`/`@stream`, which the gateway defines and the reference without its defer plugin
/// does not).
fn custom_directives(mut result: Value) -> Value {
    if let Some(directives) = result
        .pointer_mut("/data/__schema/directives")
        .and_then(Value::as_array_mut)
    {
        directives.retain(|d| {
            ![
                "skip",
                "include",
                "deprecated",
                "specifiedBy",
                "oneOf",
                "defer",
                "stream",
            ]
            .contains(&d["name"].as_str().unwrap_or_default())
        });
    }
    result
}

async fn same_answers(quilt: &StitchedSchema, reference: &common::parity::Reference) {
    for query in QUERIES {
        let expected = custom_directives(reference.run(query).await);
        let actual = custom_directives(run(quilt, query, json!({})).await);
        assert!(expected["data"].is_object(), "{expected}");
        assert!(
            same_answer(&expected, &actual),
            "{query}\n  reference: {expected}\n  quilt:     {actual}"
        );
    }
}

#[tokio::test]
async fn merge_types_all_none_a_list_and_a_filter_match_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];
    let cases: Vec<(Value, MergeTypes)> = vec![
        (json!(true), MergeTypes::All),
        (json!(false), MergeTypes::None),
        (json!(["User"]), MergeTypes::only(["User"])),
        (
            json!({"except": ["Settings"]}),
            MergeTypes::filter(|type_name, subschemas| {
                assert_eq!(subschemas, ["left", "right"]);
                type_name != "Settings"
            }),
        ),
        (
            json!({"except": ["User"]}),
            MergeTypes::filter(|type_name, _| type_name != "User"),
        ),
    ];
    for (option, merge_types) in cases {
        let reference = services
            .reference(&names, json!({"mergeTypes": option}))
            .await;
        assert_eq!(reference.error(), None, "{option}");
        let quilt = services
            .quilt(&names, |s| s.merge_types(merge_types))
            .unwrap();
        assert_eq!(warned(&quilt), reference.warned(), "{option}");
        same_answers(&quilt, &reference).await;
    }
}

#[tokio::test]
async fn merge_directives_or_not_matches_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];
    for merge in [true, false] {
        let reference = services
            .reference(&names, json!({"mergeDirectives": merge}))
            .await;
        assert_eq!(reference.error(), None);
        let quilt = services
            .quilt(&names, |s| s.merge_directives(merge))
            .unwrap();
        same_answers(&quilt, &reference).await;
        let sdl = quilt.sdl();
        assert_eq!(sdl.contains("@tag"), merge, "{sdl}");
    }
}

#[tokio::test]
async fn gateway_resolvers_override_existing_fields_like_graphql_tools() {
    use quilt_stitch::FieldResolver;
    let services = Services::start().await;
    let names = ["left", "right"];
    let reference = services.reference(&names, json!({"resolvers": true})).await;
    assert_eq!(reference.error(), None);
    let quilt = services
        .quilt(&names, |s| {
            s.resolve(
                "User.name",
                FieldResolver::local("{ id }", |user, _| {
                    Ok(json!(format!(
                        "User {}",
                        user["id"].as_str().unwrap_or_default()
                    )))
                }),
            )
            .resolve(
                "Query.shared",
                FieldResolver::local("", |_, args| {
                    Ok(json!(format!(
                        "gateway {}",
                        args["id"].as_str().unwrap_or_default()
                    )))
                }),
            )
        })
        .unwrap();
    for query in [
        "{ leftUser { id name } rightUser { name code } shared(id: \"4\") }",
        "{ s: shared(id: \"5\") leftUser { n: name } }",
    ] {
        let expected = reference.run(query).await;
        let actual = run(&quilt, query, json!({})).await;
        assert!(expected["data"].is_object(), "{expected}");
        assert!(
            same_answer(&expected, &actual),
            "{query}\n  reference: {expected}\n  quilt:     {actual}"
        );
    }
}
