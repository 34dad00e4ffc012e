//! Every way an introspection result or a service can be wrong gives a `WrapError` that names
//! the endpoint and the type or field at fault, never a panic.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use futures::stream;
use quilt_executor::{ExecutionResult, ExecutorError, GraphQLError, Request, Response, from_fn};
use quilt_wrap::{
    IntrospectionOptions, SchemaSource, WrapError, load_schema, schema_from_executor,
    schema_from_introspection,
};
use serde_json::{Value, json};

fn named(name: &str) -> Value {
    json!({ "kind": "SCALAR", "name": name, "ofType": null })
}

/// A small valid result: `type Query { a(x: Int = 1): String }`, `enum Color { RED }`,
/// `input In { c: Color = RED }`.
fn good() -> Value {
    json!({ "__schema": {
        "queryType": { "name": "Query" },
        "mutationType": null,
        "subscriptionType": null,
        "types": [
            { "kind": "OBJECT", "name": "Query", "interfaces": [], "fields": [
                { "name": "a", "args": [{ "name": "x", "type": named("Int"), "defaultValue": "1" }],
                  "type": named("String"), "isDeprecated": false, "deprecationReason": null },
                { "name": "b", "args": [{ "name": "in", "type": { "kind": "INPUT_OBJECT", "name": "In", "ofType": null }, "defaultValue": null }],
                  "type": { "kind": "ENUM", "name": "Color", "ofType": null }, "isDeprecated": false, "deprecationReason": null }
            ]},
            { "kind": "ENUM", "name": "Color", "enumValues": [{ "name": "RED", "isDeprecated": false, "deprecationReason": null }] },
            { "kind": "INPUT_OBJECT", "name": "In", "inputFields": [
                { "name": "c", "type": { "kind": "ENUM", "name": "Color", "ofType": null }, "defaultValue": "RED" }
            ]},
            { "kind": "SCALAR", "name": "String" },
            { "kind": "SCALAR", "name": "Int" }
        ],
        "directives": []
    }})
}

#[track_caller]
fn assert_invalid(json: &Value, location: &str, words: &str) {
    let err = schema_from_introspection(json).unwrap_err();
    match &err {
        WrapError::InvalidIntrospection {
            location: at,
            message,
            ..
        } => {
            assert_eq!(at, location, "{err}");
            assert!(message.contains(words), "{err}");
        }
        other => panic!("expected InvalidIntrospection at {location}, got {other}"),
    }
}

#[test]
fn the_good_result_builds() {
    let schema = schema_from_introspection(&good()).unwrap();
    assert!(schema.get_input_object("In").is_some());
}

#[test]
fn missing_schema() {
    assert_invalid(
        &json!({ "data": { "other": 1 } }),
        "__schema",
        "no `__schema`",
    );
    assert_invalid(&json!([1, 2]), "__schema", "not introspection JSON");
    let mut j = good();
    j["__schema"]["types"] = Value::Null;
    assert_invalid(&j, "__schema", "`types` is missing");
}

#[test]
fn unknown_type_reference() {
    let mut j = good();
    j["__schema"]["types"][0]["fields"][0]["type"] =
        json!({ "kind": "OBJECT", "name": "Missing", "ofType": null });
    assert_invalid(&j, "Query.a", "unknown type `Missing`");
}

#[test]
fn field_without_type() {
    let mut j = good();
    j["__schema"]["types"][0]["fields"][0]["type"] = Value::Null;
    assert_invalid(&j, "Query.a", "has no type");
    let mut j = good();
    j["__schema"]["types"][0]["fields"][0]["args"][0]
        .as_object_mut()
        .unwrap()
        .remove("type");
    assert_invalid(&j, "Query.a(x:)", "has no type");
}

#[test]
fn bad_default_value() {
    for bad in ["{", "1 2", "$x", "RED) on FIELD directive @x(y: Int = 1"] {
        let mut j = good();
        j["__schema"]["types"][0]["fields"][0]["args"][0]["defaultValue"] = json!(bad);
        assert_invalid(&j, "Query.a(x:)", "bad default value");
    }
    let mut j = good();
    j["__schema"]["types"][2]["inputFields"][0]["defaultValue"] = json!("[");
    assert_invalid(&j, "In.c", "bad default value");
}

