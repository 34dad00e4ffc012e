#![allow(clippy::unwrap_used)]
//! Gateway-defined fields (`Stitcher::type_defs` + `Stitcher::resolve`) over two JavaScript
//! services, users and chirps (test-support/js/chirps-subgraph.mjs): `User.chirps` by a batched
//! delegation, `User.recentChirps(first:)` by a delegation with the field's own argument,
//! `Chirp.author` by a batched delegation back to users, `User.displayName` by a local
//! function. Compared with graphql-tools (`stitchSchemas` with `typeDefs` and resolvers using
//! `delegateToSchema` / `batchDelegateToSchema`, test-support/js/chirps-gateway.mjs), with the
//! services' request counts asserted: with batching on (as gateway-example runs), one request
//! per service per level.

mod common;

use std::time::Duration;

use common::run_op;
use quilt_batch::BatchOptions;
use quilt_stitch::{FieldResolver, StitchError, StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::js::js_dir;
use serde_json::{Map, Value, json};

fn sdl(name: &str) -> String {
    std::fs::read_to_string(js_dir().join(format!("chirps/{name}.graphql"))).unwrap()
}

fn gateway(users_url: &str, chirps_url: &str) -> Stitcher {
    Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl("users", &sdl("users"), common::http(users_url.into()))
                .unwrap()
                .batch(BatchOptions::default()),
        )
        .subschema(
            SubschemaConfig::from_sdl("chirps", &sdl("chirps"), common::http(chirps_url.into()))
                .unwrap()
                .batch(BatchOptions::default()),
        )
        .type_defs(sdl("gateway"))
        .resolve(
            "User.chirps",
            FieldResolver::batch_delegate(
                "chirps",
                "chirpsByAuthorIds",
                "{ id }",
                |user| user["id"].clone(),
                |ids, _args| Map::from_iter([("authorIds".to_owned(), Value::Array(ids))]),
            ),
        )
        .resolve(
            "User.recentChirps",
            FieldResolver::delegate("chirps", "chirpsByAuthorId")
                .selection_set("{ id }")
                .arg_from_parent("authorId", "id")
                .arg_from_field("first", "first"),
        )
        .resolve(
            "User.displayName",
            FieldResolver::local("{ name username }", |user, _args| {
                Ok(json!(format!(
                    "{} (@{})",
                    user["name"].as_str().unwrap_or_default(),
                    user["username"].as_str().unwrap_or_default()
                )))
            }),
        )
        .resolve(
            "Chirp.author",
            FieldResolver::batch_delegate(
                "users",
                "usersByIds",
                "{ authorId }",
                |chirp| chirp["authorId"].clone(),
                |ids, _args| Map::from_iter([("ids".to_owned(), Value::Array(ids))]),
            ),
        )
}

struct Setup {
    quilt: StitchedSchema,
    reference: JsPeer,
    services: [JsPeer; 2],
}

