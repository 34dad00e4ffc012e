//! The sections of the gateway's TOML file that tune the server and the stitched schema:
//! `[limits]`, `[timeouts]`, `[subscriptions]`, `[errors]`, `[introspection]`, `[cors]`,
//! `[csrf]` and `[persisted_queries]`. Every key is optional (the library's default applies);
//! an unknown key is an error naming it and its line.
//!
//! Two value forms recur: a limit is a number or `false` (no limit), a duration is a number of
//! seconds (fractions allowed) or, where the setting can be off, `false`.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A limit: a number, or `false` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<usize>);

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LimitVisitor;
        impl Visitor<'_> for LimitVisitor {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number, or false for no limit")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Limit, E> {
                usize::try_from(v)
                    .map(|n| Limit(Some(n)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Limit, E> {
                usize::try_from(v)
                    .map(|n| Limit(Some(n)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Limit, E> {
                if v {
                    Err(E::invalid_value(de::Unexpected::Bool(v), &self))
                } else {
                    Ok(Limit(None))
                }
            }
        }
        deserializer.deserialize_any(LimitVisitor)
    }
}

/// A duration in seconds, or `false` for none (where the setting can be off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub Option<Duration>);

impl Seconds {
    /// The duration, refusing `false` for a setting that cannot be off.
    fn required(self, key: &str) -> anyhow::Result<Duration> {
        self.0
            .ok_or_else(|| anyhow::anyhow!("`{key}` cannot be false: give a number of seconds"))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;
        impl SecondsVisitor {
            fn seconds<E: de::Error>(&self, v: f64) -> Result<Seconds, E> {
                if (0.0..1e9).contains(&v) {
                    Ok(Seconds(Some(Duration::from_secs_f64(v))))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), self))
                }
            }
        }
        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds (0 or more), or false")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                self.seconds(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                self.seconds(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                self.seconds(v)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Seconds, E> {
                if v {
                    Err(E::invalid_value(de::Unexpected::Bool(v), &self))
                } else {
                    Ok(Seconds(None))
                }
            }
        }
        deserializer.deserialize_any(SecondsVisitor)
    }
}

/// `[limits]`: what one request or client may take ([`quilt_server::Limits`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// The deepest field nesting, fragments expanded (default 32).
    pub max_depth: Option<Limit>,
    /// The most aliases in an operation, fragments expanded (default 100).
    pub max_aliases: Option<Limit>,
    /// The most lexical tokens in a document (default 15 000).
    pub max_tokens: Option<Limit>,
    /// The most root fields in an operation (default 100).
    pub max_root_fields: Option<Limit>,
    /// The most field selections once fragments are expanded (default 5 000).
    pub max_selections: Option<Limit>,
    /// The largest JSON or GET request, in bytes (default 2 MiB).
    pub max_body_bytes: Option<usize>,
    /// The largest upload request, in bytes (default 32 MiB).
    pub max_upload_bytes: Option<usize>,
    /// The most files in one upload request (default 16).
    pub max_upload_files: Option<usize>,
    /// Bytes of upload requests in flight over every client (default 128 MiB).
    pub max_upload_bytes_in_flight: Option<usize>,
    /// Estimated memory the parsed-document cache may take, in bytes (default 4 MiB; 0: none);
    /// the process's, split evenly among the serving threads.
    pub document_cache_bytes: Option<usize>,
    /// TCP connections open at once (default 10 000).
    pub max_connections: Option<usize>,
    /// WebSocket connections open at once (default 10 000).
    pub max_ws_connections: Option<usize>,
    /// WebSocket connections of one client address (default 100).
    pub max_ws_connections_per_client: Option<usize>,
    /// Subscriptions open at once over every transport (default 10 000).
    pub max_subscriptions: Option<usize>,
    /// Subscriptions of one client address (default 1 000).
    pub max_subscriptions_per_client: Option<usize>,
    /// Operations at once on one WebSocket or SSE connection (default 100).
    pub max_operations_per_connection: Option<usize>,
    /// SSE single-connection reservations at once (default 10 000).
    pub max_sse_reservations: Option<usize>,
    /// SSE single-connection reservations of one client address (default 100).
    pub max_sse_reservations_per_client: Option<usize>,
    /// The longest document the stitched schema accepts, in bytes (default 256 KiB).
    pub max_document_bytes: Option<usize>,
    /// How deep selection sets, inline fragments and fragment spreads may nest together
    /// (default 256): bounds every walk over a document.
    pub max_nesting: Option<usize>,
    /// How many planned operations the stitched schema keeps (default 1 024); the process's,
    /// split evenly among the serving threads.
    pub plan_cache_capacity: Option<usize>,
    /// How much memory the planned operations kept may take, estimated in bytes (default
    /// 8 MiB); the process's, split evenly among the serving threads.
    pub plan_cache_bytes: Option<usize>,
    /// How many deferred fragments an operation may have (default 64).
    pub max_deferred_fragments: Option<usize>,
}

