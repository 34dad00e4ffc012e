//! The text log format's fields, written as `tracing-subscriber`'s `DefaultFields` writes
//! them, with the common cases written directly.
//!
//! The fmt layer formats a span's fields when the span is created, whether or not anything is
//! ever logged under it, so every request pays for its root span's fields (`request_id`,
//! method, path, status). `DefaultFields` writes each through `{:?}`: a string goes through
//! `str`'s `Debug` (a check of every character for escaping) and an integer through the
//! formatting machinery, about 1,600 and 900 instructions per field. [`QuickFields`] writes a
//! string of printable ASCII without quotes or backslashes, an integer and a boolean itself,
//! when colours are off, and hands everything else (`message`, `r#` names, escapes, errors,
//! `Debug`/`Display` values, colours) to `DefaultVisitor`: the output is the same byte for
//! byte (tested against `DefaultFields`).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// `DefaultFields`' output, written faster for plain strings, integers and booleans.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct QuickFields;

impl<'a> MakeVisitor<Writer<'a>> for QuickFields {
    type Visitor = QuickVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        QuickVisitor {
            writer: target,
            is_empty: true,
            result: Ok(()),
        }
    }
}

/// The visitor of [`QuickFields`].
pub(super) struct QuickVisitor<'a> {
    writer: Writer<'a>,
    /// Whether nothing was written yet (no space before the first field).
    is_empty: bool,
    result: fmt::Result,
}

impl QuickVisitor<'_> {
    /// Whether `field` is written as `name=value` with the name as it is (what the direct
    /// paths write): not `message`, not a raw identifier, colours off.
    fn plain(&self, field: &Field) -> bool {
        let name = field.name();
        self.result.is_ok()
            && name != "message"
            && !name.starts_with("r#")
            && !self.writer.has_ansi_escapes()
    }

    /// Writes ` name=` (the space unless first).
    fn start(&mut self, field: &Field) -> fmt::Result {
        if std::mem::take(&mut self.is_empty) {
            self.writer.write_str(field.name())?;
        } else {
            self.writer.write_char(' ')?;
            self.writer.write_str(field.name())?;
        }
        self.writer.write_char('=')
    }

    /// Writes `name=text` where [`plain`](Self::plain), else lets `DefaultVisitor` write the
    /// field (`text` is what `Debug` writes for the value).
    fn write_or_delegate(
        &mut self,
        field: &Field,
        text: &str,
        record: impl FnOnce(&mut DefaultVisitor<'_>),
    ) {
        if self.plain(field) {
            self.result = self.start(field).and_then(|()| self.writer.write_str(text));
        } else {
            self.delegate(record);
        }
    }

    /// Lets `DefaultVisitor` write the field.
    fn delegate(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_err() {
            return;
        }
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        // It wrote the field (and its separating space).
        self.is_empty = false;
    }
}

/// Whether `str`'s `Debug` writes `value` as it is between quotes: printable ASCII without
/// `"` and `\`.
fn debug_is_verbatim(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

impl Visit for QuickVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.plain(field) && debug_is_verbatim(value) {
            self.result = self.start(field).and_then(|()| {
                self.writer.write_char('"')?;
                self.writer.write_str(value)?;
                self.writer.write_char('"')
            });
        } else {
            self.delegate(|v| v.record_str(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.write_or_delegate(field, itoa::Buffer::new().format(value), |v| {
            v.record_i64(field, value)
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.write_or_delegate(field, itoa::Buffer::new().format(value), |v| {
            v.record_u64(field, value)
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let text = if value { "true" } else { "false" };
        self.write_or_delegate(field, text, |v| v.record_bool(field, value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.delegate(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.delegate(|v| v.record_debug(field, value));
    }
}

impl VisitOutput<fmt::Result> for QuickVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for QuickVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::format::DefaultFields;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[derive(Debug)]
    struct Broken;
    impl fmt::Display for Broken {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it broke")
        }
    }
    impl std::error::Error for Broken {}

    /// Spans and events with every kind of field, logged under `layer`'s fields formatter.
    fn log_all(ansi: bool, quick: bool) -> String {
        let buffer = Buffer::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(buffer.clone())
            .with_ansi(ansi)
            .without_time();
        let subscriber = tracing_subscriber::registry();
        let run = || {
            let texts = [
                "",
                "plain-id_0123.abc",
                "with space and ~",
                "a \"quote\"",
                "back\\slash",
                "tab\there",
                "new\nline",
                "é ünïcode",
                "combining \u{301} mark",
                "del\u{7f}",
                "\u{1b}[31mred",
            ];
            for text in texts {
                let span = tracing::info_span!(
                    "graphql.request",
                    request_id = text,
                    count = -42i64,
                    size = 42u64,
                    flag = true,
                    other = false,
                    shown = %"display value",
                    debugged = ?("a", 1),
                    r#type = "raw",
                    status = tracing::field::Empty,
                );
                span.record("status", 200i64);
                span.record("status", text);
                let _entered = span.enter();
                tracing::info!(message = text, "{text}");
                tracing::info!(
                    name = text,
                    number = 7u64,
                    negative = -7i64,
                    yes = true,
                    "m"
                );
                let error: &(dyn std::error::Error + 'static) = &Broken;
                tracing::warn!(error, "failed");
                tracing::info!(r#raw = text, "raw {}", 1);
            }
        };
        if quick {
            let subscriber = subscriber.with(layer.fmt_fields(QuickFields));
            tracing::subscriber::with_default(subscriber, run);
        } else {
            let subscriber = subscriber.with(layer.fmt_fields(DefaultFields::new()));
            tracing::subscriber::with_default(subscriber, run);
        }
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_output_is_default_fields_output_byte_for_byte() {
        for ansi in [false, true] {
            let default = log_all(ansi, false);
            let quick = log_all(ansi, true);
            assert!(default.lines().count() > 40, "{default}");
            if !ansi {
                assert!(
                    default.contains("request_id=\"plain-id_0123.abc\""),
                    "{default}"
                );
            }
            assert_eq!(quick, default, "ansi {ansi}");
        }
    }

    #[test]
    fn only_printable_ascii_without_quotes_or_backslashes_is_written_as_it_is() {
        assert!(debug_is_verbatim("abc-123_X.y ~!"));
        assert!(debug_is_verbatim(""));
        for escaped in ["\"", "\\", "\t", "\u{7f}", "\u{301}", "\u{1b}"] {
            assert!(!debug_is_verbatim(escaped), "{escaped:?}");
            assert_ne!(format!("{escaped:?}"), format!("\"{escaped}\""));
        }
        // Not escaped by `Debug`, but left to it all the same (only ASCII is checked).
        assert!(!debug_is_verbatim("é"));
    }
}