#[test]
fn kind_mismatch() {
    let mut j = good();
    j["__schema"]["types"][0]["fields"][1]["type"]["kind"] = json!("OBJECT");
    assert_invalid(
        &j,
        "Query.b",
        "referred to as OBJECT but defined as an enum",
    );
    let mut j = good();
    j["__schema"]["types"][0]["fields"][0]["type"] =
        json!({ "kind": "INPUT_OBJECT", "name": "In", "ofType": null });
    assert_invalid(&j, "Query.a", "not an output type");
    let mut j = good();
    j["__schema"]["queryType"]["name"] = json!("Color");
    assert_invalid(&j, "__schema.queryType", "not an object type");
    let mut j = good();
    j["__schema"]["types"][1]["kind"] = json!("WIDGET");
    assert_invalid(&j, "Color", "unknown or missing kind");
}

#[test]
fn inconsistent_lists_and_depth() {
    let mut j = good();
    j["__schema"]["types"][0]["fields"][0]["type"] =
        json!({ "kind": "LIST", "name": null, "ofType": null });
    assert_invalid(&j, "Query.a", "type_depth");
    let mut j = good();
    j["__schema"]["types"][1]["enumValues"] = Value::Null;
    assert_invalid(&j, "Color", "no `enumValues`");
    let mut j = good();
    let copy = j["__schema"]["types"][1].clone();
    j["__schema"]["types"].as_array_mut().unwrap().push(copy);
    assert_invalid(&j, "Color", "listed twice");
    let mut j = good();
    j["__schema"]["queryType"] = Value::Null;
    assert_invalid(&j, "__schema.queryType", "no query type");
    let mut j = good();
    j["__schema"]["types"][0]["fields"][0]["name"] = json!("not a name");
    assert_invalid(&j, "Query.not a name", "not a valid GraphQL name");
}

#[test]
fn an_invalid_schema_names_the_type() {
    let mut j = good();
    j["__schema"]["types"].as_array_mut().unwrap().push(json!(
        { "kind": "INTERFACE", "name": "Node", "interfaces": [], "possibleTypes": [], "fields": [
            { "name": "id", "args": [], "type": named("String"), "isDeprecated": false } ] }
    ));
    j["__schema"]["types"][0]["interfaces"] =
        json!([{ "kind": "INTERFACE", "name": "Node", "ofType": null }]);
    let err = schema_from_introspection(&j).unwrap_err();
    assert!(matches!(err, WrapError::InvalidSchema { .. }), "{err}");
    assert!(
        err.to_string().contains("Query") && err.to_string().contains("id"),
        "{err}"
    );
}

fn answering(result: ExecutionResult) -> impl quilt_executor::Executor {
    from_fn(move |_r: Request| {
        let result = result.clone();
        async move { Ok(Response::Single(result)) }
    })
}