impl LimitsSection {
    /// Sets the given limits in `limits`.
    pub fn apply(&self, limits: &mut quilt_server::Limits) {
        let optional = [
            (self.max_depth, &mut limits.max_depth),
            (self.max_aliases, &mut limits.max_aliases),
            (self.max_tokens, &mut limits.max_tokens),
            (self.max_root_fields, &mut limits.max_root_fields),
            (self.max_selections, &mut limits.max_selections),
        ];
        for (given, limit) in optional {
            if let Some(Limit(value)) = given {
                *limit = value;
            }
        }
        let plain = [
            (self.max_body_bytes, &mut limits.max_body_bytes),
            (self.max_upload_bytes, &mut limits.max_upload_bytes),
            (self.max_upload_files, &mut limits.max_upload_files),
            (
                self.max_upload_bytes_in_flight,
                &mut limits.max_upload_bytes_in_flight,
            ),
            (self.document_cache_bytes, &mut limits.document_cache_bytes),
            (self.max_connections, &mut limits.max_connections),
            (self.max_ws_connections, &mut limits.max_ws_connections),
            (
                self.max_ws_connections_per_client,
                &mut limits.max_ws_connections_per_client,
            ),
            (self.max_subscriptions, &mut limits.max_subscriptions),
            (
                self.max_subscriptions_per_client,
                &mut limits.max_subscriptions_per_client,
            ),
            (
                self.max_operations_per_connection,
                &mut limits.max_operations_per_connection,
            ),
        ];
        for (given, limit) in plain {
            if let Some(value) = given {
                *limit = value;
            }
        }
    }

    /// Sets the given limits of the streaming transports.
    pub fn apply_streaming(&self, streaming: &mut quilt_server::Streaming) {
        if let Some(max) = self.max_sse_reservations {
            streaming.max_sse_reservations = max;
        }
        if let Some(max) = self.max_sse_reservations_per_client {
            streaming.max_sse_reservations_per_client = max;
        }
    }

    /// The stitched schema's limits: the given ones, and its depth limit never below the
    /// server's (which is checked first), none when the server's is off.
    pub fn stitch_limits(
        &self,
        server: &quilt_server::Limits,
    ) -> anyhow::Result<quilt_stitch::StitchLimits> {
        let mut limits = quilt_stitch::StitchLimits::default();
        if let Some(bytes) = self.max_document_bytes {
            limits.max_document_bytes = bytes;
        }
        if let Some(nesting) = self.max_nesting {
            anyhow::ensure!(nesting > 0, "`limits.max_nesting` must be at least 1");
            limits.max_nesting = nesting;
        }
        if let Some(capacity) = self.plan_cache_capacity {
            limits.plan_cache_capacity = capacity;
        }
        if let Some(bytes) = self.plan_cache_bytes {
            limits.plan_cache_bytes = bytes;
        }
        if let Some(deferred) = self.max_deferred_fragments {
            limits.max_deferred_fragments = deferred;
        }
        limits.max_depth = match server.max_depth {
            Some(depth) => depth.max(limits.max_depth),
            None => usize::MAX,
        };
        Ok(limits)
    }
}

