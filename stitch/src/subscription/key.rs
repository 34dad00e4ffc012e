//! What makes two client subscriptions identical, so that they can share one upstream.

use std::sync::Arc;

use quilt_executor::{Context, JsonMap};

use crate::plan::Prepared;
use crate::subscription_options::SubscriptionOptions;

/// The identity of a subscription for deduplication: everything that can change what the
/// upstream sends or what the per-event resolution fetches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A deduplicated subscription.
    Shared {
        /// The client's document text (compared whole, so a hash collision never merges two
        /// different documents).
        text: Arc<str>,
        /// The selected operation.
        operation_name: Option<String>,
        /// The coerced variables, as JSON text.
        variables: String,
        /// The values of the deduplication headers, in the options' order (absent: `None`).
        headers: Vec<Option<Vec<u8>>>,
        /// The WebSocket connection params, as JSON text.
        connection_params: Option<String>,
    },
    /// Deduplication is off: every subscription is its own.
    Unique(u64),
}

impl Key {
    /// The key of a client's subscription.
    pub(crate) fn shared(
        options: &SubscriptionOptions,
        prepared: &Prepared,
        variables: &JsonMap,
        context: &Context,
    ) -> Self {
        let headers = options
            .dedup_headers
            .iter()
            .map(|name| {
                let values: Vec<u8> = context
                    .headers()
                    .get_all(name)
                    .iter()
                    .flat_map(|value| value.as_bytes().iter().copied().chain([b'\n']))
                    .collect();
                (!values.is_empty()).then_some(values)
            })
            .collect();
        Key::Shared {
            text: prepared.text.clone(),
            operation_name: prepared.operation_name.clone(),
            variables: serde_json::Value::Object(variables.clone()).to_string(),
            headers,
            connection_params: context
                .connection_params()
                .map(|params| serde_json::Value::Object(params.clone()).to_string()),
        }
    }
}
