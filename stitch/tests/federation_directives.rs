#![allow(clippy::unwrap_used)]
//! Federation 2's `@inaccessible` and `@override` over two running async-graphql subgraphs
//! (`quilt_test_support::federation::directives`: users and posts), read from
//! `{ _service { sdl } }`. `User.uid` is an `@inaccessible` key of both, `staff` an
//! `@inaccessible` root field, `Role.ROOT` an `@inaccessible` enum value; posts overrides
//! `User.email` from users.
//!
//! `uid` is hidden from clients (introspection, SDL, validation) and still merges `User`
//! across the two; `email` comes from posts, never from users' copy (each service answers it
//! with its own name in it, and counts its requests).

mod common;

use common::run_op;
use quilt_stitch::StitchedSchema;
use quilt_test_support::TestServer;
use quilt_test_support::federation::directives;
use serde_json::{Value, json};

struct Services {
    users: TestServer,
    posts: TestServer,
    gateway: StitchedSchema,
}

impl Services {
    async fn start() -> Self {
        let (users, posts) = directives::start().await.unwrap();
        let gateway = common::federation_gateway(&[("users", &users), ("posts", &posts)]).await;
        Self {
            users,
            posts,
            gateway,
        }
    }

    /// HTTP requests each service got so far: (users, posts).
    fn requests(&self) -> (u64, u64) {
        (
            self.users.stats().snapshot().http_requests,
            self.posts.stats().snapshot().http_requests,
        )
    }

    /// The result of `query` and the requests it made: (users, posts).
    async fn run(&self, query: &str) -> (Value, (u64, u64)) {
        let before = self.requests();
        let result = run_op(&self.gateway, query, json!({}), None).await;
        let after = self.requests();
        (result, (after.0 - before.0, after.1 - before.1))
    }
}

#[tokio::test]
async fn an_inaccessible_key_is_hidden_and_refused_yet_merges_the_type_across_services() {
    let services = Services::start().await;

    // Hidden from introspection and the SDL.
    let (result, _) = services
        .run(
            r#"{ user: __type(name: "User") { fields { name } }
                 role: __type(name: "Role") { enumValues { name } }
                 query: __type(name: "Query") { fields { name } } }"#,
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "user": {"fields": [{"name": "name"}, {"name": "email"}, {"name": "role"}, {"name": "posts"}]},
            "role": {"enumValues": [{"name": "MEMBER"}]},
            "query": {"fields": [{"name": "users"}, {"name": "posts"}]},
        }}),
    );
    let sdl = services.gateway.sdl();
    for hidden in ["uid", "staff", "ROOT", "inaccessible"] {
        assert!(!sdl.contains(hidden), "`{hidden}` in\n{sdl}");
    }

    // Refused in queries, as any unknown field is, before any service is asked.
    for query in [
        "{ users { uid name } }",
        "{ posts { author { name uid } } }",
        "{ staff { name } }",
    ] {
        let (result, requests) = services.run(query).await;
        assert_eq!(requests, (0, 0), "{query}");
        assert!(result.get("data").is_none(), "{query}: {result}");
        assert_eq!(
            result["errors"][0]["extensions"]["code"],
            json!("GRAPHQL_VALIDATION_FAILED"),
            "{query}: {result}"
        );
        assert!(
            result["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("does not have a field"),
            "{result}"
        );
    }

    // Used as the key: users' `User`s get their posts from posts, and the other way round.
    let (result, requests) = services.run("{ users { name posts { title } } }").await;
    assert_eq!(
        result,
        json!({"data": {"users": [
            {"name": "Ada", "posts": [{"title": "Engines"}, {"title": "Notes"}]},
            {"name": "Grace", "posts": [{"title": "Compilers"}]},
        ]}})
    );
    assert_eq!(requests, (1, 1));
    let (result, requests) = services.run("{ posts { title author { name } } }").await;
    assert_eq!(
        result["data"]["posts"],
        json!([
            {"title": "Engines", "author": {"name": "Ada"}},
            {"title": "Compilers", "author": {"name": "Grace"}},
            {"title": "Notes", "author": {"name": "Ada"}},
        ]),
        "{result}"
    );
    assert_eq!(requests, (1, 1));
}

#[tokio::test]
async fn an_overridden_field_is_resolved_by_the_service_that_overrides_it() {
    let services = Services::start().await;

    // Reached from users, which has its own `email`: posts is asked for it anyway.
    let (result, requests) = services.run("{ users { name email } }").await;
    assert_eq!(
        result,
        json!({"data": {"users": [
            {"name": "Ada", "email": "u1@posts"},
            {"name": "Grace", "email": "u2@posts"},
        ]}})
    );
    assert_eq!(requests, (1, 1));

    // Reached from posts: posts answers alone.
    let (result, requests) = services.run("{ posts { author { email } } }").await;
    assert_eq!(
        result["data"]["posts"][1],
        json!({"author": {"email": "u2@posts"}}),
        "{result}"
    );
    assert_eq!(requests, (0, 1));

    // The plan says so too.
    let plan = services
        .gateway
        .explain("{ users { name email } }", None)
        .unwrap();
    assert!(
        plan.contains("fetch users: { users { name _qk_uid: uid } }"),
        "{plan}"
    );
    assert!(
        plan.contains("posts._entities [users] User (uid): { email }"),
        "{plan}"
    );
}
