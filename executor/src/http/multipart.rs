//! `multipart/mixed` responses: incremental delivery (@defer/@stream: an initial payload, then
//! incremental ones until `hasNext: false`) and Apollo multipart subscriptions (`{"payload": ..}`
//! parts, `{}` heartbeats, `{"payload": null, "errors": [..]}` ending the stream).
//!
//! The parser is bounded (no part may exceed the size limit) and delivers a JSON part as soon
//! as it is complete, even when the server writes the next delimiter only with the next part
//! (as Apollo-style servers do), so events are not held back until the next one arrives.

use bytes::Bytes;
use futures::stream::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::decode::{ChunkStream, body_error, excerpt};
use crate::error::ExecutorError;
use crate::executor::ResultStream;
use crate::result::ExecutionResult;

/// The longest header block or delimiter line accepted.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The boundary named by a `multipart/mixed` content type (`-` when it names none, as the
/// incremental delivery RFC's examples use).
pub(super) fn boundary(content_type: &str) -> String {
    content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

/// Why the body is not valid multipart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MultipartError {
    /// A part grew past the limit.
    TooLarge,
    /// The framing is broken.
    Broken(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the first delimiter.
    Preamble,
    /// Right after a delimiter: `--` (the end) or the rest of its line.
    Delimiter,
    /// In a part's header block.
    Headers,
    /// In a part's body.
    Body,
    /// A part was delivered before its closing delimiter arrived; only whitespace may come
    /// before that delimiter.
    AfterPart,
    /// After the closing delimiter.
    End,
}

/// An incremental multipart parser with a bounded buffer.
#[derive(Debug)]
pub(crate) struct MultipartParser {
    buf: Vec<u8>,
    pos: usize,
    /// Where to resume searching in the current body.
    scan: usize,
    /// `--boundary`.
    delimiter: Vec<u8>,
    phase: Phase,
    limit: usize,
}

impl MultipartParser {
    /// A parser for `boundary` accepting parts of at most `limit` bytes.
    pub(crate) fn new(boundary: &str, limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            delimiter: format!("--{boundary}").into_bytes(),
            phase: Phase::Preamble,
            limit,
        }
    }

    /// Appends received bytes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos > self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.scan = self.scan.saturating_sub(self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Whether the closing delimiter was seen.
    pub(crate) fn is_finished(&self) -> bool {
        self.phase == Phase::End
    }

    /// Whether any delimiter was seen.
    pub(crate) fn saw_delimiter(&self) -> bool {
        self.phase != Phase::Preamble
    }

    /// The next complete part's body, `None` when more bytes are needed (or after the end).
    pub(crate) fn next_part(&mut self) -> Result<Option<Bytes>, MultipartError> {
        loop {
            let rest = &self.buf[self.pos..];
            match self.phase {
                Phase::End => return Ok(None),
                Phase::Preamble => match find(rest, &self.delimiter) {
                    Some(at) => {
                        self.pos += at + self.delimiter.len();
                        self.phase = Phase::Delimiter;
                    }
                    None if rest.len() > self.limit => return Err(MultipartError::TooLarge),
                    None => return Ok(None),
                },
                Phase::Delimiter => {
                    if rest.len() < 2 {
                        return Ok(None);
                    }
                    if rest.starts_with(b"--") {
                        self.phase = Phase::End;
                        return Ok(None);
                    }
                    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
                        if rest.len() > MAX_HEADER_BYTES {
                            return Err(self.broken("a delimiter line never ends"));
                        }
                        return Ok(None);
                    };
                    if rest[..newline]
                        .iter()
                        .any(|b| !matches!(b, b' ' | b'\t' | b'\r'))
                    {
                        let line = String::from_utf8_lossy(&rest[..newline.min(64)]).into_owned();
                        return Err(MultipartError::Broken(format!(
                            "the boundary `{}` is followed by `{line}` instead of a line end",
                            String::from_utf8_lossy(&self.delimiter[2..])
                        )));
                    }
                    self.pos += newline + 1;
                    self.phase = Phase::Headers;
                }
                Phase::Headers => {
                    let body_start = if rest.starts_with(b"\r\n") {
                        Some(2)
                    } else if rest.starts_with(b"\n") {
                        Some(1)
                    } else if rest.len() < 2 {
                        return Ok(None);
                    } else {
                        find(rest, b"\r\n\r\n")
                            .map(|at| at + 4)
                            .or_else(|| find(rest, b"\n\n").map(|at| at + 2))
                    };
                    match body_start {
                        Some(start) => {
                            self.pos += start;
                            self.scan = self.pos;
                            self.phase = Phase::Body;
                        }
                        None if rest.len() > MAX_HEADER_BYTES => {
                            return Err(self.broken("a part's header block never ends"));
                        }
                        None => return Ok(None),
                    }
                }
                Phase::Body => return self.body(),
                Phase::AfterPart => {
                    let skip = rest
                        .iter()
                        .position(|b| !b.is_ascii_whitespace())
                        .unwrap_or(rest.len());
                    self.pos += skip;
                    let rest = &self.buf[self.pos..];
                    if rest.starts_with(&self.delimiter) {
                        self.pos += self.delimiter.len();
                        self.phase = Phase::Delimiter;
                    } else if self.delimiter.starts_with(rest) {
                        return Ok(None);
                    } else {
                        return Err(self.broken("unexpected bytes after a complete part"));
                    }
                }
            }
        }
    }

    fn body(&mut self) -> Result<Option<Bytes>, MultipartError> {
        // The delimiter is `\n--boundary` (with the usual `\r` before `\n`, dropped from the body).
        let from = self.scan.max(self.pos);
        let needle_len = self.delimiter.len() + 1;
        if let Some(at) = find_delimiter(&self.buf[from..], &self.delimiter) {
            let newline = from + at;
            let mut end = newline;
            if end > self.pos && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            let body = Bytes::copy_from_slice(&self.buf[self.pos..end]);
            self.pos = newline + needle_len;
            self.phase = Phase::Delimiter;
            return Ok(Some(body));
        }
        self.scan = self.buf.len().saturating_sub(needle_len).max(self.pos);
        let body = &self.buf[self.pos..];
        if body.len() > self.limit {
            return Err(MultipartError::TooLarge);
        }
        // Deliver a complete JSON part now rather than when the next delimiter arrives.
        let trimmed = body.trim_ascii_end();
        if trimmed.ends_with(b"}")
            && serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok()
        {
            let part = Bytes::copy_from_slice(trimmed);
            self.pos = self.buf.len();
            self.phase = Phase::AfterPart;
            return Ok(Some(part));
        }
        Ok(None)
    }

    fn broken(&self, what: &str) -> MultipartError {
        MultipartError::Broken(what.to_owned())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The index of the `\n` of the next `\n--boundary`.
fn find_delimiter(haystack: &[u8], delimiter: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = haystack[from..].iter().position(|&b| b == b'\n') {
        let newline = from + at;
        let after = &haystack[newline + 1..];
        if after.len() >= delimiter.len() {
            if after.starts_with(delimiter) {
                return Some(newline);
            }
        } else if delimiter.starts_with(after) {
            return None; // maybe a delimiter, cut by the chunk end
        }
        from = newline + 1;
    }
    None
}

struct State {
    body: ChunkStream,
    parser: MultipartParser,
    endpoint: String,
    boundary: String,
    limit: usize,
    done: bool,
}

/// An Apollo subscription part: `{"payload": result}`, or `{"payload": null, "errors": [..]}`.
#[derive(Deserialize)]
struct Envelope {
    payload: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
}

impl State {
    async fn next_item(&mut self) -> Option<Result<ExecutionResult, ExecutorError>> {
        loop {
            match self.parser.next_part() {
                Ok(Some(part)) => match self.on_part(&part) {
                    Some(item) => return Some(item),
                    None => continue, // a heartbeat
                },
                Ok(None) if self.parser.is_finished() => return None,
                Ok(None) => {}
                Err(MultipartError::TooLarge) => {
                    return Some(Err(ExecutorError::ResponseTooLarge {
                        endpoint: self.endpoint.clone(),
                        limit: self.limit,
                    }));
                }
                Err(MultipartError::Broken(message)) => return Some(Err(self.protocol(message))),
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.parser.feed(&chunk),
                Some(Err(error)) => return Some(Err(body_error(&self.endpoint, &*error))),
                None if !self.parser.saw_delimiter() => {
                    return Some(Err(self.protocol(format!(
                        "the multipart body holds no part delimited by its boundary `{}`",
                        self.boundary
                    ))));
                }
                None => {
                    return Some(Err(ExecutorError::Closed {
                        endpoint: self.endpoint.clone(),
                        code: None,
                        reason: "the multipart body ended before its closing delimiter".into(),
                    }));
                }
            }
        }
    }

    /// A part as a result; `None` for a heartbeat.
    fn on_part(&self, part: &[u8]) -> Option<Result<ExecutionResult, ExecutorError>> {
        let value: Value = match serde_json::from_slice(part) {
            Ok(value) => value,
            Err(error) => {
                return Some(Err(self.decode(format!(
                    "a multipart part holds invalid JSON ({error}): {}",
                    excerpt(part)
                ))));
            }
        };
        let value = match value {
            Value::Object(map) if map.is_empty() => return None,
            Value::Object(map) if map.contains_key("payload") => {
                match Envelope::deserialize(Value::Object(map)) {
                    Ok(Envelope {
                        payload: Some(payload),
                        ..
                    }) if !payload.is_null() => payload,
                    Ok(Envelope { errors, .. }) => {
                        return Some(Err(ExecutorError::Closed {
                            endpoint: self.endpoint.clone(),
                            code: None,
                            reason: format!(
                                "the server ended the subscription with a transport error: {}",
                                messages(errors.as_ref())
                            ),
                        }));
                    }
                    Err(error) => return Some(Err(self.decode(error.to_string()))),
                }
            }
            other => other,
        };
        Some(match ExecutionResult::deserialize(value) {
            Ok(result) if result.is_graphql_response() => Ok(result),
            Ok(_) => Err(self.decode(format!(
                "a multipart part is not a GraphQL result: {}",
                excerpt(part)
            ))),
            Err(error) => Err(self.decode(format!(
                "a multipart part is not a GraphQL result ({error}): {}",
                excerpt(part)
            ))),
        })
    }

    fn decode(&self, message: String) -> ExecutorError {
        ExecutorError::Decode {
            endpoint: self.endpoint.clone(),
            message,
        }
    }

    fn protocol(&self, message: String) -> ExecutorError {
        ExecutorError::Protocol {
            endpoint: self.endpoint.clone(),
            message,
        }
    }
}

/// The `message`s of a JSON error list, joined.
fn messages(errors: Option<&Value>) -> String {
    let list: Vec<&str> = errors
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        "no message".to_owned()
    } else {
        list.join("; ")
    }
}

