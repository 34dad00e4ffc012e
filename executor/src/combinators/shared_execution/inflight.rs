//! The table of shared executions: for each key in flight, one spawned task and the waiters for
//! its value.
//!
//! Why a spawned task rather than running the work in the first caller's future: a caller's
//! future is dropped when that client times out or disconnects, and the others waiting on the
//! same work must not lose it. The task belongs to its waiters together (each holds an `Arc` of
//! its abort handle): it is cancelled only when the last of them is dropped.
//!
//! The lock guards only map operations; it is never held across an `.await`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::oneshot;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

/// How many executions ran and how many requests shared one instead of running their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DedupStats {
    /// Executions started (each served one or more requests).
    pub executions: u64,
    /// Requests answered by an execution another request started.
    pub shared: u64,
}

/// In-flight work by key; `T` is what every waiter gets a clone of (an `Arc`, so cheap).
pub(crate) struct InFlight<K, T> {
    table: Arc<Table<K, T>>,
}

impl<K, T> Clone for InFlight<K, T> {
    fn clone(&self) -> Self {
        Self {
            table: Arc::clone(&self.table),
        }
    }
}

impl<K, T> Default for InFlight<K, T> {
    fn default() -> Self {
        Self {
            table: Arc::new(Table {
                entries: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                executions: AtomicU64::new(0),
                shared: AtomicU64::new(0),
            }),
        }
    }
}

struct Table<K, T> {
    entries: Mutex<HashMap<Arc<K>, Entry<T>>>,
    next_id: AtomicU64,
    executions: AtomicU64,
    shared: AtomicU64,
}

struct Entry<T> {
    /// Tells this execution from a later one under the same key (see [`Cleanup`]).
    id: u64,
    waiters: Vec<oneshot::Sender<T>>,
    /// Alive while at least one waiter is.
    task: Weak<AbortOnDropHandle<()>>,
}

impl<K, T> Table<K, T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<K>, Entry<T>>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One waiter: its channel, and its share of the task (dropping the last share cancels it).
pub(crate) struct Waiter<T> {
    receiver: oneshot::Receiver<T>,
    _task: Arc<AbortOnDropHandle<()>>,
    /// Whether this waiter joined an execution another request started.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) shared: bool,
}

impl<T> Waiter<T> {
    /// The value, or `None` if the task ended without one (it panicked).
    pub(crate) async fn value(self) -> Option<T> {
        let Waiter {
            receiver, _task, ..
        } = self;
        receiver.await.ok()
    }
}

/// Removes the entry of a finished or cancelled execution, unless a newer one took its key.
struct Cleanup<K: Hash + Eq, T> {
    table: Arc<Table<K, T>>,
    key: Arc<K>,
    id: u64,
}

