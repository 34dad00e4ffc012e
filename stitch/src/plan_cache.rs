//! A bounded cache of prepared operations keyed by (document hash, operation name).
//!
//! A hit hands back the validated document and its plan: no parsing, validation or planning.
//! The text is compared on a hit, so a hash collision is a miss, never a wrong plan.

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
}

type Key = (u64, Option<String>);

/// The entries, and their keys from oldest to newest.
type Entries = (HashMap<Key, Arc<Prepared>>, VecDeque<Key>);

/// The cache: first in, first out once full.
pub(crate) struct PlanCache {
    capacity: usize,
    entries: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
    pub(crate) validations: AtomicU64,
    pub(crate) plans: AtomicU64,
}

impl PlanCache {
    /// A cache keeping at most `capacity` entries (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new((HashMap::new(), VecDeque::new())),
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
            .and_then(|entries| entries.0.get(&key).cloned())
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

    /// Stores a prepared operation, evicting the oldest entry when full.
    pub fn insert(&self, hash: u64, prepared: Arc<Prepared>) {
        if self.capacity == 0 {
            return;
        }
        let key = (hash, prepared.operation_name.clone());
        let Ok(mut guard) = self.entries.lock() else {
            return;
        };
        let (map, order) = &mut *guard;
        if map.insert(key.clone(), prepared).is_none() {
            order.push_back(key);
        }
        while map.len() > self.capacity {
            match order.pop_front() {
                Some(oldest) => {
                    map.remove(&oldest);
                }
                None => break,
            }
        }
    }

    /// The counters now.
    pub fn stats(&self) -> PlanCacheStats {
        PlanCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            validations: self.validations.load(Ordering::Relaxed),
            plans: self.plans.load(Ordering::Relaxed),
            entries: self.entries.lock().map_or(0, |e| e.0.len() as u64),
        }
    }
}
