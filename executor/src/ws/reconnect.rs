//! When and how a [`WsExecutor`](super::WsExecutor) reconnects after losing its socket.

use std::time::Duration;

use crate::error::{CloseCode, ExecutorError};
use crate::retry::RetryPolicy;

/// How a [`WsExecutor`](super::WsExecutor) reconnects after an abnormal close.
///
/// A socket that drops (no close frame, 1006), or that the server closes with a code that is not
/// a verdict on this client (1001 going away, 1011, 4500, any code outside the list below), is
/// reopened: up to `max_attempts` times in a row, waiting an exponential backoff (the formula of
/// [`RetryPolicy::backoff`]) before each attempt. Once it is open and acknowledged again, the
/// active subscriptions are subscribed again (if `resubscribe`) and their streams go on.
///
/// Queries and mutations in flight when the socket drops are *not* sent again (a mutation may
/// have had its effect): they fail with [`ExecutorError::Closed`].
///
/// Final closes, never retried, fail every operation of the socket with
/// `ExecutorError::Closed { code: Some(..) }`: 1000 (normal closure), 4400, 4401, 4403, 4406,
/// 4408, 4409, 4429. The first connection of an idle executor is not retried either: its failure
/// goes straight to the operations waiting for it (wrap the executor in
/// [`Retry`](crate::Retry) to retry those).
///
/// ```
/// use std::time::Duration;
/// use quilt_executor::ws::ReconnectPolicy;
/// let policy = ReconnectPolicy::new(10).initial_backoff(Duration::from_millis(20));
/// assert_eq!(policy.max_attempts, 10);
/// assert!(ReconnectPolicy::never().max_attempts == 0);
/// ```
#[derive(Debug, Clone)]
pub struct ReconnectPolicy {
    /// Reconnection attempts in a row before giving up (0 = never reconnect).
    pub max_attempts: u32,
    /// The wait before the first attempt; multiplied by `multiplier` for each next one.
    pub initial_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
    /// The growth factor of the wait.
    pub multiplier: f64,
    /// Whether to wait a random time between zero and the backoff (full jitter).
    pub jitter: bool,
    /// Whether active subscriptions are subscribed again on the new socket; if not, they end with
    /// the close error.
    pub resubscribe: bool,
}

impl Default for ReconnectPolicy {
    /// 5 attempts (as graphql-ws' client), 250 ms doubling up to 5 s, with jitter, resubscribing.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            jitter: true,
            resubscribe: true,
        }
    }
}

impl ReconnectPolicy {
    /// The default policy with `max_attempts` attempts.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            ..Self::default()
        }
    }

    /// Never reconnect: a lost socket ends every operation with its close error.
    pub fn never() -> Self {
        Self::new(0)
    }

    /// Sets the first wait.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Sets the longest wait.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Turns jitter on or off.
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Whether subscriptions are subscribed again after a reconnect.
    pub fn resubscribe(mut self, resubscribe: bool) -> Self {
        self.resubscribe = resubscribe;
        self
    }

    /// The wait before reconnection attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        RetryPolicy {
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            multiplier: self.multiplier,
            jitter: self.jitter,
            ..RetryPolicy::default()
        }
        .backoff(attempt)
    }
}

/// Whether a socket lost with `error` (or a failed reconnection attempt) is worth another
/// attempt: drops, timeouts, refused connections and non-final close codes are; the 44xx
/// verdicts, a normal closure, a rejected upgrade and a peer that breaks the protocol are not.
pub(crate) fn is_reconnectable(error: &ExecutorError) -> bool {
    match error {
        ExecutorError::Closed {
            code: Some(code), ..
        } => !is_final_close(*code),
        ExecutorError::Closed { code: None, .. }
        | ExecutorError::Connect { .. }
        | ExecutorError::Timeout { .. } => true,
        ExecutorError::HttpStatus { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// The close codes after which the server does not want this client back as it is: the ones
/// [`CloseCode::is_transient`] calls final (one list for every retry decision).
pub(crate) fn is_final_close(code: CloseCode) -> bool {
    !code.is_transient()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn closed(code: u16) -> ExecutorError {
        ExecutorError::Closed {
            endpoint: "ws://x".into(),
            code: Some(CloseCode::from(code)),
            reason: String::new(),
        }
    }

    #[test]
    fn final_and_transient_closes() {
        for code in [1000, 4400, 4401, 4403, 4406, 4408, 4409, 4429] {
            assert!(!is_reconnectable(&closed(code)), "{code} should be final");
        }
        for code in [1001, 1006, 1011, 4500, 4504, 4999] {
            assert!(is_reconnectable(&closed(code)), "{code} should be retried");
        }
    }

    #[test]
    fn backoff_grows() {
        let p = ReconnectPolicy::default()
            .jitter(false)
            .initial_backoff(Duration::from_millis(10))
            .max_backoff(Duration::from_millis(25));
        assert_eq!(p.backoff(1), Duration::from_millis(10));
        assert_eq!(p.backoff(2), Duration::from_millis(20));
        assert_eq!(p.backoff(3), Duration::from_millis(25));
    }
}
