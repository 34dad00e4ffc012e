#![allow(clippy::unwrap_used)]
//! Differential tests of the checks on merged definitions (`TypeMergingOptions`, graphql-tools'
//! `typeMergingOptions`): services `left` and `right` both define `User` and `Query.shared`
//! with conflicting fields (a different named type, a different nullability, different
//! argument names, an argument required on one side only); `lists` defines `User.tags` as a
//! scalar where the others have a list. For each option set, Quilt and the graphql-tools
//! gateway with the same options both fail to build or both build, warn about the same
//! coordinates, and answer the same data and error paths.

mod common;

use std::collections::BTreeSet;

use common::parity::{Services, same_answer, warned};
use common::run;
use quilt_stitch::{StitchError, TypeMergingOptions, ValidationLevel, ValidationSettings};
use serde_json::json;

const QUERIES: [&str; 3] = [
    "{ leftUser { id name greeting code tags } rightUser { id name greeting code tags } shared(id: \"3\") }",
    "{ rightUser { id name } }",
    "{ __type(name: \"User\") { fields { name args { name type { kind name } } type { kind name ofType { kind name } } } } }",
];

fn level(level: ValidationLevel) -> TypeMergingOptions {
    TypeMergingOptions::new().validation_settings(ValidationSettings::new().level(level))
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Quilt and the reference answer every query alike.
async fn same_answers(quilt: &quilt_stitch::StitchedSchema, reference: &common::parity::Reference) {
    for query in QUERIES {
        let expected = reference.run(query).await;
        let actual = run(quilt, query, json!({})).await;
        assert!(expected["data"].is_object(), "{expected}");
        assert!(
            same_answer(&expected, &actual),
            "{query}\n  reference: {expected}\n  quilt:     {actual}"
        );
    }
}

#[tokio::test]
async fn each_validation_level_on_conflicting_fields_matches_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];

    // Warn (graphql-tools' default and Quilt's): built, the same findings warned.
    let reference = services.reference(&names, json!({})).await;
    assert_eq!(reference.error(), None);
    let quilt = services.quilt(&names, |s| s).unwrap();
    let expected = set(&["Query.shared.id", "User.code", "User.greeting"]);
    assert_eq!(reference.warned(), expected);
    assert_eq!(warned(&quilt), expected);
    same_answers(&quilt, &reference).await;
    let explicit = services
        .quilt(&names, |s| s.type_merging(level(ValidationLevel::Warn)))
        .unwrap();
    assert_eq!(warned(&explicit), expected);

    // Error: neither builds; Quilt names one of the findings.
    let options =
        json!({"typeMergingOptions": {"validationSettings": {"validationLevel": "error"}}});
    let reference = services.reference(&names, options).await;
    assert!(reference.error().is_some());
    let err = services
        .quilt(&names, |s| s.type_merging(level(ValidationLevel::Error)))
        .unwrap_err();
    let StitchError::MergeValidation { coordinate, .. } = &err else {
        panic!("{err}");
    };
    assert!(expected.contains(coordinate), "{err}");

    // Off: built, nothing warned, the same answers.
    let options = json!({"typeMergingOptions": {"validationSettings": {"validationLevel": "off"}}});
    let reference = services.reference(&names, options).await;
    assert_eq!(reference.error(), None);
    assert!(reference.warned().is_empty());
    let quilt = services
        .quilt(&names, |s| s.type_merging(level(ValidationLevel::Off)))
        .unwrap();
    assert!(quilt.build_warnings().is_empty());
    same_answers(&quilt, &reference).await;
}

#[tokio::test]
async fn a_scope_makes_one_coordinate_an_error_like_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];
    let options = json!({"typeMergingOptions": {
        "validationSettings": {"validationLevel": "off"},
        "validationScopes": {"User.code": {"validationLevel": "error"}},
    }});
    let reference = services.reference(&names, options).await;
    let message = reference.error().unwrap();
    assert!(message.contains("\"User.code\""), "{message}");
    let err = services
        .quilt(&names, |s| {
            s.type_merging(level(ValidationLevel::Off).validation_scope(
                "User.code",
                ValidationSettings::new().level(ValidationLevel::Error),
            ))
        })
        .unwrap_err();
    assert!(
        matches!(&err, StitchError::MergeValidation { coordinate, .. } if coordinate == "User.code"),
        "{err}"
    );
}

