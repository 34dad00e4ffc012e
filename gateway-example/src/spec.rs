//! What the gateway is told about one subschema: where it is, how to reach it, how to reshape
//! it. The same structure comes from a
//! `--subschema NAME=URL[,ws=WS_URL][,subscriptions=ws|callback]` flag or from a
//! `[[subschemas]]` table of the TOML file.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use http::HeaderName;
use quilt_executor::{HeaderRule, HeaderRules, Propagate, Subprotocol};
use serde::{Deserialize, Deserializer};

/// One subschema to stitch.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubschemaSpec {
    /// The subschema's name (in logs and errors).
    pub name: String,
    /// The GraphQL-over-HTTP endpoint: queries, mutations, and the schema itself.
    pub url: String,
    /// The WebSocket endpoint for subscriptions; default: `url` with `http` → `ws`.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// The WebSocket subprotocol (default `graphql-transport-ws`).
    #[serde(default)]
    pub ws_protocol: WsProtocol,
    /// How subscriptions reach the service: over WebSocket (default) or with the HTTP callback
    /// protocol (the service POSTs events to the gateway's callback URL).
    #[serde(default)]
    pub subscriptions: SubscriptionTransport,
    /// The headers sent to the service: a table of fixed headers (`{ "x-api-key" = "k" }`,
    /// sent with every request and the WebSocket upgrade) or a list of rules computing them
    /// from the client's headers ([`HeaderRules`]). The client's `Authorization` comes first
    /// either way while `forward_authorization` is on.
    #[serde(default)]
    pub headers: HeadersSpec,
    /// The per-request timeout in seconds (default 10, below the server's 30 s request timeout).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// Whether a client's `Authorization` header is forwarded: as a header over HTTP, as
    /// `connectionParams.token` over WebSocket (default true).
    #[serde(default = "yes")]
    pub forward_authorization: bool,
    /// Whether identical queries in flight to this subschema share one HTTP request (default
    /// true; `--no-upstream-dedup` turns it off for every subschema).
    #[serde(default = "yes")]
    pub dedup: bool,
    /// How the subschema is reshaped before stitching.
    #[serde(default)]
    pub transforms: TransformSpec,
    /// How the GraphQL errors it answers reach clients (`[subschemas.errors]`).
    #[serde(default)]
    pub errors: ErrorsSpec,
    /// Whether the service answers `@defer` itself (graphql-yoga with its defer-stream
    /// plugin, Apollo Server...): the deferred fragments inside its root fields are then sent
    /// to it with `@defer` (default false: the gateway asks for the whole and splits the
    /// delivery itself).
    #[serde(default)]
    pub incremental_delivery: bool,
}

/// `[subschemas.errors]`: passed through without stack traces (the default), or redacted.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ErrorsSpec {
    /// Replace the messages of this subschema's errors with `Subgraph errors redacted`
    /// (the originals go to the log with the request id).
    #[serde(default)]
    pub redact: bool,
    /// The extension keys a redacted error keeps (default `["code"]`).
    #[serde(default)]
    pub allowed_extensions: Option<Vec<String>>,
}

impl ErrorsSpec {
    /// The stitched schema's setting for it.
    pub fn to_stitch(&self) -> quilt_stitch::SubschemaErrors {
        if self.redact {
            quilt_stitch::SubschemaErrors::Redact {
                allowed_extensions: self
                    .allowed_extensions
                    .clone()
                    .unwrap_or_else(|| vec!["code".to_owned()]),
            }
        } else {
            quilt_stitch::SubschemaErrors::PassThrough
        }
    }
}

fn yes() -> bool {
    true
}

