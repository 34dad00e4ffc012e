//! Stage 2: the request body. Checks the content type and reads at most the configured number of
//! bytes, so an oversized body is refused without being buffered.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::RequestError;

/// What kind of body a POST carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` (UTF-8).
    Json,
    /// `multipart/form-data` with this boundary (GraphQL multipart request spec).
    Multipart(String),
}

/// Reads the `Content-Type` of a POST.
pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, RequestError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(RequestError::MissingContentType);
    };
    let value = value
        .to_str()
        .map_err(|_| RequestError::UnsupportedContentType("<not ASCII>".into()))?;
    let mut parts = value.split(';').map(str::trim);
    let media = parts.next().unwrap_or("").to_ascii_lowercase();
    let mut boundary = None;
    for param in parts {
        let Some((key, val)) = param.split_once('=') else {
            continue;
        };
        let val = val.trim().trim_matches('"');
        if key.trim().eq_ignore_ascii_case("charset") && !val.eq_ignore_ascii_case("utf-8") {
            return Err(RequestError::UnsupportedCharset(val.to_owned()));
        }
        if key.trim().eq_ignore_ascii_case("boundary") {
            boundary = Some(val.to_owned());
        }
    }
    match media.as_str() {
        "application/json" | "application/graphql-response+json" => Ok(BodyKind::Json),
        "multipart/form-data" => boundary.map(BodyKind::Multipart).ok_or_else(|| {
            RequestError::InvalidUpload("multipart/form-data without a boundary".into())
        }),
        _ => Err(RequestError::UnsupportedContentType(value.to_owned())),
    }
}

/// Reads the whole body, refusing it once it passes `limit` bytes (or when `Content-Length`
/// announces more).
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, RequestError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(RequestError::BodyTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(RequestError::BodyTooLarge { limit })
        }
        Err(error) => Err(RequestError::BodyRead(error.to_string())),
    }
}
