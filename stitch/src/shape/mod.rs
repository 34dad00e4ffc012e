//! Building the client's response by walking the client's selection set over the fetched data.
//!
//! The fetched data may hold more than the client asked for (`__typename`s the planner added)
//! and lacks what failed; the walk keeps only requested fields, in requested order, fills
//! `__typename`, applies `@skip`/`@include`, and propagates a null in a non-null position to the
//! nearest nullable parent, as the spec's "Handling Field Errors" says.

mod collect;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use apollo_compiler::collections::HashMap as FastMap;

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, Field, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Node, Schema};
use quilt_executor::{ExecutionResult, GraphQLError, JsonMap, PathSegment};
use serde_json::Value;

use crate::execute::Fetched;
use crate::plan::location;
use collect::{Grouped, collect_fields};

/// A null reached a non-null position; the parent must become null.
struct NullPropagation;

/// Shapes the response of the operation whose root selection is `root_set` on `root_type`.
pub(crate) fn shape(
    schema: &Schema,
    document: &ExecutableDocument,
    variables: &JsonMap,
    root_type: &str,
    root_set: &SelectionSet,
    fetched: Fetched,
) -> ExecutionResult {
    let mut upstream = fetched.errors;
    let mut by_path: HashMap<Vec<PathSegment>, Vec<usize>> = HashMap::new();
    let mut prefixes = HashSet::new();
    for (i, error) in upstream.iter_mut().enumerate() {
        if let Some(path) = &error.path {
            // Locations of upstream errors point into the upstream document; they are
            // replaced with the client field's location when the walk reaches the path.
            error.locations.clear();
            by_path.entry(path.clone()).or_default().push(i);
            for end in 0..=path.len() {
                prefixes.insert(path[..end].to_vec());
            }
        }
    }
    let mut shaper = Shaper {
        schema,
        document,
        variables,
        upstream,
        by_path,
        prefixes,
        errors: Vec::new(),
        path: Vec::new(),
        grouped: FastMap::default(),
    };
    let mut source = fetched.data;
    let root_key = (root_set as *const SelectionSet as usize, 0, 0);
    let data = match shaper.object(root_type, root_key, &[root_set], &mut source) {
        Ok(map) => Value::Object(map),
        Err(NullPropagation) => Value::Null,
    };
    let mut errors = shaper.upstream;
    errors.extend(shaper.errors);
    ExecutionResult {
        data: Some(data),
        errors,
        ..ExecutionResult::default()
    }
}

struct Shaper<'a> {
    schema: &'a Schema,
    document: &'a ExecutableDocument,
    variables: &'a JsonMap,
    upstream: Vec<GraphQLError>,
    by_path: HashMap<Vec<PathSegment>, Vec<usize>>,
    prefixes: HashSet<Vec<PathSegment>>,
    errors: Vec<GraphQLError>,
    /// The current response path, borrowed (turned into `PathSegment`s only for errors).
    path: Vec<Elem<'a>>,
    /// CollectFields results by [`GroupKey`]: every object of a list shares its grouping.
    grouped: FastMap<GroupKey, Rc<Grouped<'a>>>,
}

/// What identifies the grouping of an object's fields without allocating: the address and
/// length of the field list whose selection sets apply (a slice inside a cached grouping, or
/// the root selection set), and the address of the object type's name in the schema.
type GroupKey = (usize, usize, usize);

