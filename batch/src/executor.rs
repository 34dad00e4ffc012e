//! [`BatchingExecutor`]: collects the requests of one scheduler tick, merges them into one
//! operation, executes it once on the inner executor and splits the result back.
//!
//! A little longer than 600 lines on purpose: the queues, the window that flushes them and the
//! fallbacks that keep results exact (a query run again alone, a nulled mutation reported) all
//! act on one locked `Shared` state in one flush; apart, each would reach into the others'
//! fields. The algorithms it calls are in their own files (`merge.rs`, `split.rs`, `key.rs`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::hash::Hasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::join_all;
use quilt_executor::{
    DataForm, ExecuteFuture, ExecutionResult, Executor, ExecutorError, JsonMap, OperationType,
    RawVariables, Request, Response,
};
use tokio::sync::oneshot;

use crate::key::ScopeKey;
use crate::merge::{PrefixCache, Prefixed, combine};
use crate::options::{BatchOptions, BatchWindow};
use crate::split::{Shape, data_shape, split_nulled_mutation, split_result};

/// An executor that merges concurrent requests to the same service into one upstream request.
///
/// Requests that arrive within one batch window (by default the same scheduler tick) and share a
/// [scope](crate::default_scope_key) and an operation type are merged into one operation (see
/// [`merge`](crate::merge)), sent once through the inner executor, and the result is split back
/// (see [`split`](crate::split)). Each request gets what it would have got alone:
///
/// - **Not merged:** subscriptions, operations using `@defer`/`@stream`, requests with uploads,
///   requests whose scope function returns `None`, and requests the merge cannot rename (no
///   such operation, operation-level directives, unknown or cyclic fragments) go to the inner
///   executor on their own, so the service answers them as usual.
/// - **Queries and mutations are never mixed.** Mutations batch among themselves in arrival
///   order, so their fields still run serially on the service in that order. Mutations are never
///   deduplicated.
/// - **A batch of one** is passed through untouched: the original request object reaches the
///   inner executor, and its response (even a stream) comes back as it is.
/// - **Deduplication** (on by default): identical queries (document text, operation name,
///   variables) in one batch share one entry of the merged operation; each gets a copy.
/// - **Transport failures** of the merged request are handed to every request (a clone).
/// - **`data: null` at the root.** A non-null field error of one request nulls the merged
///   `data`, which is not what the others would get alone. For queries, the batcher then runs
///   the entries of that batch again, each on its own and concurrently, and returns their own
///   results (a rare path, and exact). A mutation is never run again (side effects): every
///   request gets `data: null` with its own errors, and a request without an error of its own
///   gets one with the code [`BATCH_MUTATION_NULLED`](crate::codes::MUTATION_NULLED).
/// - **An empty share of the data.** When a query's share of the merged data has no field at
///   all (every field failed, or every field was skipped), what the service would have answered
///   alone depends on the service: a spec-conformant one answers `{}` or `data: null` after a
///   non-null error, while some (async-graphql among them) leave failed fields out and answer
///   `data: null` for an empty root object. The batcher runs such a query again on its own and
///   returns that answer (rare, and exact). A mutation keeps its share as it is.
/// - **Absent `data`** (a request error such as a validation or variable error, raised before
///   execution) means nothing ran: the entries are run again on their own (queries
///   concurrently, mutations one after another in arrival order), so each gets its own verdict.
///
/// Why not the `dataloader` crate: it keys loads by `Hash + Eq` values (requests with JSON
/// variables are not), loses arrival order (mutations need it), has no error type, and runs one
/// batch at a time behind a mutex, so a slow batch stalls every other caller. This batcher is a
/// bounded queue per scope and a task per batch; batches run concurrently.
///
/// A batch's task ends when the service answers, or as soon as every request of the batch has
/// been dropped by its caller, which cancels the upstream request.
///
/// ```
/// use quilt_batch::{BatchExt, BatchOptions};
/// use quilt_executor::{from_fn, Executor, ExecutionResult, Request, Response};
/// use serde_json::json;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let service = from_fn(|request: Request| async move {
///     // The merged operation: both fields with their prefixes.
///     assert_eq!(request.query(), "{ _v0_a: a _v1_b: b }");
///     Ok(Response::Single(ExecutionResult::from_data(json!({ "_v0_a": 1, "_v1_b": 2 }))))
/// });
/// let batched = service.batched(BatchOptions::default());
/// let (a, b) = tokio::join!(
///     batched.execute(Request::new("{ a }").unwrap()),
///     batched.execute(Request::new("{ b }").unwrap()),
/// );
/// assert_eq!(a.unwrap().into_single().await.unwrap().data_value(), Some(json!({ "a": 1 })));
/// assert_eq!(b.unwrap().into_single().await.unwrap().data_value(), Some(json!({ "b": 2 })));
/// # });
/// ```
pub struct BatchingExecutor<E> {
    shared: Arc<Shared<E>>,
}

