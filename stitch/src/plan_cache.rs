//! A bounded cache of prepared operations keyed by (document hash, operation name).
//!
//! A hit hands back the validated document and its plan: no parsing, validation or planning.
//! The text is compared on a hit, so a hash collision is a miss, never a wrong plan. Bounded
//! twice: in entries, and in bytes of memory (each entry weighed by [`Prepared::weight`]), so
//! that a client sending ever-new large operations cannot make it hold more than its budget;
//! once full, it admits only operations asked for before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quilt_executor::cache::AdmittingCache;

use crate::plan::Prepared;

/// Counters of the plan cache and of the work it saves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanCacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Requests that were not in the cache.
    pub misses: u64,
    /// Documents validated against the stitched schema.
    pub validations: u64,
    /// Operations planned.
    pub plans: u64,
    /// Entries held now.
    pub entries: u64,
    /// The estimated memory the entries hold now, in bytes.
    pub bytes: u64,
}

type Key = (u64, Option<String>);

/// The cache ([`AdmittingCache`], each entry weighed by [`Prepared::weight`]): once full, an
/// operation seen once does not evict those clients repeat, so a stream of ever-new operations
/// (a client's mistake or an attack) can neither flush the plans everyone uses nor churn the
/// memory.
pub(crate) struct PlanCache {
    cache: AdmittingCache<Key, Arc<Prepared>>,
    hits: AtomicU64,
    misses: AtomicU64,
    pub(crate) validations: AtomicU64,
    pub(crate) plans: AtomicU64,
}

impl PlanCache {
    /// A cache keeping at most `capacity` entries and `max_bytes` of their estimated memory
    /// (either 0 disables caching); an entry weighing more than a sixteenth of `max_bytes` is
    /// not kept, so that a few large operations cannot keep evicting the many small ones.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            cache: AdmittingCache::new(capacity, max_bytes),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            validations: AtomicU64::new(0),
            plans: AtomicU64::new(0),
        }
    }

    /// The prepared operation for this document text and operation name, if cached.
    pub fn get(
        &self,
        hash: u64,
        text: &str,
        operation_name: Option<&str>,
    ) -> Option<Arc<Prepared>> {
        let key = (hash, operation_name.map(str::to_owned));
        let found = self
            .cache
            .get(&key)
            .filter(|prepared| &*prepared.text == text);
        match found {
            Some(_) => {
                metrics::counter!(crate::metrics::CACHE_REQUESTS, "cache" => "plan", "result" => "hit")
                    .increment(1);
                self.hits.fetch_add(1, Ordering::Relaxed)
            }
            None => {
                metrics::counter!(crate::metrics::CACHE_REQUESTS, "cache" => "plan", "result" => "miss")
                    .increment(1);
                self.misses.fetch_add(1, Ordering::Relaxed)
            }
        };
        found
    }

    /// Offers a prepared operation to the cache, which keeps it unless it is too heavy, or
    /// the cache is full and the operation was not offered before.
    pub fn insert(&self, hash: u64, prepared: Arc<Prepared>) {
        let weight = prepared.weight();
        let key = (hash, prepared.operation_name.clone());
        self.cache.insert(key, prepared, weight);
    }

    /// The counters now.
    pub fn stats(&self) -> PlanCacheStats {
        PlanCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            validations: self.validations.load(Ordering::Relaxed),
            plans: self.plans.load(Ordering::Relaxed),
            entries: self.cache.len() as u64,
            bytes: self.cache.bytes() as u64,
        }
    }
}
