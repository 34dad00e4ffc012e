//! Waiting in tests: on a future, a watched value or a condition, never longer than [`WAIT`].
//! No sleeps as synchronisation: each helper waits on the event and fails the test, with what it
//! waited for, when the wait runs out.

use std::future::Future;
use std::time::Duration;

use crate::WAIT;

/// Awaits `future` for at most [`WAIT`]; fails the test after it.
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the test did not finish in time")
}

/// Waits (at most [`WAIT`]) until `condition` holds for the watched value.
pub async fn wait_for<T>(
    mut watch: tokio::sync::watch::Receiver<T>,
    condition: impl Fn(&T) -> bool,
) {
    within(watch.wait_for(condition))
        .await
        .expect("the watched value's sender is alive");
}

/// Waits until `condition` holds, polling every 10 ms; fails the test after [`WAIT`], naming
/// `what`. For conditions no event announces (a counter in another process's answer).
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let waited = tokio::time::timeout(WAIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "not in time: {what}");
}
