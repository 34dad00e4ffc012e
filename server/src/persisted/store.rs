//! Where automatic persisted queries are kept: the [`PersistedQueryStore`] trait and the
//! in-memory store.

use std::sync::Arc;

use futures::future::BoxFuture;

/// A store of query texts by their SHA-256 hash (lower-case hex). Implementations need not
/// check that a text matches its hash: the server verifies what it stores and what it reads.
pub trait PersistedQueryStore: Send + Sync + 'static {
    /// The text stored under `hash`, if any.
    fn get(&self, hash: &str) -> BoxFuture<'static, Result<Option<Arc<str>>, StoreError>>;
    /// Stores `query` under `hash`.
    fn put(&self, hash: &str, query: Arc<str>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// A store that could not answer. The server logs it and carries on: a failed lookup answers
/// `PERSISTED_QUERY_NOT_FOUND` (the client sends its query again), a failed store runs the
/// query anyway.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store is unreachable, or did not answer in time.
    #[error("the persisted query store is unavailable: {0}")]
    Unavailable(String),
}

/// The in-memory store: least recently used texts are evicted once the texts and hashes kept
/// pass a budget in bytes ([moka](https://docs.rs/moka)'s cache, weighed by size).
#[derive(Clone)]
pub struct MemoryStore {
    cache: moka::sync::Cache<Arc<str>, Arc<str>>,
}

/// The default budget of a [`MemoryStore`]: 16 MiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 16 * 1024 * 1024;

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(DEFAULT_MEMORY_BYTES)
    }
}

impl MemoryStore {
    /// A store keeping at most `max_bytes` of hashes and texts.
    pub fn new(max_bytes: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            // Plain LRU: a query just registered must be found by the next request (the
            // default TinyLFU policy may refuse to admit a new entry).
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .weigher(|hash: &Arc<str>, query: &Arc<str>| {
                u32::try_from(hash.len() + query.len()).unwrap_or(u32::MAX)
            })
            .build();
        Self { cache }
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl PersistedQueryStore for MemoryStore {
    fn get(&self, hash: &str) -> BoxFuture<'static, Result<Option<Arc<str>>, StoreError>> {
        let found = self.cache.get(hash);
        Box::pin(async move { Ok(found) })
    }

    fn put(&self, hash: &str, query: Arc<str>) -> BoxFuture<'static, Result<(), StoreError>> {
        self.cache.insert(Arc::from(hash), query);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_is_bounded_in_bytes() {
        let store = MemoryStore::new(64 * 1024);
        for i in 0..1_000 {
            let text: Arc<str> = Arc::from(format!("{{ a{i} }} # {}", "x".repeat(1000)));
            store.put(&format!("{i:064}"), text).await.unwrap();
        }
        store.cache.run_pending_tasks();
        assert!(store.cache.weighted_size() <= 64 * 1024);
        assert!(store.get(&format!("{:064}", 999)).await.unwrap().is_some());
    }
}
