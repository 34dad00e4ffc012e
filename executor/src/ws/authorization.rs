//! Forwarding a client's `Authorization` header as `connectionParams.token`, as Apollo Router
//! does for subgraphs it reaches over WebSocket: HTTP headers cannot travel with operations on
//! an open socket, so the credential goes into the `connection_init` payload instead.
//!
//! A socket is authenticated once, at `connection_init`, so operations of different clients
//! must not share one: each distinct `Authorization` value gets its own socket (its own
//! [`WsExecutor`] with the same options, the token added to its connection params). Operations
//! without the header use the executor's own socket.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use http::header::AUTHORIZATION;

use super::WsExecutor;
use super::builder::Config;
use crate::request::Request;

/// Sockets by credential kept at most; past it the oldest entry is forgotten. Forgetting only
/// drops the table's handle: a socket with operations in flight lives on until they end, and
/// the next operation with that credential opens a new one.
const MAX_CREDENTIALS: usize = 256;

/// The `connection_init` key the credential is sent under.
pub(crate) const TOKEN: &str = "token";

/// The `Authorization` header of the request's context, if it is text.
pub(crate) fn authorization(request: &Request) -> Option<&str> {
    request
        .context
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

/// One executor per credential.
#[derive(Default)]
pub(crate) struct TokenSockets {
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    executors: HashMap<Arc<str>, WsExecutor>,
    order: VecDeque<Arc<str>>,
}

impl TokenSockets {
    /// The executor whose sockets carry `token`, made from `config` on first use.
    pub(crate) fn executor_for(
        &self,
        token: &str,
        config: &Config,
        invalid: Option<String>,
    ) -> WsExecutor {
        let mut table = match self.table.lock() {
            Ok(table) => table,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(executor) = table.executors.get(token) {
            return executor.clone();
        }
        if table.order.len() >= MAX_CREDENTIALS
            && let Some(oldest) = table.order.pop_front()
        {
            table.executors.remove(&oldest);
        }
        let mut config = config.clone();
        config.forward_authorization = false;
        config.token = Some(token.to_owned());
        let executor = WsExecutor::from_config(config, invalid);
        let token: Arc<str> = token.into();
        table.order.push_back(token.clone());
        table.executors.insert(token, executor.clone());
        executor
    }
}
