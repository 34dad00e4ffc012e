//! A JSON parser that builds [`Data`] directly.
//!
//! It reads what `serde_json::from_slice` reads and gives the same values: the text is checked
//! as UTF-8 once, strings without escapes are taken as slices of it (found 32 bytes at a
//! step), integers that fit are read here, and the rare rest (strings with escapes, floats,
//! integers beyond 64 bits) is handed to serde_json, so their values are serde_json's own to
//! the bit. Nesting deeper than serde_json's limit (128) is an error, as there.
//!
//! Values are never returned: each is written into its place on a stack of members the parser
//! owns (a list's items are members without keys), and an object takes its members off the top
//! in one copy when it is complete, allocated once at its size. (Returning each value as a
//! `Result<Data, _>` made the caller copy it out of the callee's stores at once, in pieces that
//! straddled them: the processor cannot forward such a load from its store buffer and waits for
//! the stores to land. That wait was two thirds of the parser's time on the large benchmark
//! answer; `benches/data.rs` measures it.)

use serde::de::Error as _;

use super::{Data, LINEAR_DUPLICATE_CHECK, Object, Str, any_special, special_bytes, word};

/// serde_json's nesting limit: 128 containers in a row fail.
const MAX_DEPTH: usize = 127;

/// Parses one JSON value (whitespace around it allowed).
pub(super) fn parse(json: &[u8]) -> serde_json::Result<Data> {
    // simdutf8 checks the whole text with vector instructions (std's check was about 1.7 % of
    // a heavy answer's instructions); std's, only when it failed, says where.
    let text = match simdutf8::basic::from_utf8(json) {
        Ok(text) => text,
        Err(_) => std::str::from_utf8(json)
            .map_err(|e| serde_json::Error::custom(format!("invalid UTF-8 in JSON: {e}")))?,
    };
    let mut members = STACK.take();
    members.push((Str::const_new(""), Data::Null));
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        members,
    };
    let mut outcome = parser.value();
    parser.skip_whitespace();
    if outcome.is_ok() && parser.pos != parser.bytes.len() {
        outcome = Err(parser.error("trailing characters"));
    }
    let mut members = parser.members;
    let outcome = outcome.map(|()| members.swap_remove(0).1);
    members.clear();
    if members.capacity() <= STACK_KEEP {
        STACK.set(members);
    }
    outcome
}

/// The most members the kept stack may hold: one huge answer does not keep its memory.
const STACK_KEEP: usize = 4096;