/// One element of the current path.
#[derive(Clone, Copy)]
enum Elem<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Shaper<'a> {
    /// Completes an object: the fetched values are moved out of `source` (no copies).
    /// `sets` are the selection sets that apply, `group_key` identifies them with the type.
    fn object(
        &mut self,
        type_name: &str,
        group_key: GroupKey,
        sets: &[&'a SelectionSet],
        source: &mut JsonMap,
    ) -> Result<JsonMap, NullPropagation> {
        let cache_key = (group_key.0, group_key.1, self.type_address(type_name));
        let grouped = match self.grouped.get(&cache_key) {
            Some(grouped) => grouped.clone(),
            None => {
                let grouped = Rc::new(collect_fields(
                    self.schema,
                    self.document,
                    self.variables,
                    type_name,
                    sets,
                ));
                self.grouped.insert(cache_key, grouped.clone());
                grouped
            }
        };
        let mut out = JsonMap::with_capacity(grouped.len());
        for (key, fields) in grouped.iter() {
            let key: &'a str = key;
            let first = fields[0];
            let value = match first.name.as_str() {
                "__typename" => Value::String(type_name.to_owned()),
                "__schema" | "__type" => source.remove(key).unwrap_or(Value::Null),
                _ => {
                    self.path.push(Elem::Key(key));
                    self.locate_upstream_errors(first);
                    let fetched = source.remove(key).unwrap_or(Value::Null);
                    let completed = self.value(type_name, first.ty(), fields, fetched);
                    self.path.pop();
                    completed?
                }
            };
            out.insert(key.to_owned(), value);
        }
        Ok(out)
    }

    fn value(
        &mut self,
        parent: &str,
        ty: &Type,
        fields: &[&'a Node<Field>],
        value: Value,
    ) -> Result<Value, NullPropagation> {
        let completed = match ty {
            Type::NonNullNamed(name) | Type::Named(name) => self.named(name, fields, value),
            Type::NonNullList(item) | Type::List(item) => self.list(parent, item, fields, value),
        };
        if ty.is_non_null() && completed.is_null() {
            if !self.prefixes.contains(&self.owned_path()) {
                let message = format!(
                    "Cannot return null for non-nullable field {parent}.{}.",
                    fields[0].name
                );
                self.error(fields[0], message);
            }
            return Err(NullPropagation);
        }
        Ok(completed)
    }

    fn list(
        &mut self,
        parent: &str,
        item_type: &Type,
        fields: &[&'a Node<Field>],
        value: Value,
    ) -> Value {
        let items = match value {
            Value::Null => return Value::Null,
            Value::Array(items) => items,
            _ => {
                self.error(fields[0], "expected a list from the subschema".into());
                return Value::Null;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            self.path.push(Elem::Index(i));
            self.locate_upstream_errors(fields[0]);
            let completed = self.value(parent, item_type, fields, item);
            self.path.pop();
            match completed {
                Ok(v) => out.push(v),
                Err(NullPropagation) => return Value::Null,
            }
        }
        Value::Array(out)
    }

    fn named(&mut self, name: &str, fields: &[&'a Node<Field>], value: Value) -> Value {
        if value.is_null() {
            return Value::Null;
        }
        match self.schema.types.get(name) {
            Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_)) | None => value,
            Some(ExtendedType::Object(_)) => self.composite(name, fields, value),
            Some(ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                let runtime = value
                    .get("__typename")
                    .and_then(Value::as_str)
                    .filter(|runtime| {
                        self.schema.get_object(runtime).is_some()
                            && self.schema.is_subtype(name, runtime)
                    })
                    .map(str::to_owned);
                match runtime {
                    Some(runtime) => self.composite(&runtime, fields, value),
                    None => {
                        self.error(
                            fields[0],
                            format!(
                                "the subschema returned no valid `__typename` for a value of \
                                 abstract type {name}"
                            ),
                        );
                        Value::Null
                    }
                }
            }
            Some(ExtendedType::InputObject(_)) => Value::Null,
        }
    }

    fn composite(&mut self, type_name: &str, fields: &[&'a Node<Field>], value: Value) -> Value {
        let Value::Object(mut map) = value else {
            self.error(fields[0], "expected an object from the subschema".into());
            return Value::Null;
        };
        let group_key = (fields.as_ptr() as usize, fields.len(), 0);
        let cache_key = (group_key.0, group_key.1, self.type_address(type_name));
        let sets: Vec<&'a SelectionSet> = if self.grouped.contains_key(&cache_key) {
            Vec::new()
        } else {
            fields.iter().map(|f| &f.selection_set).collect()
        };
        match self.object(type_name, group_key, &sets, &mut map) {
            Ok(map) => Value::Object(map),
            Err(NullPropagation) => Value::Null,
        }
    }

    /// The address of the schema's name of `type_name` (stable while the schema lives), or of
    /// `type_name` itself for a name the schema lacks.
    fn type_address(&self, type_name: &str) -> usize {
        self.schema
            .types
            .get_key_value(type_name)
            .map_or(type_name.as_ptr() as usize, |(name, _)| {
                name.as_str().as_ptr() as usize
            })
    }

    /// The current path as the response's path segments.
    fn owned_path(&self) -> Vec<PathSegment> {
        self.path
            .iter()
            .map(|e| match e {
                Elem::Key(k) => PathSegment::Key((*k).to_owned()),
                Elem::Index(i) => PathSegment::Index(*i),
            })
            .collect()
    }

    /// A gateway error at the current path, located at `field`.
    fn error(&mut self, field: &Node<Field>, message: String) {
        let path = self.owned_path();
        for end in 0..=path.len() {
            self.prefixes.insert(path[..end].to_vec());
        }
        self.errors.push(GraphQLError {
            message,
            locations: location(self.document, field).into_iter().collect(),
            path: Some(path),
            extensions: None,
        });
    }

    /// Gives upstream errors at the current path the location of the client's field.
    fn locate_upstream_errors(&mut self, field: &Node<Field>) {
        if self.by_path.is_empty() {
            return;
        }
        let path = self.owned_path();
        if let Some(indices) = self.by_path.remove(&path) {
            let location: Vec<_> = location(self.document, field).into_iter().collect();
            for i in indices {
                self.upstream[i].locations = location.clone();
            }
        }
    }
}
