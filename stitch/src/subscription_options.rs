//! How a stitched schema runs subscriptions: deduplication, queues, limits, re-subscription.

use std::time::Duration;

use http::HeaderName;
use quilt_executor::RetryPolicy;

/// Options of the subscriptions of a stitched schema; see
/// [`Stitcher::subscriptions`](crate::Stitcher::subscriptions).
///
/// ```
/// use quilt_stitch::SubscriptionOptions;
/// let options = SubscriptionOptions::default()
///     .deduplicate(false)
///     .queue_capacity(32)
///     .max_opened_subscriptions(10_000);
/// assert_eq!(options.queue_capacity, 32);
/// ```
#[derive(Debug, Clone)]
pub struct SubscriptionOptions {
    /// Whether identical subscriptions share one upstream subscription and one per-event
    /// resolution (default on). Identical: the same document and operation name, the same
    /// variables, the same connection params and the same values of
    /// [`dedup_headers`](Self::dedup_headers).
    pub deduplicate: bool,
    /// The request headers that make two subscriptions different for deduplication (default:
    /// `authorization`), because the executors forward them upstream.
    pub dedup_headers: Vec<HeaderName>,
    /// The events each client subscription may fall behind by (default 128). A client further
    /// behind loses the oldest events; the loss is counted
    /// ([`SubscriptionStats::dropped_events`]) and logged, never buffered without bound.
    pub queue_capacity: usize,
    /// The most client subscriptions open at once (default: no limit); past it a new one gets
    /// an error with code `SUBSCRIPTION_LIMIT`.
    pub max_opened_subscriptions: Option<usize>,
    /// How an upstream subscription that fails with a transient error mid-stream (its service
    /// restarted, the connection dropped) is subscribed again: exponential backoff with full
    /// jitter (100 ms doubling up to 2 s by default); `max_attempts` counts the failed
    /// subscription itself (no limit by default: the window bounds the tries). An event
    /// received resets the count. Once spent, the clients get the upstream's error and their
    /// subscriptions end.
    pub resubscribe: RetryPolicy,
    /// How long re-subscription keeps trying after an upstream subscription fails (default
    /// 30 s, long enough for a rolling deploy of the service). The clients keep their
    /// subscriptions meanwhile; the first event after the gap carries
    /// `extensions.upstreamGap` (`subschema`, `millis`): events may have been missed.
    pub resubscribe_window: Duration,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self {
            deduplicate: true,
            dedup_headers: vec![http::header::AUTHORIZATION],
            queue_capacity: 128,
            max_opened_subscriptions: None,
            resubscribe: RetryPolicy::new(u32::MAX)
                .initial_backoff(Duration::from_millis(100))
                .max_backoff(Duration::from_secs(2)),
            resubscribe_window: Duration::from_secs(30),
        }
    }
}

impl SubscriptionOptions {
    /// Turns deduplication on or off.
    pub fn deduplicate(mut self, enabled: bool) -> Self {
        self.deduplicate = enabled;
        self
    }

    /// Sets the headers that deduplication compares.
    pub fn dedup_headers(mut self, headers: impl IntoIterator<Item = HeaderName>) -> Self {
        self.dedup_headers = headers.into_iter().collect();
        self
    }

    /// Sets each client subscription's queue capacity (at least 1).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events.max(1);
        self
    }

    /// Limits the client subscriptions open at once.
    pub fn max_opened_subscriptions(mut self, max: usize) -> Self {
        self.max_opened_subscriptions = Some(max);
        self
    }

    /// Sets how a failed upstream subscription is subscribed again.
    pub fn resubscribe(mut self, policy: RetryPolicy) -> Self {
        self.resubscribe = policy;
        self
    }

    /// Sets how long re-subscription keeps trying after a failure.
    pub fn resubscribe_window(mut self, window: Duration) -> Self {
        self.resubscribe_window = window;
        self
    }
}

/// Counters of a stitched schema's subscriptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionStats {
    /// Client subscriptions open now.
    pub clients: u64,
    /// Upstream subscriptions running now (one per group of identical client subscriptions).
    pub upstreams: u64,
    /// Events a slow client lost because it fell more than the queue capacity behind.
    pub dropped_events: u64,
    /// Upstream subscriptions made again after a transient failure.
    pub resubscribes: u64,
    /// Subscriptions refused by `max_opened_subscriptions`.
    pub refused: u64,
}
