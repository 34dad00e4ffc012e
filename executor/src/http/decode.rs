//! Reading an HTTP response: dispatch on status and content type, a size-limited body read,
//! and the GraphQL-or-not decision.
//!
//! - `text/event-stream` → an SSE result stream; `multipart/mixed` → a multipart result stream.
//! - A JSON body holding a GraphQL response (`data` or `errors`) is a result, with any 2xx or
//!   4xx status (GraphQL over HTTP answers request errors with 4xx and a GraphQL body).
//! - A 5xx status, or a non-2xx status with anything but a GraphQL body, is
//!   [`ExecutorError::HttpStatus`] with a body excerpt.
//! - A 2xx status with a body that is not a GraphQL response is [`ExecutorError::Decode`].

use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body::Body;
use http_body_util::{BodyDataStream, BodyExt};

use super::{multipart, sse};
use crate::error::ExecutorError;
use crate::executor::Response;
use crate::result::ExecutionResult;

/// The most a body buffer is sized for in advance from a `content-length` header.
const PRESIZE_MAX: usize = 8 << 20;

/// The longest body excerpt kept in [`ExecutorError::HttpStatus`].
const EXCERPT_LEN: usize = 512;

/// A failure of the transport under a body.
pub(super) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A response body as the SSE and multipart readers take it: its chunks as they arrive.
pub(super) type ChunkStream = futures::stream::BoxStream<'static, Result<Bytes, BodyError>>;

/// Turns a response into a [`Response`]: a whole result read within the caller's deadline, or a
/// stream that reads on as the consumer polls. With `tree`, a whole result's data is parsed
/// into [`ExecutionResult::data_tree`] (streams keep `data`).
///
/// The body is any HTTP body: reqwest's, or hyper's for requests sent without reqwest (see
/// [`super::direct`]).
pub(super) async fn decode<B>(
    response: http::Response<B>,
    endpoint: &str,
    limit: usize,
    tree: bool,
) -> Result<Response, ExecutorError>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BodyError>,
{
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();

    if status.is_server_error() {
        return Err(status_error(status.as_u16(), body, endpoint).await);
    }
    if status.is_success() {
        if mime.eq_ignore_ascii_case("text/event-stream") {
            return Ok(Response::Stream(sse::result_stream(
                chunks(body),
                endpoint,
                limit,
            )));
        }
        if mime.eq_ignore_ascii_case("multipart/mixed") {
            let boundary = multipart::boundary(content_type);
            return Ok(Response::Stream(multipart::result_stream(
                chunks(body),
                boundary,
                endpoint,
                limit,
            )));
        }
    }

    let announced = body.size_hint().exact().or_else(|| {
        parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
    });
    let body = read_limited(&mut body, announced, endpoint, limit).await?;
    let parsed = if tree {
        ExecutionResult::from_slice_tree(&body)
    } else {
        serde_json::from_slice::<ExecutionResult>(&body)
    };
    match parsed {
        Ok(result) if result.is_graphql_response() => Ok(Response::Single(result)),
        _ if !status.is_success() => Err(ExecutorError::HttpStatus {
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
            body_excerpt: excerpt(&body),
        }),
        Ok(_) => Err(ExecutorError::Decode {
            endpoint: endpoint.to_owned(),
            message: format!(
                "the body is JSON but not a GraphQL response (neither `data` nor `errors`): {}",
                excerpt(&body)
            ),
        }),
        Err(error) => Err(ExecutorError::Decode {
            endpoint: endpoint.to_owned(),
            message: format!(
                "invalid JSON ({error}) in a {} `{content_type}` body: {}",
                status.as_u16(),
                excerpt(&body)
            ),
        }),
    }
}

/// The chunks of `body` as a stream (its trailers left out).
fn chunks<B>(body: B) -> ChunkStream
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BodyError>,
{
    BodyDataStream::new(body).map_err(Into::into).boxed()
}

/// Reads the whole body `source`, failing as soon as it grows past `limit` (or `announced`,
/// its `content-length`, is larger). A body in one chunk is returned without a copy.
async fn read_limited<B>(
    source: &mut B,
    announced: Option<u64>,
    endpoint: &str,
    limit: usize,
) -> Result<Bytes, ExecutorError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    let too_large = || ExecutorError::ResponseTooLarge {
        endpoint: endpoint.to_owned(),
        limit,
    };
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let Some(first) = next_chunk(source, endpoint).await? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(too_large());
    }
    let Some(second) = next_chunk(source, endpoint).await? else {
        return Ok(first);
    };
    // Sized for the announced length (so the buffer is not regrown and copied chunk after
    // chunk), but never more than `PRESIZE_MAX` on a peer's word.
    let announced = announced.map_or(0, |length| length.min(PRESIZE_MAX as u64) as usize);
    let mut body = BytesMut::with_capacity(announced.max(first.len() + second.len()));
    body.extend_from_slice(&first);
    body.extend_from_slice(&second);
    loop {
        if body.len() > limit {
            return Err(too_large());
        }
        match next_chunk(source, endpoint).await? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => return Ok(body.freeze()),
        }
    }
}

/// The next chunk of data of `body` (trailers are skipped), `None` at its end.
async fn next_chunk<B>(body: &mut B, endpoint: &str) -> Result<Option<Bytes>, ExecutorError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
            Some(Err(error)) => return Err(body_error(endpoint, &*error.into())),
        }
    }
}

/// A failure while reading a body: the connection broke (or the body was malformed at the
/// HTTP level).
pub(super) fn body_error(
    endpoint: &str,
    error: &(dyn std::error::Error + 'static),
) -> ExecutorError {
    ExecutorError::Closed {
        endpoint: endpoint.to_owned(),
        code: None,
        reason: format!("the response body broke off: {}", error_chain(error)),
    }
}

/// An error and its sources, joined by `: ` (reqwest's own message rarely says the cause).
pub(super) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// [`ExecutorError::HttpStatus`] with the first bytes of the body (read with a small bound).
async fn status_error<B>(status: u16, mut source: B, endpoint: &str) -> ExecutorError
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    let mut body = Vec::new();
    while body.len() < EXCERPT_LEN {
        match next_chunk(&mut source, endpoint).await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    ExecutorError::HttpStatus {
        endpoint: endpoint.to_owned(),
        status,
        body_excerpt: excerpt(&body),
    }
}

/// At most [`EXCERPT_LEN`] bytes of a body as lossy UTF-8, trimmed, cut on a char boundary.
pub(super) fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(EXCERPT_LEN)];
    let mut text = String::from_utf8_lossy(cut).trim().to_owned();
    if body.len() > EXCERPT_LEN {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_lossy() {
        let long = vec![b'a'; 2000];
        let e = excerpt(&long);
        assert!(e.len() <= EXCERPT_LEN + '…'.len_utf8());
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"  <html>\xff</html>\n"), "<html>\u{fffd}</html>");
    }
}
