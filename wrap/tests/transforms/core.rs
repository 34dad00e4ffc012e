//! The Transform trait and WrappedSchema: order of application, the document cache, custom
//! transforms, streams and incremental payloads, and schema errors.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use quilt_executor::{Document, ExecutionResult, Executor, JsonMap, Request, Response, from_fn};
use quilt_test_support::LocalExecutor;
use quilt_wrap::transforms::{
    HoistField, MapLeafValues, RenameObjectFields, RenameRootFields, RenameRootTypes, RenameTypes,
    TransformEnumValues, WrapFields,
};
use quilt_wrap::{Transform, TransformContext, TransformError, WrapSchemaConfig, wrap_schema};
use serde_json::{Value, json};

use crate::support::subgraph_schema;

type Log = Arc<Mutex<Vec<String>>>;

/// Records when each of its methods runs.
struct Recorder {
    name: &'static str,
    log: Log,
}

impl Transform for Recorder {
    fn name(&self) -> &str {
        self.name
    }
    fn transform_schema(
        &mut self,
        schema: apollo_compiler::Schema,
    ) -> Result<apollo_compiler::Schema, TransformError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("schema {}", self.name));
        Ok(schema)
    }
    fn transform_document(
        &self,
        document: &Document,
        _: Option<&str>,
    ) -> Result<Document, TransformError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("document {}", self.name));
        Ok(document.clone())
    }
    fn transform_variables(
        &self,
        variables: JsonMap,
        _: &TransformContext,
    ) -> Result<JsonMap, TransformError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("variables {}", self.name));
        Ok(variables)
    }
    fn transform_request(
        &self,
        request: Request,
        context: &mut TransformContext,
    ) -> Result<Request, TransformError> {
        context.set_state(format!("state of {}", self.name));
        Ok(request)
    }
    fn transform_result(
        &self,
        result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        let state = context.state::<String>().cloned().unwrap_or_default();
        self.log
            .lock()
            .unwrap()
            .push(format!("result {} ({state})", self.name));
        result
    }
}

#[tokio::test]
async fn transforms_apply_in_graphql_tools_order_and_documents_are_cached() {
    let log = Log::default();
    let executor = from_fn(|_r: Request| async {
        Ok(Response::Single(ExecutionResult::from_data(
            json!({"hello": "x"}),
        )))
    });
    let wrapped = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor)
            .transform(Recorder {
                name: "a",
                log: log.clone(),
            })
            .transform(Recorder {
                name: "b",
                log: log.clone(),
            }),
    )
    .unwrap();
    for _ in 0..2 {
        let request = Request::new("{ hello }").unwrap();
        wrapped
            .execute(request)
            .await
            .unwrap()
            .into_single()
            .await
            .unwrap();
    }
    assert_eq!(
        *log.lock().unwrap(),
        [
            "schema a",
            "schema b",
            "document b",
            "document a",
            "variables b",
            "variables a",
            "result a (state of a)",
            "result b (state of b)",
            // second request: the documents come from the cache
            "variables b",
            "variables a",
            "result a (state of a)",
            "result b (state of b)",
        ]
    );
}

#[tokio::test]
async fn subscription_streams_are_mapped_item_by_item() {
    let executor = LocalExecutor::new(quilt_test_support::subgraph::schema(
        quilt_test_support::Stats::default(),
    ));
    let wrapped = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor)
            .transform(RenameRootTypes::new(|name| {
                (name == "Subscription").then(|| "Events".to_owned())
            }))
            .transform(RenameRootFields::new(|_, field, _| {
                (field == "count").then(|| "counter".to_owned())
            }))
            .transform(MapLeafValues::new(
                |_, v| v,
                |ty, v| match (ty, v) {
                    ("Int", Value::Number(n)) => json!(n.as_i64().unwrap_or_default() * 10),
                    (_, v) => v,
                },
            )),
    )
    .unwrap();
    assert!(wrapped.schema().types.contains_key("Events"));
    let request = Request::new("subscription S($to: Int!) { c: counter(to: $to) }")
        .unwrap()
        .variable("to", json!(3));
    let response = wrapped.execute(request).await.unwrap();
    assert!(response.is_stream());
    let items: Vec<Value> = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        response
            .into_stream()
            .map(|item| item.unwrap().data_value().unwrap())
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    assert_eq!(
        items,
        [json!({"c": 10}), json!({"c": 20}), json!({"c": 30})]
    );
}

#[tokio::test]
async fn incremental_payloads_are_mapped_at_their_path() {
    let executor = from_fn(|_r: Request| async {
        let first: ExecutionResult = serde_json::from_value(json!({
            "data": {"user": {"__typename": "User", "id": "1"}}, "hasNext": true
        }))
        .unwrap();
        let second: ExecutionResult = serde_json::from_value(json!({
            "incremental": [{"data": {"role": "ADMIN", "t": "User", "fullName": "Ada"}, "path": ["user"]}],
            "hasNext": false
        }))
        .unwrap();
        Ok(Response::Stream(
            futures::stream::iter([Ok(first), Ok(second)]).boxed(),
        ))
    });
    let wrapped = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor)
            .transform(RenameTypes::new(|name| Some(format!("Gh{name}"))))
            .transform(TransformEnumValues::new(|_, v, _| Some(v.to_lowercase())))
            .transform(RenameObjectFields::new(|ty, f, _| {
                (ty == "GhUser" && f == "name").then(|| "fullName".into())
            })),
    )
    .unwrap();
    let request = Request::new(
        "{ user(id: \"1\") { __typename id ... @defer { role t: __typename fullName } } }",
    )
    .unwrap();
    let response = wrapped.execute(request).await.unwrap();
    let items: Vec<Value> = response
        .into_stream()
        .map(|item| serde_json::to_value(item.unwrap()).unwrap())
        .collect()
        .await;
    assert_eq!(
        items[0]["data"],
        json!({"user": {"__typename": "GhUser", "id": "1"}})
    );
    assert_eq!(
        items[1]["incremental"][0]["data"],
        json!({"role": "admin", "t": "GhUser", "fullName": "Ada"})
    );
}

