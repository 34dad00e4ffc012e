//! Persisted operations: Apollo's Automatic Persisted Queries (APQ) and an allow-list of
//! operations from a manifest file.
//!
//! - **APQ.** A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` with no
//!   `query`; the server answers from its [`PersistedQueryStore`], or with
//!   `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`, HTTP 200), and the client
//!   sends the query once more with the hash, which the server verifies (`sha256` of the text)
//!   and stores. The store is in memory by default ([`MemoryStore`], bounded in bytes); a
//!   fleet of servers shares one in Redis ([`RedisStore`]).
//! - **Manifest.** A [`Manifest`] (Apollo's persisted query manifest or a Relay-style
//!   `{id: body}` map) makes its operations servable by id (`extensions.persistedQuery.sha256Hash`,
//!   as Apollo clients send it, or `documentId` from the GraphQL-over-HTTP persisted documents
//!   draft, with or without a `sha256:` prefix). With [`PersistedQueries::only_persisted`]
//!   the server runs nothing else: a free-text query is run only when its text is exactly the
//!   body of an operation in the manifest, and refused with `PERSISTED_QUERY_NOT_IN_LIST`
//!   otherwise.
//!
//! Whatever the text's source, it then passes every check a free-text query does (tokens,
//! limits, introspection).

mod manifest;
mod redis_store;
mod store;

use std::sync::Arc;

pub use manifest::{Manifest, ManifestError};
pub use redis_store::{RedisStore, RedisStoreOptions};
pub use store::{MemoryStore, PersistedQueryStore, StoreError};

/// Persisted operation settings ([`GraphQLServerBuilder::persisted_queries`](crate::GraphQLServerBuilder::persisted_queries)).
///
/// ```no_run
/// use std::sync::Arc;
/// use quilt_server::{Manifest, PersistedQueries, RedisStore, RedisStoreOptions};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // APQ shared by a fleet through Redis:
/// let shared = PersistedQueries {
///     store: Arc::new(RedisStore::connect(RedisStoreOptions::new("redis://127.0.0.1:6379")).await?),
///     ..PersistedQueries::default()
/// };
/// // Only the operations of a manifest:
/// let allow_list = PersistedQueries {
///     apq: false,
///     manifest: Some(Manifest::from_file("persisted-query-manifest.json")?),
///     only_persisted: true,
///     ..PersistedQueries::default()
/// };
/// # drop((shared, allow_list));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PersistedQueries {
    /// Automatic persisted queries: hash-only requests are answered from [`Self::store`], and
    /// a query sent with its hash is verified and stored. Default true.
    pub apq: bool,
    /// Where APQ keeps queries. Default a [`MemoryStore`] of 16 MiB.
    pub store: Arc<dyn PersistedQueryStore>,
    /// Operations served by their id. Default none.
    pub manifest: Option<Manifest>,
    /// Serve only the manifest's operations (by id, or by their exact text): every other
    /// query is refused, and APQ stores nothing new. Default false.
    pub only_persisted: bool,
}

impl Default for PersistedQueries {
    fn default() -> Self {
        Self {
            apq: true,
            store: Arc::new(MemoryStore::default()),
            manifest: None,
            only_persisted: false,
        }
    }
}

impl PersistedQueries {
    /// No persisted operations: requests must carry their query.
    pub fn disabled() -> Self {
        Self {
            apq: false,
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for PersistedQueries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistedQueries")
            .field("apq", &self.apq)
            .field("manifest", &self.manifest.as_ref().map(Manifest::len))
            .field("only_persisted", &self.only_persisted)
            .finish_non_exhaustive()
    }
}

/// The lower-case hex SHA-256 of `text`, as APQ hashes are written.
pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