impl<E> Clone for BatchingExecutor<E> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<E> std::fmt::Debug for BatchingExecutor<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchingExecutor")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl<E: Executor> BatchingExecutor<E> {
    /// Batches the requests sent to `inner`.
    pub fn new(inner: E, options: BatchOptions) -> Self {
        Self {
            shared: Arc::new(Shared {
                inner,
                queues: Mutex::new(HashMap::default()),
                next_id: AtomicU64::new(0),
                prefixes: PrefixCache::default(),
                batch_sizes: {
                    let label = options_label(&options);
                    metrics::histogram!(BATCH_SIZE, "subschema" => label)
                },
                options,
            }),
        }
    }

    /// The inner executor.
    pub fn inner(&self) -> &E {
        &self.shared.inner
    }

    /// The options.
    pub fn options(&self) -> &BatchOptions {
        &self.shared.options
    }
}

impl<E: Executor> Executor for BatchingExecutor<E> {
    /// A merged request asks the inner executor for [`DataForm::Tree`] and its answer is split
    /// as trees (the HTTP executor parses straight into them); each request's answer is given
    /// in the form its caller asked for. Variables given as JSON text are merged as they are
    /// (their names prefixed, their text copied).
    fn execute(&self, request: Request) -> ExecuteFuture {
        Box::pin(self.shared.clone().submit(request))
    }
}

impl<E: Executor> Shared<E> {
    /// Queues a request (or passes it through) and waits for its answer.
    async fn submit(self: Arc<Self>, request: Request) -> Result<Response, ExecutorError> {
        let shared = self;
        let kind = match request.operation_type() {
            OperationType::Query => Kind::Query,
            OperationType::Mutation => Kind::Mutation,
            OperationType::Subscription => return shared.inner.execute(request).await,
        };
        if request.document.uses_incremental_delivery()
            || !request.uploads.is_empty()
            || text_bytes(&request) > shared.options.solo_text_bytes
        {
            return shared.inner.execute(request).await;
        }
        let Some(scope) = (shared.options.scope)(&request) else {
            return shared.inner.execute(request).await;
        };
        let (reply, answer) = oneshot::channel();
        let reply = Reply {
            sender: reply,
            form: request.data_form,
        };
        if let Some(window) = Shared::enqueue(&shared, (kind, scope), Pending { request, reply }) {
            // This request opened the batch: its own task waits for the window, so the
            // requests its siblings issue in the same poll (a `join_all`) join first.
            shared.wait_window(&window).await;
            window.flush();
        }
        answer.await.unwrap_or_else(|_| {
            Err(ExecutorError::other(
                "the batch this request belonged to ended without an answer \
                 (its task was cancelled or panicked)",
            ))
        })
    }
}

/// How long the request's variables given as JSON text are.
fn text_bytes(request: &Request) -> usize {
    request
        .raw_variables
        .iter()
        .map(|(_, text)| text.get().len())
        .sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Query,
    Mutation,
}

type QueueKey = (Kind, ScopeKey);

/// Where a request's answer goes, and the form its caller takes the data in.
struct Reply {
    sender: oneshot::Sender<Result<Response, ExecutorError>>,
    /// The form the caller asked for.
    form: DataForm,
}

impl Reply {
    /// Sends the answer, its data in the form the caller asked for.
    fn send(self, outcome: Result<Response, ExecutorError>) {
        let outcome = match outcome {
            Ok(Response::Single(result)) => Ok(Response::Single(result.into_form(self.form))),
            other => other,
        };
        let _ = self.sender.send(outcome);
    }

    /// Resolves when the caller has gone away.
    async fn closed(&mut self) {
        self.sender.closed().await;
    }
}

struct Pending {
    request: Request,
    reply: Reply,
}

/// The requests of one open batch window; at most `max_batch_size` of them.
struct Queue {
    id: u64,
    pending: Vec<Pending>,
}

/// An open batch, held by the request that opened it. When the window has passed the batch is
/// sent ([`Window::flush`]); if the opening request is dropped first (its caller gave up), the
/// batch is sent all the same, so the others are not stranded.
struct Window<E: Executor> {
    shared: Arc<Shared<E>>,
    key: QueueKey,
    id: u64,
}

