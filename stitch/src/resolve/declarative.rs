//! The declarative entry points of `@merge(keyField:, key:, keyArg:, argsExpr:,
//! additionalArgs:)` turned into the functions that build keys and arguments at run time.
//!
//! - The key of an object is `keyField`'s value, or an object built from the `key` paths, or the
//!   representation without `__typename`.
//! - Arguments: `argsExpr` (GraphQL arguments where `$key` and `$key.path` stand for the key; in
//!   a list entry point `[[...]]` repeats its content for every key), else the key (or the list
//!   of keys) at `keyArg` or in the field's only argument; `additionalArgs` are added.

use std::sync::Arc;

use apollo_compiler::{Name, ast};
use quilt_executor::JsonMap;
use serde_json::Value;

use super::{Batched, Method};
use crate::entry_point::{Declarative, KeyFn};

/// The run-time form of a declarative entry point.
pub(super) fn method(
    d: &Declarative,
    returns_list: bool,
    arg_types: &[(Name, ast::Type)],
) -> Result<Method, String> {
    let expr = match &d.args_expr {
        Some(text) => Some(Arc::new(ArgsExpr::parse(text)?)),
        None => None,
    };
    // With `argsExpr`, `$key` is the representation (as graphql-tools evaluates it: `$key.id`
    // is the object's `id`, whatever `keyField` says), and the key that identifies an object
    // is made of the paths the expression reads.
    let key = match &expr {
        Some(expr) => expr_key_fn(expr.placeholders.clone()),
        None => key_fn(d),
    };
    let additional = match &d.additional_args {
        Some(text) => ArgsExpr::parse(text)?.evaluate_constant(),
        None => JsonMap::new(),
    };
    let key_arg = match (&d.key_arg, &expr) {
        (Some(arg), _) => Some(arg.clone()),
        (None, Some(_)) => None,
        (None, None) => match arg_types {
            [(only, _)] => Some(only.to_string()),
            _ => {
                let needed: Vec<_> = arg_types.iter().filter(|(_, t)| t.is_non_null()).collect();
                match needed.as_slice() {
                    [(only, _)] => Some(only.to_string()),
                    _ => {
                        return Err(
                            "the merge field has several arguments: name the one that takes the \
                             key with `keyArg` or build them with `argsExpr`"
                                .into(),
                        );
                    }
                }
            }
        },
    };
    if let Some(arg) = &key_arg {
        let first = arg.split('.').next().unwrap_or_default();
        if !arg_types.iter().any(|(name, _)| name == first) {
            return Err(format!(
                "the merge field has no argument `{first}` (keyArg)"
            ));
        }
    }
    if returns_list {
        let args_from_keys = move |keys: Vec<Value>| match (&expr, &key_arg) {
            (Some(expr), _) => with_additional(expr.evaluate_batched(&keys), &additional),
            (None, Some(arg)) => {
                let mut args = additional.clone();
                set_path(&mut args, arg, Value::Array(keys));
                args
            }
            (None, None) => additional.clone(),
        };
        Ok(Method::Batched(Batched::new(key, Arc::new(args_from_keys))))
    } else {
        let args = move |representation: &JsonMap| {
            let key = key(representation);
            match (&expr, &key_arg) {
                (Some(expr), _) => with_additional(expr.evaluate_single(&key), &additional),
                (None, Some(arg)) => {
                    let mut args = additional.clone();
                    set_path(&mut args, arg, key);
                    args
                }
                (None, None) => additional.clone(),
            }
        };
        Ok(Method::Single(Arc::new(args)))
    }
}

/// The value at a dotted path of a JSON object.
pub(crate) fn at_path<'v>(map: &'v JsonMap, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut value = map.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    Some(value)
}

fn key_fn(d: &Declarative) -> KeyFn {
    if let Some(field) = d.key_field.clone() {
        return Arc::new(move |rep: &JsonMap| at_path(rep, &field).cloned().unwrap_or(Value::Null));
    }
    if let Some(paths) = d.key_paths.clone() {
        return Arc::new(move |rep: &JsonMap| {
            let mut key = JsonMap::new();
            for path in &paths {
                let (name, source) = path.split_once(':').unwrap_or((path, path));
                let value = at_path(rep, source).cloned().unwrap_or(Value::Null);
                set_path(&mut key, name, value);
            }
            Value::Object(key)
        });
    }
    Arc::new(|rep: &JsonMap| {
        let mut key = rep.clone();
        key.remove("__typename");
        Value::Object(key)
    })
}

/// The key of an object for an `argsExpr`: the values at the paths its `$key.path`
/// placeholders read (the representation without `__typename` when one reads `$key` whole).
fn expr_key_fn(paths: Vec<String>) -> KeyFn {
    if paths.iter().any(String::is_empty) || paths.is_empty() {
        return Arc::new(|rep: &JsonMap| {
            let mut key = rep.clone();
            key.remove("__typename");
            Value::Object(key)
        });
    }
    Arc::new(move |rep: &JsonMap| {
        let mut key = JsonMap::new();
        for path in &paths {
            let value = at_path(rep, path).cloned().unwrap_or(Value::Null);
            set_path(&mut key, path, value);
        }
        Value::Object(key)
    })
}