impl<K: Hash + Eq, T> Cleanup<K, T> {
    /// Takes the waiters out, so that no one joins after the value is sent.
    fn finish(&self) -> Vec<oneshot::Sender<T>> {
        let mut entries = self.table.lock();
        match entries.get(&*self.key) {
            Some(entry) if entry.id == self.id => entries
                .remove(&*self.key)
                .map(|entry| entry.waiters)
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

impl<K: Hash + Eq, T> Drop for Cleanup<K, T> {
    fn drop(&mut self) {
        drop(self.finish());
    }
}

impl<K, T> InFlight<K, T>
where
    K: Hash + Eq + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    /// The counters so far.
    pub(crate) fn stats(&self) -> DedupStats {
        DedupStats {
            executions: self.table.executions.load(Ordering::Relaxed),
            shared: self.table.shared.load(Ordering::Relaxed),
        }
    }

    /// Joins the execution in flight under `key`, or starts one with `work` on a new task.
    /// `work` is called on that task, so any synchronous work it does is not the caller's.
    ///
    /// Must be called within a tokio runtime.
    pub(crate) fn join<Q, F, Fut>(&self, key: Q, work: F) -> Waiter<T>
    where
        Q: Into<Arc<K>> + Borrow<K>,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        let mut entries = self.table.lock();
        // An entry whose task is gone (its last waiter left, it is being cancelled) is
        // replaced below.
        if let Some(entry) = entries.get_mut(key.borrow())
            && let Some(task) = entry.task.upgrade()
        {
            entry.waiters.push(sender);
            drop(entries);
            self.table.shared.fetch_add(1, Ordering::Relaxed);
            return Waiter {
                receiver,
                _task: task,
                shared: true,
            };
        }
        let key: Arc<K> = key.into();
        let id = self.table.next_id.fetch_add(1, Ordering::Relaxed);
        let cleanup = Cleanup {
            table: Arc::clone(&self.table),
            key: Arc::clone(&key),
            id,
        };
        // Spawned under the lock (spawning does not block): the task's first act is to take
        // the lock in `finish`, so the entry below is in place before it can be looked for.
        let task = Arc::new(AbortOnDropHandle::new(tokio::spawn(
            async move {
                let value = work().await;
                let mut waiters = cleanup.finish();
                // The last waiter gets the value itself, the others a clone.
                let last = waiters.pop();
                for waiter in waiters {
                    let _ = waiter.send(value.clone());
                }
                if let Some(last) = last {
                    let _ = last.send(value);
                }
            }
            .in_current_span(),
        )));
        entries.insert(
            key,
            Entry {
                id,
                waiters: vec![sender],
                task: Arc::downgrade(&task),
            },
        );
        drop(entries);
        self.table.executions.fetch_add(1, Ordering::Relaxed);
        Waiter {
            receiver,
            _task: task,
            shared: false,
        }
    }

    /// How many keys are in flight (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use tokio::sync::Semaphore;

    #[tokio::test]
    async fn concurrent_joins_share_one_execution_and_the_table_empties() {
        let table: InFlight<String, Arc<u32>> = InFlight::default();
        let runs = Arc::new(AtomicU32::new(0));
        let release = Arc::new(Semaphore::new(0));
        let work = || {
            let (runs, release) = (runs.clone(), release.clone());
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let _permit = release.acquire().await;
                Arc::new(7)
            }
        };
        let a = table.join("k".to_owned(), work());
        let b = table.join("k".to_owned(), work());
        let c = table.join("other".to_owned(), work());
        assert!(!a.shared && b.shared && !c.shared);
        assert_eq!(table.len(), 2);
        release.add_permits(2);
        let (a, b, c) = futures::join!(a.value(), b.value(), c.value());
        assert_eq!((*a.unwrap(), *b.unwrap(), *c.unwrap()), (7, 7, 7));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(
            table.stats(),
            DedupStats {
                executions: 2,
                shared: 1
            }
        );
        assert_eq!(table.len(), 0);
    }

    #[tokio::test]
    async fn dropping_every_waiter_cancels_the_task_and_frees_the_key() {
        let table: InFlight<String, Arc<u32>> = InFlight::default();
        let (dropped_tx, dropped_rx) = oneshot::channel::<()>();
        struct OnDrop(Option<oneshot::Sender<()>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                if let Some(tx) = self.0.take() {
                    let _ = tx.send(());
                }
            }
        }
        let guard = OnDrop(Some(dropped_tx));
        let a = table.join("k".to_owned(), move || async move {
            let _guard = guard;
            futures::future::pending::<()>().await;
            Arc::new(0)
        });
        let b = table.join("k".to_owned(), || async { Arc::new(1) });
        assert!(b.shared);
        drop(a);
        drop(b);
        tokio::time::timeout(std::time::Duration::from_secs(5), dropped_rx)
            .await
            .expect("the task is cancelled")
            .expect("the guard reports its drop");
        // The cancelled task's cleanup ran when its future was dropped.
        assert_eq!(table.len(), 0);
        let c = table.join("k".to_owned(), || async { Arc::new(2) });
        assert!(!c.shared);
        assert_eq!(c.value().await.as_deref(), Some(&2));
    }
}