/// `[timeouts]`, in seconds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsSection {
    /// How long a query or mutation may take (default 30; `false`: no limit).
    pub request: Option<Seconds>,
    /// Each subschema request's timeout unless its `[[subschemas]]` table sets `timeout`
    /// (default 10).
    pub upstream: Option<Seconds>,
    /// How long a client may take to send a request's head, and how long a keep-alive
    /// connection may stay idle (default 10; `false`: no limit).
    pub header_read: Option<Seconds>,
    /// How long a client may take to send a request's body (default 30; `false`: no limit).
    pub body_read: Option<Seconds>,
    /// How long a WebSocket connection may stay silent, pings unanswered (default 30;
    /// `false`: forever).
    pub idle: Option<Seconds>,
    /// How long a shutdown waits for requests in flight (default 30).
    pub drain: Option<Seconds>,
    /// How long readiness fails before the drain starts (default 0; also `shutdown_delay`).
    pub drain_delay: Option<Seconds>,
    /// How long a WebSocket client may take to send `connection_init` (default 3).
    pub connection_init: Option<Seconds>,
    /// How long an SSE single-connection reservation waits for its stream (default 30).
    pub sse_reservation: Option<Seconds>,
}

impl TimeoutsSection {
    /// Sets the given timeouts in the server's settings.
    pub fn apply(
        &self,
        limits: &mut quilt_server::Limits,
        streaming: &mut quilt_server::Streaming,
    ) -> anyhow::Result<()> {
        if let Some(Seconds(value)) = self.request {
            limits.request_timeout = value;
        }
        if let Some(Seconds(value)) = self.header_read {
            limits.header_read_timeout = value;
        }
        if let Some(Seconds(value)) = self.body_read {
            limits.body_read_timeout = value;
        }
        if let Some(Seconds(value)) = self.idle {
            streaming.ws_idle_timeout = value;
        }
        if let Some(drain) = self.drain {
            streaming.shutdown_timeout = drain.required("timeouts.drain")?;
        }
        if let Some(delay) = self.drain_delay {
            streaming.shutdown_delay = delay.required("timeouts.drain_delay")?;
        }
        if let Some(init) = self.connection_init {
            streaming.connection_init_timeout = init.required("timeouts.connection_init")?;
        }
        if let Some(reservation) = self.sse_reservation {
            streaming.sse_reservation_timeout = reservation.required("timeouts.sse_reservation")?;
        }
        Ok(())
    }

    /// The default upstream timeout, if the section sets one.
    pub fn upstream(&self) -> anyhow::Result<Option<Duration>> {
        match self.upstream {
            Some(Seconds(Some(d))) if d.is_zero() => {
                anyhow::bail!("`timeouts.upstream` must be more than 0 seconds")
            }
            Some(seconds) => Ok(Some(seconds.required("timeouts.upstream")?)),
            None => Ok(None),
        }
    }
}

/// `[subscriptions]`: how the stitched schema runs subscriptions and how the server carries
/// them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsSection {
    /// Whether identical subscriptions share one upstream subscription (default true).
    pub dedup: Option<bool>,
    /// Events queued for each subscriber before its upstream waits (default 128).
    pub queue_capacity: Option<usize>,
    /// The most upstream subscriptions open at once (default: no limit beyond the server's).
    pub max_opened: Option<Limit>,
    /// How long a subscription whose service went away keeps trying to re-subscribe, in
    /// seconds (default 30; 0: end it at once).
    pub resubscribe_window: Option<Seconds>,
    /// The WebSocket keep-alive (`ping`/`ka`) interval in seconds (default 12).
    pub keep_alive: Option<Seconds>,
    /// Messages queued for each WebSocket or SSE connection (default 32).
    pub connection_queue_capacity: Option<usize>,
    /// Whether the server pings `graphql-transport-ws` clients every keep-alive interval
    /// (default true).
    pub ws_ping: Option<bool>,
    /// Seconds between `{}` heartbeat parts of Apollo multipart subscriptions (default 5).
    pub multipart_heartbeat: Option<Seconds>,
    /// Seconds between `{}` parts of incremental-delivery responses (default false: none).
    pub incremental_heartbeat: Option<Seconds>,
    /// Seconds between SSE keep-alive comments (default 12).
    pub sse_keep_alive: Option<Seconds>,
}

