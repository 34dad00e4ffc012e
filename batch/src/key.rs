//! The scope of a batch: requests are merged only when everything that reaches the wire besides
//! the document is equal, so that requests with different credentials never share an upstream
//! request.

use http::HeaderName;
use quilt_executor::Request;
use serde_json::Value;

/// An opaque key: requests with equal keys (and the same operation type) may be merged.
///
/// It holds the full bytes of what it was built from, not a hash, so two different credentials
/// can never collide into one batch.
///
/// ```
/// use quilt_batch::ScopeKey;
/// assert_eq!(ScopeKey::from("tenant-a"), ScopeKey::new(b"tenant-a".to_vec()));
/// assert_ne!(ScopeKey::from("tenant-a"), ScopeKey::from("tenant-b"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ScopeKey(Vec<u8>);

impl ScopeKey {
    /// A key made of these bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Appends one length-prefixed part (so that `("ab", "c")` and `("a", "bc")` differ).
    pub fn push(&mut self, part: &[u8]) {
        self.0.extend_from_slice(&(part.len() as u64).to_le_bytes());
        self.0.extend_from_slice(part);
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for ScopeKey {
    fn from(value: &str) -> Self {
        Self(value.as_bytes().to_vec())
    }
}

impl From<String> for ScopeKey {
    fn from(value: String) -> Self {
        Self(value.into_bytes())
    }
}

/// The default scope: `extensions.endpoint`, `extensions.headers` and
/// `extensions.connectionParams` (the per-request overrides executors read, as in graphql-tools),
/// and the [`Context`](quilt_executor::Context)'s headers and connection params (which
/// executors may forward). Requests with uploads are never merged (`None`).
///
/// Header order matters for equality (a request whose headers come in another order simply
/// gets a batch of its own), byte values are compared exactly.
pub fn default_scope_key(request: &Request) -> Option<ScopeKey> {
    scope_key(request, |key, headers| {
        key.push(&(headers.len() as u64).to_le_bytes());
        for (name, value) in headers {
            key.push(name.as_str().as_bytes());
            key.push(value.as_bytes());
        }
    })
}

/// [`default_scope_key`] comparing only the client headers `names` (each one's values, in
/// order): for an executor that forwards just those, so that headers it never sends (a user
/// agent, a trace context, a proxy's request id, all different on every request) do not keep
/// requests apart.
///
/// ```
/// use http::{HeaderMap, header::{AUTHORIZATION, USER_AGENT}};
/// use quilt_batch::scope_key_of_headers;
/// use quilt_executor::{Context, Request};
/// let with = |agent: &str| {
///     let mut headers = HeaderMap::new();
///     headers.insert(AUTHORIZATION, "Bearer 1".parse().unwrap());
///     headers.insert(USER_AGENT, agent.parse().unwrap());
///     let mut request = Request::new("{ a }").unwrap();
///     request.context = Context::from_headers(headers);
///     request
/// };
/// let names = [AUTHORIZATION];
/// assert_eq!(scope_key_of_headers(&with("curl"), &names), scope_key_of_headers(&with("firefox"), &names));
/// ```
pub fn scope_key_of_headers(request: &Request, names: &[HeaderName]) -> Option<ScopeKey> {
    scope_key(request, |key, headers| {
        for name in names {
            for value in headers.get_all(name) {
                key.push(name.as_str().as_bytes());
                key.push(value.as_bytes());
            }
            key.push(b"\0end");
        }
    })
}

/// The scope key: the per-request overrides, the headers as `push_headers` writes them, the
/// connection params; `None` for a request with uploads.
fn scope_key(
    request: &Request,
    push_headers: impl FnOnce(&mut ScopeKey, &http::HeaderMap),
) -> Option<ScopeKey> {
    if !request.uploads.is_empty() {
        return None;
    }
    let mut key = ScopeKey::default();
    for name in ["endpoint", "headers", "connectionParams"] {
        match request.extensions.get(name) {
            Some(value) => key.push(json_bytes(value).as_slice()),
            None => key.push(b"\0absent"),
        }
    }
    push_headers(&mut key, request.context.headers());
    match request.context.connection_params() {
        Some(params) => key.push(&json_bytes(&Value::Object(params.clone()))),
        None => key.push(b"\0absent"),
    }
    Some(key)
}

fn json_bytes(value: &Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail (its keys are strings).
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};
    use quilt_executor::{Context, Upload};
    use serde_json::json;

    fn request() -> Request {
        Request::new("{ hello }").unwrap()
    }

    #[test]
    fn equal_requests_share_a_scope() {
        assert_eq!(default_scope_key(&request()), default_scope_key(&request()));
    }

    #[test]
    fn different_context_headers_do_not_share_a_scope() {
        let mut a = HeaderMap::new();
        a.insert("authorization", HeaderValue::from_static("Bearer a"));
        let mut b = HeaderMap::new();
        b.insert("authorization", HeaderValue::from_static("Bearer b"));
        let ra = request().context(Context::from_headers(a));
        let rb = request().context(Context::from_headers(b));
        assert_ne!(default_scope_key(&ra), default_scope_key(&rb));
        assert_ne!(default_scope_key(&ra), default_scope_key(&request()));
    }

    #[test]
    fn extension_overrides_are_part_of_the_scope() {
        let a = request().extension("endpoint", json!("http://a"));
        let b = request().extension("endpoint", json!("http://b"));
        assert_ne!(default_scope_key(&a), default_scope_key(&b));
        let h = request().extension("headers", json!({"x-user": "1"}));
        assert_ne!(default_scope_key(&h), default_scope_key(&request()));
        let p = request().extension("connectionParams", json!({"token": "t"}));
        assert_ne!(default_scope_key(&p), default_scope_key(&request()));
        let other = request().extension("tracing", json!(true));
        assert_eq!(default_scope_key(&other), default_scope_key(&request()));
    }

    #[test]
    fn connection_params_are_part_of_the_scope() {
        let mut params = quilt_executor::JsonMap::new();
        params.insert("token".into(), json!("secret"));
        let a = request().context(Context::default().with_connection_params(params));
        assert_ne!(default_scope_key(&a), default_scope_key(&request()));
    }

    #[test]
    fn uploads_are_never_merged() {
        let r = Request::new("mutation($f: Upload) { upload(file: $f) { size } }")
            .unwrap()
            .upload("f", Upload::new("a.txt", "A"));
        assert_eq!(default_scope_key(&r), None);
    }
}
