//! The JSON writer: [`Data`] and its strings and numbers written as `serde_json` writes them.

use serde_json::Number;

use super::Data;

impl Data {
    /// The value as JSON bytes, as `serde_json::to_vec` writes the same value.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the value as JSON, as `serde_json::to_writer` writes the same value.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Data::Null => out.extend_from_slice(b"null"),
            Data::Bool(true) => out.extend_from_slice(b"true"),
            Data::Bool(false) => out.extend_from_slice(b"false"),
            Data::Number(number) => write_number(out, number),
            Data::String(s) => write_str(out, s),
            Data::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Data::Object(object) => {
                out.push(b'{');
                for (i, (key, value)) in object.entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, key);
                    out.push(b':');
                    value.write_json(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Writes a number as `serde_json` does.
pub fn write_number(out: &mut Vec<u8>, number: &Number) {
    if let Some(n) = number.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    } else if let Some(n) = number.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    } else {
        // A float: serde_json's own formatting. Writing into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, number);
    }
}

/// Writes a JSON string, as `serde_json` does. Most strings need no escaping: they are checked
/// 16 bytes at a time and copied whole; the rest go through serde_json's escaper.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        // Writing a string into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether a byte must be escaped in a JSON string: a quote, a backslash or a control
/// character.
#[inline(always)]
pub(crate) fn special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether a JSON string needs escapes: a quote, a backslash or a control character. Up to 7
/// bytes are checked byte by byte, up to 15 as two (overlapping) words, up to 32 as two
/// (overlapping) blocks of 16, longer strings 32 bytes at a step and their last 32 bytes as one
/// block (see [`any_special`]).
pub fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    match n {
        0..=7 => bytes.iter().any(|&b| special(b)),
        8..=15 => {
            let at = |i| word(bytes, i).map_or(0, special_bytes);
            at(0) | at(n - 8) != 0
        }
        16..=32 => block_special::<16>(bytes, 0) | block_special::<16>(bytes, n - 16),
        _ => {
            let (blocks, rest) = bytes.as_chunks::<32>();
            for block in blocks {
                if any_special(block) {
                    return true;
                }
            }
            !rest.is_empty() && block_special::<32>(bytes, n - 32)
        }
    }
}

/// Zero exactly for the bytes [`special`] is true of: a quote or a backslash (the byte XOR
/// either is zero) or a control character (below 0x20, saturated to zero).
#[inline(always)]
fn special_distance(b: u8) -> u8 {
    (b ^ b'"').min(b ^ b'\\').min(b.saturating_sub(0x1f))
}

/// Whether any byte of the block is a quote, a backslash or a control character. Written as
/// three byte-wise minimums and one comparison with zero over the whole block, with no early
/// exit, a form the compiler turns into a few vector instructions per 16 bytes (XOR, unsigned
/// minimum, saturating subtraction; about 0.75 instructions a byte with SSE2, where the form
/// with three comparisons per byte took about 1.1).
#[inline(always)]
pub(crate) fn any_special<const N: usize>(block: &[u8; N]) -> bool {
    let mut distances = [0u8; N];
    for (distance, &b) in distances.iter_mut().zip(block) {
        *distance = special_distance(b);
    }
    distances.iter().fold(false, |hit, &d| hit | (d == 0))
}

/// Whether any of the `N` bytes at `at` is special ([`any_special`]); false where there are
/// not so many.
#[inline(always)]
fn block_special<const N: usize>(bytes: &[u8], at: usize) -> bool {
    match bytes.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(block) => any_special(block),
        None => false,
    }
}

/// The eight bytes at `at` as a little-endian word.
#[inline(always)]
pub(crate) fn word(bytes: &[u8], at: usize) -> Option<u64> {
    let bytes = bytes.get(at..at + 8)?;
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_le_bytes)
}

/// The high bit of every byte of `x` that is a quote, a backslash or below 0x20, except that
/// bytes after the first such byte may be marked wrongly (the borrow of the subtraction runs
/// on): only the lowest mark is exact, and only it is read.
#[inline(always)]
pub(crate) fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let is_quote = quote.wrapping_sub(ONES) & !quote;
    let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | is_quote | is_backslash) & HIGH
}
