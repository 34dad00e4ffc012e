//! CORS as settings: which origins may call the server from a browser. The same list builds
//! the CORS layer of every route and decides which WebSocket upgrades are taken (a WebSocket
//! handshake is never preflighted, so the browser's `Origin` is checked by the server itself).

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer, ExposeHeaders};

/// Which origins browsers may call the server from.
///
/// ```
/// let cors = quilt_server::Cors {
///     origins: vec!["https://app.example.com".into()],
///     allow_credentials: true,
///     ..Default::default()
/// };
/// assert!(cors.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// The origins allowed (`scheme://host[:port]`, as browsers send them in `Origin`,
    /// compared case-insensitively), or `"*"` for every origin. Default none: browsers reach
    /// the server only from its own origin.
    pub origins: Vec<String>,
    /// Whether browsers may send cookies and HTTP authentication
    /// (`Access-Control-Allow-Credentials: true`). Not allowed with `"*"`. Default false.
    pub allow_credentials: bool,
    /// The request headers allowed; empty (the default) allows whatever the preflight asks for
    /// (the CSRF headers, `authorization`, tracing headers).
    pub allowed_headers: Vec<String>,
    /// How long browsers may cache a preflight's answer (`Access-Control-Max-Age`). Default
    /// none (the browser's own default, 5 s in most).
    pub max_age: Option<Duration>,
}

/// A [`Cors`] setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorsError {
    /// An origin that is not `scheme://host[:port]`.
    #[error(
        "invalid CORS origin {0:?}: write it as scheme://host[:port], e.g. https://app.example.com"
    )]
    InvalidOrigin(String),
    /// A header name that is not one.
    #[error("invalid header name {0:?} in the CORS allowed headers")]
    InvalidHeader(String),
    /// `"*"` with credentials, which browsers refuse.
    #[error("CORS cannot allow credentials for every origin (\"*\"): list the origins instead")]
    CredentialsWithAnyOrigin,
}

impl Cors {
    /// Every origin may call the server, without credentials.
    pub fn any() -> Self {
        Self {
            origins: vec!["*".into()],
            ..Self::default()
        }
    }

    /// These origins may call the server.
    pub fn origins<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            origins: origins.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Checks every setting; the error names the first bad one. [`Cors::layer`] drops what
    /// this refuses (an invalid origin or header, credentials with `"*"`), so a server never
    /// allows more than was meant.
    pub fn validate(&self) -> Result<(), CorsError> {
        for origin in &self.origins {
            if origin != "*" && normalize_origin(origin).is_none() {
                return Err(CorsError::InvalidOrigin(origin.clone()));
            }
        }
        for name in &self.allowed_headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(CorsError::InvalidHeader(name.clone()));
            }
        }
        if self.allow_credentials && self.allows_any() {
            return Err(CorsError::CredentialsWithAnyOrigin);
        }
        Ok(())
    }

    fn allows_any(&self) -> bool {
        self.origins.iter().any(|o| o == "*")
    }

    /// Whether `origin` (an `Origin` header's value) is allowed.
    pub fn allows_origin(&self, origin: &str) -> bool {
        if self.allows_any() {
            return true;
        }
        let Some(origin) = normalize_origin(origin) else {
            return false;
        };
        self.origins
            .iter()
            .filter_map(|allowed| normalize_origin(allowed))
            .any(|allowed| allowed == origin)
    }

    /// The CORS layer for these settings: methods GET, POST, PUT and DELETE (the SSE
    /// single-connection mode uses the last two), `x-request-id` exposed. Invalid settings are
    /// logged and left out (see [`Cors::validate`]).
    pub fn layer(&self) -> CorsLayer {
        if let Err(error) = self.validate() {
            tracing::error!(%error, "CORS settings: the invalid parts are ignored");
        }
        let any = self.allows_any();
        let origin = if any {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                self.origins
                    .iter()
                    .filter_map(|o| normalize_origin(o))
                    .filter_map(|o| HeaderValue::from_str(&o).ok()),
            )
        };
        let headers = if self.allowed_headers.is_empty() {
            AllowHeaders::mirror_request()
        } else {
            AllowHeaders::list(
                self.allowed_headers
                    .iter()
                    .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
            )
        };
        let mut layer = CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers(headers)
            .expose_headers(ExposeHeaders::list([HeaderName::from_static(
                "x-request-id",
            )]))
            .allow_credentials(self.allow_credentials && !any);
        if let Some(max_age) = self.max_age {
            layer = layer.max_age(max_age);
        }
        layer
    }
}

