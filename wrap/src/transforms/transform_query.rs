//! `TransformQuery`: rewrite the selection set of the field at a path from the root, and the
//! result and error paths beneath it (what graphql-tools' `WrapQuery` and `ExtractField` did).

use apollo_compiler::ast;
use quilt_executor::{Document, ExecutionResult, PathSegment};
use serde_json::Value;

use crate::{Transform, TransformContext, TransformError};

type QueryFn = Box<dyn Fn(&[ast::Selection]) -> Vec<ast::Selection> + Send + Sync>;
type ResultFn = Box<dyn Fn(Value) -> Value + Send + Sync>;
type ErrorPathFn = Box<dyn Fn(&[PathSegment]) -> Vec<PathSegment> + Send + Sync>;

/// Rewrites, in every operation, the selection set of the field at `path` (field names from
/// the root type, e.g. `["user"]` or `["user", "bestFriend"]`) with `query`; maps the value
/// the service returns there with [`TransformQuery::result`] and the rest of error paths below
/// it with [`TransformQuery::error_path`]. The schema does not change. Lists along the path are
/// mapped item by item.
///
/// ```
/// use apollo_compiler::ast;
/// use quilt_wrap::transforms::TransformQuery;
/// // Ask for `{ id }` whatever the client selected, and hand the client the id as `name`.
/// let t = TransformQuery::new(["user"], |_selections: &[ast::Selection]| {
///     ast::Document::parse("{ id }", "q").unwrap().definitions[0]
///         .as_operation_definition().unwrap().selection_set.clone()
/// })
/// .result(|value| match value {
///     serde_json::Value::Object(mut o) => serde_json::json!({ "name": o.remove("id") }),
///     other => other,
/// });
/// ```
pub struct TransformQuery {
    path: Vec<String>,
    query: QueryFn,
    result: Option<ResultFn>,
    error_path: Option<ErrorPathFn>,
}

impl TransformQuery {
    /// Rewrites the selection set of the field at `path` with `query`.
    pub fn new<P: Into<String>>(
        path: impl IntoIterator<Item = P>,
        query: impl Fn(&[ast::Selection]) -> Vec<ast::Selection> + Send + Sync + 'static,
    ) -> Self {
        Self {
            path: path.into_iter().map(Into::into).collect(),
            query: Box::new(query),
            result: None,
            error_path: None,
        }
    }

    /// Maps the value found at the path in results.
    pub fn result(mut self, map: impl Fn(Value) -> Value + Send + Sync + 'static) -> Self {
        self.result = Some(Box::new(map));
        self
    }

    /// Maps the part of an error path below the path.
    pub fn error_path(
        mut self,
        map: impl Fn(&[PathSegment]) -> Vec<PathSegment> + Send + Sync + 'static,
    ) -> Self {
        self.error_path = Some(Box::new(map));
        self
    }

    fn rewrite(&self, level: usize, selections: &mut [ast::Selection]) {
        for selection in selections {
            match selection {
                ast::Selection::Field(field) if field.name.as_str() == self.path[level] => {
                    let field = field.make_mut();
                    if level + 1 == self.path.len() {
                        field.selection_set = (self.query)(&field.selection_set);
                    } else {
                        self.rewrite(level + 1, &mut field.selection_set);
                    }
                }
                ast::Selection::InlineFragment(fragment) => {
                    self.rewrite(level, &mut fragment.make_mut().selection_set);
                }
                _ => {}
            }
        }
    }

    /// The response-key chains of the fields at the path in the selected operation.
    fn key_chains(&self, context: &TransformContext) -> Vec<Vec<String>> {
        let Some(op) =
            crate::type_info::operation(context.document().ast(), context.operation_name())
        else {
            return Vec::new();
        };
        let mut chains = Vec::new();
        self.collect_keys(0, &op.selection_set, &mut Vec::new(), &mut chains);
        chains
    }

    fn collect_keys(
        &self,
        level: usize,
        selections: &[ast::Selection],
        prefix: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        for selection in selections {
            match selection {
                ast::Selection::Field(field) if field.name.as_str() == self.path[level] => {
                    prefix.push(field.alias.as_ref().unwrap_or(&field.name).to_string());
                    if level + 1 == self.path.len() {
                        out.push(prefix.clone());
                    } else {
                        self.collect_keys(level + 1, &field.selection_set, prefix, out);
                    }
                    prefix.pop();
                }
                ast::Selection::InlineFragment(fragment) => {
                    self.collect_keys(level, &fragment.selection_set, prefix, out)
                }
                _ => {}
            }
        }
    }
}

fn map_at(value: &mut Value, keys: &[String], map: &ResultFn) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| map_at(item, keys, map)),
        Value::Object(object) => {
            let Some((first, rest)) = keys.split_first() else {
                return;
            };
            if let Some(child) = object.get_mut(first.as_str()) {
                if rest.is_empty() {
                    if !child.is_null() {
                        *child = map(std::mem::take(child));
                    }
                } else {
                    map_at(child, rest, map);
                }
            }
        }
        _ => {}
    }
}

/// The position in `path` after `keys` (indices between keys skipped), if it starts with them.
fn match_keys(path: &[PathSegment], keys: &[String]) -> Option<usize> {
    let mut i = 0;
    for key in keys {
        while let Some(PathSegment::Index(_)) = path.get(i) {
            i += 1;
        }
        match path.get(i) {
            Some(PathSegment::Key(k)) if k == key => i += 1,
            _ => return None,
        }
    }
    Some(i)
}

impl Transform for TransformQuery {
    fn name(&self) -> &str {
        "TransformQuery"
    }

    fn transform_document(
        &self,
        document: &Document,
        _operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        if self.path.is_empty() {
            return Err(TransformError::request(self.name(), "the path is empty"));
        }
        let mut mapped = document.ast().clone();
        for definition in &mut mapped.definitions {
            if let ast::Definition::OperationDefinition(op) = definition {
                self.rewrite(0, &mut op.make_mut().selection_set);
            }
        }
        Ok(Document::from_ast(mapped))
    }

    fn transform_result(
        &self,
        mut result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        if self.result.is_none() && self.error_path.is_none() {
            return result;
        }
        let chains = self.key_chains(context);
        if let (Some(map), Some(data)) = (&self.result, result.data_value_mut()) {
            for chain in &chains {
                map_at(data, chain, map);
            }
        }
        if let Some(map_path) = &self.error_path {
            for error in &mut result.errors {
                let Some(path) = &mut error.path else {
                    continue;
                };
                if let Some(at) = chains.iter().find_map(|chain| match_keys(path, chain)) {
                    let mut mapped = path[..at].to_vec();
                    mapped.extend(map_path(&path[at..]));
                    *path = mapped;
                }
            }
        }
        result
    }
}
