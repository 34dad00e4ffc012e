//! Which of a client's headers a gateway sends to a service, and which it adds or drops: the
//! rules of Apollo Router's `headers:` section (propagate, insert, remove), applied in order.
//!
//! ```
//! use http::{HeaderMap, HeaderValue};
//! use quilt_executor::HeaderRules;
//!
//! let rules = HeaderRules::new()
//!     .propagate(http::header::AUTHORIZATION)
//!     .propagate_renamed("x-tenant", "x-tenant-id", Some("public"))
//!     .unwrap()
//!     .propagate_matching("^x-trace-")
//!     .unwrap()
//!     .insert("x-api-key", "secret")
//!     .unwrap();
//! let mut client = HeaderMap::new();
//! client.insert("x-trace-id", HeaderValue::from_static("42"));
//! client.insert("cookie", HeaderValue::from_static("session=1"));
//! let upstream = rules.apply(&client);
//! assert_eq!(upstream["x-trace-id"], "42");
//! assert_eq!(upstream["x-tenant-id"], "public");
//! assert_eq!(upstream["x-api-key"], "secret");
//! assert!(upstream.get("cookie").is_none());
//! ```

use std::fmt;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// The headers a gateway sends to one service, computed from the client's request headers by
/// rules applied in order to an initially empty set: [`propagate`](Self::propagate) copies
/// client headers (by name, optionally renamed or with a default, or every name a regular
/// expression matches), [`insert`](Self::insert) sets a fixed value, [`remove`](Self::remove)
/// drops what earlier rules put in. A later rule replaces an earlier rule's value of the same
/// name.
///
/// Names are compared case-insensitively (HTTP header names are); regular expressions match
/// the lowercase name and are case-insensitive. A client header that repeats a name propagates
/// with all its values.
///
/// `HeaderRules::new()` sends nothing; [`HeaderRules::forward_authorization`] is the gateway's
/// usual default (the client's `Authorization`). It deserializes (serde) from a list of rules,
/// each a one-key map, as a configuration file holds it:
///
/// ```toml
/// headers = [
///   { propagate = { named = "authorization" } },
///   { propagate = { named = "x-tenant", rename = "x-tenant-id", default = "public" } },
///   { propagate = { matching = "^x-trace-" } },
///   { insert = { name = "x-api-key", value = "secret" } },
///   { remove = { named = "cookie" } },
///   { remove = { matching = "^x-internal-" } },
/// ]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct HeaderRules {
    rules: Vec<HeaderRule>,
}

/// One header rule; see [`HeaderRules`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HeaderRule {
    /// Copy client headers.
    Propagate(Propagate),
    /// Set a header to a fixed value.
    Insert(Insert),
    /// Drop headers earlier rules set.
    Remove(Remove),
}

/// Which client headers a propagate rule copies.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawPropagate")]
pub enum Propagate {
    /// One header by name; sent as `rename` when given; `default` is sent when the client
    /// did not send the header.
    Named {
        /// The client's header.
        named: HeaderName,
        /// The name to send it as (default: the same).
        rename: Option<HeaderName>,
        /// The value to send when the client sent none.
        default: Option<HeaderValue>,
    },
    /// Every client header whose (lowercase) name the expression matches.
    Matching(Pattern),
}

/// A header a rule sets to a fixed value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawInsert")]
pub struct Insert {
    /// The header.
    pub name: HeaderName,
    /// Its value.
    pub value: HeaderValue,
}

/// Which headers a remove rule drops.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawRemove")]
pub enum Remove {
    /// One header by name.
    Named(HeaderName),
    /// Every header whose (lowercase) name the expression matches.
    Matching(Pattern),
}

/// A case-insensitive regular expression over header names.
#[derive(Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// Compiles `expression` (the `regex` crate's syntax), case-insensitive.
    pub fn new(expression: &str) -> Result<Self, regex::Error> {
        RegexBuilder::new(expression)
            .case_insensitive(true)
            .build()
            .map(Self)
    }

    /// Whether the expression matches somewhere in `name`.
    pub fn is_match(&self, name: &HeaderName) -> bool {
        self.0.is_match(name.as_str())
    }
}