impl SubschemaSpec {
    /// A subschema at `url` with the defaults.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            ws_url: None,
            ws_protocol: WsProtocol::default(),
            subscriptions: SubscriptionTransport::default(),
            headers: HeadersSpec::default(),
            timeout: None,
            forward_authorization: true,
            dedup: true,
            transforms: TransformSpec::default(),
            errors: ErrorsSpec::default(),
            incremental_delivery: false,
        }
    }

    /// Parses the `--subschema` flag: `NAME=URL`, then optionally `,ws=WS_URL` and
    /// `,subscriptions=ws|callback`.
    pub fn parse_flag(flag: &str) -> anyhow::Result<Self> {
        const FORM: &str = "NAME=URL[,ws=WS_URL][,subscriptions=ws|callback]";
        let (name, rest) = flag
            .split_once('=')
            .with_context(|| format!("`{flag}` is not {FORM}"))?;
        let mut parts = rest.split(',');
        let url = parts.next().unwrap_or_default();
        if name.is_empty() || url.is_empty() {
            bail!("`{flag}` is not {FORM}");
        }
        let mut spec = Self::new(name, url);
        for part in parts {
            match part.split_once('=') {
                Some(("ws", ws)) if !ws.is_empty() => spec.ws_url = Some(ws.to_owned()),
                Some(("subscriptions", "ws")) => {
                    spec.subscriptions = SubscriptionTransport::Ws;
                }
                Some(("subscriptions", "callback")) => {
                    spec.subscriptions = SubscriptionTransport::Callback;
                }
                _ => bail!(
                    "`{part}` in `{flag}`: only `ws=WS_URL` and `subscriptions=ws|callback` may \
                     follow the URL"
                ),
            }
        }
        Ok(spec)
    }

    /// The WebSocket URL: the configured one, or the HTTP URL with its scheme changed.
    pub fn ws_url(&self) -> String {
        match &self.ws_url {
            Some(url) => url.clone(),
            None if self.url.starts_with("https://") => self.url.replacen("https://", "wss://", 1),
            None => self.url.replacen("http://", "ws://", 1),
        }
    }
}

/// The `headers` of a subschema: fixed ones, or rules.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadersSpec {
    /// `headers = { "x-api-key" = "secret" }`: sent as they are with every request.
    Static(BTreeMap<String, String>),
    /// `headers = [ { propagate = { named = "x-tenant" } }, ... ]`: applied in order to the
    /// client's headers (see [`HeaderRules`]).
    Rules(HeaderRules),
}

impl Default for HeadersSpec {
    fn default() -> Self {
        Self::Static(BTreeMap::new())
    }
}

impl<'de> Deserialize<'de> for HeadersSpec {
    /// A table is the fixed form, an array the rules; each keeps its own error messages.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = HeadersSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of header names and values, or an array of header rules")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(HeadersSpec::Static)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                HeaderRules::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(HeadersSpec::Rules)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The client headers that the subschemas' header rules send on: two client requests that
/// differ in one of them must not share an execution (inbound deduplication, shared
/// subscriptions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardedHeaders {
    /// Headers forwarded by name (`authorization` when a subschema forwards it).
    pub names: Vec<HeaderName>,
    /// Whether some subschema forwards every header a regular expression matches: then no
    /// list of names says which headers make requests different.
    pub by_pattern: bool,
}

impl ForwardedHeaders {
    /// What the subschemas of `specs` forward.
    pub fn of<'a>(specs: impl IntoIterator<Item = &'a SubschemaSpec>) -> Self {
        let mut forwarded = Self::default();
        let mut add = |name: &HeaderName| {
            if !forwarded.names.contains(name) {
                forwarded.names.push(name.clone());
            }
        };
        for spec in specs {
            if spec.forward_authorization {
                add(&http::header::AUTHORIZATION);
            }
            let HeadersSpec::Rules(rules) = &spec.headers else {
                continue;
            };
            for rule in rules.rules() {
                match rule {
                    HeaderRule::Propagate(Propagate::Named { named, .. }) => add(named),
                    HeaderRule::Propagate(Propagate::Matching(_)) => forwarded.by_pattern = true,
                    HeaderRule::Insert(_) | HeaderRule::Remove(_) => {}
                }
            }
        }
        forwarded
    }
}

/// How a subschema's subscriptions travel.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum SubscriptionTransport {
    /// Over WebSocket (`ws_url`, `ws_protocol`).
    #[default]
    #[serde(rename = "ws")]
    Ws,
    /// The HTTP callback protocol (Apollo's `callbackSpec=1.0`): the subscription is POSTed to
    /// `url` and the service POSTs its events to the gateway's callback route.
    #[serde(rename = "callback")]
    Callback,
}

/// The WebSocket subprotocol of a subschema.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum WsProtocol {
    /// `graphql-transport-ws` (the graphql-ws library).
    #[default]
    #[serde(rename = "graphql-transport-ws")]
    GraphqlTransportWs,
    /// The legacy `graphql-ws` (subscriptions-transport-ws).
    #[serde(rename = "graphql-ws")]
    GraphqlWs,
}

