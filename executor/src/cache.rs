//! A cache bounded in entries and in bytes that admits, once full, only what was asked for
//! before: what a gateway keeps of its clients' documents and plans.
//!
//! Each entry is weighed by its owner (an estimate of the memory it holds). While there is
//! room, everything offered is kept. Once full, an entry is kept only if its key was offered
//! before and refused (a doorkeeper of recent key hashes remembers it), and then it takes the
//! place of the oldest entries not read since they last got a second chance (the CLOCK
//! approximation of least recently used). A stream of ever-new keys, a client's mistake or an
//! attack, is thus refused at the door: it neither evicts what clients repeat nor churns the
//! memory, and costs one hash each.
//!
//! Not [moka](https://docs.rs/moka): its TinyLFU admission, weighed, let such a stream evict
//! an entry read more often (measured on the plan cache), and a cache this small needs no
//! concurrent map: one short lock per lookup.

use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A cache of at most `capacity` entries weighing at most `max_bytes` together; see the
/// [module](self).
///
/// ```
/// use quilt_executor::cache::AdmittingCache;
/// let cache = AdmittingCache::new(2, 1024);
/// assert!(cache.insert("a", 1, 10));
/// assert!(cache.insert("b", 2, 10));
/// assert_eq!(cache.get("a"), Some(1));
/// // Full: a key offered for the first time is refused, the second time kept.
/// assert!(!cache.insert("c", 3, 10));
/// assert!(cache.insert("c", 3, 10));
/// assert_eq!(cache.get("c"), Some(3));
/// assert_eq!(cache.len(), 2);
/// ```
#[derive(Debug)]
pub struct AdmittingCache<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
    max_bytes: usize,
    hasher: RandomState,
}

