//! Splitting: the merged result is taken apart into one result per merged request.
//!
//! - `data` keys `_v{i}_{key}` go to entry `i` as `key`, in the order the service answered them
//!   (which is the entry's own field order: a service executes the merged operation's fields in
//!   document order, and each entry's fields are contiguous there).
//! - An error whose `path[0]` is `_v{i}_{key}` goes to entry `i` with `path[0] = key`.
//! - An error without a path is copied to every entry.
//! - Errors lose their `locations`: they point into the merged document, which the caller
//!   never saw, and would mislead.
//! - The response `extensions` are copied to every entry.
//!
//! A field that the service left out of `data` while it reported an error at that field keeps
//! being left out (some services, async-graphql among them, omit failed fields instead of
//! answering `null`; the request alone would have got the same).
//!
//! A service that answers something the merged operation cannot have produced (a key of no
//! entry, a missing key without an error, an error path of no entry, data that is not an
//! object) never makes the
//! split panic or hand one request's data to another: the affected entries get errors with a
//! `BATCH_*` code instead, described on [`codes`].

use quilt_executor::data::{Object, Str};
use quilt_executor::{Data, ExecutionResult, GraphQLError, JsonMap, PathSegment, ResultData};
use serde_json::Value;

use crate::codes;

/// What the split must know about one entry of a merged operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPlan {
    /// Response keys (un-prefixed) that the service must answer for this entry: the top-level
    /// fields that no `@skip`/`@include` and no type condition other than the root type's name
    /// can exclude.
    required: Vec<String>,
}

impl EntryPlan {
    /// A plan that expects these response keys.
    pub fn new(required: Vec<String>) -> Self {
        Self { required }
    }

    /// The response keys the service must answer.
    pub fn required_keys(&self) -> &[String] {
        &self.required
    }
}

/// The plans of all entries of a merged operation, by prefix index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitPlan {
    entries: Vec<EntryPlan>,
}

