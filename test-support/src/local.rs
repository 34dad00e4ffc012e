//! An async-graphql schema in the same process, as a Quilt [`Executor`].

use async_graphql::{ObjectType, Schema, SubscriptionType};
use futures::StreamExt;
use quilt_executor::{ExecuteFuture, ExecutionResult, Executor, GraphQLError, Request, Response};

use crate::subgraph::{ConnectionParams, RequestHeaders};

/// Executes requests against an async-graphql schema in this process: queries and mutations give
/// a single result, subscriptions a stream. The request's context headers and connection params
/// reach the schema as [`RequestHeaders`] and [`ConnectionParams`].
pub struct LocalExecutor<Q, M, S> {
    schema: Schema<Q, M, S>,
}

impl<Q, M, S> LocalExecutor<Q, M, S> {
    /// Wraps a schema.
    pub fn new(schema: Schema<Q, M, S>) -> Self {
        Self { schema }
    }
}

impl<Q, M, S> Executor for LocalExecutor<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    fn execute(&self, mut request: Request) -> ExecuteFuture {
        let schema = self.schema.clone();
        // Variables are read by value here.
        let materialized = request.materialize_raw_variables();
        Box::pin(async move {
            if let Err(error) = materialized {
                return Ok(Response::Single(ExecutionResult::from_error(
                    GraphQLError::new(format!("a variable given as JSON text: {error}")),
                )));
            }
            let is_subscription = request.is_subscription();
            let variables = async_graphql::Variables::from_json(serde_json::Value::Object(
                request.variables.clone(),
            ));
            let mut inner = async_graphql::Request::new(request.query()).variables(variables);
            if let Some(name) = &request.operation_name {
                inner = inner.operation_name(name);
            }
            inner = inner.data(RequestHeaders(request.context.headers().clone()));
            if let Some(params) = request.context.connection_params() {
                inner = inner.data(ConnectionParams(serde_json::Value::Object(params.clone())));
            }
            if is_subscription {
                let stream = schema
                    .execute_stream(inner)
                    .map(|response| Ok(convert(response)))
                    .boxed();
                Ok(Response::Stream(stream))
            } else {
                Ok(Response::Single(convert(schema.execute(inner).await)))
            }
        })
    }
}

/// async-graphql's response, as the JSON a service would send, read back as a Quilt result.
///
/// async-graphql writes `"data": null` even for a request that never executed (a parse,
/// validation or variable coercion failure); the spec says `data` is then absent. Such a response
/// is recognised by its errors, none of which has a path, and its `data` is removed.
fn convert(response: async_graphql::Response) -> ExecutionResult {
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    serde_json::to_value(&response)
        .and_then(serde_json::from_value::<ExecutionResult>)
        .map(|mut result| {
            if request_error {
                result.data = None;
            }
            result
        })
        .unwrap_or_else(|e| {
            ExecutionResult::from_error(quilt_executor::GraphQLError::new(format!(
                "could not convert the local response: {e}"
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;
    use crate::subgraph;
    use serde_json::json;

    #[tokio::test]
    async fn runs_queries_and_subscriptions_in_process() {
        let executor = LocalExecutor::new(subgraph::schema(Stats::default()));
        let result = executor
            .execute(
                Request::new("query($n: String!) { hello(name: $n) }")
                    .unwrap()
                    .variable("n", json!("local")),
            )
            .await
            .unwrap()
            .into_single()
            .await
            .unwrap();
        assert_eq!(result.data_value(), Some(json!({"hello": "Hello, local!"})));
        let events: Vec<_> = executor
            .execute(Request::new("subscription { count(to: 3) }").unwrap())
            .await
            .unwrap()
            .into_stream()
            .map(|e| e.unwrap().data_value().unwrap()["count"].clone())
            .collect()
            .await;
        assert_eq!(events, vec![json!(1), json!(2), json!(3)]);
    }
}
