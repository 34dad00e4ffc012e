//! A bounded cache of prepared operations keyed by (document hash, operation name).
//!
//! A hit hands back the validated document and its plan: no parsing, validation or planning.
//! The text is compared on a hit, so a hash collision is a miss, never a wrong plan. Bounded
//! twice: in entries, and in bytes of memory (each entry weighed by [`Prepared::weight`]), so
//! that a client sending ever-new large operations cannot make it hold more than its budget.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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

/// The entries with their weights, their keys from oldest to newest, and the weights' sum.
#[derive(Default)]
struct Entries {
    map: HashMap<Key, (Arc<Prepared>, usize)>,
    order: VecDeque<Key>,
    bytes: usize,
}

/// The cache: first in, first out once full.
pub(crate) struct PlanCache {
    capacity: usize,
    max_bytes: usize,
    entries: Mutex<Entries>,
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
            capacity,
            max_bytes,
            entries: Mutex::new(Entries::default()),
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
            .entries
            .lock()
            .ok()
            .and_then(|entries| entries.map.get(&key).map(|(prepared, _)| prepared.clone()))
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

    /// Stores a prepared operation, evicting the oldest entries while over either bound.
    pub fn insert(&self, hash: u64, prepared: Arc<Prepared>) {
        let weight = prepared.weight();
        if self.capacity == 0 || weight > self.max_bytes / 16 {
            return;
        }
        let key = (hash, prepared.operation_name.clone());
        // Evicted entries are dropped after the lock is released.
        let mut evicted = Vec::new();
        {
            let Ok(mut guard) = self.entries.lock() else {
                return;
            };
            let entries = &mut *guard;
            match entries.map.insert(key.clone(), (prepared, weight)) {
                Some((old, old_weight)) => {
                    entries.bytes -= old_weight;
                    evicted.push(old);
                }
                None => entries.order.push_back(key),
            }
            entries.bytes += weight;
            while entries.map.len() > self.capacity || entries.bytes > self.max_bytes {
                let Some(oldest) = entries.order.pop_front() else {
                    break;
                };
                if let Some((old, old_weight)) = entries.map.remove(&oldest) {
                    entries.bytes -= old_weight;
                    evicted.push(old);
                }
            }
        }
        drop(evicted);
    }

    /// The counters now.
    pub fn stats(&self) -> PlanCacheStats {
        PlanCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            validations: self.validations.load(Ordering::Relaxed),
            plans: self.plans.load(Ordering::Relaxed),
            entries: self.entries.lock().map_or(0, |e| e.map.len() as u64),
            bytes: self.entries.lock().map_or(0, |e| e.bytes as u64),
        }
    }
}
