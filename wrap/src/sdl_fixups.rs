//! Repairs of SDL as real services print it, before it is parsed.

use std::borrow::Cow;

use apollo_parser::{Lexer, TokenKind};

/// Removes descriptions written before `extend` (`"""A user.""" extend type User @key(...)`):
/// the GraphQL grammar has no description on extensions, but async-graphql's federation SDL
/// prints one for every `#[graphql(extends)]` type with a doc comment. Only top-level strings
/// directly followed by `extend` are removed; SDL the lexer rejects is returned unchanged (the
/// parser reports it).
pub(crate) fn strip_extension_descriptions(sdl: &str) -> Cow<'_, str> {
    let mut depth = 0usize;
    let mut pending: Option<(usize, usize)> = None;
    let mut cuts = Vec::new();
    for token in Lexer::new(sdl) {
        let Ok(token) = token else {
            return Cow::Borrowed(sdl);
        };
        match token.kind() {
            TokenKind::Whitespace | TokenKind::Comment | TokenKind::Comma => continue,
            TokenKind::LCurly | TokenKind::LParen | TokenKind::LBracket => depth += 1,
            TokenKind::RCurly | TokenKind::RParen | TokenKind::RBracket => {
                depth = depth.saturating_sub(1)
            }
            TokenKind::StringValue if depth == 0 => {
                pending = Some((token.index(), token.index() + token.data().len()));
                continue;
            }
            TokenKind::Name if token.data() == "extend" => {
                if let Some(range) = pending {
                    cuts.push(range);
                }
            }
            _ => {}
        }
        pending = None;
    }
    if cuts.is_empty() {
        return Cow::Borrowed(sdl);
    }
    let mut out = String::with_capacity(sdl.len());
    let mut at = 0;
    for (start, end) in cuts {
        out.push_str(&sdl[at..start]);
        at = end;
    }
    out.push_str(&sdl[at..]);
    Cow::Owned(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_of_extensions_are_removed_and_others_kept() {
        let sdl = "\"\"\"A user.\"\"\"\nextend type User { id: ID! }\n\"Kept.\" type Q { \"kept\" a: String }";
        assert_eq!(
            strip_extension_descriptions(sdl),
            "\nextend type User { id: ID! }\n\"Kept.\" type Q { \"kept\" a: String }"
        );
        assert!(matches!(
            strip_extension_descriptions("type Q { a: Int }"),
            Cow::Borrowed(_)
        ));
    }
}
