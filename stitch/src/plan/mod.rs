//! The plan of an operation: which documents go to which subschemas, and in what order.
//!
//! A plan is computed once per (document, operation name) and cached; executing it sends the
//! prepared documents and shapes the JSON that comes back.

mod build;
mod defer;
mod entity;
mod explain;
mod project;
mod reach;
mod vars;

pub(crate) use reach::ReachCache;

use apollo_compiler::Name;
use apollo_compiler::ast::OperationType;
use apollo_compiler::executable::{ExecutableDocument, Operation};
use quilt_executor::{Document, Location};

use std::sync::Arc;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;

use crate::entities::EntityIndex;
use crate::index::StitchIndex;

pub(crate) use build::plan_operation;
pub(crate) use defer::{DeferGroup, active, deferral, label};
pub(crate) use entity::{EntityStep, MAX_DISTINCT_HINT, MAX_WRITTEN_HINT, Place};
pub(crate) use explain::Explain;
pub(crate) use project::location;
pub(crate) use reach::check as check_keys;

/// A validated operation and its plan, shared by every request for the same document.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The document text this was prepared from.
    pub text: Arc<str>,
    /// The validated document.
    pub document: Valid<ExecutableDocument>,
    /// The selected operation's name (`None` for the only, anonymous one).
    pub operation_name: Option<String>,
    /// The plan.
    pub plan: Plan,
    /// The size of the last response's data in bytes: the next one's first buffer capacity.
    pub data_size: std::sync::atomic::AtomicUsize,
    /// The groupings of its objects' fields, kept for its next responses where they depend on
    /// the operation alone.
    pub groupings: crate::shape::Groupings,
}

/// In debug builds (the test suite), that a document the planner printed parses: it is sent
/// as text, never parsed back in release builds.
pub(crate) fn debug_check_printed(text: &str) {
    debug_assert!(
        apollo_compiler::ast::Document::parse(text, "planned.graphql").is_ok(),
        "the planner printed a document that does not parse: {text}"
    );
}

/// Bytes of memory a validated operation takes per byte of its text, and besides (apollo-
/// compiler's executable document: every field and argument a node of its own; its sources).
/// Measured on the gateway benchmark's operations, checked against the allocator by
/// `stitch/tests/plan_cache_memory.rs`.
const VALIDATED_BYTES_PER_TEXT_BYTE: usize = 20;
const VALIDATED_BASE_BYTES: usize = 2048;

impl Prepared {
    /// An estimate of the memory this prepared operation holds, in bytes: its validated
    /// document and the field groupings its responses may keep (both by its text's length:
    /// the groupings' budget is counted whole), and its plan's steps with the documents they send
    /// (text only: a step's document is never parsed back), counting one document per entity
    /// step (the shape almost every execution uses). The plan cache is bounded by it.
    pub fn weight(&self) -> usize {
        let text = self.text.len();
        let mut bytes = std::mem::size_of::<Self>()
            + text
            + VALIDATED_BASE_BYTES
            + text * VALIDATED_BYTES_PER_TEXT_BYTE
            + text * crate::shape::GROUPING_BYTES_PER_TEXT_BYTE
            + self.operation_name.as_ref().map_or(0, String::len);
        for step in &self.plan.steps {
            bytes += std::mem::size_of::<FetchStep>() + step.document.as_str().len() + 96;
            bytes += step.fields.len() * (std::mem::size_of::<StepField>() + 16);
            bytes += step.variables.len() * 16;
        }
        for step in self.plan.entity_steps.iter().flatten() {
            bytes += step.weight();
        }
        bytes += self.plan.defers.len() * (std::mem::size_of::<DeferGroup>() + 128);
        bytes
    }
}