thread_local! {
    /// The member stack of this thread's last parse, kept for the next one (taken and put back
    /// once per parse, so it is not grown again for every answer).
    static STACK: std::cell::Cell<Vec<(Str, Data)>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The key of a list's items on the member stack.
const NO_KEY: Str = Str::const_new("");

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    depth: usize,
    /// The members of the objects and the items of the lists being read, innermost last; the
    /// last one is where the value being read goes.
    members: Vec<(Str, Data)>,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> serde_json::Error {
        serde_json::Error::custom(format!("{what} at byte {} of the JSON text", self.pos))
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    /// Puts `value` where the value being read goes: the last member's value.
    #[inline(always)]
    fn put(&mut self, value: Data) {
        if let Some((_, slot)) = self.members.last_mut() {
            *slot = value;
        }
    }

    /// Reads one value into the last member.
    fn value(&mut self) -> serde_json::Result<()> {
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.list(),
            Some(b'"') => {
                let string = self.string()?;
                let string = self.str_of(string)?;
                self.put(Data::String(string));
                Ok(())
            }
            Some(b't') => self.literal("true", Data::Bool(true)),
            Some(b'f') => self.literal("false", Data::Bool(false)),
            Some(b'n') => self.literal("null", Data::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    fn literal(&mut self, word: &str, value: Data) -> serde_json::Result<()> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            self.put(value);
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn enter(&mut self) -> serde_json::Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    fn list(&mut self) -> serde_json::Result<()> {
        self.enter()?;
        let base = self.members.len();
        self.list_items()?;
        let items: Box<[Data]> = self.members.drain(base..).map(|(_, item)| item).collect();
        self.depth -= 1;
        self.put(Data::List(items));
        Ok(())
    }

    fn list_items(&mut self) -> serde_json::Result<()> {
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.members.push((NO_KEY, Data::Null));
            self.value()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `]`")),
                None => return Err(self.error("EOF while parsing a list")),
            }
        }
    }

    fn object(&mut self) -> serde_json::Result<()> {
        self.enter()?;
        let base = self.members.len();
        self.object_members(base)?;
        let members = self.members.split_off(base);
        self.depth -= 1;
        self.put(Data::Object(Object::from_members(members)));
        Ok(())
    }

    /// The members of an object whose members start at `base` on the stack.
    fn object_members(&mut self, base: usize) -> serde_json::Result<()> {
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        // One bit per (length, last byte) of the keys so far: a key whose bit is clear is new
        // without comparing it with the others.
        let mut seen = 0u64;
        // Once a key with escapes was read, every key is checked (its text is not its value).
        let mut escapes = false;
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            let (start, end, escaped) = key;
            escapes |= escaped;
            let last = if end > start { self.bytes[end - 1] } else { 0 };
            let bit = 1u64 << (((end - start) * 7 + usize::from(last)) % 64);
            let maybe_seen = escapes || seen & bit != 0;
            seen |= bit;
            let key = self.str_of(key)?;
            self.members.push((key, Data::Null));
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            self.value()?;
            if maybe_seen {
                self.merge_repeated(base);
            }
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => return Err(self.error("expected `,` or `}`")),
                None => return Err(self.error("EOF while parsing an object")),
            }
        }
    }

    /// The last member read, when its key is one of the members' before it (in an object of
    /// fewer than [`LINEAR_DUPLICATE_CHECK`] members), gives that one its value and goes: a
    /// repeated key keeps its first place and takes the last value, as serde_json's map does.
    /// (Larger objects have theirs merged by [`Object::from_members`].)
    fn merge_repeated(&mut self, base: usize) {
        let mine = &self.members[base..];
        let Some(((key, _), before)) = mine.split_last() else {
            return;
        };
        if mine.len() > LINEAR_DUPLICATE_CHECK {
            return;
        }
        if let Some(i) = before.iter().position(|(k, _)| super::key_eq(k, key))
            && let Some((_, value)) = self.members.pop()
        {
            self.members[base + i].1 = value;
        }
    }

    /// A string, found; `self.pos` is at its opening quote. `(start, end, false)`: its text
    /// is `start..end`, without escapes; `(open, close, true)`: the literal from its opening
    /// to its closing quote has escapes (see [`str_of`](Self::str_of)).
    fn string(&mut self) -> serde_json::Result<(usize, usize, bool)> {
        let open = self.pos;
        let start = open + 1;
        let Some(offset) = find_special(&self.bytes[start..]) else {
            self.pos = self.bytes.len();
            return Err(self.error("EOF while parsing a string"));
        };
        let at = start + offset;
        match self.bytes[at] {
            b'"' => {
                self.pos = at + 1;
                Ok((start, at, false))
            }
            b'\\' => self.escaped_string(open, at),
            _ => {
                self.pos = at;
                Err(self.error("control character (\\u0000-\\u001F) found while parsing a string"))
            }
        }
    }

    /// A string with escapes, from its opening quote at `open`; `at` is its first backslash.
    /// The end is found here, the escapes are decoded by [`str_of`](Self::str_of).
    fn escaped_string(
        &mut self,
        open: usize,
        mut at: usize,
    ) -> serde_json::Result<(usize, usize, bool)> {
        loop {
            // `at` is at a backslash: the next byte is escaped (a `\u` escape's hex digits are
            // ordinary characters to the search).
            at += 2;
            let Some(offset) = self.bytes.get(at..).and_then(find_special) else {
                self.pos = self.bytes.len();
                return Err(self.error("EOF while parsing a string"));
            };
            at += offset;
            match self.bytes[at] {
                b'"' => break,
                b'\\' => {}
                _ => {
                    self.pos = at;
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
            }
        }
        self.pos = at + 1;
        Ok((open, at + 1, true))
    }

    /// The value of a string [found](Self::string): its text, or its escapes decoded by
    /// serde_json.
    #[inline(always)]
    fn str_of(&self, (start, end, escaped): (usize, usize, bool)) -> serde_json::Result<Str> {
        if escaped {
            let decoded: String = serde_json::from_str(&self.text[start..end])?;
            Ok(Str::from(decoded))
        } else {
            Ok(Str::new(&self.text[start..end]))
        }
    }

    /// Reads a number into the last member.
    fn number(&mut self) -> serde_json::Result<()> {
        let start = self.pos;
        let bytes = self.bytes;
        let mut at = start;
        let negative = bytes[at] == b'-';
        if negative {
            at += 1;
        }
        let digits_start = at;
        match bytes.get(at) {
            Some(b'0') => {
                at += 1;
                if bytes.get(at).is_some_and(u8::is_ascii_digit) {
                    self.pos = at;
                    return Err(self.error("invalid number"));
                }
            }
            Some(b'1'..=b'9') => {
                while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
            }
            _ => {
                self.pos = at;
                return Err(self.error("invalid number"));
            }
        }
        let digits = at - digits_start;
        let mut integer = true;
        if bytes.get(at) == Some(&b'.') {
            integer = false;
            at += 1;
            let fraction = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == fraction {
                self.pos = at;
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            integer = false;
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            let exponent = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            if at == exponent {
                self.pos = at;
                return Err(self.error("invalid number"));
            }
        }
        self.pos = at;
        // Integers of at most 18 digits fit both ways; `-0` is a float to serde_json.
        if integer && digits <= 18 {
            let magnitude = bytes[digits_start..at]
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if !negative {
                self.put(Data::Number(magnitude.into()));
                return Ok(());
            }
            if magnitude != 0 {
                // At most 18 digits: below i64::MAX.
                self.put(Data::Number((-(magnitude as i64)).into()));
                return Ok(());
            }
        }
        // Floats, `-0` and long integers: serde_json's own reading, to the bit.
        let number: serde_json::Number = serde_json::from_str(&self.text[start..at])?;
        self.put(Data::Number(number));
        Ok(())
    }
}

/// The position of the first quote, backslash or control character: the first eight bytes as
/// one word (most strings of response data are short), then 32 bytes at a step checked as one
/// block ([`any_special`], a few vector instructions), the hit located word by word. (Measured
/// with callgrind over the heavy benchmark answer: the word first takes about 60 % of the
/// instructions of a block scan alone; a block of 32 checked by minimums takes 24 vector
/// instructions where two blocks of 16 checked by three comparisons a byte took 34.)
#[inline]
fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    if let Some(first) = word(bytes, 0) {
        let hits = special_bytes(first);
        if hits != 0 {
            return Some(first_hit(hits));
        }
        offset = 8;
    }
    let (blocks, rest) = bytes[offset..].as_chunks::<32>();
    for block in blocks {
        if any_special(block) {
            for at in [0, 8, 16, 24] {
                let hits = word(block, at).map_or(0, special_bytes);
                if hits != 0 {
                    return Some(offset + at + first_hit(hits));
                }
            }
        }
        offset += 32;
    }
    let mut at = 0;
    while let Some(w) = word(rest, at) {
        let hits = special_bytes(w);
        if hits != 0 {
            return Some(offset + at + first_hit(hits));
        }
        at += 8;
    }
    rest[at..]
        .iter()
        .position(|&b| super::special(b))
        .map(|i| offset + at + i)
}

