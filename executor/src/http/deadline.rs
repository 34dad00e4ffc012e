//! The deadline of one attempt, on a timer that is reused from request to request.
//!
//! `tokio::time::timeout` makes a new timer per request: registering it in the runtime's timer
//! wheel and removing it again each take the timer driver's lock, a measurable part of a fast
//! round trip. A timer that stays registered can instead be moved to a later deadline with
//! one atomic operation (tokio files it again when its old deadline comes), so each thread
//! keeps one spare timer of its runtime, and an attempt borrows it. The timer is armed only
//! once the attempt has to wait, so an attempt that finishes on its first poll costs nothing.
//!
//! A spare timer keeps the waker of the last task that waited on it; when its old deadline
//! comes while it lies unused, that task may be woken once for nothing (futures tolerate
//! spurious wake-ups). A spare of a runtime that has shut down is never used: it is dropped
//! (with the timer driver it keeps allocated) when the thread next needs a timer.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::runtime::{Handle, Id};
use tokio::time::{Instant, Sleep};

thread_local! {
    /// The timer the last finished attempt on this thread gave back, with its runtime.
    static SPARE: Cell<Option<Timer>> = const { Cell::new(None) };
}

/// A timer of the runtime `runtime`.
struct Timer {
    runtime: Id,
    sleep: Pin<Box<Sleep>>,
}

impl Timer {
    /// A timer for `deadline`: this thread's spare when it belongs to the current runtime,
    /// otherwise a new one. Like `tokio::time::sleep`, panics outside a Tokio runtime.
    fn until(deadline: Instant) -> Self {
        let runtime = match Handle::try_current() {
            Ok(handle) => handle.id(),
            // No runtime: `sleep_until` reports it as `tokio::time::timeout` would.
            Err(_) => return Self::new_in(None, deadline),
        };
        match SPARE.take() {
            Some(mut timer) if timer.runtime == runtime => {
                timer.sleep.as_mut().reset(deadline);
                timer
            }
            // A spare of another runtime (or none): drop it, make one for this runtime.
            _ => Self::new_in(Some(runtime), deadline),
        }
    }

    fn new_in(runtime: Option<Id>, deadline: Instant) -> Self {
        let sleep = Box::pin(tokio::time::sleep_until(deadline));
        let runtime = runtime.unwrap_or_else(|| Handle::current().id());
        Self { runtime, sleep }
    }

    /// Gives the timer back as this thread's spare.
    fn give_back(self) {
        // `try_with`: the thread may be exiting.
        let _ = SPARE.try_with(|spare| spare.set(Some(self)));
    }
}

pin_project! {
    /// `future`, or `Err(Elapsed)` when it is not done within the timeout (counted from its
    /// first wait).
    pub(super) struct Within<F> {
        #[pin]
        future: F,
        timeout: Duration,
        timer: Option<Timer>,
    }

    impl<F> PinnedDrop for Within<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(timer) = this.project().timer.take() {
                timer.give_back();
            }
        }
    }
}

/// The attempt did not finish in time.
#[derive(Debug)]
pub(super) struct Elapsed;

/// Runs `future` with a deadline `timeout` after it first has to wait.
pub(super) fn within<F: Future>(timeout: Duration, future: F) -> Within<F> {
    Within {
        future,
        timeout,
        timer: None,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            if let Some(timer) = this.timer.take() {
                timer.give_back();
            }
            return Poll::Ready(Ok(output));
        }
        let timer = match this.timer {
            Some(timer) => timer,
            None => {
                let now = Instant::now();
                // A timeout too large to represent is no deadline: about 30 years, as tokio's
                // own far future.
                let deadline = now
                    .checked_add(*this.timeout)
                    .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
                this.timer.insert(Timer::until(deadline))
            }
        };
        match timer.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    async fn after_a_yield() -> u8 {
        tokio::task::yield_now().await;
        7
    }

    #[test]
    fn a_spare_timer_serves_later_attempts_with_earlier_deadlines() {
        runtime().block_on(async {
            // Leaves a spare registered far in the future.
            let long = Duration::from_secs(3600);
            assert_eq!(within(long, after_a_yield()).await.ok(), Some(7));
            // Its deadline must move earlier, not only later.
            let short = Duration::from_millis(1);
            assert!(within(short, std::future::pending::<()>()).await.is_err());
            assert_eq!(within(long, after_a_yield()).await.ok(), Some(7));
            assert!(within(short, std::future::pending::<()>()).await.is_err());
        });
    }

    #[test]
    fn a_spare_of_a_dropped_runtime_is_not_used() {
        runtime().block_on(async {
            let short = Duration::from_millis(1);
            assert!(within(short, std::future::pending::<()>()).await.is_err());
        });
        // The spare belongs to the dropped runtime; using it would panic.
        runtime().block_on(async {
            let short = Duration::from_millis(1);
            assert!(within(short, std::future::pending::<()>()).await.is_err());
            assert_eq!(
                within(Duration::from_secs(3600), after_a_yield())
                    .await
                    .ok(),
                Some(7)
            );
        });
    }

    #[test]
    fn an_attempt_done_at_once_arms_no_timer() {
        runtime().block_on(async {
            let _ = SPARE.take();
            assert_eq!(
                within(Duration::from_secs(1), async { 1 }).await.ok(),
                Some(1)
            );
            assert!(SPARE.take().is_none());
        });
    }
}