impl<E: Executor> Window<E> {
    fn flush(self) {
        // The work happens in `Drop`.
    }
}

impl<E: Executor> Drop for Window<E> {
    fn drop(&mut self) {
        let Some(pending) = self.shared.take(&self.key, self.id) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                spawn_in_span(&runtime, self.shared.clone().run_batch(self.key.0, pending));
            }
            // Outside a runtime nothing can run: dropping the replies tells every waiter.
            Err(_) => drop(pending),
        }
    }
}

/// Spawns a batch's task, in the span of the request that opened the batch (its trace
/// continues there) where something inside the task could record under that span: a
/// subscriber that wants the HTTP client's spans (target `quilt::trace`, the span export), or
/// events below INFO (libraries' debug output). Otherwise the task runs in no span: its
/// failures are returned to the requests, which log them with their request ids, the trace
/// context it sends travels in the request, and entering the request's span at every poll of
/// every batch's task was about 1 % of a heavy answer's instructions. (The one event at INFO
/// or above that can happen inside it, a document the gateway printed that does not parse, is
/// a bug report that carries its own errors; it is logged without the request's span.)
fn spawn_in_span<F>(runtime: &tokio::runtime::Handle, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let recorded = tracing::span_enabled!(target: "quilt::trace", tracing::Level::INFO)
        || tracing::level_filters::LevelFilter::current()
            > tracing::level_filters::LevelFilter::INFO;
    let span = if recorded {
        tracing::Span::current()
    } else {
        tracing::Span::none()
    };
    if span.is_none() {
        runtime.spawn(task);
    } else {
        runtime.spawn(tracing::Instrument::instrument(task, span));
    }
}

/// One entry of a merged operation: a request and everyone waiting for its result (several
/// when identical requests were deduplicated).
struct Group {
    request: Request,
    waiters: Vec<Reply>,
    /// The request's variables as JSON, kept when they were moved into a merged request: the
    /// request runs on its own again only after a failed merged answer (rare), so keeping them
    /// as text costs less than copying every value. Variables given as JSON text are kept as
    /// they are.
    moved_variables: Option<(Vec<u8>, RawVariables)>,
}

impl Group {
    fn answer(self, outcome: Result<ExecutionResult, ExecutorError>) {
        let mut waiters = self.waiters;
        let Some(last) = waiters.pop() else { return };
        for waiter in waiters {
            waiter.send(outcome.clone().map(Response::Single));
        }
        last.send(outcome.map(Response::Single));
    }
}

struct Shared<E> {
    inner: E,
    options: BatchOptions,
    /// Open batches by key (foldhash, seeded per map: a key holds header values clients
    /// choose, so SipHash's strength is not needed but a fixed-seed hash would be guessable;
    /// SipHash over the key was about 1 % of a heavy answer's instructions).
    queues: Mutex<HashMap<QueueKey, Queue, foldhash::fast::RandomState>>,
    next_id: AtomicU64,
    /// Documents renamed for their positions in merged operations.
    prefixes: PrefixCache,
    /// Requests per upstream request.
    batch_sizes: metrics::Histogram,
}

/// The histogram of requests per upstream request (Prometheus: `quilt_upstream_batch_size`).
const BATCH_SIZE: &str = "quilt_upstream_batch_size";

/// The `subschema` label of the batch size histogram.
fn options_label(options: &BatchOptions) -> metrics::SharedString {
    match &options.label {
        Some(label) => metrics::SharedString::from(label.clone()),
        None => metrics::SharedString::const_str(""),
    }
}

impl<E: Executor> Shared<E> {
    /// Adds a request to the open batch of its key; returns the window to wait for when the
    /// request opened a new batch.
    fn enqueue(this: &Arc<Self>, key: QueueKey, pending: Pending) -> Option<Window<E>> {
        let kind = key.0;
        let max = this.options.max_batch_size;
        let mut queues = this.queues.lock().unwrap_or_else(PoisonError::into_inner);
        match queues.entry(key) {
            Entry::Occupied(mut open) => {
                open.get_mut().pending.push(pending);
                if open.get().pending.len() >= max {
                    let full = open.remove().pending;
                    drop(queues);
                    spawn_in_span(
                        &tokio::runtime::Handle::current(),
                        this.clone().run_batch(kind, full),
                    );
                }
                None
            }
            Entry::Vacant(_) if max <= 1 => {
                drop(queues);
                spawn_in_span(
                    &tokio::runtime::Handle::current(),
                    this.clone().run_batch(kind, vec![pending]),
                );
                None
            }
            Entry::Vacant(vacant) => {
                let id = this.next_id.fetch_add(1, Ordering::Relaxed);
                let key = vacant.key().clone();
                vacant.insert(Queue {
                    id,
                    pending: vec![pending],
                });
                Some(Window {
                    shared: this.clone(),
                    key,
                    id,
                })
            }
        }
    }

