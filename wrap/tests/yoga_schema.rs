//! Over the wire against graphql-yoga (graphql-js): the schema Quilt builds from introspection
//! equals, structurally, the server's own printed SDL; `{ _sdl }` keeps the applied directives;
//! a disabled introspection and a 401 are clear errors.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use apollo_compiler::Schema;
use apollo_compiler::schema::ExtendedType;
use quilt_test_support::JsPeer;
use quilt_wrap::{
    IntrospectionOptions, SchemaSource, WrapError, load_schema, schema_from_executor,
};
use support::compare::schema_diff;
use support::http::{http_executor, http_executor_with_headers};

const WAIT: Duration = Duration::from_secs(20);

async fn server_sdl(peer: &JsPeer) -> String {
    let response = reqwest::Client::new()
        .get(peer.http_url("/sdl"))
        .timeout(WAIT)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.text().await.unwrap()
}

#[tokio::test]
async fn introspected_schema_equals_the_servers_printed_sdl() {
    let peer = JsPeer::start("yoga-schema.mjs", &[]).await.unwrap();
    let url = peer.http_url("/graphql");
    let executor = http_executor(&url);
    let schema = tokio::time::timeout(
        WAIT,
        schema_from_executor(&executor, IntrospectionOptions::default().endpoint(&url)),
    )
    .await
    .unwrap()
    .unwrap();
    let sdl = server_sdl(&peer).await;
    let reference = quilt_wrap::schema_from_sdl(&sdl).unwrap();

    let diff = schema_diff(&schema, &reference);
    assert!(
        diff.is_empty(),
        "{} mismatches:\n{}",
        diff.len(),
        diff.join("\n")
    );

    // Spot checks that the comparison saw the features (and that they survived).
    assert_eq!(
        schema.schema_definition.query.as_ref().unwrap().name,
        "RootQuery"
    );
    assert_eq!(
        schema.schema_definition.mutation.as_ref().unwrap().name,
        "RootMutation"
    );
    assert!(schema.directive_definitions["tag"].repeatable);
    assert!(
        schema.directive_definitions["trace"].arguments[1]
            .directives
            .has("deprecated")
    );
    assert!(
        schema
            .get_interface("Named")
            .unwrap()
            .implements_interfaces
            .contains("Node")
    );
    assert!(
        schema
            .get_input_object("UserBy")
            .unwrap()
            .directives
            .has("oneOf")
    );
    let Some(ExtendedType::Scalar(date)) = schema.types.get("DateTime") else {
        panic!()
    };
    assert!(date.directives.has("specifiedBy"));
    let page = schema.get_input_object("Page").unwrap();
    assert!(page.fields["offset"].directives.has("deprecated"));
    assert_eq!(
        page.fields["tags"]
            .default_value
            .as_ref()
            .unwrap()
            .serialize()
            .no_indent()
            .to_string(),
        r#"["a", "b\"c"]"#
    );
    let scope = schema.get_enum("CacheScope").unwrap();
    assert!(scope.values["SHARED"].directives.has("deprecated"));
    let user = schema.get_object("User").unwrap();
    assert!(
        user.fields["contact"].arguments[1]
            .directives
            .has("deprecated")
    );
    assert!(schema.schema_definition.description.is_some());
}

#[tokio::test]
async fn a_tampered_schema_differs_from_the_servers_sdl() {
    // The comparison above can fail: remove one deprecation and one default from the SDL.
    let peer = JsPeer::start("yoga-schema.mjs", &[]).await.unwrap();
    let url = peer.http_url("/graphql");
    let schema = tokio::time::timeout(
        WAIT,
        schema_from_executor(&http_executor(&url), IntrospectionOptions::default()),
    )
    .await
    .unwrap()
    .unwrap();
    let sdl = server_sdl(&peer)
        .await
        .replace("legacy: String @deprecated", "legacy: String")
        .replace("ratio: Float = 0.5", "ratio: Float = 0.25");
    let reference = Schema::parse_and_validate(sdl.replace("@oneOf", ""), "sdl").unwrap();
    let diff = schema_diff(&schema, &reference);
    assert_eq!(diff.len(), 3, "{diff:#?}");
}

#[tokio::test]
async fn sdl_source_keeps_the_applied_directives() {
    let peer = JsPeer::start("yoga-schema.mjs", &[]).await.unwrap();
    let url = peer.http_url("/graphql");
    let executor = http_executor(&url);
    let from_sdl = tokio::time::timeout(
        WAIT,
        load_schema(&executor, SchemaSource::sdl().endpoint(&url)),
    )
    .await
    .unwrap()
    .unwrap();
    let introspected =
        tokio::time::timeout(WAIT, load_schema(&executor, SchemaSource::introspection()))
            .await
            .unwrap()
            .unwrap();
    let diff = schema_diff(&from_sdl, &introspected);
    assert!(diff.is_empty(), "{diff:#?}");

    let user = from_sdl.get_object("User").unwrap();
    let tags: Vec<String> = user
        .directives
        .get_all("tag")
        .map(|d| d.to_string())
        .collect();
    assert_eq!(tags, [r#"@tag(name: "entity")"#, r#"@tag(name: "user")"#]);
    assert!(user.directives.has("cacheControl"));
    assert!(user.fields["contact"].directives.has("tag"));
    // Introspection cannot carry those.
    assert!(
        !introspected
            .get_object("User")
            .unwrap()
            .directives
            .has("tag")
    );
}

#[tokio::test]
async fn disabled_introspection_is_a_clear_error() {
    let peer = JsPeer::start("yoga-schema.mjs", &["--no-introspection"])
        .await
        .unwrap();
    let url = peer.http_url("/graphql");
    let err = tokio::time::timeout(
        WAIT,
        schema_from_executor(
            &http_executor(&url),
            IntrospectionOptions::default().endpoint(&url),
        ),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        matches!(err, WrapError::IntrospectionDisabled { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&url) && message.contains("introspection"),
        "{message}"
    );

    // The SDL source still works on such a service.
    let schema = tokio::time::timeout(WAIT, load_schema(&http_executor(&url), SchemaSource::sdl()))
        .await
        .unwrap()
        .unwrap();
    assert!(schema.get_object("User").is_some());
}

#[tokio::test]
async fn http_401_is_unauthorized_and_the_right_token_works() {
    let peer = JsPeer::start("yoga-schema.mjs", &["--token=s3cret"])
        .await
        .unwrap();
    let url = peer.http_url("/graphql");
    let err = tokio::time::timeout(
        WAIT,
        schema_from_executor(&http_executor(&url), IntrospectionOptions::default()),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        matches!(
            err,
            WrapError::Unauthorized {
                status: Some(401),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains(&url),
        "the executor's endpoint is named: {err}"
    );

    let authorized = http_executor_with_headers(&url, &[("authorization", "Bearer s3cret")]);
    let schema = tokio::time::timeout(
        WAIT,
        schema_from_executor(&authorized, IntrospectionOptions::default()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(schema.get_object("RootQuery").is_some());
}