/// The byte index of the lowest mark.
#[inline(always)]
fn first_hit(hits: u64) -> usize {
    (hits.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Parses with both and checks that they agree: the same value, or both an error.
    fn agree(text: &str) {
        let ours = parse(text.as_bytes());
        let theirs: Result<Value, _> = serde_json::from_str(text);
        match (&ours, &theirs) {
            (Ok(data), Ok(value)) => {
                assert_eq!(data, value, "{text}");
                assert_eq!(data.to_json(), serde_json::to_vec(value).unwrap(), "{text}");
            }
            (Err(_), Err(_)) => {}
            _ => panic!("{text:?}: ours {ours:?}, serde_json {theirs:?}"),
        }
    }

    /// Long lists are on the member stack whole until they end (a list of objects, and one of
    /// two bytes an item): the values are serde_json's, and the stack this thread keeps for
    /// the next parse stays within its bound after them.
    #[test]
    fn long_lists_parse_and_the_stack_kept_after_them_stays_bounded() {
        let objects = (0..20_000)
            .map(|i| format!(r#"{{"upc":"{i}","inStock":true,"shippingEstimate":{i}}}"#))
            .collect::<Vec<_>>()
            .join(",");
        let dense = vec!["1"; 50_000].join(",");
        for text in [format!("[{objects}]"), format!("{{\"items\":[{dense}]}}")] {
            agree(&text);
            let kept = STACK.take();
            assert!(kept.capacity() <= STACK_KEEP, "{}", kept.capacity());
            STACK.set(kept);
        }
    }

    #[test]
    fn agrees_with_serde_json_on_values() {
        for text in [
            "null",
            " true ",
            "\tfalse\n",
            "0",
            "-0",
            "-0.0",
            "7",
            "-7",
            "123456789012345678",
            "-123456789012345678",
            "1234567890123456789",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999999",
            "1.5",
            "-1.25e-3",
            "1e300",
            "1E+2",
            "2.2250738585072014e-308",
            "0.1",
            "123456789.123456789e10",
            r#""""#,
            r#""plain""#,
            r#""é😀 ünïcödé""#,
            r#""a \"quote\" and \\ and \/ and \b\f\n\r\t""#,
            r#""\u00e9\u0000\uD83D\uDE00""#,
            r#""long string that crosses sixteen-byte chunks several times over, then ends""#,
            r#""long string that crosses sixteen-byte chunks with an \n escape near the end""#,
            "[]",
            "[ ]",
            "[1, 2 ,3]",
            "{}",
            "{ }",
            r#"{"a":1,"b":[true,{"c":null}],"d":"x"}"#,
            r#" { "a" : { "b" : [ [ ] , { } ] } } "#,
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"b":2,"a":3,"c":{"a":4,"a":5},"b":6}"#,
            // A key written with escapes is the same key as its plain spelling.
            r#"{"é":1,"é":2}"#,
            r#"{"é":1,"x":0,"é":2}"#,
            r#"{"a"b":1,"a"b":2}"#,
        ] {
            agree(text);
        }
    }

    #[test]
    fn agrees_with_serde_json_on_errors() {
        for text in [
            "",
            " ",
            "nul",
            "nulls",
            "True",
            "01",
            "-",
            "-a",
            "1.",
            "1.e3",
            "1e",
            "1e+",
            ".5",
            "+1",
            "1e400",
            r#"""#,
            r#""abc"#,
            "\"a\u{1}b\"",
            "\"a\nb\"",
            r#""\x""#,
            r#""\u12""#,
            r#""\uD83D""#,
            r#""\uDE00""#,
            r#""\uD83Dx""#,
            r#""end\"#,
            "[",
            "[1",
            "[1,",
            "[1,]",
            "[1 2]",
            "{",
            r#"{"a""#,
            r#"{"a":"#,
            r#"{"a":1"#,
            r#"{"a":1,}"#,
            r#"{a:1}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            "[1]]",
            "{} {}",
            "1 2",
        ] {
            agree(text);
        }
    }

    #[test]
    fn nesting_is_limited_as_in_serde_json() {
        for depth in [1, 100, 126, 127, 128, 129, 1000] {
            agree(&("[".repeat(depth) + &"]".repeat(depth)));
            agree(&(r#"{"a":"#.repeat(depth) + "1" + &"}".repeat(depth)));
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert!(parse(b"\"\xff\"").is_err());
        assert!(parse(b"[1,\xc3]").is_err());
        // Past the vector checker's first blocks, and a surrogate's encoding.
        let mut long = format!("\"{}\"", "a".repeat(200)).into_bytes();
        long[150] = 0xc3;
        assert!(parse(&long).is_err());
        assert!(parse(b"\"\xed\xa0\x80\"").is_err());
        let message = parse(b"[\"\xff\"]").map(|_| ()).unwrap_err().to_string();
        assert!(message.contains("invalid UTF-8"), "{message}");
        // Valid multi-byte text is read as it is.
        assert_eq!(
            parse("\"é😀\"".as_bytes()).ok(),
            Some(Data::String("é😀".into()))
        );
    }

    #[test]
    fn the_first_special_byte_is_found_among_any_bytes() {
        // Bytes next to the special ones, UTF-8 lead and continuation bytes, the specials.
        let alphabet = [
            b'a', 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xff, 0x01, 0x1f,
            b'"', b'\\',
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            let len = (seed % 48) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Specials a quarter of the time, so that many inputs have none early.
                    let pick = (seed % 64) as usize;
                    alphabet[if pick < 48 { pick % 12 } else { 12 + pick % 4 }]
                })
                .collect();
            let naive = bytes.iter().position(|&b| super::super::special(b));
            assert_eq!(find_special(&bytes), naive, "{bytes:x?}");
        }
    }

    #[test]
    fn every_special_byte_is_found_at_every_position() {
        // Past the first word, two blocks of 32 and every length of remainder.
        for len in 0..110 {
            let plain = vec![b'a'; len];
            assert_eq!(find_special(&plain), None);
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = plain.clone();
                    bytes[at] = special;
                    assert_eq!(
                        find_special(&bytes),
                        Some(at),
                        "{special:#x} at {at} of {len}"
                    );
                }
            }
        }
    }
}