    /// Waits for the batch window to pass.
    async fn wait_window(&self, window: &Window<E>) {
        match self.options.window {
            BatchWindow::Ticks(n) => {
                // Wait until `n` yields in a row pass without a new request joining: tasks on
                // other worker threads may still be adding theirs.
                let (mut quiet, mut last) = (0, 1);
                while quiet < n {
                    tokio::task::yield_now().await;
                    match self.queue_len(&window.key, window.id) {
                        None => return,
                        Some(len) if len == last => quiet += 1,
                        Some(len) => (last, quiet) = (len, 0),
                    }
                }
            }
            BatchWindow::Duration(duration) => tokio::time::sleep(duration).await,
        }
    }

    /// Takes the open batch `id` out of the queues (unless it was sent already, full).
    fn take(&self, key: &QueueKey, id: u64) -> Option<Vec<Pending>> {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        match queues.get(key) {
            Some(queue) if queue.id == id => queues.remove(key).map(|q| q.pending),
            _ => None,
        }
    }

    /// The size of the open batch `id`, or `None` when it was already sent.
    fn queue_len(&self, key: &QueueKey, id: u64) -> Option<usize> {
        let queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        queues
            .get(key)
            .filter(|q| q.id == id)
            .map(|q| q.pending.len())
    }

    async fn run_batch(self: Arc<Self>, kind: Kind, pending: Vec<Pending>) {
        self.batch_sizes.record(pending.len() as f64);
        let groups = group(pending, self.options.dedup && kind == Kind::Query);
        if groups.len() == 1 {
            for group in groups {
                self.run_solo(group).await;
            }
            return;
        }
        let mut prefixed = Vec::with_capacity(groups.len());
        let mut merged = Vec::with_capacity(groups.len());
        let mut solos = Vec::new();
        for mut group in groups {
            let kept = (!group.request.has_no_variables())
                .then(|| {
                    let values = if group.request.variables.is_empty() {
                        Vec::new()
                    } else {
                        serde_json::to_vec(&group.request.variables).ok()?
                    };
                    Some((values, group.request.raw_variables.clone()))
                })
                .flatten();
            match self
                .prefixes
                .prefix_taking(prefixed.len(), &mut group.request)
            {
                Ok(p) => {
                    group.moved_variables = kept;
                    prefixed.push(p);
                    merged.push(group);
                }
                Err(reason) => {
                    tracing::debug!(?reason, "request sent on its own: it cannot be merged");
                    solos.push(group);
                }
            }
        }
        let solos = join_all(solos.into_iter().map(|g| self.run_solo(g)));
        futures::join!(solos, self.run_merged(kind, prefixed, merged));
    }

    /// Executes one entry on its own. With a single waiter the response is passed through as
    /// it is (a stream stays a stream).
    async fn run_solo(&self, mut group: Group) {
        if let Some((json, raw)) = group.moved_variables.take() {
            group.request.raw_variables = raw;
            let restored = if json.is_empty() {
                Ok(JsonMap::new())
            } else {
                serde_json::from_slice(&json)
            };
            match restored {
                Ok(variables) => group.request.variables = variables,
                // Unreachable: the text was written from these variables.
                Err(error) => {
                    group.answer(Err(ExecutorError::other(format!(
                        "the batched request's variables could not be restored: {error}"
                    ))));
                    return;
                }
            }
        }
        if let [only] = group.waiters.as_slice() {
            let form = only.form;
            let execute = self.inner.execute(group.request.data_form(form));
            if let Some(outcome) = until_abandoned(&mut group.waiters, execute).await
                && let Some(waiter) = group.waiters.pop()
            {
                waiter.send(outcome);
            }
            return;
        }
        // Waiters that asked for different forms share a tree, converted for each.
        let form = match group.waiters.split_first() {
            Some((first, rest)) if rest.iter().all(|w| w.form == first.form) => first.form,
            _ => DataForm::Tree,
        };
        let execute = single(self.inner.execute(group.request.clone().data_form(form)));
        if let Some(outcome) = until_abandoned(&mut group.waiters, execute).await {
            group.answer(outcome);
        }
    }