impl From<WsProtocol> for Subprotocol {
    fn from(protocol: WsProtocol) -> Self {
        match protocol {
            WsProtocol::GraphqlTransportWs => Subprotocol::GraphqlTransportWs,
            WsProtocol::GraphqlWs => Subprotocol::LegacyGraphqlWs,
        }
    }
}

/// The transforms of a subschema, applied in this order: root fields filtered (by the service's
/// names), then types and root fields renamed.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransformSpec {
    /// Keep only these root fields (of every operation type).
    #[serde(default)]
    pub keep_root_fields: Option<Vec<String>>,
    /// Remove these root fields.
    #[serde(default)]
    pub remove_root_fields: Vec<String>,
    /// Prefix every type name except the root types and built-in scalars (`Acc_User`).
    #[serde(default)]
    pub type_prefix: Option<String>,
    /// Prefix every root field name (`acc_me`).
    #[serde(default)]
    pub root_field_prefix: Option<String>,
}

impl TransformSpec {
    /// Whether no transform is asked for.
    pub fn is_empty(&self) -> bool {
        self.keep_root_fields.is_none()
            && self.remove_root_fields.is_empty()
            && self.type_prefix.is_none()
            && self.root_field_prefix.is_none()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn incremental_delivery_is_off_unless_the_file_turns_it_on() {
        #[derive(Deserialize)]
        struct File {
            subschemas: Vec<SubschemaSpec>,
        }
        let file: File = toml::from_str(
            r#"
            [[subschemas]]
            name = "a"
            url = "http://a"
            incremental_delivery = true
            [[subschemas]]
            name = "b"
            url = "http://b"
            "#,
        )
        .unwrap();
        assert!(file.subschemas[0].incremental_delivery);
        assert!(!file.subschemas[1].incremental_delivery);
        assert!(!SubschemaSpec::new("c", "http://c").incremental_delivery);
    }

    #[test]
    fn forwarded_headers_are_named_by_the_rules_and_authorization() {
        #[derive(Deserialize)]
        struct File {
            subschemas: Vec<SubschemaSpec>,
        }
        let file: File = toml::from_str(
            r#"
            [[subschemas]]
            name = "a"
            url = "http://a"
            headers = [
              { propagate = { named = "x-tenant", rename = "x-t" } },
              { insert = { name = "x-key", value = "k" } },
            ]
            [[subschemas]]
            name = "b"
            url = "http://b"
            forward_authorization = false
            headers = { "x-key" = "k" }
            "#,
        )
        .unwrap();
        let forwarded = ForwardedHeaders::of(&file.subschemas);
        assert_eq!(forwarded.names, ["authorization", "x-tenant"]);
        assert!(!forwarded.by_pattern);
        assert_eq!(
            ForwardedHeaders::of(&file.subschemas[1..]),
            ForwardedHeaders::default()
        );
        let mut spec = SubschemaSpec::new("c", "http://c");
        spec.headers = HeadersSpec::Rules(HeaderRules::new().propagate_matching("^x-").unwrap());
        assert!(ForwardedHeaders::of([&spec]).by_pattern);
    }

    #[test]
    fn flags_parse_with_and_without_a_websocket_url() {
        let spec = SubschemaSpec::parse_flag("accounts=http://127.0.0.1:4001/graphql").unwrap();
        assert_eq!(spec.name, "accounts");
        assert_eq!(spec.ws_url(), "ws://127.0.0.1:4001/graphql");
        let spec = SubschemaSpec::parse_flag("seats=https://h/graphql,ws=wss://h/ws").unwrap();
        assert_eq!(spec.url, "https://h/graphql");
        assert_eq!(spec.ws_url(), "wss://h/ws");
        assert_eq!(
            SubschemaSpec::parse_flag("x=https://h/graphql")
                .unwrap()
                .ws_url(),
            "wss://h/graphql"
        );
        let spec = SubschemaSpec::parse_flag("r=http://h/graphql,subscriptions=callback").unwrap();
        assert_eq!(spec.subscriptions, SubscriptionTransport::Callback);
        let spec =
            SubschemaSpec::parse_flag("r=http://h/graphql,ws=ws://h/ws,subscriptions=ws").unwrap();
        assert_eq!(spec.subscriptions, SubscriptionTransport::Ws);
        for bad in [
            "a=http://h,subscriptions=sse",
            "accounts",
            "=http://h",
            "a=",
            "a=http://h,wss=x",
            "a=http://h,ws=",
        ] {
            assert!(SubschemaSpec::parse_flag(bad).is_err(), "{bad}");
        }
    }
}
