//! Stage 1: content negotiation. Reads `Accept` once into the response formats the client takes.

use http::{HeaderMap, header};

/// The JSON media type of a single response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `application/graphql-response+json`: request errors answer 4xx.
    GraphQLResponse,
    /// `application/json`: every well-formed GraphQL response answers 200.
    Json,
}

impl JsonKind {
    /// The `Content-Type` value.
    pub fn content_type(self) -> &'static str {
        match self {
            JsonKind::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            JsonKind::Json => "application/json; charset=utf-8",
        }
    }
}

/// The stream media type of a streamed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// `text/event-stream` (GraphQL over SSE).
    Sse,
    /// `multipart/mixed`: Apollo's subscription protocol when `subscriptionSpec` is given,
    /// incremental delivery otherwise.
    Multipart {
        /// Whether the client asked for `subscriptionSpec=1.0` (payloads wrapped in
        /// `{"payload": ..}`, `{}` heartbeats).
        subscription_spec: bool,
    },
}

/// What the client's `Accept` header allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The preferred single-response media type, if any is acceptable.
    pub json: Option<JsonKind>,
    /// The preferred stream media type, if any is acceptable.
    pub stream: Option<StreamKind>,
    /// Whether `text/html` was asked for explicitly (GraphiQL).
    pub html: bool,
}

impl Accepted {
    /// Reads the `Accept` headers; no header means `application/json`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .peekable();
        if values.peek().is_none() {
            return Self {
                json: Some(JsonKind::Json),
                stream: None,
                html: false,
            };
        }
        let mut best_grj = 0.0f32;
        let mut best_json = 0.0f32;
        let mut best_stream: Option<(f32, StreamKind)> = None;
        let mut html = false;
        for range in values.flat_map(|v| v.split(',')) {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut subscription_spec = false;
            for param in parts {
                let (key, value) = param.split_once('=').unwrap_or((param, ""));
                let key = key.trim();
                if key.eq_ignore_ascii_case("q") {
                    q = value.trim().parse().unwrap_or(0.0);
                } else if key.eq_ignore_ascii_case("subscriptionSpec") {
                    subscription_spec = true;
                }
            }
            if q <= 0.0 {
                continue;
            }
            let stream = match media.as_str() {
                "application/graphql-response+json" => {
                    best_grj = best_grj.max(q);
                    None
                }
                "application/json" | "application/*" | "*/*" => {
                    best_json = best_json.max(q);
                    None
                }
                "text/event-stream" => Some(StreamKind::Sse),
                "multipart/mixed" => Some(StreamKind::Multipart { subscription_spec }),
                "text/html" => {
                    html = true;
                    None
                }
                _ => None,
            };
            if let Some(kind) = stream
                && best_stream.is_none_or(|(best, _)| q > best)
            {
                best_stream = Some((q, kind));
            }
        }
        let json = if best_grj > 0.0 && best_grj >= best_json {
            Some(JsonKind::GraphQLResponse)
        } else if best_json > 0.0 {
            Some(JsonKind::Json)
        } else {
            None
        };
        Self {
            json,
            stream: best_stream.map(|(_, kind)| kind),
            html,
        }
    }

    /// The media type for an error response: the client's JSON choice, else `application/json`.
    pub fn error_kind(&self) -> JsonKind {
        self.json.unwrap_or(JsonKind::Json)
    }

    /// Whether nothing the server produces is acceptable.
    pub fn is_unacceptable(&self) -> bool {
        self.json.is_none() && self.stream.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(value: &str) -> Accepted {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        Accepted::from_headers(&headers)
    }

    #[test]
    fn missing_accept_is_json() {
        assert_eq!(
            Accepted::from_headers(&HeaderMap::new()).json,
            Some(JsonKind::Json)
        );
    }

    #[test]
    fn prefers_graphql_response_json_on_ties_and_respects_q() {
        assert_eq!(
            accept("application/graphql-response+json, application/json").json,
            Some(JsonKind::GraphQLResponse)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json").json,
            Some(JsonKind::Json)
        );
        assert_eq!(accept("*/*").json, Some(JsonKind::Json));
        assert_eq!(accept("text/plain").json, None);
        assert!(accept("text/plain").is_unacceptable());
    }

    #[test]
    fn stream_kinds() {
        assert_eq!(accept("text/event-stream").stream, Some(StreamKind::Sse));
        assert_eq!(
            accept("multipart/mixed;subscriptionSpec=\"1.0\", application/json").stream,
            Some(StreamKind::Multipart {
                subscription_spec: true
            })
        );
        assert_eq!(
            accept("multipart/mixed;deferSpec=20220824").stream,
            Some(StreamKind::Multipart {
                subscription_spec: false
            })
        );
        assert!(accept("text/html").html);
    }
}
