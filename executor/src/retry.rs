//! Retrying failed requests: the policy, and the [`Retry`] executor that applies it.

use std::time::Duration;

use crate::document::OperationType;
use crate::error::ExecutorError;
use crate::executor::{ExecuteFuture, Executor};
use crate::request::Request;

/// When and how often to try a request again.
///
/// By default: up to 3 attempts in all, queries only (a mutation may have had its effect even
/// when the answer was lost; subscriptions reconnect by their own rules), on transient errors
/// ([`ExecutorError::is_transient`]: connect errors, timeouts, 5xx and 429, dropped
/// connections), with exponential backoff from 50 ms up to 2 s and full jitter.
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::RetryPolicy;
/// let policy = RetryPolicy::new(5).initial_backoff(Duration::from_millis(10));
/// assert_eq!(policy.max_attempts, 5);
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (1 = no retry).
    pub max_attempts: u32,
    /// The wait before the first retry; doubled (by `multiplier`) for each next one.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// The growth factor of the wait.
    pub multiplier: f64,
    /// Whether to wait a random time between zero and the backoff (full jitter), so that many
    /// clients do not retry in step.
    pub jitter: bool,
    /// Whether mutations are retried too (off by default: not idempotent).
    pub retry_mutations: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            multiplier: 2.0,
            jitter: true,
            retry_mutations: false,
        }
    }
}

impl RetryPolicy {
    /// The default policy with `max_attempts` attempts in all.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// A policy that never retries.
    pub fn never() -> Self {
        Self::new(1)
    }

    /// Sets the first backoff.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the longest backoff.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Turns jitter on or off.
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Allows retrying mutations.
    pub fn retry_mutations(mut self, retry: bool) -> Self {
        self.retry_mutations = retry;
        self
    }

    /// Whether a request of this type may be retried at all.
    pub fn applies_to(&self, operation_type: OperationType) -> bool {
        match operation_type {
            OperationType::Query => true,
            OperationType::Mutation => self.retry_mutations,
            OperationType::Subscription => false,
        }
    }

    /// Whether `attempt` (1-based; the one that just failed with `error`) is followed by another.
    pub fn should_retry(&self, attempt: u32, error: &ExecutorError) -> bool {
        attempt < self.max_attempts && error.is_transient()
    }

    /// How long to wait after the failed attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30) as i32;
        let base = self.initial_backoff.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = base.min(self.max_backoff.as_secs_f64()).max(0.0);
        let wait = if self.jitter {
            capped * fastrand::f64()
        } else {
            capped
        };
        Duration::from_secs_f64(wait)
    }
}

/// An executor that tries a request again by a [`RetryPolicy`]; see
/// [`ExecutorExt::retry`](crate::ExecutorExt::retry).
///
/// Only the call that produces the response is retried; a stream that fails after it started is
/// not restarted (a WebSocket executor resubscribes by its own reconnect rules).
#[derive(Debug, Clone)]
pub struct Retry<E> {
    inner: std::sync::Arc<E>,
    policy: RetryPolicy,
}

impl<E: Executor> Retry<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, policy: RetryPolicy) -> Self {
        Self {
            inner: std::sync::Arc::new(inner),
            policy,
        }
    }
}

impl<E: Executor> Executor for Retry<E> {
    fn execute(&self, request: Request) -> ExecuteFuture {
        self.run(request, |inner, request| inner.execute(request))
    }
}

impl<E: Executor> Retry<E> {
    /// Runs `request` through `call` of the inner executor, again after transient failures.
    fn run(&self, request: Request, call: fn(&E, Request) -> ExecuteFuture) -> ExecuteFuture {
        if !self.policy.applies_to(request.operation_type()) {
            return call(&self.inner, request);
        }
        let inner = self.inner.clone();
        let policy = self.policy.clone();
        Box::pin(async move {
            let mut attempt = 1;
            loop {
                match call(&inner, request.clone()).await {
                    Err(error) if policy.should_retry(attempt, &error) => {
                        tracing::debug!(attempt, %error, "retrying after a transient failure");
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{Response, from_fn};
    use crate::result::ExecutionResult;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn flaky(failures: u32, calls: Arc<AtomicU32>) -> impl Executor {
        from_fn(move |_r: Request| {
            let calls = calls.clone();
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n <= failures {
                    Err(ExecutorError::HttpStatus {
                        endpoint: "e".into(),
                        status: 503,
                        body_excerpt: String::new(),
                    })
                } else {
                    Ok(Response::Single(ExecutionResult::from_data(
                        serde_json::json!(n),
                    )))
                }
            }
        })
    }

    fn fast(n: u32) -> RetryPolicy {
        RetryPolicy::new(n).initial_backoff(Duration::from_millis(1))
    }

    #[tokio::test]
    async fn retries_queries_until_success() {
        let calls = Arc::new(AtomicU32::new(0));
        let e = Retry::new(flaky(2, calls.clone()), fast(3));
        let r = e.execute(Request::new("{a}").unwrap()).await.unwrap();
        assert!(matches!(r, Response::Single(_)));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let calls = Arc::new(AtomicU32::new(0));
        let e = Retry::new(flaky(10, calls.clone()), fast(3));
        let r = e.execute(Request::new("{a}").unwrap()).await;
        assert_eq!(r.unwrap_err().status(), Some(503));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn never_retries_mutations_by_default() {
        let calls = Arc::new(AtomicU32::new(0));
        let e = Retry::new(flaky(10, calls.clone()), fast(3));
        let r = e.execute(Request::new("mutation{a}").unwrap()).await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default()
            .jitter(false)
            .max_backoff(Duration::from_millis(120));
        assert_eq!(p.backoff(1), Duration::from_millis(50));
        assert_eq!(p.backoff(2), Duration::from_millis(100));
        assert_eq!(p.backoff(3), Duration::from_millis(120));
    }
}
