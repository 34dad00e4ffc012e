//! Stage 6a (optional): inbound in-flight deduplication of single JSON answers.
//!
//! Concurrent identical queries (see [`quilt_executor::DedupTable`] for what identical means:
//! document, operation name, variables, extensions and the values of `authorization`, `cookie`
//! and any header the options add) share one execution **and one serialization**: the shared
//! task executes, serializes the answer once into [`Bytes`], and every waiting client gets its
//! own response around a reference to those bytes. Profiles of a gateway answering 88 KB with
//! executor-level sharing showed cloning the result tree and serializing it per client as most
//! of its CPU; this stage removes both.
//!
//! Only answers the client takes as JSON are shared (streams and single results wrapped in
//! SSE or multipart are not), and only what [`DedupTable::is_shareable`] allows: queries, never
//! mutations, subscriptions, `@defer`/`@stream` or uploads. The execution runs on its own task,
//! so a client that disconnects leaves it running for the others.

use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use quilt_executor::{
    DedupOptions, DedupStats, DedupTable, ErrorKind, ExecutionResult, Request, Response as Answer,
};

use crate::gate::{ExecuteFailure, execute_serialized};
use crate::pipeline::negotiate::JsonKind;
use crate::pipeline::respond::parts_body;
use crate::state::ServerState;

/// Inbound deduplication for a [`GraphQLServer`](crate::GraphQLServer); see
/// [`GraphQLServerBuilder::dedup`](crate::GraphQLServerBuilder::dedup).
///
/// Clones share the table, so keep one to read the counters.
///
/// ```
/// use quilt_executor::DedupOptions;
/// use quilt_server::InboundDedup;
/// let dedup = InboundDedup::new(DedupOptions::default().header(http::HeaderName::from_static("x-tenant")));
/// assert_eq!(dedup.stats().shared, 0);
/// ```
#[derive(Debug, Clone)]
pub struct InboundDedup {
    table: DedupTable<SharedAnswer>,
}

impl InboundDedup {
    /// Deduplication keyed with `options`' headers (by default `authorization` and `cookie`;
    /// add every header your executors forward upstream or your authorization reads).
    pub fn new(options: DedupOptions) -> Self {
        Self {
            table: DedupTable::new(options),
        }
    }

    /// Executions started and requests that shared one, so far.
    pub fn stats(&self) -> DedupStats {
        self.table.stats()
    }
}

impl Default for InboundDedup {
    fn default() -> Self {
        Self::new(DedupOptions::default())
    }
}

/// What one shared execution gives every waiter: the serialized body and what decides the
/// status code for each JSON media type.
type SharedAnswer = std::sync::Arc<Serialized>;

#[derive(Debug)]
enum Serialized {
    /// A result; `has_data` decides 200 or 400 under `application/graphql-response+json`.
    Result { body: Vec<Bytes>, has_data: bool },
    /// The executor failed; `kind` decides 502 or 504 under `application/graphql-response+json`.
    Failed { body: Vec<Bytes>, kind: ErrorKind },
    /// Not a single result after all (a stream, a refused execution): the waiter executes on
    /// its own.
    Unshareable,
}

/// Whether this stage takes `request`.
pub(crate) fn applies(request: &Request) -> bool {
    DedupTable::<SharedAnswer>::is_shareable(request)
}

/// Answers `request` from the execution in flight for an identical one, or starts it.
/// `None`: run the request on its own (the shared execution could not answer it as JSON).
pub(crate) async fn answer(
    dedup: &InboundDedup,
    state: &std::sync::Arc<ServerState>,
    request: Request,
    kind: JsonKind,
) -> Result<Response, Request> {
    let key = dedup.table.key(&request);
    let fallback = request.clone();
    let shared_state = std::sync::Arc::clone(state);
    let waiter = dedup.table.join(key, move || async move {
        std::sync::Arc::new(
            match execute_serialized(&shared_state, request, "http", None).await {
                Ok(Answer::Single(result)) => serialize(&result)
                    .map(|body| Serialized::Result {
                        body,
                        has_data: result.has_data(),
                    })
                    .unwrap_or(Serialized::Unshareable),
                Ok(Answer::Stream(_)) => Serialized::Unshareable,
                Err(ExecuteFailure::Executor(error)) => {
                    serialize(&ExecutionResult::from_error(error.to_graphql_error()))
                        .map(|body| Serialized::Failed {
                            body,
                            kind: error.kind(),
                        })
                        .unwrap_or(Serialized::Unshareable)
                }
                Err(_) => Serialized::Unshareable,
            },
        )
    });
    if waiter.is_shared() {
        metrics::counter!(crate::metrics::INBOUND_DEDUP_SHARED).increment(1);
    }
    let Some(answer) = waiter.value().await else {
        return Err(fallback);
    };
    let (body, status) = match &*answer {
        Serialized::Result { body, has_data } => {
            let status = if kind == JsonKind::GraphQLResponse && !has_data {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (body.clone(), status)
        }
        Serialized::Failed { body, kind: error } => {
            let status = match (kind, error) {
                (JsonKind::Json, _) => StatusCode::OK,
                (JsonKind::GraphQLResponse, ErrorKind::Timeout) => StatusCode::GATEWAY_TIMEOUT,
                (JsonKind::GraphQLResponse, _) => StatusCode::BAD_GATEWAY,
            };
            (body.clone(), status)
        }
        Serialized::Unshareable => return Err(fallback),
    };
    let mut response = Response::new(parts_body(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    Ok(response)
}

fn serialize(result: &ExecutionResult) -> Option<Vec<Bytes>> {
    match result.to_json_parts() {
        Ok(parts) => Some(parts),
        Err(error) => {
            tracing::error!(%error, "could not serialize a GraphQL response");
            None
        }
    }
}