/// `additionalArgs` merged deep into the arguments an `argsExpr` built, as graphql-tools'
/// `mergeDeep` does: objects member by member, anything else replaced.
fn with_additional(mut args: JsonMap, additional: &JsonMap) -> JsonMap {
    fn merge(into: &mut JsonMap, from: &JsonMap) {
        for (name, value) in from {
            match (into.get_mut(name), value) {
                (Some(Value::Object(inner)), Value::Object(more)) => merge(inner, more),
                _ => {
                    into.insert(name.clone(), value.clone());
                }
            }
        }
    }
    merge(&mut args, additional);
    args
}

/// Sets `value` at a dotted path, creating objects on the way.
fn set_path(map: &mut JsonMap, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = map;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(JsonMap::new()));
        if !entry.is_object() {
            *entry = Value::Object(JsonMap::new());
        }
        let Value::Object(next) = entry else { return };
        current = next;
    }
}

/// Arguments written as GraphQL, with `$key` placeholders replaced by variables `$_qkN` whose
/// paths into the key are remembered.
struct ArgsExpr {
    arguments: Vec<(String, ast::Value)>,
    /// For each placeholder variable, the path into the key (empty: the key itself).
    placeholders: Vec<String>,
}

impl ArgsExpr {
    fn parse(text: &str) -> Result<Self, String> {
        let mut rewritten = String::with_capacity(text.len());
        let mut placeholders = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("$key") {
            rewritten.push_str(&rest[..at]);
            let after = &rest[at + 4..];
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(after.len());
            let path = &after[..end];
            if !(path.is_empty() || path.starts_with('.')) {
                // `$keyword`: not a placeholder.
                rewritten.push_str("$key");
                rest = after;
                continue;
            }
            rewritten.push_str(&format!("$_qk{}", placeholders.len()));
            placeholders.push(path.trim_start_matches('.').to_owned());
            rest = &after[end..];
        }
        rewritten.push_str(rest);
        let document = ast::Document::parse(format!("{{ f({rewritten}) }}"), "argsExpr")
            .map_err(|e| format!("malformed arguments `{text}`: {}", e.errors))?;
        let arguments = document
            .definitions
            .iter()
            .find_map(|d| match d {
                ast::Definition::OperationDefinition(op) => op.selection_set.first().cloned(),
                _ => None,
            })
            .and_then(|s| match s {
                ast::Selection::Field(f) => Some(
                    f.arguments
                        .iter()
                        .map(|a| (a.name.to_string(), (*a.value).clone()))
                        .collect(),
                ),
                _ => None,
            })
            .ok_or_else(|| format!("malformed arguments `{text}`"))?;
        Ok(Self {
            arguments,
            placeholders,
        })
    }

    fn evaluate_constant(&self) -> JsonMap {
        self.evaluate_single(&Value::Null)
    }

    fn evaluate_single(&self, key: &Value) -> JsonMap {
        self.arguments
            .iter()
            .map(|(name, value)| (name.clone(), self.value(value, key, None)))
            .collect()
    }

    fn evaluate_batched(&self, keys: &[Value]) -> JsonMap {
        self.arguments
            .iter()
            .map(|(name, value)| (name.clone(), self.value(value, &Value::Null, Some(keys))))
            .collect()
    }

