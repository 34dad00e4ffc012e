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
    /// The topic cannot be used with this engine (a character the broker reads as a wildcard or
    /// separator, or a name longer than the broker allows).
    #[error("the topic {topic:?} cannot be used: {message}")]
    InvalidTopic {
        /// The topic.
        topic: String,
        /// Why not.
        message: String,
    },
    /// The engine was shut down.
    #[error("the pubsub engine is closed")]
    Closed,
}
