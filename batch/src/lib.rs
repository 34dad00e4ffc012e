//! # quilt-batch
//!
//! The batching executor of Quilt: the many small operations a stitched gateway sends to one
//! service within one scheduler tick become one upstream request, and every caller gets back
//! exactly what it would have got alone: data, errors with their paths, extensions.
//!
//! ```
//! use quilt_batch::{BatchExt, BatchOptions};
//! use quilt_executor::{from_fn, ExecutionResult, Request, Response, SharedExecutor};
//! use serde_json::json;
//! use std::sync::Arc;
//!
//! let service = from_fn(|_request: Request| async {
//!     Ok(Response::Single(ExecutionResult::from_data(json!({}))))
//! });
//! let batched: SharedExecutor = Arc::new(service.batched(BatchOptions::default().max_batch_size(100)));
//! ```
//!
//! The pieces, in the order a batch flows through them:
//! - [`key`]: which requests may share an upstream request (the batch scope);
//! - [`executor`]: the batcher ([`BatchingExecutor`]): queues per scope and operation type,
//!   the window, deduplication, the exactness rules for `data: null`;
//! - [`merge`]: renaming each request with its `_v{i}_` prefix and building the one operation;
//! - [`split`]: taking the merged result apart;
//! - [`codes`]: the error codes the batcher adds when a service answers something the merged
//!   operation cannot have produced.
//!
//! Why not the `dataloader` crate: see [`BatchingExecutor`] (it needs `Hash` keys, loses order,
//! has no error type and serializes batches behind a mutex); the tick batcher here is small.

pub mod codes;
pub mod executor;
pub mod key;
pub mod merge;
pub mod options;
pub mod split;

pub use executor::BatchingExecutor;
pub use key::{ScopeKey, default_scope_key, scope_key_of_headers};
pub use options::{
    BatchOptions, BatchWindow, DEFAULT_SOLO_TEXT_BYTES, ExtensionsReducer, ScopeFn, later_keys_win,
};

use quilt_executor::Executor;

/// Adds [`batched`](BatchExt::batched) to every [`Executor`].
pub trait BatchExt: Executor + Sized {
    /// Wraps this executor in a [`BatchingExecutor`].
    fn batched(self, options: BatchOptions) -> BatchingExecutor<Self> {
        BatchingExecutor::new(self, options)
    }
}

impl<E: Executor> BatchExt for E {}
