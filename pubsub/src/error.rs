//! The errors of publishing and subscribing.

/// Why an event could not be published or a subscription not made.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PubSubError {
    /// The broker could not be reached or did not answer in time.
    #[error("the broker at {url} is unavailable: {message}")]
    Unavailable {
        /// The broker's address.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The payload could not be encoded or decoded as JSON.
    #[error("invalid payload on {topic}: {message}")]
    Payload {
        /// The topic.
        topic: String,
        /// What was wrong.
        message: String,
    },
    /// The engine was shut down.
    #[error("the pubsub engine is closed")]
    Closed,
}
