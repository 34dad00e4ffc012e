//! Counting a document's lexical tokens before it is parsed, so that a huge document is refused
//! for the cost of one pass over its bytes instead of a syntax tree.

/// Counts GraphQL tokens in `source` (punctuators, names, numbers, strings; whitespace, commas
/// and comments are ignored), stopping early once the count passes `stop_after`.
pub fn count_tokens(source: &str, stop_after: usize) -> usize {
    let bytes = source.as_bytes();
    let len = bytes.len();
    let mut i = 0;
    let mut count = 0;
    while i < len {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < len && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < len {
                    if bytes[i..].starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if bytes[i..].starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < len {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            c if c == b'_' || c.is_ascii_alphabetic() => {
                while i < len && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                i += 1;
                while i < len
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            // The byte order mark and UTF-8 continuation bytes are not tokens of their own.
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                i += 3;
                continue;
            }
            0x80..=0xBF => {
                i += 1;
                continue;
            }
            _ => i += 1,
        }
        count += 1;
        if count > stop_after {
            return count;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::count_tokens;

    #[test]
    fn counts_tokens_and_skips_ignored() {
        // query Q ( $ a : Int = - 1 ) { f ( x : "s, t" ) ... on T { g } }  # comment
        let doc = "query Q($a: Int = -1.5e3) { f(x: \"s, t\") ...on T { g } } # c, d";
        assert_eq!(count_tokens(doc, usize::MAX), 24);
        assert_eq!(count_tokens("{ a, b }", usize::MAX), 4);
        assert_eq!(
            count_tokens("\"\"\"block \\\"\"\" x\"\"\" { a }", usize::MAX),
            4
        );
    }

    #[test]
    fn stops_early() {
        let doc = "{ a }".repeat(1000);
        assert_eq!(count_tokens(&doc, 10), 11);
    }
}