/// Two patterns are equal when their expressions are the same text.
impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/i", self.0.as_str())
    }
}

impl HeaderRules {
    /// No rules: nothing is sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client's `Authorization` propagated, nothing else: the gateway's default.
    pub fn forward_authorization() -> Self {
        Self::new().propagate(AUTHORIZATION)
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[HeaderRule] {
        &self.rules
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Adds a rule at the end.
    pub fn rule(mut self, rule: HeaderRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds rules at the end.
    pub fn extend(mut self, rules: impl IntoIterator<Item = HeaderRule>) -> Self {
        self.rules.extend(rules);
        self
    }

    /// Propagates the client's header `name` as it is.
    pub fn propagate(self, name: HeaderName) -> Self {
        self.rule(HeaderRule::Propagate(Propagate::Named {
            named: name,
            rename: None,
            default: None,
        }))
    }

    /// Propagates the client's header `name` as `rename`, with `default` sent when the client
    /// sent none; an error for an invalid header name or value.
    pub fn propagate_renamed(
        self,
        name: &str,
        rename: &str,
        default: Option<&str>,
    ) -> Result<Self, http::Error> {
        Ok(self.rule(HeaderRule::Propagate(Propagate::Named {
            named: HeaderName::from_bytes(name.as_bytes())?,
            rename: Some(HeaderName::from_bytes(rename.as_bytes())?),
            default: default.map(HeaderValue::from_str).transpose()?,
        })))
    }

    /// Propagates every client header whose name `expression` matches.
    pub fn propagate_matching(self, expression: &str) -> Result<Self, regex::Error> {
        Ok(
            self.rule(HeaderRule::Propagate(Propagate::Matching(Pattern::new(
                expression,
            )?))),
        )
    }

    /// Sends `name: value` with every request.
    pub fn insert(self, name: &str, value: &str) -> Result<Self, http::Error> {
        let name = HeaderName::from_bytes(name.as_bytes())?;
        let value = HeaderValue::from_str(value)?;
        Ok(self.rule(HeaderRule::Insert(Insert { name, value })))
    }

    /// Drops the header `name` that earlier rules set.
    pub fn remove(self, name: HeaderName) -> Self {
        self.rule(HeaderRule::Remove(Remove::Named(name)))
    }

    /// Drops every header earlier rules set whose name `expression` matches.
    pub fn remove_matching(self, expression: &str) -> Result<Self, regex::Error> {
        Ok(self.rule(HeaderRule::Remove(Remove::Matching(Pattern::new(
            expression,
        )?))))
    }

    /// Whether a rule may propagate the client's header `name` (then a WebSocket executor, which
    /// cannot send per-request headers, forwards it another way).
    pub fn propagates(&self, name: &HeaderName) -> bool {
        self.rules.iter().any(|rule| match rule {
            HeaderRule::Propagate(Propagate::Named { named, .. }) => named == name,
            HeaderRule::Propagate(Propagate::Matching(pattern)) => pattern.is_match(name),
            _ => false,
        })
    }

    /// The headers to send for a client request with headers `client`.
    pub fn apply(&self, client: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        for rule in &self.rules {
            match rule {
                HeaderRule::Propagate(Propagate::Named {
                    named,
                    rename,
                    default,
                }) => {
                    let target = rename.as_ref().unwrap_or(named);
                    let mut values = client.get_all(named).iter().peekable();
                    if values.peek().is_some() {
                        out.remove(target);
                        for value in values {
                            out.append(target.clone(), value.clone());
                        }
                    } else if let Some(default) = default {
                        out.insert(target.clone(), default.clone());
                    }
                }
                HeaderRule::Propagate(Propagate::Matching(pattern)) => {
                    for name in client.keys().filter(|name| pattern.is_match(name)) {
                        out.remove(name);
                        for value in client.get_all(name) {
                            out.append(name.clone(), value.clone());
                        }
                    }
                }
                HeaderRule::Insert(Insert { name, value }) => {
                    out.insert(name.clone(), value.clone());
                }
                HeaderRule::Remove(Remove::Named(name)) => {
                    out.remove(name);
                }
                HeaderRule::Remove(Remove::Matching(pattern)) => {
                    let matched: Vec<HeaderName> = out
                        .keys()
                        .filter(|name| pattern.is_match(name))
                        .cloned()
                        .collect();
                    for name in matched {
                        out.remove(name);
                    }
                }
            }
        }
        out
    }
}

/// `{ named = "...", rename = "...", default = "..." }` or `{ matching = "..." }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPropagate {
    named: Option<String>,
    matching: Option<String>,
    rename: Option<String>,
    default: Option<String>,
}

/// `{ name = "...", value = "..." }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInsert {
    name: String,
    value: String,
}

/// `{ named = "..." }` or `{ matching = "..." }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemove {
    named: Option<String>,
    matching: Option<String>,
}

