//! Stage 1b: CSRF prevention. A browser sends some requests to another origin without asking
//! first (no CORS preflight): a POST whose content type is `application/x-www-form-urlencoded`,
//! `multipart/form-data` or `text/plain` (or that has none), and a GET. Such a request carries
//! the user's cookies, so a page on any site could run a mutation with them; the CORS policy
//! only hides the answer, it does not stop the request. Requiring either another content type
//! or a header a page cannot set without a preflight closes that hole, as Apollo Router and
//! Apollo Server do.
//!
//! WebSocket upgrades are never preflighted either: they are checked against the allowed
//! origins instead ([`Cors`](crate::Cors), `ws/`).

use http::{HeaderMap, header};

use crate::error::RequestError;

/// The content types a browser sends cross-origin without a preflight.
const SIMPLE_CONTENT_TYPES: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
];

/// CSRF prevention settings. On by default: a POST that a browser could send from another
/// origin without a CORS preflight (content type `application/x-www-form-urlencoded`,
/// `multipart/form-data`, `text/plain`, or none) must carry a non-empty header from
/// [`Csrf::required_headers`], or it is refused with `400` and `CSRF_PREVENTED`. Clients that
/// send `application/json` pass untouched; upload clients (`multipart/form-data`) send
/// `apollo-require-preflight: true`, as Apollo's upload client does.
///
/// With [`Csrf::check_websocket_origin`] (default), a WebSocket upgrade whose `Origin` is
/// neither the server's own (the `Host` it was reached at), nor one of the allowed CORS
/// origins ([`Cors::origins`](crate::Cors::origins)), is refused with `403`; clients that send
/// no `Origin` (not browsers) pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrf {
    /// Whether requests are checked at all. Default true.
    pub enabled: bool,
    /// The headers, any one of which (with a non-empty value) lets a request through whatever
    /// its content type; header names, case-insensitive. Default `x-apollo-operation-name` and
    /// `apollo-require-preflight`, the two Apollo clients send.
    pub required_headers: Vec<String>,
    /// Whether GET requests that run an operation are checked too (a GET never carries a
    /// content type, so it then needs one of the headers). Default false: GET only runs
    /// queries (mutations over GET are refused with `405`), and plain GET clients (and the
    /// GraphQL-over-HTTP audit) send no such header. The GraphiQL page and SSE event streams
    /// opened by token are never checked.
    pub check_get: bool,
    /// Whether WebSocket upgrades are checked against the allowed origins (see above).
    /// Default true.
    pub check_websocket_origin: bool,
}

impl Default for Csrf {
    fn default() -> Self {
        Self {
            enabled: true,
            required_headers: vec![
                "x-apollo-operation-name".into(),
                "apollo-require-preflight".into(),
            ],
            check_get: false,
            check_websocket_origin: true,
        }
    }
}

impl Csrf {
    /// No CSRF prevention and no WebSocket origin check: for servers that only
    /// non-browser clients reach.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            check_websocket_origin: false,
            ..Self::default()
        }
    }

    /// Refuses a POST (or, with [`Csrf::check_get`], a GET) that a browser could have sent
    /// from another origin without a preflight and that carries none of the required headers.
    pub(crate) fn check(&self, is_get: bool, headers: &HeaderMap) -> Result<(), RequestError> {
        if !self.enabled || (is_get && !self.check_get) {
            return Ok(());
        }
        if (!is_get && content_type_forces_preflight(headers)) || self.has_required_header(headers)
        {
            return Ok(());
        }
        Err(RequestError::CsrfPrevented(
            self.required_headers.join(", "),
        ))
    }

    fn has_required_header(&self, headers: &HeaderMap) -> bool {
        self.required_headers.iter().any(|name| {
            headers
                .get_all(name.as_str())
                .iter()
                .any(|value| !value.as_bytes().iter().all(u8::is_ascii_whitespace))
        })
    }
}

/// Whether the request's content type is one a browser only sends after a preflight: present,
/// well-formed, and not one of the three "simple" ones. A missing, repeated or malformed
/// content type counts as simple (a browser's parser may read it differently).
fn content_type_forces_preflight(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    if !is_token(kind) || !is_token(subtype) {
        return false;
    }
    !SIMPLE_CONTENT_TYPES
        .iter()
        .any(|simple| simple.eq_ignore_ascii_case(essence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn simple_content_types_need_a_header() {
        let csrf = Csrf::default();
        for content_type in [
            "text/plain",
            "TEXT/PLAIN; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "not a media type",
        ] {
            let plain = headers(&[("content-type", content_type)]);
            assert!(csrf.check(false, &plain).is_err(), "{content_type}");
            let mut with = plain.clone();
            with.insert("apollo-require-preflight", HeaderValue::from_static("true"));
            assert!(csrf.check(false, &with).is_ok(), "{content_type}");
            let mut empty = plain.clone();
            empty.insert("x-apollo-operation-name", HeaderValue::from_static(" "));
            assert!(csrf.check(false, &empty).is_err(), "{content_type}");
        }
        assert!(csrf.check(false, &HeaderMap::new()).is_err());
        // Two content types: a browser may have sent a simple one.
        let two = headers(&[
            ("content-type", "application/json"),
            ("content-type", "text/plain"),
        ]);
        assert!(csrf.check(false, &two).is_err());
    }

    #[test]
    fn json_passes_and_get_only_when_asked() {
        let csrf = Csrf::default();
        let json = headers(&[("content-type", "application/json")]);
        assert!(csrf.check(false, &json).is_ok());
        assert!(csrf.check(true, &HeaderMap::new()).is_ok());
        let strict = Csrf {
            check_get: true,
            required_headers: vec!["x-my-client".into()],
            ..Csrf::default()
        };
        // A GET's content type does not count.
        assert!(strict.check(true, &json).is_err());
        assert!(
            strict
                .check(true, &headers(&[("x-my-client", "1")]))
                .is_ok()
        );
        assert!(Csrf::disabled().check(false, &HeaderMap::new()).is_ok());
    }
}