impl SubscriptionsSection {
    /// Sets the given options.
    pub fn apply(
        &self,
        options: &mut quilt_stitch::SubscriptionOptions,
        streaming: &mut quilt_server::Streaming,
    ) -> anyhow::Result<()> {
        if let Some(dedup) = self.dedup {
            options.deduplicate = dedup;
        }
        if let Some(capacity) = self.queue_capacity {
            anyhow::ensure!(
                capacity > 0,
                "`subscriptions.queue_capacity` must be at least 1"
            );
            options.queue_capacity = capacity;
        }
        if let Some(Limit(max)) = self.max_opened {
            options.max_opened_subscriptions = max;
        }
        if let Some(window) = self.resubscribe_window {
            options.resubscribe_window = window.required("subscriptions.resubscribe_window")?;
        }
        if let Some(interval) = self.keep_alive {
            let interval = interval.required("subscriptions.keep_alive")?;
            anyhow::ensure!(
                !interval.is_zero(),
                "`subscriptions.keep_alive` must be more than 0 seconds"
            );
            streaming.keep_alive_interval = interval;
        }
        if let Some(capacity) = self.connection_queue_capacity {
            anyhow::ensure!(
                capacity > 0,
                "`subscriptions.connection_queue_capacity` must be at least 1"
            );
            streaming.queue_capacity = capacity;
        }
        if let Some(ping) = self.ws_ping {
            streaming.ws_ping = ping;
        }
        let positive = |seconds: Seconds, key: &str| -> anyhow::Result<std::time::Duration> {
            let interval = seconds.required(key)?;
            anyhow::ensure!(!interval.is_zero(), "`{key}` must be more than 0 seconds");
            Ok(interval)
        };
        if let Some(interval) = self.multipart_heartbeat {
            streaming.multipart_heartbeat =
                positive(interval, "subscriptions.multipart_heartbeat")?;
        }
        if let Some(Seconds(interval)) = self.incremental_heartbeat {
            anyhow::ensure!(
                interval.is_none_or(|d| !d.is_zero()),
                "`subscriptions.incremental_heartbeat` must be more than 0 seconds or false"
            );
            streaming.incremental_heartbeat = interval;
        }
        if let Some(interval) = self.sse_keep_alive {
            streaming.sse_keep_alive = positive(interval, "subscriptions.sse_keep_alive")?;
        }
        Ok(())
    }
}

/// `[errors]`: what clients see of upstream failures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsSection {
    /// Show clients upstream URLs, transport messages, upstream error bodies and stack traces
    /// (default false: development only).
    pub expose_upstream_details: Option<bool>,
}

/// `[introspection]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionSection {
    /// Whether `__schema` and `__type` may be queried (default true; `__typename` always).
    pub enabled: Option<bool>,
}

/// `[cors]`: which browser origins may call the gateway.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSection {
    /// Allowed origins (`https://app.example.com`), or `["*"]` for any (not with
    /// credentials). Default: none (no CORS headers; same-origin browsers only).
    pub origins: Option<Vec<String>>,
    /// Whether browsers may send cookies and credentials (default false).
    pub allow_credentials: Option<bool>,
    /// How long browsers may cache a preflight answer, in seconds.
    pub max_age: Option<Seconds>,
}

/// `[csrf]`: refusing requests a browser could send cross-origin without a preflight.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsrfSection {
    /// Whether the check is on (default true).
    pub enabled: Option<bool>,
    /// Headers of which one must be present and non-empty on such a request (default
    /// `apollo-require-preflight`, `x-apollo-operation-name`).
    pub required_headers: Option<Vec<String>>,
    /// Whether GET requests are checked too (default false: GET queries are allowed; GET
    /// mutations are always refused).
    pub check_get: Option<bool>,
}