#[test]
fn schema_errors_name_the_transform_and_the_problem() {
    let executor =
        || from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    let error = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor()).transform(RenameTypes::new(|name| {
            (name == "User" || name == "Post").then(|| "Thing".to_owned())
        })),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("two types would be called `Thing`"),
        "{error}"
    );
    let error = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor()).transform(WrapFields::new(
            "Nope",
            ["x"],
            ["X"],
        )),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("`Nope` is not an object type"),
        "{error}"
    );
    let error = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor()).transform(HoistField::new(
            "Query",
            ["user", "nope"],
            "x",
        )),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("`User` has no field `nope`"),
        "{error}"
    );
    let error = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor())
            .transform(RenameTypes::new(|_| Some("not a name".into()))),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("not a valid GraphQL name"),
        "{error}"
    );
    // A rename that breaks an interface contract is caught by validation, naming the transform.
    let error = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor()).transform(RenameObjectFields::new(
            |ty, f, _| (ty == "User" && f == "id").then(|| "uid".into()),
        )),
    )
    .unwrap_err();
    assert!(
        matches!(error, TransformError::InvalidSchema { index: 0, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("RenameObjectFields"), "{error}");
}

/// Refuses requests without a `token` variable.
struct RequireToken;

impl Transform for RequireToken {
    fn name(&self) -> &str {
        "RequireToken"
    }
    fn transform_variables(
        &self,
        mut variables: JsonMap,
        _: &TransformContext,
    ) -> Result<JsonMap, TransformError> {
        match variables.remove("token") {
            Some(_) => Ok(variables),
            None => Err(TransformError::request(
                self.name(),
                "the variable `token` is missing",
            )),
        }
    }
}

#[tokio::test]
async fn a_request_a_transform_refuses_becomes_a_graphql_error_and_is_not_sent() {
    let sent = Arc::new(Mutex::new(0));
    let counter = sent.clone();
    let executor = from_fn(move |_r: Request| {
        *counter.lock().unwrap() += 1;
        async {
            Ok(Response::Single(ExecutionResult::from_data(
                json!({"hello": "x"}),
            )))
        }
    });
    let wrapped =
        wrap_schema(WrapSchemaConfig::new(subgraph_schema(), executor).transform(RequireToken))
            .unwrap();
    let result = wrapped
        .execute(Request::new("{ hello }").unwrap())
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert_eq!(result.data, None);
    assert_eq!(result.errors[0].code(), Some("TRANSFORM_FAILED"));
    assert!(
        result.errors[0]
            .message
            .contains("RequireToken could not map the request: the variable `token` is missing")
    );
    assert_eq!(*sent.lock().unwrap(), 0);
    let ok = wrapped
        .execute(
            Request::new("{ hello }")
                .unwrap()
                .variable("token", json!("t")),
        )
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert_eq!(ok.data_value(), Some(json!({"hello": "x"})));
    assert_eq!(*sent.lock().unwrap(), 1);
}

/// Transforms map variables by value: those given as JSON text are parsed first, so the inner
/// executor gets them mapped, as values.
#[tokio::test]
async fn variables_given_as_json_text_are_mapped_like_the_others() {
    let seen: Arc<Mutex<Vec<(JsonMap, usize)>>> = Arc::default();
    let recorded = seen.clone();
    let executor = from_fn(move |request: Request| {
        recorded
            .lock()
            .unwrap()
            .push((request.variables.clone(), request.raw_variables.len()));
        async {
            Ok(Response::Single(ExecutionResult::from_data(
                json!({"hello": "hi"}),
            )))
        }
    });
    let wrapped = wrap_schema(
        WrapSchemaConfig::new(subgraph_schema(), executor).transform(MapLeafValues::new(
            |ty, v| match (ty, v) {
                ("String", Value::String(s)) => json!(s.to_uppercase()),
                (_, v) => v,
            },
            |_, v| v,
        )),
    )
    .unwrap();
    let name = serde_json::value::RawValue::from_string(r#""ada""#.to_owned()).unwrap();
    let request = Request::new("query($name: String) { hello(name: $name) }")
        .unwrap()
        .raw_variable("name", name);
    let response = wrapped.execute(request).await.unwrap();
    let result = response.into_single().await.unwrap();
    assert_eq!(result.data_value(), Some(json!({"hello": "hi"})));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(JsonMap::from_iter([("name".to_owned(), json!("ADA"))]), 0)]
    );
}