fn header_name(name: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("`{name}` is not a header name"))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|_| format!("the value of `{name}` is not a header value"))
}

fn pattern(expression: &str) -> Result<Pattern, String> {
    Pattern::new(expression).map_err(|e| format!("`{expression}` is not a regular expression: {e}"))
}

impl TryFrom<RawPropagate> for Propagate {
    type Error = String;

    fn try_from(raw: RawPropagate) -> Result<Self, String> {
        match (raw.named, raw.matching) {
            (Some(named), None) => Ok(Propagate::Named {
                rename: raw.rename.as_deref().map(header_name).transpose()?,
                default: raw
                    .default
                    .as_deref()
                    .map(|d| header_value(&named, d))
                    .transpose()?,
                named: header_name(&named)?,
            }),
            (None, Some(matching)) if raw.rename.is_none() && raw.default.is_none() => {
                Ok(Propagate::Matching(pattern(&matching)?))
            }
            (None, Some(_)) => {
                Err("`rename` and `default` go with `named`, not with `matching`".into())
            }
            _ => Err("propagate takes exactly one of `named` and `matching`".into()),
        }
    }
}

impl TryFrom<RawInsert> for Insert {
    type Error = String;

    fn try_from(raw: RawInsert) -> Result<Self, String> {
        Ok(Insert {
            value: header_value(&raw.name, &raw.value)?,
            name: header_name(&raw.name)?,
        })
    }
}

impl TryFrom<RawRemove> for Remove {
    type Error = String;

