//! # quilt-stitch
//!
//! Many GraphQL services as one schema. [`Stitcher`] merges subschemas (each a schema and the
//! [`Executor`](quilt_executor::Executor) that reaches it) into a [`StitchedSchema`], which is
//! itself an executor: it validates a client's operation against the stitched schema, plans it
//! once (the plan is cached), sends each subschema the document it owns, and shapes the merged
//! result exactly as the client asked.
//!
//! The code reads in the order a request flows: [`config`](Stitcher) and `compose` build the
//! schema, `index`, `entities` and `resolve` record who resolves what and how (one module of
//! `resolve` per way of fetching a merged type's fields), `request` and `validate` check the
//! client's document, `plan` and `plan_cache` decide and remember what to send, `execute`
//! sends it through one narrow context shared by queries and subscription events,
//! `introspection` answers `__schema`/`__type`, and `shape` builds the response.
//!
//! ```
//! use quilt_executor::{from_fn, Executor, ExecutionResult, Request, Response};
//! use quilt_stitch::{Stitcher, SubschemaConfig};
//! use serde_json::json;
//!
//! let hello = from_fn(|_r: Request| async {
//!     Ok(Response::Single(ExecutionResult::from_data(json!({ "hello": "world" }))))
//! });
//! let stitched = Stitcher::new()
//!     .subschema(SubschemaConfig::from_sdl("hello", "type Query { hello: String }", hello)?)
//!     .build()?;
//! # tokio_test_block_on(async {
//! let response = stitched.execute(Request::new("{ hello __typename }").unwrap()).await.unwrap();
//! let result = response.into_single().await.unwrap();
//! assert_eq!(result.data_value(), Some(json!({ "hello": "world", "__typename": "Query" })));
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Runtime::new().unwrap().block_on(f)
//! # }
//! # Ok::<(), quilt_stitch::StitchError>(())
//! ```

mod compose;
mod config;
mod entities;
mod entry_point;
mod error;
mod execute;
mod extension;
mod index;
mod introspection;
mod json_bytes;
pub mod metrics;
mod plan;
mod plan_cache;
mod request;
mod resolve;
mod shape;
mod stitched;
mod subscription;
mod subscription_options;
mod type_merging;
mod uploads;
mod upstream_errors;
mod validate;

pub use config::{
    OnTypeConflict, StitchLimits, Stitcher, SubschemaConfig, TypeChoice, TypeConflict,
};
pub use entry_point::{
    ArgsFn, ArgsFromKeysFn, EntryCall, EntryPoint, KeyFn, ResolveFn, ValuesFromResultsFn,
};
pub use error::StitchError;
pub use extension::{
    DelegateArgsFn, FieldResolver, KeysArgsFn, LocalFn, OnLocatedErrorFn, ParentKeyFn,
};
pub use plan_cache::PlanCacheStats;
pub use stitched::{EXPOSE_QUERY_PLAN_HEADER, StitchedSchema};
pub use subscription::{
    CloseReason, SUBSCRIPTION_LIMIT, SUBSCRIPTION_SCHEMA_RELOAD, SubscriptionOptions,
    SubscriptionStats,
};
pub use type_merging::{
    BuildWarning, FieldConfigMergerFn, MergeTypes, MergeTypesFn, TypeCandidateMergerFn,
    TypeMergingOptions, ValidationLevel, ValidationSettings,
};
pub use upstream_errors::{REDACTED_MESSAGE, SubschemaErrors};