/// `scheme://host[:port]` in lower case with the scheme's default port left out, or `None`
/// when `origin` is not an origin.
fn normalize_origin(origin: &str) -> Option<String> {
    let url = url::Url::parse(origin.trim()).ok()?;
    let host = url.host_str()?;
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    Some(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// Whether a WebSocket upgrade with these headers may proceed: no `Origin` (not a browser), an
/// `Origin` whose host and port are those the request was sent to (`Host`), or an allowed one.
pub(crate) fn websocket_origin_allowed(headers: &HeaderMap, cors: Option<&Cors>) -> bool {
    let mut values = headers.get_all(header::ORIGIN).iter();
    let origin = match (values.next(), values.next()) {
        (None, _) => return true,
        (Some(value), None) => match value.to_str() {
            Ok(origin) => origin,
            Err(_) => return false,
        },
        (Some(_), Some(_)) => return false,
    };
    if same_origin(origin, headers) {
        return true;
    }
    cors.is_some_and(|cors| cors.allows_origin(origin))
}

/// Whether `origin` names the host and port of the request's `Host` header (the scheme is not
/// compared: behind a TLS-terminating proxy the server does not know it).
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let (Some(origin_host), Some(origin_port)) =
        (origin.host_str(), origin.port_or_known_default())
    else {
        return false;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Ok(host) = url::Url::parse(&format!("{}://{host}", origin.scheme())) else {
        return false;
    };
    host.host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
        && host.port_or_known_default() == Some(origin_port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origins_are_compared_normalized() {
        let cors = Cors::origins(["https://App.example.com/", "http://localhost:3000"]);
        assert!(cors.validate().is_ok());
        assert!(cors.allows_origin("https://app.example.com"));
        assert!(cors.allows_origin("https://app.example.com:443"));
        assert!(cors.allows_origin("http://localhost:3000"));
        assert!(!cors.allows_origin("http://localhost:3001"));
        assert!(!cors.allows_origin("https://evil.example"));
        assert!(!cors.allows_origin("null"));
        assert!(Cors::any().allows_origin("https://evil.example"));
    }

    #[test]
    fn bad_settings_are_named() {
        assert_eq!(
            Cors::origins(["app.example.com"]).validate(),
            Err(CorsError::InvalidOrigin("app.example.com".into()))
        );
        let credentials = Cors {
            allow_credentials: true,
            ..Cors::any()
        };
        assert_eq!(
            credentials.validate(),
            Err(CorsError::CredentialsWithAnyOrigin)
        );
        // The layer is still usable (tower-http panics on credentials with "*").
        let _ = credentials.layer();
    }

    #[test]
    fn websocket_origins() {
        let host = ("host", "127.0.0.1:4000");
        assert!(websocket_origin_allowed(&with(&[host]), None));
        assert!(websocket_origin_allowed(
            &with(&[host, ("origin", "http://127.0.0.1:4000")]),
            None
        ));
        assert!(!websocket_origin_allowed(
            &with(&[host, ("origin", "http://127.0.0.1:4001")]),
            None
        ));
        assert!(!websocket_origin_allowed(
            &with(&[host, ("origin", "https://evil.example")]),
            None
        ));
        let cors = Cors::origins(["https://app.example.com"]);
        assert!(websocket_origin_allowed(
            &with(&[host, ("origin", "https://app.example.com")]),
            Some(&cors)
        ));
        assert!(websocket_origin_allowed(
            &with(&[("host", "example.com"), ("origin", "https://example.com")]),
            None
        ));
    }
}