async fn start() -> Setup {
    let users = JsPeer::start("chirps-subgraph.mjs", &["users"])
        .await
        .unwrap();
    let chirps = JsPeer::start("chirps-subgraph.mjs", &["chirps"])
        .await
        .unwrap();
    let (users_url, chirps_url) = (users.http_url("/graphql"), chirps.http_url("/graphql"));
    let reference = JsPeer::start("chirps-gateway.mjs", &[&users_url, &chirps_url])
        .await
        .unwrap();
    Setup {
        quilt: gateway(&users_url, &chirps_url).build().unwrap(),
        reference,
        services: [users, chirps],
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn counts(client: &reqwest::Client, services: &[JsPeer; 2]) -> [u64; 2] {
    let mut out = [0; 2];
    for (slot, peer) in out.iter_mut().zip(services) {
        let text = client.get(peer.http_url("/count")).send().await.unwrap();
        *slot = text.text().await.unwrap().trim().parse().unwrap();
    }
    out
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
async fn gateway_fields_answer_like_graphql_tools_with_one_request_per_service_per_level() {
    let setup = start().await;
    let client = client();
    let url = setup.reference.http_url("/graphql");
    // (operation, requests to [users, chirps], the spec's error paths where graphql-tools
    // misplaces errors inside batched delegations)
    let corpus: [(&str, [u64; 2], Option<&str>); 10] = [
        // The classic example, both ways.
        (
            "{ users { username chirps { text author { username } } } }",
            [2, 1],
            None,
        ),
        (
            "{ chirps { text author { username chirps { id } } } }",
            [1, 2],
            None,
        ),
        // A local computed field.
        ("{ users { displayName } }", [1, 0], None),
        // A delegated field with its own argument (and its default).
        (
            "{ users { id recentChirps(first: 2) { id } r: recentChirps { id } } }",
            [1, 1],
            None,
        ),
        // Variables reach the delegated field's argument.
        (
            "query ($n: Int) { users { recentChirps(first: $n) { text } } }",
            [1, 1],
            None,
        ),
        // An error inside a delegated field, at the chirp's own path.
        (
            "{ users { id chirps { id likes } } }",
            [1, 1],
            Some(r#"["users",1,"chirps",1,"likes"]"#),
        ),
        (
            "{ users { recentChirps(first: 3) { likes } } }",
            [1, 1],
            None,
        ),
        // A null parent (chirp 7's author is unknown).
        (
            "{ chirps(first: 8) { id author { displayName chirps { id } } } }",
            [1, 2],
            None,
        ),
        // Gateway fields under aliases and fragments.
        (
            "{ users { ...U } } fragment U on User { d: displayName c: chirps { a: author { name } } }",
            [2, 1],
            None,
        ),
        (
            "{ users { chirps { author { displayName } } } }",
            [2, 1],
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (query, expected_counts, spec_path) in corpus {
        let variables = json!({"n": 1});
        let body = json!({"query": query, "variables": variables});
        let expected: Value = client
            .post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let before = counts(&client, &setup.services).await;
        let actual = run_op(&setup.quilt, query, variables, None).await;
        let after = counts(&client, &setup.services).await;
        assert!(expected["data"].is_object(), "{query}: {expected}");
        let same = serde_json::to_string(&expected["data"]).unwrap()
            == serde_json::to_string(&actual["data"]).unwrap()
            && match spec_path {
                Some(path) => error_paths(&actual) == vec![path.to_owned()],
                None => error_paths(&expected) == error_paths(&actual),
            };
        let requests = [after[0] - before[0], after[1] - before[1]];
        if !same || requests != expected_counts {
            failures.push(format!(
                "{query}\n  reference: {expected}\n  quilt:     {actual}\n  requests {requests:?}, expected {expected_counts:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_gateway_fields_are_build_errors_naming_the_field() {
    let build = |stitcher: Stitcher| stitcher.build().unwrap_err();
    let base = || gateway("http://127.0.0.1:9/graphql", "http://127.0.0.1:9/graphql");
    // A resolver for a field nobody defines.
    let err = build(base().resolve(
        "User.nickname",
        FieldResolver::local("", |_, _| Ok(Value::Null)),
    ));
    assert!(
        matches!(err, StitchError::InvalidFieldResolver { .. })
            && err.to_string().contains("User.nickname"),
        "{err}"
    );
    // A delegation to a root field that does not exist.
    let err = build(
        base()
            .type_defs("extend type User { friends: [User!]! }")
            .resolve(
                "User.friends",
                FieldResolver::delegate("users", "friendsOf").selection_set("{ id }"),
            ),
    );
    assert!(
        err.to_string().contains("User.friends") && err.to_string().contains("friendsOf"),
        "{err}"
    );
    // Arguments that do not type-check against the mapping.
    let err = build(
        base()
            .type_defs("extend type User { friends: [User!]! }")
            .resolve(
                "User.friends",
                FieldResolver::delegate("users", "usersByIds").arg_from_parent("userIds", "id"),
            ),
    );
    assert!(
        err.to_string().contains("User.friends") && err.to_string().contains("userIds"),
        "{err}"
    );
    // An extension referencing an unknown type.
    let err = build(base().type_defs("extend type User { best: Friend }"));
    assert!(err.to_string().contains("Friend"), "{err}");
}
