//! GraphQL over SSE (distinct connections mode): a bounded `text/event-stream` parser and the
//! result stream built on it.
//!
//! Events: `next` (or an unnamed `message`) carries an execution result; `complete` ends the
//! stream. Comments (`: keep-alive`) are skipped. A body that ends before `complete` is a
//! [`ExecutorError::Closed`], an event of another kind a [`ExecutorError::Protocol`], a data
//! line that is not a result an [`ExecutorError::Decode`]. No line or event may exceed the size
//! limit, so a peer cannot make the parser buffer without bound.

use futures::stream::StreamExt;

use super::decode::{ChunkStream, body_error, excerpt};
use crate::error::ExecutorError;
use crate::executor::ResultStream;
use crate::result::ExecutionResult;

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` field; empty when the event had none (a `message`).
    pub name: String,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Why the byte stream is not valid SSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseError {
    /// A line or an event's data grew past the limit.
    TooLarge,
    /// A line is not UTF-8.
    NotUtf8,
}

/// An incremental `text/event-stream` parser with a bounded buffer.
#[derive(Debug)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    /// Start of the unconsumed bytes.
    pos: usize,
    /// Where to resume looking for a line end (bytes before it hold none).
    scan: usize,
    /// The previous line ended in `\r` at the end of the buffer: skip a `\n` that follows.
    pending_cr: bool,
    event: String,
    data: String,
    has_data: bool,
    limit: usize,
}

impl SseParser {
    /// A parser accepting lines and events of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scan: 0,
            pending_cr: false,
            event: String::new(),
            data: String::new(),
            has_data: false,
            limit,
        }
    }

    /// Appends received bytes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos > self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.scan -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, `None` when more bytes are needed.
    pub(crate) fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            if self.pending_cr {
                match self.buf.get(self.pos) {
                    None => return Ok(None),
                    Some(b'\n') => self.pos += 1,
                    Some(_) => {}
                }
                self.pending_cr = false;
                self.scan = self.scan.max(self.pos);
            }
            let from = self.scan.max(self.pos);
            let Some(offset) = self.buf[from..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
            else {
                self.scan = self.buf.len();
                if self.buf.len() - self.pos + self.data.len() > self.limit {
                    return Err(SseError::TooLarge);
                }
                return Ok(None);
            };
            let end = from + offset;
            let line_start = self.pos;
            let ends_in_cr = self.buf[end] == b'\r';
            self.pos = end + 1;
            if ends_in_cr {
                match self.buf.get(self.pos) {
                    Some(b'\n') => self.pos += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
            self.scan = self.pos;
            if end - line_start + self.data.len() > self.limit {
                return Err(SseError::TooLarge);
            }
            if end == line_start {
                if let Some(event) = self.dispatch() {
                    return Ok(Some(event));
                }
                continue;
            }
            let line =
                std::str::from_utf8(&self.buf[line_start..end]).map_err(|_| SseError::NotUtf8)?;
            let (field, value) = match line.find(':') {
                Some(0) => continue, // a comment
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
                }
                None => (line, ""),
            };
            match field {
                "event" => {
                    self.event.clear();
                    self.event.push_str(value);
                }
                "data" => {
                    if self.has_data {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                    self.has_data = true;
                }
                // `id` and `retry` matter to EventSource reconnection only; unknown fields are
                // ignored, as the SSE spec says.
                _ => {}
            }
        }
    }

    /// Ends an event at a blank line. An event with neither data nor a name is not
    /// dispatched; unlike EventSource, a named event without data is (servers write
    /// `event: complete` with no `data:` line).
    fn dispatch(&mut self) -> Option<SseEvent> {
        let name = std::mem::take(&mut self.event);
        if !std::mem::take(&mut self.has_data) && name.is_empty() {
            return None;
        }
        Some(SseEvent {
            name,
            data: std::mem::take(&mut self.data),
        })
    }
}

struct State {
    body: ChunkStream,
    parser: SseParser,
    endpoint: String,
    limit: usize,
    done: bool,
}

impl State {
    async fn next_item(&mut self) -> Option<Result<ExecutionResult, ExecutorError>> {
        loop {
            match self.parser.next_event() {
                Ok(Some(event)) => return self.on_event(event),
                Ok(None) => {}
                Err(SseError::TooLarge) => {
                    return Some(Err(ExecutorError::ResponseTooLarge {
                        endpoint: self.endpoint.clone(),
                        limit: self.limit,
                    }));
                }
                Err(SseError::NotUtf8) => {
                    return Some(Err(self.protocol("an SSE line is not UTF-8".into())));
                }
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.parser.feed(&chunk),
                Some(Err(error)) => return Some(Err(body_error(&self.endpoint, &*error))),
                None => {
                    return Some(Err(ExecutorError::Closed {
                        endpoint: self.endpoint.clone(),
                        code: None,
                        reason: "the SSE stream ended without a `complete` event".into(),
                    }));
                }
            }
        }
    }

    fn on_event(&self, event: SseEvent) -> Option<Result<ExecutionResult, ExecutorError>> {
        match event.name.as_str() {
            "next" | "" | "message" => {
                Some(match serde_json::from_str::<ExecutionResult>(&event.data) {
                    Ok(result) if result.is_graphql_response() => Ok(result),
                    Ok(_) => Err(ExecutorError::Decode {
                        endpoint: self.endpoint.clone(),
                        message: format!(
                            "an SSE `next` event is not a GraphQL result: {}",
                            excerpt(event.data.as_bytes())
                        ),
                    }),
                    Err(error) => Err(ExecutorError::Decode {
                        endpoint: self.endpoint.clone(),
                        message: format!(
                            "an SSE `next` event holds invalid JSON ({error}): {}",
                            excerpt(event.data.as_bytes())
                        ),
                    }),
                })
            }
            "complete" => None,
            other => Some(Err(self.protocol(format!(
                "unexpected SSE event `{other}` (expected `next` or `complete`)"
            )))),
        }
    }

    fn protocol(&self, message: String) -> ExecutorError {
        ExecutorError::Protocol {
            endpoint: self.endpoint.clone(),
            message,
        }
    }
}

/// The results of an SSE response; an error is the last item, `complete` ends the stream, and
/// dropping the stream drops the connection.
pub(super) fn result_stream(body: ChunkStream, endpoint: &str, limit: usize) -> ResultStream {
    let state = State {
        body,
        parser: SseParser::new(limit),
        endpoint: endpoint.to_owned(),
        limit,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let item = state.next_item().await?;
        state.done = item.is_err();
        Some((item, state))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(parser: &mut SseParser) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = parser.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn parses_events_split_anywhere() {
        let text = "event: next\r\ndata: {\"data\":1}\r\n\r\n: ping\n\nevent: complete\rdata:\r\r";
        for split in 0..text.len() {
            let mut p = SseParser::new(1024);
            p.feed(&text.as_bytes()[..split]);
            let mut all = events(&mut p);
            p.feed(&text.as_bytes()[split..]);
            all.extend(events(&mut p));
            assert_eq!(
                all,
                vec![
                    SseEvent {
                        name: "next".into(),
                        data: "{\"data\":1}".into()
                    },
                    SseEvent {
                        name: "complete".into(),
                        data: String::new()
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_named_event_without_data_is_dispatched() {
        let mut p = SseParser::new(1024);
        p.feed(b"event: complete\n\n\n");
        assert_eq!(
            events(&mut p),
            vec![SseEvent {
                name: "complete".into(),
                data: String::new()
            }]
        );
    }

    #[test]
    fn joins_data_lines() {
        let mut p = SseParser::new(1024);
        p.feed(b"data:a\ndata: b\nid: 3\n\n");
        assert_eq!(events(&mut p)[0].data, "a\nb");
    }

    #[test]
    fn a_long_line_is_too_large() {
        let mut p = SseParser::new(16);
        p.feed(b"data: 0123456789");
        assert_eq!(p.next_event(), Ok(None));
        p.feed(b"0123456789");
        assert_eq!(p.next_event(), Err(SseError::TooLarge));
    }

    #[test]
    fn many_data_lines_are_too_large() {
        let mut p = SseParser::new(16);
        p.feed(b"data: 0123456789\ndata: 0123456789\n");
        assert_eq!(p.next_event(), Err(SseError::TooLarge));
    }
}
