//! Counters of what a test server saw, which a test can wait on (no sleeps).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// A snapshot of a server's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// HTTP requests received on the GraphQL path (WebSocket upgrades excluded).
    pub http_requests: u64,
    /// WebSocket connections accepted.
    pub ws_connections: u64,
    /// Subscriptions started.
    pub subscriptions_started: u64,
    /// Subscriptions that ran to their end.
    pub subscriptions_finished: u64,
    /// Subscriptions stopped before their end (the client sent `complete`/`stop`, or left).
    pub subscriptions_cancelled: u64,
    /// The value of the mutation counter.
    pub counter: i64,
    /// Callback subscriptions accepted (the `check` answered, `{"data": null}` sent).
    pub callback_subscriptions: u64,
    /// Callback subscriptions whose emitter stopped (completed, refused or the server stopped).
    pub callback_stopped: u64,
    /// `check` messages POSTed (the first one and the heartbeats).
    pub callback_checks: u64,
    /// `next` messages POSTed.
    pub callback_nexts: u64,
    /// `complete` messages POSTed.
    pub callback_completes: u64,
    /// Callback messages answered 2xx.
    pub callback_accepted: u64,
    /// Callback messages answered 404 (the gateway does not know the subscription: stop).
    pub callback_not_found: u64,
    /// Callback messages answered with another status (4xx or 5xx).
    pub callback_refused: u64,
}

impl Counters {
    /// Subscriptions running now.
    pub fn active_subscriptions(&self) -> u64 {
        self.subscriptions_started - self.subscriptions_finished - self.subscriptions_cancelled
    }

    /// Callback subscriptions whose emitter runs now.
    pub fn active_callbacks(&self) -> u64 {
        self.callback_subscriptions - self.callback_stopped
    }
}

/// Shared counters of one test server.
#[derive(Debug, Clone)]
pub struct Stats(Arc<watch::Sender<Counters>>);

impl Default for Stats {
    fn default() -> Self {
        Self(Arc::new(watch::channel(Counters::default()).0))
    }
}

impl Stats {
    /// The counters now.
    pub fn snapshot(&self) -> Counters {
        self.0.borrow().clone()
    }

    /// Waits until `predicate` holds, at most `timeout`; returns the counters that satisfied it,
    /// or an error with the last counters seen.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        predicate: impl Fn(&Counters) -> bool,
    ) -> anyhow::Result<Counters> {
        let mut rx = self.0.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(|c| predicate(c))).await {
            Ok(Ok(counters)) => Ok(counters.clone()),
            _ => anyhow::bail!(
                "condition not met within {timeout:?}; counters: {:?}",
                self.snapshot()
            ),
        }
    }

    pub(crate) fn record_http_request(&self) {
        self.0.send_modify(|c| c.http_requests += 1);
    }

    pub(crate) fn record_ws_connection(&self) {
        self.0.send_modify(|c| c.ws_connections += 1);
    }

    pub(crate) fn record_callback_subscription(&self) {
        self.0.send_modify(|c| c.callback_subscriptions += 1);
    }

    pub(crate) fn record_callback_stopped(&self) {
        self.0.send_modify(|c| c.callback_stopped += 1);
    }

    pub(crate) fn record_callback_sent(&self, action: &str) {
        self.0.send_modify(|c| match action {
            "check" => c.callback_checks += 1,
            "next" => c.callback_nexts += 1,
            _ => c.callback_completes += 1,
        });
    }

    pub(crate) fn record_callback_answer(&self, status: u16) {
        self.0.send_modify(|c| match status {
            200..=299 => c.callback_accepted += 1,
            404 => c.callback_not_found += 1,
            _ => c.callback_refused += 1,
        });
    }

    pub(crate) fn add_counter(&self, by: i64) -> i64 {
        let mut value = 0;
        self.0.send_modify(|c| {
            c.counter += by;
            value = c.counter;
        });
        value
    }

    /// Marks a subscription started; the guard marks it finished or cancelled.
    pub fn subscription_started(&self) -> SubscriptionGuard {
        self.0.send_modify(|c| c.subscriptions_started += 1);
        SubscriptionGuard {
            stats: self.clone(),
            finished: false,
        }
    }
}

/// Records how a subscription ended: [`SubscriptionGuard::finished`] when it ran to its end,
/// cancelled when dropped before.
#[derive(Debug)]
pub struct SubscriptionGuard {
    stats: Stats,
    finished: bool,
}

impl SubscriptionGuard {
    /// The subscription ran to its end.
    pub fn finished(mut self) {
        self.finished = true;
    }
}

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        let finished = self.finished;
        self.stats.0.send_modify(|c| {
            if finished {
                c.subscriptions_finished += 1;
            } else {
                c.subscriptions_cancelled += 1;
            }
        });
    }
}