#[tokio::test]
async fn strict_nullability_proxiable_scalars_and_scopes_match_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];
    let options = json!({"typeMergingOptions": {
        "validationSettings": {"strictNullComparison": true, "proxiableScalars": {"String": ["ID"]}},
        "validationScopes": {"User.greeting": {"validationLevel": "off"}},
    }});
    let reference = services.reference(&names, options).await;
    assert_eq!(reference.error(), None);
    let quilt = services
        .quilt(&names, |s| {
            s.type_merging(
                TypeMergingOptions::new()
                    .validation_settings(
                        ValidationSettings::new()
                            .strict_null_comparison(true)
                            .proxiable_scalar("String", ["ID"]),
                    )
                    .validation_scope(
                        "User.greeting",
                        ValidationSettings::new().level(ValidationLevel::Off),
                    ),
            )
        })
        .unwrap();
    let expected = set(&["Query.shared.id", "User.name"]);
    assert_eq!(reference.warned(), expected);
    assert_eq!(warned(&quilt), expected);
    same_answers(&quilt, &reference).await;
}

#[tokio::test]
async fn a_list_and_a_scalar_never_merge_like_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right", "lists"];
    let options = json!({"typeMergingOptions": {"validationSettings": {"validationLevel": "off"}}});
    let reference = services.reference(&names, options).await;
    let message = reference.error().unwrap();
    assert!(message.contains("\"User.tags\""), "{message}");
    let err = services
        .quilt(&names, |s| s.type_merging(level(ValidationLevel::Off)))
        .unwrap_err();
    assert!(
        matches!(&err, StitchError::MergeValidation { coordinate, .. } if coordinate == "User.tags"),
        "{err}"
    );
}

#[tokio::test]
async fn nullable_on_conflict_matches_graphql_tools() {
    let services = Services::start().await;
    // `left` last: its `name: String!` is kept, `right` answers null for it.
    let names = ["right", "left"];
    for nullable in [false, true] {
        let options = json!({"typeMergingOptions": {"useNonNullableFieldOnConflict": nullable}});
        let reference = services.reference(&names, options).await;
        assert_eq!(reference.error(), None);
        let quilt = services
            .quilt(&names, |s| {
                s.type_merging(TypeMergingOptions::new().nullable_on_conflict(nullable))
            })
            .unwrap();
        assert_eq!(warned(&quilt), reference.warned(), "nullable: {nullable}");
        same_answers(&quilt, &reference).await;
    }
}

#[tokio::test]
async fn a_field_config_merger_chooses_definitions_and_root_owners_like_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];
    let reference = services
        .reference(&names, json!({"firstFieldWins": true}))
        .await;
    assert_eq!(reference.error(), None);
    let quilt = services
        .quilt(&names, |s| {
            s.type_merging(
                TypeMergingOptions::new()
                    .field_config_merger(|_, _, candidates| candidates[0].1.clone()),
            )
        })
        .unwrap();
    assert_eq!(warned(&quilt), reference.warned());
    same_answers(&quilt, &reference).await;
    // The first definitions were kept: `shared` is `left`'s.
    let shared = run(&quilt, "{ shared(id: \"1\") }", json!({})).await;
    assert_eq!(shared["data"]["shared"], "left 1");
}

#[tokio::test]
async fn a_type_candidate_merger_chooses_the_winning_definitions_like_graphql_tools() {
    let services = Services::start().await;
    let names = ["left", "right"];
    let reference = services
        .reference(&names, json!({"firstTypeWins": true}))
        .await;
    assert_eq!(reference.error(), None);
    let quilt = services
        .quilt(&names, |s| {
            s.type_merging(
                TypeMergingOptions::new().type_candidate_merger(|_, candidates| {
                    assert_eq!(candidates.len(), 2);
                    0
                }),
            )
        })
        .unwrap();
    assert_eq!(warned(&quilt), reference.warned());
    same_answers(&quilt, &reference).await;
    let shared = run(&quilt, "{ shared(id: \"1\") }", json!({})).await;
    assert_eq!(shared["data"]["shared"], "left 1");
}
