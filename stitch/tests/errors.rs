#![allow(clippy::unwrap_used)]
//! Errors as the GraphQL spec says, across three real services: field errors with client
//! paths and locations, null propagation, errors in list items, a service that is down,
//! validation errors that never reach a service.

mod common;

use common::{Services, run};
use serde_json::json;

#[tokio::test]
async fn nullable_field_error_keeps_path_location_and_extensions() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let result = run(
        &gateway,
        "{ topProducts(first: 1) { name }\n  u: user(id: \"3\") { name email } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result,
        json!({
            "data": {
                "topProducts": [{"name": "Table"}],
                "u": {"name": "Alan", "email": null}
            },
            "errors": [{
                "message": "email of user 3 is private",
                "locations": [{"line": 2, "column": 27}],
                "path": ["u", "email"],
                "extensions": {"code": "FORBIDDEN"}
            }]
        })
    );
}

#[tokio::test]
async fn non_null_error_nulls_the_nearest_nullable_parent() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let result = run(
        &gateway,
        "{ user(id: \"4\") { id username } review(id: \"1\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(result["data"], json!({"user": null, "review": {"id": "1"}}));
    let errors = result["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], json!(["user", "username"]));
}

#[tokio::test]
async fn null_in_non_null_root_field_nulls_all_data_even_from_other_services() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    // users: [User!]! — user 4's username fails, so the list, then `data`, become null, even
    // though products answered.
    let result = run(
        &gateway,
        "{ topProducts(first: 1) { name } users { username } }",
        json!({}),
    )
    .await;
    assert_eq!(result["data"], json!(null));
    let errors = result["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["users", 3, "username"]));

    let result = run(&gateway, "{ me { name } brokenReview { id } }", json!({})).await;
    assert_eq!(result["data"], json!(null));
    assert_eq!(result["errors"][0]["path"], json!(["brokenReview"]));
    assert_eq!(result["errors"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn error_inside_a_list_item() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let result = run(
        &gateway,
        "{ topProducts(first: 3) { upc stock } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result["data"],
        json!({"topProducts": [
            {"upc": "1", "stock": 10},
            {"upc": "2", "stock": null},
            {"upc": "3", "stock": 30}
        ]})
    );
    assert_eq!(
        result["errors"][0]["path"],
        json!(["topProducts", 1, "stock"])
    );
    assert_eq!(
        result["errors"][0]["locations"],
        json!([{"line": 1, "column": 31}])
    );
}

#[tokio::test]
async fn a_service_that_is_down_fails_only_its_root_fields() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let Services {
        reviews, accounts, ..
    } = services;
    reviews.stop().await;
    let result = run(
        &gateway,
        "{ me { name }\n  review(id: \"1\") { id }\n  second: review(id: \"2\") { body } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result["data"],
        json!({"me": {"name": "Ada"}, "review": null, "second": null})
    );
    let errors = result["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["review"]));
    assert_eq!(errors[0]["locations"], json!([{"line": 2, "column": 3}]));
    assert_eq!(errors[1]["path"], json!(["second"]));
    assert_eq!(errors[0]["extensions"]["code"], json!("CONNECT_ERROR"));
    assert_eq!(errors[0]["extensions"]["serviceName"], json!("reviews"));
    drop(accounts);
}

#[tokio::test]
async fn validation_errors_are_spec_shaped_and_reach_no_service() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let cases = [
        ("{ me { nope } }", "nope"),
        ("{ user(id: 1.5) { name } }", "ID!"),
        ("{ topProducts }", "subselection"),
        ("query ($x: Int) { me { name } }", "$x"),
        ("{ search(term: \"a\") { name } }", "name"),
    ];
    for (query, mentions) in cases {
        let result = run(&gateway, query, json!({})).await;
        assert!(result.get("data").is_none(), "{query}: {result}");
        let errors = result["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["message"].as_str().unwrap().contains(mentions)),
            "{query}: {result}"
        );
        for error in errors {
            assert!(
                error["locations"][0]["line"].is_number(),
                "{query}: {error}"
            );
            assert_eq!(
                error["extensions"]["code"],
                json!("GRAPHQL_VALIDATION_FAILED")
            );
        }
    }
    for s in &sent {
        assert!(s.take().is_empty());
    }
    assert_eq!(services.accounts.stats().snapshot().http_requests, 0);
}

#[tokio::test]
async fn introspection_is_answered_by_the_gateway_alongside_root_fields() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let result = run(
        &gateway,
        "{ __schema { queryType { name } mutationType { name } }
           product: __type(name: \"Product\") { name kind fields { name } }
           union: __type(name: \"SearchResult\") { possibleTypes { name } }
           me { name __typename } __typename }",
        json!({}),
    )
    .await;
    assert_eq!(
        result,
        json!({"data": {
            "__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}},
            "product": {"name": "Product", "kind": "OBJECT", "fields": [
                {"name": "id"}, {"name": "upc"}, {"name": "name"}, {"name": "price"},
                {"name": "tags"}, {"name": "stock"}
            ]},
            "union": {"possibleTypes": [{"name": "Product"}, {"name": "Category"}]},
            "me": {"name": "Ada", "__typename": "User"},
            "__typename": "Query"
        }})
    );
    let [a, p, r] = sent.map(|s| s.take());
    assert_eq!(a.len(), 1);
    assert!(!a[0].0.contains("__schema") && !a[0].0.contains("__type("));
    assert!(p.is_empty() && r.is_empty());

    // A full introspection query works and names every root field of every service.
    let full = run(
        &gateway,
        "{ __schema { types { name fields { name args { name type { name ofType { name } } } } } } }",
        json!({}),
    )
    .await;
    let text = full.to_string();
    for name in ["topProducts", "feed", "usersByRole", "ReviewInput"] {
        assert!(text.contains(name), "{name} missing");
    }
}
