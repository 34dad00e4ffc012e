//! Automatic persisted queries kept in Redis, so that every server of a fleet answers a hash
//! any of them was given.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::store::{PersistedQueryStore, StoreError};

/// How to reach Redis and how to keep queries there.
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    /// The Redis URL (`redis://host:port/db`, `rediss://` for TLS).
    pub url: String,
    /// Prepended to every key. Default `quilt:apq:`.
    pub prefix: String,
    /// How long a query is kept after it was last stored (`SET … EX`); `None`: until Redis
    /// evicts it. Default 24 hours, so that a client registering ever-new queries cannot
    /// fill a Redis without an eviction policy.
    pub ttl: Option<Duration>,
    /// How long one command (and connecting) may take; past it the lookup counts as a miss
    /// and the store as failed. Default 500 ms.
    pub timeout: Duration,
}

impl RedisStoreOptions {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "quilt:apq:".into(),
            ttl: Some(Duration::from_secs(24 * 60 * 60)),
            timeout: Duration::from_millis(500),
        }
    }
}

/// A [`PersistedQueryStore`] in Redis: `GET {prefix}{hash}` and `SET {prefix}{hash} {query} EX
/// {ttl}` over one multiplexed, reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    options: Arc<RedisStoreOptions>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.options.prefix)
            .field("ttl", &self.options.ttl)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects; fails when Redis cannot be reached now (later outages are survived: the
    /// connection reconnects, and lookups meanwhile count as misses).
    pub async fn connect(options: RedisStoreOptions) -> Result<Self, StoreError> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            options.timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreError::Unavailable("connecting timed out".into()))?
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            connection,
            options: Arc::new(options),
        })
    }

    fn key(&self, hash: &str) -> String {
        format!("{}{hash}", self.options.prefix)
    }
}

impl PersistedQueryStore for RedisStore {
    fn get(&self, hash: &str) -> BoxFuture<'static, Result<Option<Arc<str>>, StoreError>> {
        let mut connection = self.connection.clone();
        let key = self.key(hash);
        let timeout = self.options.timeout;
        Box::pin(async move {
            let mut command = redis::cmd("GET");
            command.arg(&key);
            let get = command.query_async::<Option<String>>(&mut connection);
            match tokio::time::timeout(timeout, get).await {
                Ok(Ok(found)) => Ok(found.map(Arc::from)),
                Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
                Err(_) => Err(StoreError::Unavailable(format!(
                    "GET did not answer within {timeout:?}"
                ))),
            }
        })
    }

    fn put(&self, hash: &str, query: Arc<str>) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut connection = self.connection.clone();
        let key = self.key(hash);
        let (timeout, ttl) = (self.options.timeout, self.options.ttl);
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command.arg(&key).arg(&*query);
            if let Some(ttl) = ttl {
                command.arg("EX").arg(ttl.as_secs().max(1));
            }
            let set = command.query_async::<()>(&mut connection);
            match tokio::time::timeout(timeout, set).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
                Err(_) => Err(StoreError::Unavailable(format!(
                    "SET did not answer within {timeout:?}"
                ))),
            }
        })
    }
}