    async fn run_merged(&self, kind: Kind, prefixed: Vec<Prefixed>, mut groups: Vec<Group>) {
        if groups.len() < 2 {
            for group in groups {
                self.run_solo(group).await;
            }
            return;
        }
        let merged = combine(
            prefixed,
            groups.iter().map(|g| &g.request),
            &self.options.extensions_reducer,
        );
        let execute = single(self.inner.execute(merged.request.data_form(DataForm::Tree)));
        let sizes: Vec<usize> = groups.iter().map(|g| g.waiters.len()).collect();
        let mut waiters: Vec<Reply> = Vec::new();
        // Watch every waiter through one list while the merged request runs.
        for group in &mut groups {
            waiters.append(&mut group.waiters);
        }
        let outcome = until_abandoned(&mut waiters, execute).await;
        let mut waiters = waiters.into_iter();
        for (group, size) in groups.iter_mut().zip(sizes) {
            group.waiters = waiters.by_ref().take(size).collect();
        }
        let Some(outcome) = outcome else { return };
        let result = match outcome {
            Ok(result) => result,
            Err(error) => {
                for group in groups {
                    group.answer(Err(error.clone()));
                }
                return;
            }
        };
        match (data_shape(&result), kind) {
            (Shape::Absent | Shape::Null, Kind::Query) => {
                join_all(groups.into_iter().map(|g| self.run_solo(g))).await;
            }
            (Shape::Absent, Kind::Mutation) => {
                for group in groups {
                    self.run_solo(group).await;
                }
            }
            (Shape::Null, Kind::Mutation) => {
                let results = split_nulled_mutation(result, &merged.plan);
                for (group, result) in groups.into_iter().zip(results) {
                    group.answer(Ok(result));
                }
            }
            (Shape::EmptyObject | Shape::Other, _) => {
                let results = split_result(result, &merged.plan);
                let mut again = Vec::new();
                for (group, result) in groups.into_iter().zip(results) {
                    if kind == Kind::Query && data_shape(&result) == Shape::EmptyObject {
                        again.push(group);
                    } else {
                        group.answer(Ok(result));
                    }
                }
                join_all(again.into_iter().map(|g| self.run_solo(g))).await;
            }
        }
    }
}

/// The single result of an execution (the first item of a stream).
async fn single(execute: ExecuteFuture) -> Result<ExecutionResult, ExecutorError> {
    execute.await?.into_single().await
}

/// Runs `work` unless every waiter goes away first (then `work` is dropped, which cancels the
/// upstream request) and returns `None`.
async fn until_abandoned<T>(waiters: &mut [Reply], work: impl Future<Output = T>) -> Option<T> {
    let abandoned = join_all(waiters.iter_mut().map(|w| w.closed()));
    tokio::select! {
        biased;
        out = work => Some(out),
        _ = abandoned => None,
    }
}

/// Groups the pending requests into entries, deduplicating identical ones when `dedup` is set.
///
/// Requests are matched by their document's hash, operation name and a hash of their
/// variables (an entity request's JSON text variables, megabytes, hashed where they lie, not
/// written out), then compared in full.
fn group(pending: Vec<Pending>, dedup: bool) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::with_capacity(pending.len());
    let mut index: HashMap<(u64, u64), usize> = HashMap::new();
    for Pending { request, reply } in pending {
        if dedup {
            // The operation as `Request::same_operation` sees it: requests that differ only in
            // the name of a printed one-operation document (a stitched gateway's, for client
            // operations named differently) are one, sent with the first one's name.
            let key = (operation_hash(&request), variables_hash(&request));
            match index.entry(key) {
                Entry::Occupied(found) => {
                    let group = &mut groups[*found.get()];
                    if group.request.same_operation(&request)
                        && group.request.same_variables(&request)
                    {
                        group.waiters.push(reply);
                        continue;
                    }
                }
                Entry::Vacant(vacant) => {
                    vacant.insert(groups.len());
                }
            }
        }
        groups.push(Group {
            request,
            moved_variables: None,
            waiters: vec![reply],
        });
    }
    groups
}

/// A hash of a request's operation ([`Request::hash_operation`]).
fn operation_hash(request: &Request) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    request.hash_operation(&mut hasher);
    hasher.finish()
}

/// A hash of a request's variables ([`Request::hash_variables`]: JSON text variables streamed
/// into the hasher, never copied).
fn variables_hash(request: &Request) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    request.hash_variables(&mut hasher);
    hasher.finish()
}