/// An operation's plan.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Query, mutation or subscription.
    pub operation_type: OperationType,
    /// Whether the operation selects `__schema` or `__type` at its root (answered locally).
    pub introspection: bool,
    /// The root steps. Queries run them concurrently; mutations one after another, in
    /// document order.
    pub steps: Vec<FetchStep>,
    /// The steps that fetch merged types' fields, by level (level 1 runs after the root
    /// steps, level 2 after level 1, ...). Each names the root step it descends from, so a
    /// mutation's merged fields are fetched before the next mutation field runs.
    pub entity_steps: Vec<Vec<EntityStep>>,
    /// The deferred fragments: group `i + 1` is `defers[i]` (group 0 is the initial
    /// payload). Every step names its group.
    pub defers: Vec<DeferGroup>,
    /// The fields' `@stream`s: `None` always streams, `Some(variable)` when it is true.
    pub streams: Vec<Option<Name>>,
    /// Whether the operation uses `@defer` or `@stream` (not turned off by a literal
    /// `if: false`): its answer may be delivered incrementally.
    pub incremental: bool,
}

impl Plan {
    /// Whether a request with `variables` is delivered incrementally: a deferred fragment or
    /// a streamed list is on.
    pub fn delivers_incrementally(&self, variables: &quilt_executor::JsonMap) -> bool {
        if !self.incremental {
            return false;
        }
        let on = |variable: &Option<Name>| {
            variable.as_ref().is_none_or(|v| {
                matches!(
                    variables.get(v.as_str()),
                    Some(serde_json::Value::Bool(true))
                )
            })
        };
        self.defers.iter().any(|g| on(&g.if_variable)) || self.streams.iter().any(on)
    }
}

/// One request to one subschema.
#[derive(Debug)]
pub(crate) struct FetchStep {
    /// The subschema (index in the stitched schema's list).
    pub subschema: usize,
    /// The document to send, printed at most once for every execution of the plan.
    pub document: Document,
    /// The operation name to send (the client's).
    pub operation_name: Option<String>,
    /// The client's variables this document uses; only these are forwarded.
    pub variables: Vec<Name>,
    /// The root fields this step resolves: response key and client location, to place a
    /// transport failure on each of them.
    pub fields: Vec<StepField>,
    /// The deferred group it belongs to (0: the initial payload).
    pub group: usize,
    /// Whether its document sends `@defer` to the subschema (which then answers a stream).
    pub sends_defer: bool,
}

/// A root field resolved by a step.
#[derive(Debug, Clone)]
pub(crate) struct StepField {
    /// The response key (alias or name).
    pub key: String,
    /// Where the field is in the client's document.
    pub location: Option<Location>,
}

/// Why an operation could not be planned (after it validated: a stitching gap, not a
/// client error).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum PlanError {
    /// A root field has no owner.
    #[error("no subschema resolves the root field `{0}`")]
    NoOwner(String),
    /// A field under a root field cannot be resolved by the subschema of that root field.
    #[error(
        "subschema `{subschema}` cannot resolve `{type_name}.{field}`, which the operation \
         selects under one of its root fields"
    )]
    Unresolvable {
        /// The subschema.
        subschema: String,
        /// The parent type.
        type_name: String,
        /// The field.
        field: String,
    },
    /// A merged field's entry point needs key fields that nothing can fetch.
    #[error(
        "no subschema can provide `{type_name}.{field}`, which subschema `{subschema}` needs \
         to resolve merged fields of `{type_name}`"
    )]
    MissingKey {
        /// The subschema whose entry point needs the key.
        subschema: String,
        /// The merged type.
        type_name: String,
        /// The key field.
        field: String,
    },
    /// A step's printed document did not parse again (a bug in the planner).
    #[error("the planner printed a document it cannot parse: {0}")]
    Print(String),
}

/// What the planner reads.
pub(crate) struct PlanInput<'a> {
    pub document: &'a ExecutableDocument,
    pub operation: &'a Operation,
    pub index: &'a StitchIndex,
    pub entities: &'a EntityIndex,
    pub extensions: &'a crate::entities::ExtensionIndex,
    pub schema: &'a Schema,
    pub subschemas: &'a [Arc<Valid<Schema>>],
    /// Which subschemas answer `@defer` themselves.
    pub incremental: &'a [bool],
    pub subschema_names: &'a [String],
    /// The key chains searched by earlier operations.
    pub reaches: &'a reach::ReachCache,
}