impl SplitPlan {
    /// A plan for these entries (entry `i` has the prefix `_v{i}_`).
    pub fn new(entries: Vec<EntryPlan>) -> Self {
        Self { entries }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The plan of entry `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn entry(&self, i: usize) -> &EntryPlan {
        &self.entries[i]
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Parses `_v{i}_{key}` into `(i, key)`.
pub fn parse_key(prefixed: &str) -> Option<(usize, &str)> {
    let rest = prefixed.strip_prefix("_v")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let index = rest[..digits].parse().ok()?;
    let key = rest[digits..].strip_prefix('_')?;
    (!key.is_empty()).then_some((index, key))
}

/// Splits the merged `result` into one result per entry of `plan`.
///
/// `data: null` gives every entry `data: null` (the executor decides beforehand whether that
/// is exact, see [`BatchingExecutor`](crate::BatchingExecutor)); absent `data` gives every
/// entry absent data.
pub fn split_result(mut result: ExecutionResult, plan: &SplitPlan) -> Vec<ExecutionResult> {
    let n = plan.len();
    let mut results: Vec<ExecutionResult> = (0..n)
        .map(|_| ExecutionResult {
            extensions: result.extensions.clone(),
            ..ExecutionResult::default()
        })
        .collect();
    let mut batch_errors = Vec::new();

    for mut error in std::mem::take(&mut result.errors) {
        error.locations.clear();
        let owner = match error.path.as_deref() {
            None | Some([]) => None,
            Some([PathSegment::Key(first), ..]) => match parse_key(first) {
                Some((i, key)) if i < n => Some((i, key.to_owned())),
                _ => {
                    batch_errors.push(unattributed(error));
                    continue;
                }
            },
            Some(_) => {
                batch_errors.push(unattributed(error));
                continue;
            }
        };
        match owner {
            Some((i, key)) => {
                if let Some(path) = error.path.as_mut() {
                    path[0] = PathSegment::Key(key);
                }
                results[i].errors.push(error);
            }
            None => {
                for result in &mut results {
                    result.errors.push(error.clone());
                }
            }
        }
    }
    match take_data(&mut result) {
        Taken::Absent => {}
        Taken::Value(Value::Null) => results
            .iter_mut()
            .for_each(|r| r.data = Some(ResultData::Value(Value::Null))),
        Taken::Tree(Data::Null) => results
            .iter_mut()
            .for_each(|r| r.data = Some(ResultData::Tree(Data::Null))),
        Taken::Value(Value::Object(data)) => {
            split_object(data, plan, &mut results, &mut batch_errors);
        }
        Taken::Tree(Data::Object(data)) => {
            split_object(data, plan, &mut results, &mut batch_errors);
        }
        Taken::Value(other) => invalid_data(kind(&other), &mut results, &mut batch_errors),
        // Not an object: a value of no size to speak of, read as the other form.
        Taken::Tree(other) => {
            invalid_data(kind(&Value::from(other)), &mut results, &mut batch_errors);
        }
        Taken::Unreadable => invalid_data("unreadable JSON", &mut results, &mut batch_errors),
    }
    for error in batch_errors {
        for result in &mut results {
            result.errors.push(error.clone());
        }
    }
    results
}

/// The merged data, in the form the inner executor answered it.
enum Taken {
    Absent,
    Value(Value),
    Tree(Data),
    /// JSON bytes that do not parse.
    Unreadable,
}

fn take_data(result: &mut ExecutionResult) -> Taken {
    match result.data.take() {
        Some(ResultData::Tree(tree)) => Taken::Tree(tree),
        Some(ResultData::Value(value)) => Taken::Value(value),
        Some(ResultData::Json(json)) => match Data::from_slice(&json) {
            Ok(tree) => Taken::Tree(tree),
            Err(_) => Taken::Unreadable,
        },
        None => Taken::Absent,
    }
}

/// A data object of either form, as the split fills one per entry.
trait SplitMap: Default + IntoIterator<Item = (Self::Key, Self::Value)> {
    type Key: AsRef<str>;
    type Value;
    fn put(&mut self, key: &str, value: Self::Value);
    fn has(&self, key: &str) -> bool;
    fn null() -> Self::Value;
    /// Sets the entry's data to this object.
    fn set(self, result: &mut ExecutionResult);
}

impl SplitMap for JsonMap {
    type Key = String;
    type Value = Value;
    fn put(&mut self, key: &str, value: Value) {
        self.insert(key.to_owned(), value);
    }
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn null() -> Value {
        Value::Null
    }
    fn set(self, result: &mut ExecutionResult) {
        result.data = Some(ResultData::Value(Value::Object(self)));
    }
}

impl SplitMap for Object {
    type Key = Str;
    type Value = Data;
    fn put(&mut self, key: &str, value: Data) {
        self.insert(key, value);
    }
    fn has(&self, key: &str) -> bool {
        self.contains_key(key)
    }
    fn null() -> Data {
        Data::Null
    }
    fn set(self, result: &mut ExecutionResult) {
        result.data = Some(ResultData::Tree(Data::Object(self)));
    }
}

/// Splits a data object: `_v{i}_{key}` to entry `i` as `key`; a required key that is missing
/// without an error becomes null with an error; keys of no entry are reported.
fn split_object<M: SplitMap>(
    data: M,
    plan: &SplitPlan,
    results: &mut [ExecutionResult],
    batch_errors: &mut Vec<GraphQLError>,
) {
    let n = plan.len();
    let mut maps: Vec<M> = (0..n).map(|_| M::default()).collect();
    let mut unknown = Vec::new();
    for (key, value) in data {
        let key = key.as_ref();
        match parse_key(key).filter(|(i, _)| *i < n) {
            Some((i, original)) => maps[i].put(original, value),
            None => unknown.push(key.to_owned()),
        }
    }
    for ((map, entry), result) in maps.iter_mut().zip(&plan.entries).zip(results.iter_mut()) {
        for key in &entry.required {
            let reported = result.errors.iter().any(|e| {
                matches!(e.path.as_deref(), Some([PathSegment::Key(first), ..]) if first == key)
            });
            if !map.has(key) && !reported {
                map.put(key, M::null());
                result.errors.push(
                    GraphQLError::new(format!(
                        "the batched response lacks the field `{key}` of this \
                         operation (expected as a response key with a `_vN_` prefix); \
                         the service answered the merged operation incompletely"
                    ))
                    .with_code(codes::MISSING_FIELD)
                    .with_path(vec![PathSegment::Key(key.clone())]),
                );
            }
        }
    }
    for (map, result) in maps.into_iter().zip(results.iter_mut()) {
        map.set(result);
    }
    if !unknown.is_empty() {
        batch_errors.push(
            GraphQLError::new(format!(
                "the batched response carries fields that belong to no operation of \
                 the batch ({}); they were dropped",
                unknown.join(", ")
            ))
            .with_code(codes::UNEXPECTED_FIELD),
        );
    }
}

/// What a value that is not an object is, for the error.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        _ => "a boolean",
    }
}

/// Merged data that is not an object: every entry gets `data: null` and an error.
fn invalid_data(kind: &str, results: &mut [ExecutionResult], batch_errors: &mut Vec<GraphQLError>) {
    for result in results.iter_mut() {
        result.data = Some(ResultData::Value(Value::Null));
    }
    batch_errors.push(
        GraphQLError::new(format!(
            "the batched response's `data` is {kind}, not an object"
        ))
        .with_code(codes::INVALID_DATA),
    );
}

/// An error whose path names no entry of the batch: it cannot be placed on any request's data,
/// so every request gets it without a path (never at a path of another request), with the
/// original path and extensions kept under `extensions`.
fn unattributed(error: GraphQLError) -> GraphQLError {
    let path = error
        .path
        .as_ref()
        .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let mut out = GraphQLError::new(format!(
        "the service reported an error at a path that belongs to no operation of the batch: {}",
        error.message
    ))
    .with_code(codes::UNATTRIBUTED_ERROR);
    if let Some(extensions) = out.extensions.as_mut() {
        extensions.insert("upstreamPath".into(), path);
        if let Some(original) = error.extensions {
            extensions.insert("upstreamExtensions".into(), Value::Object(original));
        }
    }
    out
}

/// The results of a merged mutation whose `data` came back `null`: the mutation cannot be run
/// again (it had side effects), so every entry gets `data: null` with its own errors, and an
/// entry without an error of its own gets one saying that another operation of the batch
/// nulled the shared result (its fields may or may not have run).
pub fn split_nulled_mutation(result: ExecutionResult, plan: &SplitPlan) -> Vec<ExecutionResult> {
    let mut results = split_result(result, plan);
    for result in &mut results {
        result.data = Some(ResultData::Value(Value::Null));
        if result.errors.iter().all(|e| e.path.is_none()) {
            result.errors.push(
                GraphQLError::new(
                    "this mutation was batched with others into one operation, and a non-null \
                     field error of another operation nulled the whole result; this mutation's \
                     fields may or may not have run and it was not retried",
                )
                .with_code(codes::MUTATION_NULLED),
            );
        }
    }
    results
}

/// What a result's data is, in whichever form it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Absent,
    Null,
    EmptyObject,
    Other,
}

pub(crate) fn data_shape(result: &ExecutionResult) -> Shape {
    match &result.data {
        None => Shape::Absent,
        Some(ResultData::Tree(Data::Null) | ResultData::Value(Value::Null)) => Shape::Null,
        Some(ResultData::Tree(Data::Object(object))) if object.is_empty() => Shape::EmptyObject,
        Some(ResultData::Value(Value::Object(map))) if map.is_empty() => Shape::EmptyObject,
        Some(ResultData::Json(json)) => match json.as_ref() {
            b"null" => Shape::Null,
            b"{}" => Shape::EmptyObject,
            _ => Shape::Other,
        },
        Some(_) => Shape::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(required: &[&[&str]]) -> SplitPlan {
        SplitPlan::new(
            required
                .iter()
                .map(|keys| EntryPlan::new(keys.iter().map(|k| k.to_string()).collect()))
                .collect(),
        )
    }

    fn result(value: Value) -> ExecutionResult {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn parses_prefixed_keys() {
        assert_eq!(parse_key("_v0_a"), Some((0, "a")));
        assert_eq!(parse_key("_v12___typename"), Some((12, "__typename")));
        assert_eq!(parse_key("_v1_"), None);
        assert_eq!(parse_key("_v_a"), None);
        assert_eq!(parse_key("v1_a"), None);
        assert_eq!(parse_key("_v99999999999999_a"), None);
    }

    #[test]
    fn splits_data_and_errors_in_order() {
        let merged = result(json!({
            "data": {"_v0_b": 1, "_v1_x": 2, "_v0_a": null},
            "errors": [
                {"message": "a failed", "path": ["_v0_a"], "locations": [{"line": 1, "column": 9}]},
                {"message": "global"}
            ],
            "extensions": {"cost": 3}
        }));
        let out = split_result(merged, &plan(&[&["b", "a"], &["x"]]));
        assert_eq!(
            serde_json::to_value(&out[0]).unwrap(),
            json!({"data": {"b": 1, "a": null},
                   "errors": [{"message": "a failed", "path": ["a"]}, {"message": "global"}],
                   "extensions": {"cost": 3}})
        );
        assert_eq!(
            serde_json::to_value(&out[1]).unwrap(),
            json!({"data": {"x": 2}, "errors": [{"message": "global"}], "extensions": {"cost": 3}})
        );
    }

    #[test]
    fn missing_required_key_becomes_null_with_an_error() {
        let out = split_result(
            result(json!({"data": {"_v1_x": 1}})),
            &plan(&[&["a"], &["x"]]),
        );
        assert_eq!(out[0].data_value(), Some(json!({"a": null})));
        assert_eq!(out[0].errors[0].code(), Some(codes::MISSING_FIELD));
        assert_eq!(out[0].errors[0].path, Some(vec![PathSegment::from("a")]));
        assert!(out[1].errors.is_empty());
    }

    #[test]
    fn keys_of_no_entry_are_dropped_and_reported() {
        let out = split_result(
            result(json!({"data": {"_v0_a": 1, "_v7_a": 2, "plain": 3}})),
            &plan(&[&["a"]]),
        );
        assert_eq!(out[0].data_value(), Some(json!({"a": 1})));
        assert_eq!(out[0].errors.len(), 1);
        assert_eq!(out[0].errors[0].code(), Some(codes::UNEXPECTED_FIELD));
        assert!(out[0].errors[0].message.contains("_v7_a"));
    }

    #[test]
    fn error_path_of_no_entry_goes_to_all_without_path() {
        let out = split_result(
            result(json!({"data": {"_v0_a": 1, "_v1_b": 2},
                          "errors": [{"message": "m", "path": ["_v5_z", 0], "extensions": {"code": "X"}}]})),
            &plan(&[&["a"], &["b"]]),
        );
        for r in &out {
            assert_eq!(r.errors.len(), 1);
            let e = &r.errors[0];
            assert_eq!(e.code(), Some(codes::UNATTRIBUTED_ERROR));
            assert_eq!(e.path, None);
            let ext = e.extensions.as_ref().unwrap();
            assert_eq!(ext["upstreamPath"], json!(["_v5_z", 0]));
            assert_eq!(ext["upstreamExtensions"], json!({"code": "X"}));
        }
    }

    #[test]
    fn data_that_is_not_an_object_is_reported() {
        let out = split_result(result(json!({"data": [1, 2]})), &plan(&[&["a"], &["b"]]));
        for r in &out {
            assert_eq!(r.data_value(), Some(Value::Null));
            assert_eq!(r.errors[0].code(), Some(codes::INVALID_DATA));
        }
    }

    #[test]
    fn data_trees_split_as_values_do() {
        let merged = result(json!({
            "errors": [{"message": "a failed", "path": ["_v0_a"]}],
            "extensions": {"cost": 3}
        }));
        let tree = |text: &str| ExecutionResult {
            data: Some(ResultData::Tree(Data::from_slice(text.as_bytes()).unwrap())),
            ..merged.clone()
        };
        let plan = plan(&[&["b", "a"], &["x", "y"]]);
        let out = split_result(tree(r#"{"_v0_b":1,"_v1_x":{"n":[2]},"_v0_a":null}"#), &plan);
        for r in &out {
            assert_eq!(
                r.data.as_ref().map(ResultData::form),
                Some(quilt_executor::DataForm::Tree),
                "the tree form is kept"
            );
        }
        assert_eq!(
            serde_json::to_value(&out[0]).unwrap(),
            json!({"data": {"b": 1, "a": null}, "errors": [{"message": "a failed", "path": ["a"]}],
                   "extensions": {"cost": 3}})
        );
        assert_eq!(
            out[1]
                .data
                .as_ref()
                .and_then(ResultData::as_tree)
                .unwrap()
                .to_json(),
            br#"{"x":{"n":[2]},"y":null}"#
        );
        assert_eq!(out[1].errors[0].code(), Some(codes::MISSING_FIELD));
        for r in split_result(tree("[1]"), &plan) {
            assert_eq!(r.data_value(), Some(Value::Null));
            assert_eq!(r.errors.last().unwrap().code(), Some(codes::INVALID_DATA));
        }
        for r in split_result(tree("null"), &plan) {
            assert_eq!(
                r.data.as_ref().and_then(ResultData::as_tree),
                Some(&Data::Null)
            );
        }
    }

    #[test]
    fn nulled_mutation_explains_itself() {
        let out = split_nulled_mutation(
            result(json!({"data": null, "errors": [{"message": "nn", "path": ["_v1_f"]}]})),
            &plan(&[&["e"], &["f"]]),
        );
        assert_eq!(out[0].data_value(), Some(Value::Null));
        assert_eq!(out[0].errors[0].code(), Some(codes::MUTATION_NULLED));
        assert_eq!(out[1].errors.len(), 1);
        assert_eq!(out[1].errors[0].path, Some(vec![PathSegment::from("f")]));
    }
}