    fn value(&self, value: &ast::Value, key: &Value, keys: Option<&[Value]>) -> Value {
        match value {
            ast::Value::Null => Value::Null,
            ast::Value::Boolean(b) => Value::Bool(*b),
            ast::Value::Enum(e) => Value::String(e.to_string()),
            ast::Value::String(s) => Value::String(s.clone()),
            ast::Value::Int(i) => i
                .try_to_i32()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(i.as_str().to_owned())),
            ast::Value::Float(f) => f.try_to_f64().map(Value::from).unwrap_or(Value::Null),
            ast::Value::Variable(name) => {
                let index: Option<usize> = name
                    .as_str()
                    .strip_prefix("_qk")
                    .and_then(|n| n.parse().ok());
                match index.and_then(|i| self.placeholders.get(i)) {
                    Some(path) if path.is_empty() => key.clone(),
                    Some(path) => key
                        .as_object()
                        .and_then(|k| at_path(k, path))
                        .cloned()
                        .unwrap_or(Value::Null),
                    None => Value::Null,
                }
            }
            ast::Value::List(items) => {
                // `[[expr]]` in a list entry point: `expr` once per key.
                if let (Some(keys), [inner]) = (keys, items.as_slice())
                    && let ast::Value::List(template) = &**inner
                    && let [template] = template.as_slice()
                {
                    return Value::Array(
                        keys.iter()
                            .map(|key| self.value(template, key, None))
                            .collect(),
                    );
                }
                Value::Array(items.iter().map(|v| self.value(v, key, keys)).collect())
            }
            ast::Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(n, v)| (n.to_string(), self.value(v, key, keys)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn types(args: &[(&str, &str)]) -> Vec<(Name, ast::Type)> {
        args.iter()
            .map(|(n, t)| {
                let ty = ast::Type::parse(*t, "t").unwrap();
                (Name::new(n).unwrap(), ty)
            })
            .collect()
    }

    fn rep(value: Value) -> JsonMap {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn key_field_goes_to_the_only_argument() {
        let d = Declarative {
            key_field: Some("id".into()),
            ..Default::default()
        };
        let Method::Single(args) = method(&d, false, &types(&[("id", "ID!")])).unwrap() else {
            panic!()
        };
        assert_eq!(
            Value::Object(args(&rep(json!({"__typename": "User", "id": "3"})))),
            json!({"id": "3"})
        );
        let Method::Batched(Batched {
            key,
            args_from_keys,
            ..
        }) = method(&d, true, &types(&[("ids", "[ID!]!")])).unwrap()
        else {
            panic!()
        };
        let keys = vec![key(&rep(json!({"id": "1"}))), key(&rep(json!({"id": "2"})))];
        assert_eq!(
            Value::Object(args_from_keys(keys)),
            json!({"ids": ["1", "2"]})
        );
    }

    #[test]
    fn args_expr_and_additional_args() {
        let d = Declarative {
            args_expr: Some("input: { ids: [[$key.id]], scope: FULL }".into()),
            additional_args: Some("limit: 5".into()),
            ..Default::default()
        };
        let Method::Batched(Batched {
            key,
            args_from_keys,
            ..
        }) = method(&d, true, &types(&[("input", "In!"), ("limit", "Int")])).unwrap()
        else {
            panic!()
        };
        // The key is what the expression reads of the representation.
        let keys = vec![key(&rep(json!({"__typename": "T", "id": "a", "n": 1})))];
        assert_eq!(keys[0], json!({"id": "a"}));
        assert_eq!(
            Value::Object(args_from_keys(keys)),
            json!({"input": {"ids": ["a"], "scope": "FULL"}, "limit": 5})
        );
        // `additionalArgs` merge deep into the expression's objects.
        let deep = Declarative {
            args_expr: Some("input: { ids: [[$key.id]] }".into()),
            additional_args: Some("input: { scope: FULL }, limit: 5".into()),
            ..Default::default()
        };
        let Method::Batched(Batched { args_from_keys, .. }) =
            method(&deep, true, &types(&[("input", "In!"), ("limit", "Int")])).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            Value::Object(args_from_keys(vec![json!({"id": "a"})])),
            json!({"input": {"ids": ["a"], "scope": "FULL"}, "limit": 5})
        );
    }

    #[test]
    fn args_expr_reads_the_representation_even_with_a_key_field() {
        // `@merge(keyField: "id", argsExpr: "ids: [[$key.id]]")`: `$key` is the object.
        let d = Declarative {
            key_field: Some("id".into()),
            args_expr: Some("ids: [[$key.id]]".into()),
            ..Default::default()
        };
        let Method::Batched(Batched {
            key,
            args_from_keys,
            ..
        }) = method(&d, true, &types(&[("ids", "[ID!]!")])).unwrap()
        else {
            panic!()
        };
        let keys = vec![
            key(&rep(json!({"__typename": "T", "id": "1", "upc": "u1"}))),
            key(&rep(json!({"__typename": "T", "id": "2", "upc": "u2"}))),
        ];
        assert_eq!(
            Value::Object(args_from_keys(keys)),
            json!({"ids": ["1", "2"]})
        );
        let single = Declarative {
            key_field: Some("id".into()),
            args_expr: Some("id: $key.id, org: $key.org.id".into()),
            ..Default::default()
        };
        let Method::Single(args) =
            method(&single, false, &types(&[("id", "ID!"), ("org", "ID")])).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            Value::Object(args(&rep(json!({"id": "3", "org": {"id": "o"}})))),
            json!({"id": "3", "org": "o"})
        );
    }

    #[test]
    fn key_arg_paths_and_errors() {
        let d = Declarative {
            key_paths: Some(vec!["id".into(), "org:organization.id".into()]),
            key_arg: Some("input.key".into()),
            ..Default::default()
        };
        let Method::Single(args) =
            method(&d, false, &types(&[("input", "In!"), ("x", "Int")])).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            Value::Object(args(&rep(json!({"id": "1", "organization": {"id": "o"}})))),
            json!({"input": {"key": {"id": "1", "org": "o"}}})
        );
        let ambiguous = method(
            &Declarative::default(),
            false,
            &types(&[("a", "ID!"), ("b", "ID!")]),
        );
        assert!(ambiguous.is_err());
        let malformed = Declarative {
            args_expr: Some("id: $key.id,, (".into()),
            ..Default::default()
        };
        assert!(
            method(&malformed, false, &types(&[("id", "ID!")]))
                .err()
                .unwrap()
                .contains("malformed")
        );
    }
}
