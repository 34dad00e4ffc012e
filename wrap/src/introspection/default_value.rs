//! Parsing `defaultValue`: introspection gives it as the text of a GraphQL constant literal
//! (`{field: NAME, direction: ASC}`, `"\"quoted\""`, `[1, 2]`), not as JSON.

use std::collections::HashMap;

use apollo_compiler::Node;
use apollo_compiler::ast::{Definition, Document, Value};
use apollo_compiler::parser::Parser;

/// Parses default-value literals, reusing one parser and remembering each distinct literal
/// (large schemas repeat a few dozen defaults thousands of times).
pub(crate) struct DefaultValueParser {
    parser: Parser,
    parsed: HashMap<String, Node<Value>>,
}

impl DefaultValueParser {
    pub(crate) fn new() -> Self {
        Self {
            parser: Parser::new(),
            parsed: HashMap::new(),
        }
    }

    /// Parses one constant literal. The literal is wrapped in a tiny directive definition (the
    /// parser has no public entry point for a lone value); the result must have exactly that
    /// shape, so text that would close the wrapper and add definitions is rejected.
    pub(crate) fn parse(&mut self, literal: &str) -> Result<Node<Value>, String> {
        if let Some(value) = self.parsed.get(literal) {
            return Ok(value.clone());
        }
        let value = self.parse_new(literal)?;
        self.parsed.insert(literal.to_owned(), value.clone());
        Ok(value)
    }

    fn parse_new(&mut self, literal: &str) -> Result<Node<Value>, String> {
        if literal.trim().is_empty() {
            return Err("the default value is empty".into());
        }
        let source = format!("directive @d(v: Int =\n{literal}\n) on FIELD");
        let document = self
            .parser
            .parse_ast(source, "defaultValue.graphql")
            .map_err(|with_errors| {
                let first = with_errors
                    .errors
                    .iter()
                    .next()
                    .map(|d| d.error.to_string())
                    .unwrap_or_else(|| "syntax error".into());
                format!("`{literal}` is not a GraphQL literal: {first}")
            })?;
        let value = lone_default(&document)
            .ok_or_else(|| format!("`{literal}` is not a single GraphQL literal"))?;
        if has_variable(&value) {
            return Err(format!(
                "`{literal}` uses a variable, which a default value cannot"
            ));
        }
        Ok(value)
    }
}

fn lone_default(document: &Document) -> Option<Node<Value>> {
    let [Definition::DirectiveDefinition(definition)] = document.definitions.as_slice() else {
        return None;
    };
    let [argument] = definition.arguments.as_slice() else {
        return None;
    };
    argument.default_value.clone()
}

fn has_variable(value: &Value) -> bool {
    match value {
        Value::Variable(_) => true,
        Value::List(items) => items.iter().any(|item| has_variable(item)),
        Value::Object(fields) => fields.iter().any(|(_, item)| has_variable(item)),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_constant_literals() {
        let mut p = DefaultValueParser::new();
        assert_eq!(
            p.parse("{field: NAME, direction: ASC}")
                .unwrap()
                .serialize()
                .no_indent()
                .to_string(),
            "{field: NAME, direction: ASC}"
        );
        assert_eq!(
            *p.parse(r#""a \"b\"""#).unwrap(),
            Value::String("a \"b\"".into())
        );
        assert_eq!(
            p.parse("[1, 2.5, null, true]")
                .unwrap()
                .serialize()
                .no_indent()
                .to_string(),
            "[1, 2.5, null, true]"
        );
    }

    #[test]
    fn rejects_what_is_not_one_constant() {
        let mut p = DefaultValueParser::new();
        for bad in [
            "",
            "{",
            "$x",
            "[1, $x]",
            "1) on FIELD directive @e(w: Int = 2",
            "1, w: Int = 2",
        ] {
            assert!(p.parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
