//! `${NAME}` in the TOML file: replaced by the environment variable `NAME` before the file is
//! parsed, so secrets and per-deployment values stay out of it.
//!
//! - `${NAME}` is the variable's value; an unset variable is an error naming it and its line.
//!   `${NAME:-default}` gives `default` when it is unset or empty.
//! - Inside a quoted string the value is escaped for that string (a `"` or `\` in a password
//!   cannot end the string or change the file's structure); a value that cannot be written in
//!   a literal (`'...'`) string, or a line break outside a string, is an error.
//! - Comments are left alone; `$${` writes a literal `${`.
//!
//! Expanding the text rather than the parsed values keeps TOML's own errors pointing at the
//! right line and lets a number come from the environment (`max_depth = ${MAX_DEPTH}`).

use anyhow::bail;

/// Where the scanner is in the TOML text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum In {
    Code,
    Comment,
    Basic,
    Literal,
    MultiBasic,
    MultiLiteral,
}

/// `text` with every `${NAME}` outside comments replaced by `env(NAME)`.
pub fn expand(text: &str, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut state = In::Code;
    let mut line = 1;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("$${") && state != In::Comment {
            out.push_str("${");
            rest = &rest[3..];
            continue;
        }
        if rest.starts_with("${") && state != In::Comment {
            let Some(end) = rest.find('}') else {
                bail!("line {line}: `${{` without a closing `}}`");
            };
            let inner = &rest[2..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                bail!("line {line}: `${{{inner}}}` is not an environment variable name");
            }
            let value = match (env(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => value,
                (None, Some(default)) => default.to_owned(),
                (None, None) => bail!("line {line}: the environment variable `{name}` is not set"),
            };
            write_value(&mut out, &value, state, name, line)?;
            rest = &rest[end + 1..];
            continue;
        }
        // Advance the state over one token.
        let (token, next) = match state {
            In::Code if rest.starts_with("\"\"\"") => ("\"\"\"", In::MultiBasic),
            In::Code if rest.starts_with("'''") => ("'''", In::MultiLiteral),
            In::Code if c == '"' => ("\"", In::Basic),
            In::Code if c == '\'' => ("'", In::Literal),
            In::Code if c == '#' => ("#", In::Comment),
            In::Basic if rest.starts_with("\\\\") || rest.starts_with("\\\"") => {
                (&rest[..2], In::Basic)
            }
            In::Basic if c == '"' => ("\"", In::Code),
            In::Literal if c == '\'' => ("'", In::Code),
            In::MultiBasic if rest.starts_with("\\\\") || rest.starts_with("\\\"") => {
                (&rest[..2], In::MultiBasic)
            }
            In::MultiBasic if rest.starts_with("\"\"\"") => ("\"\"\"", In::Code),
            In::MultiLiteral if rest.starts_with("'''") => ("'''", In::Code),
            In::Comment if c == '\n' => ("\n", In::Code),
            _ => (&rest[..c.len_utf8()], state),
        };
        if token == "\n" || c == '\n' {
            line += 1;
        }
        out.push_str(token);
        rest = &rest[token.len()..];
        state = next;
    }
    Ok(out)
}

/// Writes `value` where the scanner is: escaped in a basic string, checked elsewhere.
fn write_value(
    out: &mut String,
    value: &str,
    state: In,
    name: &str,
    line: usize,
) -> anyhow::Result<()> {
    match state {
        In::Basic | In::MultiBasic => {
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                    c => out.push(c),
                }
            }
        }
        In::Literal | In::MultiLiteral => {
            if value.contains('\'') || value.chars().any(char::is_control) {
                bail!(
                    "line {line}: the value of `{name}` cannot go in a '...' string \
                     (it holds a quote or a control character): use \"...\""
                );
            }
            out.push_str(value);
        }
        In::Code => {
            if value.chars().any(char::is_control) {
                bail!("line {line}: the value of `{name}` holds a control character");
            }
            out.push_str(value);
        }
        In::Comment => out.push_str(value),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "URL" => Some("redis://10.0.0.1:6379".into()),
            "TRICKY" => Some("pa\"ss\\word\nx".into()),
            "DEPTH" => Some("12".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_are_replaced_in_strings_and_values() {
        let text = "store = \"${URL}\"\nmax_depth = ${DEPTH}\nkey = '${URL}'\n";
        assert_eq!(
            expand(text, env).unwrap(),
            "store = \"redis://10.0.0.1:6379\"\nmax_depth = 12\nkey = 'redis://10.0.0.1:6379'\n"
        );
    }

    #[test]
    fn a_value_cannot_break_out_of_its_string() {
        let expanded = expand("password = \"${TRICKY}\"\nnext = 1\n", env).unwrap();
        let table: toml::Table = toml::from_str(&expanded).unwrap();
        assert_eq!(table["password"].as_str(), Some("pa\"ss\\word\nx"));
        assert_eq!(table["next"].as_integer(), Some(1));
        let error = expand("password = '${TRICKY}'", env)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 1") && error.contains("TRICKY"),
            "{error}"
        );
    }

    #[test]
    fn unset_variables_are_errors_with_their_line_unless_defaulted() {
        let error = expand("a = 1\nb = \"${MISSING}\"\n", env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "line 2: the environment variable `MISSING` is not set"
        );
        assert_eq!(
            expand("b = \"${MISSING:-x}\" c = \"${EMPTY:-y}\"", env).unwrap(),
            "b = \"x\" c = \"y\""
        );
        let error = expand("b = \"${1BAD}\"", env).unwrap_err().to_string();
        assert!(
            error.contains("not an environment variable name"),
            "{error}"
        );
    }

    #[test]
    fn comments_and_escaped_dollars_are_kept() {
        let text = "# uses ${MISSING}\na = \"$${URL}\" # ${MISSING}\n";
        assert_eq!(
            expand(text, env).unwrap(),
            "# uses ${MISSING}\na = \"${URL}\" # ${MISSING}\n"
        );
    }

    #[test]
    fn quotes_inside_strings_do_not_confuse_the_scanner() {
        let text = "a = \"x # \\\" ${DEPTH}\"\nb = '''it's # ${DEPTH}'''\n";
        assert_eq!(
            expand(text, env).unwrap(),
            "a = \"x # \\\" 12\"\nb = '''it's # 12'''\n"
        );
    }
}
