//! # quilt-executor
//!
//! The foundation of Quilt: the [`Executor`] trait (a GraphQL [`Request`] in, a [`Response`] out:
//! one [`ExecutionResult`] or a stream of them) and the executors that reach remote services.
//!
//! Everything in Quilt is an executor: a remote service, a batching wrapper around it, a wrapped
//! (transformed) schema, a stitched gateway. `Arc<dyn Executor>` ([`SharedExecutor`]) is the
//! common currency, and every combinator works on every executor.
//!
//! ```
//! use quilt_executor::{from_fn, Executor, ExecutionResult, Request, Response};
//! use serde_json::json;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let hello = from_fn(|_request: Request| async {
//!     Ok(Response::Single(ExecutionResult::from_data(json!({ "hello": "world" }))))
//! });
//! let response = hello.execute(Request::new("{ hello }").unwrap()).await.unwrap();
//! let result = response.into_single().await.unwrap();
//! assert_eq!(result.data_value(), Some(json!({ "hello": "world" })));
//! # });
//! ```

pub mod cache;
pub mod callback;
mod combinators;
pub mod data;
mod document;
mod error;
mod executor;
mod header_rules;
pub mod http;
mod request;
mod result;
mod retry;
pub mod trace;
pub mod ws;

pub use callback::{CallbackExecutor, CallbackRegistry};
pub use combinators::{
    DedupInflight, DedupKey, DedupOptions, DedupStats, DedupTable, DedupWaiter, ExecutorExt,
    ExecutorService, MapRequest, MapResult, Route, ServiceExecutor, Timeout, WithHeaders, route,
};
pub use data::Data;
pub use document::{Document, OperationType, ParseError};
pub use error::{BoxError, CloseCode, ErrorKind, ExecutorError};
pub use executor::{
    ExecuteFuture, Executor, FnExecutor, Response, ResultStream, SharedExecutor, from_fn,
};
pub use header_rules::{HeaderRule, HeaderRules, Insert, Pattern, Propagate, Remove};
pub use http::{HttpExecutor, HttpExecutorBuilder};
pub use request::{
    Context, Deadline, FileUpload, LostUpload, RawJson, RawVariables, Request, RequestId,
    SingleResponse, Upload, UploadMarks, VariablesJson,
};
pub use result::{
    DataForm, ExecutionResult, GraphQLError, IncrementalPayload, JsonMap, Location, PathSegment,
    ResultData,
};
pub use retry::{Retry, RetryPolicy};
pub use trace::TraceContext;
pub use ws::{ReconnectPolicy, Subprotocol, WsExecutor, WsExecutorBuilder};
