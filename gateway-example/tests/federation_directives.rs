//! Federation 2 subgraphs behind the running gateway (schemas loaded from `_service`):
//! `@inaccessible` elements are not in the gateway's introspection and are refused in queries,
//! yet the hidden key merges `User` across the two services; `@override` decides which
//! service answers a field (`quilt_test_support::federation::directives`).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use common::{settings, start};
use gateway_example::spec::SubschemaSpec;
use quilt_test_support::TestServer;
use quilt_test_support::federation::directives;
use serde_json::json;

fn requests(users: &TestServer, posts: &TestServer) -> (u64, u64) {
    (
        users.stats().snapshot().http_requests,
        posts.stats().snapshot().http_requests,
    )
}

#[tokio::test]
async fn the_gateway_hides_inaccessible_elements_merges_by_them_and_follows_override() {
    let (users, posts) = directives::start().await.unwrap();
    let gateway = start(settings(vec![
        SubschemaSpec::new("users", users.http_url()),
        SubschemaSpec::new("posts", posts.http_url()),
    ]))
    .await;

    let result = gateway
        .query(r#"{ __type(name: "User") { fields { name } } }"#)
        .await;
    assert_eq!(
        result,
        json!({"data": {"__type": {"fields": [
            {"name": "name"}, {"name": "email"}, {"name": "role"}, {"name": "posts"}
        ]}}})
    );

    let before = requests(&users, &posts);
    let refused = gateway.query("{ users { name uid } }").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        json!("GRAPHQL_VALIDATION_FAILED"),
        "{refused}"
    );
    assert_eq!(requests(&users, &posts), before);

    // `posts` needs the hidden `uid` of each user; `email` comes from posts.
    let result = gateway
        .query("{ users { name email posts { title } } }")
        .await;
    assert_eq!(
        result,
        json!({"data": {"users": [
            {"name": "Ada", "email": "u1@posts", "posts": [{"title": "Engines"}, {"title": "Notes"}]},
            {"name": "Grace", "email": "u2@posts", "posts": [{"title": "Compilers"}]},
        ]}})
    );
    let after = requests(&users, &posts);
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
}
