//! The `extensions.code` values of the errors the batcher itself adds to results.

/// The service's answer lacks a top-level field that the merged operation certainly selected
/// for this request; the field is `null` in the request's data and this error has its path.
pub const MISSING_FIELD: &str = "BATCH_MISSING_FIELD";

/// The service's answer carries top-level fields that belong to no request of the batch; they
/// were dropped and every request of the batch gets this error (without a path).
pub const UNEXPECTED_FIELD: &str = "BATCH_UNEXPECTED_FIELD";

/// The service reported an error at a path that belongs to no request of the batch; every
/// request gets it without a path, with the original under `extensions.upstreamPath` and
/// `extensions.upstreamExtensions`.
pub const UNATTRIBUTED_ERROR: &str = "BATCH_UNATTRIBUTED_ERROR";

/// The service's `data` is neither an object nor `null`.
pub const INVALID_DATA: &str = "BATCH_INVALID_DATA";

/// A merged mutation's `data` came back `null` because of a non-null field error of another
/// request of the batch; this request's mutation fields may or may not have run.
pub const MUTATION_NULLED: &str = "BATCH_MUTATION_NULLED";