    fn try_from(raw: RawRemove) -> Result<Self, String> {
        match (raw.named, raw.matching) {
            (Some(named), None) => Ok(Remove::Named(header_name(&named)?)),
            (None, Some(matching)) => Ok(Remove::Matching(pattern(&matching)?)),
            _ => Err("remove takes exactly one of `named` and `matching`".into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn client(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn sent(map: &HeaderMap) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = map
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn no_rules_send_nothing_and_the_default_sends_only_authorization() {
        let headers = client(&[("authorization", "Bearer a"), ("cookie", "s=1")]);
        assert!(HeaderRules::new().apply(&headers).is_empty());
        assert_eq!(
            sent(&HeaderRules::forward_authorization().apply(&headers)),
            pairs(&[("authorization", "Bearer a")])
        );
        assert!(
            HeaderRules::forward_authorization()
                .apply(&HeaderMap::new())
                .is_empty()
        );
    }

    #[test]
    fn propagate_by_name_renames_and_falls_back_to_the_default() {
        let rules = HeaderRules::new()
            .propagate_renamed("x-tenant", "x-tenant-id", Some("none"))
            .unwrap();
        assert!(
            HeaderRules::new()
                .propagate_renamed("x-a", "bad name", None)
                .is_err()
        );
        assert_eq!(
            sent(&rules.apply(&client(&[("X-Tenant", "acme")]))),
            pairs(&[("x-tenant-id", "acme")])
        );
        assert_eq!(
            sent(&rules.apply(&client(&[]))),
            pairs(&[("x-tenant-id", "none")])
        );
    }

    #[test]
    fn propagate_by_expression_copies_every_value_of_every_matching_name() {
        let rules = HeaderRules::new().propagate_matching("^X-Trace-").unwrap();
        let headers = client(&[
            ("x-trace-id", "1"),
            ("x-trace-span", "2"),
            ("x-trace-span", "3"),
            ("x-other", "4"),
            ("pre-x-trace-id", "5"),
        ]);
        assert_eq!(
            sent(&rules.apply(&headers)),
            pairs(&[
                ("x-trace-id", "1"),
                ("x-trace-span", "2"),
                ("x-trace-span", "3")
            ])
        );
    }

    #[test]
    fn rules_apply_in_order_later_ones_replacing_and_removing_earlier_results() {
        let rules = HeaderRules::new()
            .propagate_matching("^x-")
            .unwrap()
            .insert("x-api-key", "secret")
            .unwrap()
            .remove(HeaderName::from_static("x-internal"))
            .remove_matching("debug")
            .unwrap();
        let headers = client(&[
            ("x-api-key", "from-the-client"),
            ("x-internal", "1"),
            ("x-debug-level", "9"),
            ("x-kept", "yes"),
        ]);
        assert_eq!(
            sent(&rules.apply(&headers)),
            pairs(&[("x-api-key", "secret"), ("x-kept", "yes")])
        );
        // Propagating after an insert overrides it with the client's value.
        let rules = HeaderRules::new()
            .insert("x-api-key", "secret")
            .unwrap()
            .propagate(HeaderName::from_static("x-api-key"));
        assert_eq!(
            sent(&rules.apply(&headers)),
            pairs(&[("x-api-key", "from-the-client")])
        );
        assert!(rules.propagates(&HeaderName::from_static("x-api-key")));
        assert!(!rules.propagates(&AUTHORIZATION));
    }

    #[derive(Deserialize)]
    struct File {
        headers: HeaderRules,
    }

    #[test]
    fn rules_read_from_a_list_of_one_key_tables_and_bad_ones_are_named() {
        let text = r#"headers = [
            { propagate = { named = "x-tenant", rename = "x-tenant-id", default = "none" } },
            { propagate = { matching = "^x-trace-" } },
            { insert = { name = "x-api-key", value = "secret" } },
            { remove = { named = "cookie" } },
            { remove = { matching = "^x-internal-" } },
        ]"#;
        let file: File = toml::from_str(text).unwrap();
        assert_eq!(file.headers.rules().len(), 5);
        let headers = client(&[("x-trace-a", "1"), ("cookie", "c")]);
        assert_eq!(
            sent(&file.headers.apply(&headers)),
            pairs(&[
                ("x-api-key", "secret"),
                ("x-tenant-id", "none"),
                ("x-trace-a", "1")
            ])
        );
        for (bad, says) in [
            (
                r#"headers = [{ propagate = { named = "a", matching = "b" } }]"#,
                "exactly one of",
            ),
            (
                r#"headers = [{ propagate = { matching = "b", rename = "c" } }]"#,
                "go with `named`",
            ),
            (
                r#"headers = [{ propagate = { matching = "(" } }]"#,
                "not a regular expression",
            ),
            (
                r#"headers = [{ insert = { name = "bad name", value = "v" } }]"#,
                "not a header name",
            ),
            (
                r#"headers = [{ insert = { name = "a", value = "line\nbreak" } }]"#,
                "not a header value",
            ),
            (r#"headers = [{ remove = {} }]"#, "exactly one of"),
            (
                r#"headers = [{ rename = { named = "a" } }]"#,
                "unknown variant",
            ),
            (
                r#"headers = [{ insert = { name = "a", value = "b", extra = 1 } }]"#,
                "unknown field",
            ),
        ] {
            let error = toml::from_str::<File>(bad).err().unwrap().to_string();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
