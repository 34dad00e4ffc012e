//! A small HTTP executor for these tests, until `quilt_executor::HttpExecutor` lands: POST JSON
//! `{query, variables, operationName}`, decode an `ExecutionResult`, map 401/403 and bodies that
//! are not GraphQL to `ExecutorError::HttpStatus`.

use std::time::Duration;

use quilt_executor::{ExecutionResult, Executor, ExecutorError, Request, Response, from_fn};
use serde_json::json;

/// An executor POSTing to `url`.
pub fn http_executor(url: &str) -> impl Executor {
    http_executor_with_headers(url, &[])
}

/// An executor POSTing to `url` with extra headers.
pub fn http_executor_with_headers(url: &str, headers: &[(&str, &str)]) -> impl Executor {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = url.to_owned();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    from_fn(move |request: Request| {
        let client = client.clone();
        let url = url.clone();
        let headers = headers.clone();
        async move {
            let body = json!({
                "query": request.query(),
                "variables": request.variables,
                "operationName": request.operation_name,
            });
            let mut builder = client.post(&url).json(&body);
            for (k, v) in &headers {
                builder = builder.header(k, v);
            }
            let response = builder.send().await.map_err(|e| ExecutorError::Connect {
                endpoint: url.clone(),
                message: e.to_string(),
                source: None,
            })?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await.map_err(|e| ExecutorError::Connect {
                endpoint: url.clone(),
                message: e.to_string(),
                source: None,
            })?;
            let excerpt = || String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
            if status == 401 || status == 403 {
                return Err(ExecutorError::HttpStatus {
                    endpoint: url.clone(),
                    status,
                    body_excerpt: excerpt(),
                });
            }
            match serde_json::from_slice::<ExecutionResult>(&bytes) {
                Ok(result) if result.is_graphql_response() => Ok(Response::Single(result)),
                _ => Err(ExecutorError::HttpStatus {
                    endpoint: url.clone(),
                    status,
                    body_excerpt: excerpt(),
                }),
            }
        }
    })
}