#[derive(Debug)]
struct Inner<K, V> {
    map: HashMap<K, Entry<V>>,
    /// Keys from the oldest entry to the newest (an entry given a second chance goes back).
    order: VecDeque<K>,
    bytes: usize,
    /// Hashes of keys refused while full.
    doorkeeper: HashSet<u64>,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    weight: usize,
    /// Read since it was inserted or last given a second chance.
    read: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> AdmittingCache<K, V> {
    /// A cache of at most `capacity` entries and `max_bytes` of their weights (either 0: a
    /// cache that keeps nothing).
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
                doorkeeper: HashSet::new(),
            }),
            capacity,
            max_bytes,
            hasher: RandomState::new(),
        }
    }

    /// Whether the cache keeps anything at all.
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0 && self.max_bytes > 0
    }

    /// The value kept for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.is_enabled() {
            return None;
        }
        let mut inner = self.lock();
        let entry = inner.map.get_mut(key)?;
        entry.read = true;
        Some(entry.value.clone())
    }

    /// Offers `value` weighing `weight` bytes; returns whether it is kept. An entry weighing
    /// more than a sixteenth of the budget is never kept, so that a few large ones cannot keep
    /// evicting the many small ones.
    pub fn insert(&self, key: K, value: V, weight: usize) -> bool {
        if !self.is_enabled() || weight > self.max_bytes / 16 {
            return false;
        }
        // Evicted values are dropped after the lock is released.
        let mut evicted = Vec::new();
        let kept = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            if let Some(entry) = inner.map.get_mut(&key) {
                inner.bytes = inner.bytes - entry.weight + weight;
                let old = std::mem::replace(&mut entry.value, value);
                entry.weight = weight;
                evicted.push(old);
                // Heavier than before: others may have to make room.
                self.evict(inner, &mut evicted);
                true
            } else {
                let room =
                    inner.map.len() < self.capacity && inner.bytes + weight <= self.max_bytes;
                // The key's hash is needed only when full.
                let hash = (!room).then(|| self.hasher.hash_one(&key));
                if hash.is_none_or(|hash| inner.doorkeeper.remove(&hash)) {
                    inner.map.insert(
                        key.clone(),
                        Entry {
                            value,
                            weight,
                            read: false,
                        },
                    );
                    inner.order.push_back(key);
                    inner.bytes += weight;
                    self.evict(inner, &mut evicted);
                    true
                } else {
                    // Remember the refusal; a bounded memory of them, started over when full.
                    if inner.doorkeeper.len() >= self.capacity.saturating_mul(4).max(1024) {
                        inner.doorkeeper.clear();
                    }
                    inner.doorkeeper.extend(hash);
                    false
                }
            }
        };
        drop(evicted);
        kept
    }

    /// Evicts while over either bound: the oldest entry not read since its last chance (a read
    /// one goes back once, unread).
    fn evict(&self, inner: &mut Inner<K, V>, evicted: &mut Vec<V>) {
        let mut chances = inner.order.len();
        while inner.map.len() > self.capacity || inner.bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            let Some(entry) = inner.map.get_mut(&oldest) else {
                continue;
            };
            if entry.read && chances > 0 {
                chances -= 1;
                entry.read = false;
                inner.order.push_back(oldest);
                continue;
            }
            if let Some(entry) = inner.map.remove(&oldest) {
                inner.bytes -= entry.weight;
                evicted.push(entry.value);
            }
        }
    }

    /// How many entries the cache holds.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sum of the entries' weights.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_of_new_keys_is_refused_once_full_and_a_repeated_one_stays() {
        let cache = AdmittingCache::new(100, 100 * 10);
        for i in 0..100 {
            assert!(cache.insert(i, i, 10));
        }
        for _ in 0..3 {
            assert_eq!(cache.get(&7), Some(7));
        }
        for i in 1000..100_000 {
            assert!(
                !cache.insert(i, i, 10),
                "a key seen once is refused when full"
            );
        }
        assert_eq!(cache.len(), 100);
        assert_eq!(cache.get(&7), Some(7));
        // Offered twice, a new key is kept; it evicts the oldest unread entry (0), not 7.
        assert!(!cache.insert(200_000, 1, 10));
        assert!(cache.insert(200_000, 1, 10));
        assert_eq!(cache.get(&0), None);
        assert_eq!(cache.get(&7), Some(7));
        assert_eq!((cache.len(), cache.bytes()), (100, 1000));
    }

    #[test]
    fn bounded_in_bytes_and_entries() {
        let cache = AdmittingCache::new(1000, 1600);
        assert!(
            !cache.insert("huge".to_owned(), 0, 101),
            "over a sixteenth of the budget"
        );
        for round in 0..2 {
            for i in 0..50 {
                let _ = cache.insert(format!("k{i}"), round, 100);
                assert!(cache.bytes() <= 1600);
            }
        }
        assert_eq!(cache.len(), 16);
        let few = AdmittingCache::new(2, 1 << 20);
        for round in 0..2 {
            for i in 0..5 {
                let _ = few.insert(i, round, 1);
            }
        }
        assert_eq!(few.len(), 2);
        let off = AdmittingCache::new(0, 1 << 20);
        assert!(!off.insert(1, 1, 1));
        assert_eq!(off.get(&1), None);
    }

    #[test]
    fn inserting_a_kept_key_again_replaces_its_value_and_weight() {
        let cache = AdmittingCache::new(10, 1000);
        assert!(cache.insert("a", 1, 10));
        assert!(cache.insert("a", 2, 20));
        assert_eq!(
            (cache.get("a"), cache.bytes(), cache.len()),
            (Some(2), 20, 1)
        );
    }

    #[test]
    fn a_kept_key_offered_again_heavier_makes_the_oldest_others_leave() {
        // At most 20 bytes an entry: 17 of 18 bytes fit (306), 17 of 20 do not.
        let cache = AdmittingCache::new(100, 320);
        for key in 0..17 {
            assert!(cache.insert(key, 0, 18));
        }
        for key in (1..17).rev() {
            assert!(cache.insert(key, 1, 20));
            assert!(cache.bytes() <= 320, "{} bytes after {key}", cache.bytes());
            assert_eq!(cache.get(&key), Some(1));
        }
        // The oldest, never read, made room; every one offered again stays.
        assert_eq!((cache.len(), cache.bytes()), (16, 320));
        assert_eq!(cache.get(&0), None);
        assert!((1..17).all(|key| cache.get(&key) == Some(1)));
    }
}