async fn load(
    executor: &impl quilt_executor::Executor,
) -> Result<apollo_compiler::validation::Valid<apollo_compiler::Schema>, WrapError> {
    let options = IntrospectionOptions::default()
        .endpoint("http://svc/graphql")
        .timeout(Duration::from_millis(500));
    tokio::time::timeout(
        Duration::from_secs(5),
        schema_from_executor(executor, options),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn service_errors_are_classified() {
    let disabled = answering(ExecutionResult::from_error(GraphQLError::new(
        "GraphQL introspection has been disabled, but the requested query contained the field \"__schema\".",
    )));
    let err = load(&disabled).await.unwrap_err();
    assert!(
        matches!(err, WrapError::IntrospectionDisabled { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("http://svc/graphql"), "{err}");

    let unauthenticated = answering(ExecutionResult::from_error(
        GraphQLError::new("Who are you?").with_code("UNAUTHENTICATED"),
    ));
    let err = load(&unauthenticated).await.unwrap_err();
    assert!(
        matches!(err, WrapError::Unauthorized { status: None, .. }),
        "{err}"
    );

    let forbidden = from_fn(|_r: Request| async {
        Err(ExecutorError::HttpStatus {
            endpoint: "http://svc/graphql".into(),
            status: 403,
            body_excerpt: "Forbidden".into(),
        })
    });
    let err = load(&forbidden).await.unwrap_err();
    assert!(
        matches!(
            err,
            WrapError::Unauthorized {
                status: Some(403),
                ..
            }
        ),
        "{err}"
    );

    let other = answering(ExecutionResult::from_error(GraphQLError::new(
        "database down",
    )));
    let err = load(&other).await.unwrap_err();
    assert!(
        matches!(&err, WrapError::ServiceErrors { messages, .. } if messages == &["database down"]),
        "{err}"
    );

    let empty = answering(ExecutionResult::default());
    let err = load(&empty).await.unwrap_err();
    assert!(matches!(err, WrapError::NoResult { .. }), "{err}");

    let not_introspection = answering(ExecutionResult::from_data(json!({ "__schema": 5 })));
    let err = load(&not_introspection).await.unwrap_err();
    assert!(
        matches!(err, WrapError::InvalidIntrospection { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn the_first_result_of_a_stream_is_taken_and_an_empty_stream_is_an_error() {
    let streaming = from_fn(|_r: Request| async {
        let items = vec![
            Ok(ExecutionResult::from_data(
                json!({ "__schema": good()["__schema"] }),
            )),
            Ok(ExecutionResult::default()),
        ];
        Ok(Response::Stream(stream::iter(items).boxed()))
    });
    let schema = load(&streaming).await.unwrap();
    assert!(schema.get_enum("Color").is_some());

    let empty = from_fn(|_r: Request| async { Ok(Response::Stream(stream::empty().boxed())) });
    let err = load(&empty).await.unwrap_err();
    assert!(matches!(err, WrapError::Executor { .. }), "{err}");
}

#[tokio::test]
async fn a_silent_service_times_out_and_a_closed_port_fails_to_connect() {
    let silent =
        from_fn(|_r: Request| futures::future::pending::<Result<Response, ExecutorError>>());
    let err = load(&silent).await.unwrap_err();
    assert!(
        matches!(
            &err,
            WrapError::Executor {
                source: ExecutorError::Timeout { .. },
                ..
            }
        ),
        "{err}"
    );

    // A port nobody listens on (bound, then released).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    drop(listener);
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        load_schema(
            &support::http::http_executor(&url),
            SchemaSource::introspection(),
        ),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(matches!(err, WrapError::Executor { .. }), "{err}");
    assert!(
        err.to_string().contains(&url),
        "the executor's endpoint is named: {err}"
    );
}

#[tokio::test]
async fn sdl_sources_report_missing_or_wrong_sdl() {
    let no_field = answering(ExecutionResult::from_error(GraphQLError::new(
        "Cannot query field \"_sdl\" on type \"Query\".",
    )));
    let err = load_schema(&no_field, SchemaSource::sdl().endpoint("svc"))
        .await
        .unwrap_err();
    assert!(matches!(err, WrapError::ServiceErrors { .. }), "{err}");
    assert!(err.to_string().contains("_sdl"), "{err}");

    let number = answering(ExecutionResult::from_data(
        json!({ "_service": { "sdl": 5 } }),
    ));
    let err = load_schema(&number, SchemaSource::federation().endpoint("svc"))
        .await
        .unwrap_err();
    assert!(matches!(err, WrapError::InvalidSdl { .. }), "{err}");
    assert!(err.to_string().contains("_service.sdl"), "{err}");

    let broken = answering(ExecutionResult::from_data(
        json!({ "_sdl": "type Query {" }),
    ));
    let err = load_schema(&broken, SchemaSource::sdl().endpoint("svc"))
        .await
        .unwrap_err();
    assert!(matches!(err, WrapError::InvalidSdl { .. }), "{err}");
}
