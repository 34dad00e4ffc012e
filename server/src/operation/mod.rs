//! The stages every transport passes an operation through before the execution gate
//! ([`crate::gate`]), whatever carried it (HTTP, WebSocket, SSE): its parameters
//! ([`params`]), the persisted operation resolved ([`persisted`]), then the document prepared
//! ([`prepare`]: parsed once through the document cache ([`documents`]), the token count
//! ([`tokens`]) and the cost limits ([`limits`]) checked, introspection refused when it is off
//! ([`introspection`])). The HTTP-only stages (body reading, CSRF, content negotiation,
//! uploads, responses) are in [`crate::pipeline`].

pub mod documents;
pub mod introspection;
pub mod limits;
pub mod params;
pub mod persisted;
pub mod prepare;
pub mod tokens;

use quilt_executor::{Context, ExecutionResult};

use crate::error::RequestError;
use crate::state::ServerState;
use params::GraphQLParams;

/// Why an operation was not prepared.
pub(crate) enum Refusal {
    /// Refused at the HTTP level (persisted operations), with its own status.
    Request(RequestError),
    /// A GraphQL request error (parse, limits, introspection): no `data`.
    Result(Box<ExecutionResult>),
}

impl Refusal {
    /// The refusal as a result, for transports without HTTP statuses.
    pub(crate) fn into_result(self) -> Box<ExecutionResult> {
        match self {
            Refusal::Request(error) => {
                Box::new(ExecutionResult::from_error(error.to_graphql_error()))
            }
            Refusal::Result(result) => result,
        }
    }
}

/// Stages 3b and 4 for one operation on every transport: the persisted operation resolved
/// (or the allow-list checked), the document prepared under this server's checks and cache,
/// and an APQ query stored once it has passed them.
pub(crate) async fn prepare_operation(
    state: &ServerState,
    mut params: GraphQLParams,
    context: Context,
) -> Result<quilt_executor::Request, Refusal> {
    let registration = persisted::resolve(state.persisted.as_ref(), &mut params)
        .await
        .map_err(Refusal::Request)?;
    let checks = prepare::Checks {
        limits: &state.limits,
        introspection: state.introspection,
    };
    let request = prepare::prepare_checked(params, checks, context, Some(&state.documents))
        .map_err(Refusal::Result)?;
    if let (Some(registration), Some(persisted)) = (registration, &state.persisted) {
        registration.store(persisted).await;
    }
    Ok(request)
}