/// `[persisted_queries]`: automatic persisted queries and the allow-list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistedQueriesSection {
    /// Apollo's automatic persisted queries (default true).
    pub apq: Option<bool>,
    /// Where APQ documents are kept: `"memory"` (default) or a `redis://` URL shared by every
    /// gateway of a fleet.
    pub store: Option<String>,
    /// Bytes of documents the memory store keeps (default 16 MiB).
    pub memory_bytes: Option<u64>,
    /// The prefix of the keys in Redis (default `quilt:apq:`).
    pub prefix: Option<String>,
    /// Seconds a document stays in Redis after it was last stored (default one day; `false`:
    /// until Redis evicts it).
    pub ttl: Option<Seconds>,
    /// A persisted-query manifest (Apollo's JSON manifest or an `{ "id": "body" }` map): its
    /// operations may be sent by id.
    pub manifest: Option<std::path::PathBuf>,
    /// Serve only the manifest's operations (default false).
    pub only_persisted: Option<bool>,
}

impl CorsSection {
    /// The server's CORS settings; `None` when no origin is configured (no CORS headers).
    pub fn to_server(&self) -> anyhow::Result<Option<quilt_server::Cors>> {
        let Some(origins) = self.origins.clone().filter(|o| !o.is_empty()) else {
            return Ok(None);
        };
        let cors = quilt_server::Cors {
            origins,
            allow_credentials: self.allow_credentials.unwrap_or(false),
            max_age: match self.max_age {
                Some(seconds) => Some(seconds.required("cors.max_age")?),
                None => None,
            },
            ..quilt_server::Cors::default()
        };
        cors.validate()
            .map_err(|e| anyhow::anyhow!("[cors]: {e}"))?;
        Ok(Some(cors))
    }
}

impl CsrfSection {
    /// The server's CSRF settings.
    pub fn to_server(&self) -> anyhow::Result<quilt_server::Csrf> {
        let mut csrf = quilt_server::Csrf::default();
        if let Some(enabled) = self.enabled {
            csrf.enabled = enabled;
        }
        if let Some(headers) = &self.required_headers {
            for name in headers {
                http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    anyhow::anyhow!("[csrf] required_headers: `{name}` is not a header name")
                })?;
            }
            csrf.required_headers = headers.clone();
        }
        if let Some(check_get) = self.check_get {
            csrf.check_get = check_get;
        }
        Ok(csrf)
    }
}

/// Where automatic persisted queries are kept.
#[derive(Debug, Clone)]
pub enum ApqStore {
    /// In the process (each serving thread of it shares one store).
    Memory,
    /// In Redis, shared by every gateway that names it.
    Redis(quilt_server::RedisStoreOptions),
}

impl PersistedQueriesSection {
    /// The store the section names (`"memory"` or a `redis://`/`rediss://` URL).
    pub fn store(&self) -> anyhow::Result<ApqStore> {
        let store = self.store.as_deref().unwrap_or("memory");
        if store == "memory" {
            return Ok(ApqStore::Memory);
        }
        anyhow::ensure!(
            store.starts_with("redis://") || store.starts_with("rediss://"),
            "[persisted_queries] store must be \"memory\" or a redis:// URL, not `{store}`"
        );
        let mut options = quilt_server::RedisStoreOptions::new(store);
        if let Some(prefix) = &self.prefix {
            options.prefix = prefix.clone();
        }
        if let Some(Seconds(ttl)) = self.ttl {
            options.ttl = ttl;
        }
        Ok(ApqStore::Redis(options))
    }

    /// The manifest the section names, read and parsed.
    pub fn manifest(&self) -> anyhow::Result<Option<quilt_server::Manifest>> {
        let Some(path) = &self.manifest else {
            anyhow::ensure!(
                !self.only_persisted.unwrap_or(false),
                "[persisted_queries] only_persisted needs a manifest"
            );
            return Ok(None);
        };
        let manifest = quilt_server::Manifest::from_file(path)
            .map_err(|e| anyhow::anyhow!("[persisted_queries] manifest {}: {e}", path.display()))?;
        Ok(Some(manifest))
    }
}

#[cfg(test)]
mod tests;
