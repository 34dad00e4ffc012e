//! [`BatchOptions`]: how large a batch may grow, how long it waits, how extensions merge and
//! which requests may share an upstream request.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use quilt_executor::{JsonMap, Request};

use crate::key::{ScopeKey, default_scope_key};

/// Folds one request's extensions into the extensions of the merged request.
///
/// Called once per merged request, in arrival order, starting from an empty map.
pub type ExtensionsReducer = Arc<dyn Fn(JsonMap, &Request) -> JsonMap + Send + Sync>;

/// Computes the batch scope of a request; `None` sends the request on its own (never merged).
pub type ScopeFn = Arc<dyn Fn(&Request) -> Option<ScopeKey> + Send + Sync>;

/// How long a batch collects requests before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchWindow {
    /// Send the batch once this many scheduler yields (`tokio::task::yield_now`) in a row pass
    /// without a new request joining it, so that every request issued in the same tick (for
    /// example by one `join_all` of the planner, or by tasks woken together) joins the batch,
    /// also while the issuing task runs on another worker thread. Adds microseconds of latency;
    /// a stream of arrivals cannot hold a batch longer than it takes to fill `max_batch_size`.
    Ticks(u32),
    /// Wait this long after the first request of the batch arrived (also collects requests that
    /// come from other tasks a little later, at the cost of that much latency).
    Duration(Duration),
}

impl Default for BatchWindow {
    /// Three quiet scheduler yields: enough for the requests of one tick, including those
    /// issued by tasks woken in the same tick, at a cost of microseconds.
    fn default() -> Self {
        BatchWindow::Ticks(3)
    }
}

/// The options of a [`BatchingExecutor`](crate::BatchingExecutor).
///
/// The defaults fit a stitched gateway: batches of up to 1000 requests collected during one
/// scheduler tick, identical queries deduplicated, extensions merged with later keys winning,
/// and requests merged only when their endpoint, headers and connection params are equal.
///
/// ```
/// use std::time::Duration;
/// use quilt_batch::{BatchOptions, BatchWindow};
///
/// let options = BatchOptions::default()
///     .max_batch_size(50)
///     .window(BatchWindow::Duration(Duration::from_millis(1)))
///     .dedup(false);
/// assert_eq!(options.max_batch_size_value(), 50);
/// ```
#[derive(Clone)]
pub struct BatchOptions {
    pub(crate) max_batch_size: usize,
    pub(crate) window: BatchWindow,
    pub(crate) dedup: bool,
    pub(crate) extensions_reducer: ExtensionsReducer,
    pub(crate) scope: ScopeFn,
    pub(crate) label: Option<Arc<str>>,
    pub(crate) solo_text_bytes: usize,
}

/// The default of [`BatchOptions::solo_text_bytes`]: 1 MiB.
pub const DEFAULT_SOLO_TEXT_BYTES: usize = 1 << 20;

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            solo_text_bytes: DEFAULT_SOLO_TEXT_BYTES,
            max_batch_size: 1000,
            window: BatchWindow::default(),
            dedup: true,
            extensions_reducer: Arc::new(later_keys_win),
            scope: Arc::new(default_scope_key),
            label: None,
        }
    }
}

impl BatchOptions {
    /// The most requests one upstream request may carry (at least 1). When a batch is full it is
    /// sent at once and the next request opens a new batch. Default: 1000.
    pub fn max_batch_size(mut self, max: usize) -> Self {
        self.max_batch_size = max.max(1);
        self
    }

    /// The configured maximum batch size.
    pub fn max_batch_size_value(&self) -> usize {
        self.max_batch_size
    }

    /// A request whose variables given as JSON text ([`Request::raw_variables`]: an entity
    /// step's representations) are longer than `bytes` is sent on its own, never merged. Merging
    /// saves a round trip and a request's overhead, which matter for small requests; two
    /// requests of megabytes merged make the service answer them as one, one after the other
    /// where it could have worked on both at once, and each waits for the other's answer too.
    /// Default: [`DEFAULT_SOLO_TEXT_BYTES`] (1 MiB); `usize::MAX` merges every size.
    ///
    /// ```
    /// use quilt_batch::BatchOptions;
    /// assert_eq!(BatchOptions::default().solo_text_bytes_value(), 1 << 20);
    /// let options = BatchOptions::default().solo_text_bytes(64 * 1024);
    /// assert_eq!(options.solo_text_bytes_value(), 65_536);
    /// ```
    pub fn solo_text_bytes(mut self, bytes: usize) -> Self {
        self.solo_text_bytes = bytes;
        self
    }

    /// The configured [`solo_text_bytes`](Self::solo_text_bytes).
    pub fn solo_text_bytes_value(&self) -> usize {
        self.solo_text_bytes
    }

    /// The `subschema` label of this executor's batch size histogram
    /// (`quilt_upstream_batch_size`, recorded through the [`metrics`] facade). A stitched
    /// schema sets it to the subschema's name when none is given.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The label set with [`BatchOptions::label`].
    pub fn label_value(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// How long a batch collects requests. Default: [`BatchWindow::Ticks(3)`](BatchWindow::Ticks).
    pub fn window(mut self, window: BatchWindow) -> Self {
        self.window = window;
        self
    }

    /// Whether identical queries (same document text, operation name and variables) inside one
    /// batch share one field of the merged operation and each get a copy of its result.
    /// Default: on. Mutations are never deduplicated (each one has its own side effects).
    pub fn dedup(mut self, dedup: bool) -> Self {
        self.dedup = dedup;
        self
    }

    /// How the extensions of the merged requests are combined (default: in arrival order, later
    /// keys win, like graphql-tools' `Object.assign`).
    pub fn extensions_reducer(
        mut self,
        reducer: impl Fn(JsonMap, &Request) -> JsonMap + Send + Sync + 'static,
    ) -> Self {
        self.extensions_reducer = Arc::new(reducer);
        self
    }

    /// Replaces the scope function: only requests with equal keys are merged, and a request
    /// whose key is `None` is sent on its own. The default is [`default_scope_key`]; a custom
    /// function should include everything the inner executor puts on the wire besides the
    /// document (for example values it reads from the [`Context`](quilt_executor::Context)).
    pub fn scope(
        mut self,
        scope: impl Fn(&Request) -> Option<ScopeKey> + Send + Sync + 'static,
    ) -> Self {
        self.scope = Arc::new(scope);
        self
    }
}

impl fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchOptions")
            .field("max_batch_size", &self.max_batch_size)
            .field("window", &self.window)
            .field("dedup", &self.dedup)
            .field("solo_text_bytes", &self.solo_text_bytes)
            .finish_non_exhaustive()
    }
}

/// The default extensions reducer: every key of the request overwrites the merged one.
pub fn later_keys_win(mut merged: JsonMap, request: &Request) -> JsonMap {
    for (key, value) in &request.extensions {
        merged.insert(key.clone(), value.clone());
    }
    merged
}