/// The results of a `multipart/mixed` response. The stream ends after the closing delimiter or
/// a result with `hasNext: false`; an error is the last item; dropping it drops the connection.
pub(super) fn result_stream(
    body: ChunkStream,
    boundary: String,
    endpoint: &str,
    limit: usize,
) -> ResultStream {
    let state = State {
        body,
        parser: MultipartParser::new(&boundary, limit),
        endpoint: endpoint.to_owned(),
        boundary,
        limit,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let item = state.next_item().await?;
        state.done = match &item {
            Ok(result) => result.has_next == Some(false),
            Err(_) => true,
        };
        Some((item, state))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(chunks: &[&[u8]]) -> (Vec<String>, bool) {
        let mut p = MultipartParser::new("graphql", 1024);
        let mut out = Vec::new();
        for chunk in chunks {
            p.feed(chunk);
            while let Some(part) = p.next_part().unwrap() {
                out.push(String::from_utf8(part.to_vec()).unwrap());
            }
        }
        (out, p.is_finished())
    }

    #[test]
    fn boundary_from_content_type() {
        assert_eq!(boundary("multipart/mixed; boundary=\"graphql\""), "graphql");
        assert_eq!(
            boundary("multipart/mixed;boundary=-;deferSpec=20220824"),
            "-"
        );
        assert_eq!(boundary("multipart/mixed"), "-");
    }

    #[test]
    fn delimiter_after_each_part_split_anywhere() {
        let body = b"--graphql\r\nContent-Type: application/json\r\n\r\n{\"data\":1}\r\n--graphql\r\nContent-Type: application/json\r\n\r\n{}\r\n--graphql--\r\n";
        for split in 0..body.len() {
            let (out, finished) = parts(&[&body[..split], &body[split..]]);
            assert_eq!(out, vec!["{\"data\":1}", "{}"], "split at {split}");
            assert!(finished);
        }
    }

    #[test]
    fn delimiter_before_each_part_delivers_at_once() {
        let (out, finished) = parts(&[
            b"\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{\"payload\":{\"data\":1}}",
        ]);
        assert_eq!(out, vec!["{\"payload\":{\"data\":1}}"]);
        assert!(!finished);
        let (out, finished) = parts(&[
            b"\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{\"a\":1}",
            b"\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{\"a\":2}",
            b"\r\n--graphql--\r\n",
        ]);
        assert_eq!(out, vec!["{\"a\":1}", "{\"a\":2}"]);
        assert!(finished);
    }

    #[test]
    fn parts_without_headers() {
        let (out, _) = parts(&[b"--graphql\r\n\r\n{\"a\":1}\r\n--graphql--"]);
        assert_eq!(out, vec!["{\"a\":1}"]);
    }

    #[test]
    fn garbage_after_delimiter_is_broken() {
        let mut p = MultipartParser::new("graphql", 1024);
        p.feed(b"--graphqlXYZ\r\n\r\n{}");
        assert!(matches!(p.next_part(), Err(MultipartError::Broken(_))));
    }

    #[test]
    fn a_large_part_is_too_large() {
        let mut p = MultipartParser::new("graphql", 16);
        p.feed(b"--graphql\r\n\r\n{\"a\":\"0123456789abcdef");
        assert_eq!(p.next_part(), Err(MultipartError::TooLarge));
    }
}
