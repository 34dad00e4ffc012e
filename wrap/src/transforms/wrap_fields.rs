//! `WrapFields` and `WrapType`: move fields of a type under a chain of new wrapping types
//! (`Query { a b }` → `Query { ns: Namespace! }`, `Namespace { a b }`).
//!
//! Requests are flattened back: each wrapped field is requested on the original type under an
//! alias that encodes its outer path (`_qw_ns__a`), inside an inline fragment that keeps the
//! wrapping field's directives, with a `__typename` marker telling whether the wrapper was
//! selected. Results and error paths are rebuilt in the outer shape.

use std::collections::HashMap;

use apollo_compiler::ast::{self, FieldDefinition, Type};
use apollo_compiler::schema::{Component, ExtendedType, ObjectType};
use apollo_compiler::{Name, Node, Schema};
use quilt_executor::{Document, ExecutionResult, JsonMap, PathSegment};
use serde_json::Value;

use crate::reshape::{PathStep, Reshaper, reshape_result, reshape_value};
use crate::type_info::{field_definition, fragments, new_name, rewrite_top_selection_sets};
use crate::visit::{FieldGroup, FieldGroups, SelectionWalker};
use crate::{Transform, TransformContext, TransformError};

type FieldFilter = Box<dyn Fn(&str, &FieldDefinition) -> bool + Send + Sync>;

/// Moves fields of an object type under a chain of new types: `WrapFields::new("Query",
/// ["admin", "users"], ["Admin", "AdminUsers"])` gives `Query.admin: Admin!`,
/// `Admin.users: AdminUsers!` and moves the fields into `AdminUsers`. All fields move unless
/// [`WrapFields::fields`] chooses.
///
/// ```
/// use quilt_wrap::transforms::WrapFields;
/// let t = WrapFields::new("Query", ["posts"], ["PostQueries"]).fields(|name, _| name.starts_with("post"));
/// ```
pub struct WrapFields {
    type_name: String,
    wrapping_fields: Vec<String>,
    wrapping_types: Vec<String>,
    filter: Option<FieldFilter>,
    prefix: String,
    state: Option<State>,
}

struct State {
    outer: Schema,
    target: Name,
    fields: Vec<Name>,
    types: Vec<Name>,
}

impl WrapFields {
    /// Wraps the fields of `type_name` under the fields `wrapping_fields` of the new types
    /// `wrapping_types` (the same number of each, at least one).
    pub fn new<F, T>(
        type_name: &str,
        wrapping_fields: impl IntoIterator<Item = F>,
        wrapping_types: impl IntoIterator<Item = T>,
    ) -> Self
    where
        F: Into<String>,
        T: Into<String>,
    {
        Self {
            type_name: type_name.to_owned(),
            wrapping_fields: wrapping_fields.into_iter().map(Into::into).collect(),
            wrapping_types: wrapping_types.into_iter().map(Into::into).collect(),
            filter: None,
            prefix: "_qw_".to_owned(),
            state: None,
        }
    }

    /// Moves only the fields `select` returns `true` for (it gets the field name and definition).
    pub fn fields(
        mut self,
        select: impl Fn(&str, &FieldDefinition) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Box::new(select));
        self
    }

    /// The alias prefix used in requests (default `_qw_`); change it if the wrapped service has
    /// response keys starting with it.
    pub fn alias_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn error(&self, message: impl Into<String>) -> TransformError {
        TransformError::schema(self.name(), message)
    }
}

impl Transform for WrapFields {
    fn name(&self) -> &str {
        "WrapFields"
    }

    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        if self.wrapping_fields.is_empty()
            || self.wrapping_fields.len() != self.wrapping_types.len()
        {
            return Err(self
                .error("give as many wrapping field names as wrapping type names, at least one"));
        }
        let fields: Vec<Name> = self
            .wrapping_fields
            .iter()
            .map(|f| new_name(self.name(), f))
            .collect::<Result<_, _>>()?;
        let types: Vec<Name> = self
            .wrapping_types
            .iter()
            .map(|t| new_name(self.name(), t))
            .collect::<Result<_, _>>()?;
        let target = new_name(self.name(), &self.type_name)?;
        for ty in &types {
            if schema.types.contains_key(ty) {
                return Err(self.error(format!("the wrapping type `{ty}` already exists")));
            }
        }
        let Some(ExtendedType::Object(object)) = schema.types.get_mut(&target) else {
            return Err(self.error(format!("`{target}` is not an object type of the schema")));
        };
        let object = object.make_mut();
        let mut moved = apollo_compiler::collections::IndexMap::default();
        let mut kept = apollo_compiler::collections::IndexMap::default();
        for (name, field) in std::mem::take(&mut object.fields) {
            let moves =
                !name.starts_with("__") && self.filter.as_ref().is_none_or(|f| f(&name, &field));
            if moves {
                moved.insert(name, field);
            } else {
                kept.insert(name, field);
            }
        }
        if moved.is_empty() {
            return Err(self.error(format!("no field of `{target}` was selected to wrap")));
        }
        if kept.contains_key(&fields[0]) {
            return Err(self.error(format!("`{target}` keeps a field called `{}`", fields[0])));
        }
        kept.insert(fields[0].clone(), wrapping_field(&fields[0], &types[0]));
        object.fields = kept;
        for (level, ty) in types.iter().enumerate() {
            let level_fields = if level + 1 < types.len() {
                let mut only = apollo_compiler::collections::IndexMap::default();
                only.insert(
                    fields[level + 1].clone(),
                    wrapping_field(&fields[level + 1], &types[level + 1]),
                );
                only
            } else {
                std::mem::take(&mut moved)
            };
            let wrapper = ObjectType {
                description: None,
                name: ty.clone(),
                implements_interfaces: Default::default(),
                directives: Default::default(),
                fields: level_fields,
            };
            schema
                .types
                .insert(ty.clone(), ExtendedType::Object(Node::new(wrapper)));
        }
        self.state = Some(State {
            outer: schema.clone(),
            target,
            fields,
            types,
        });
        Ok(schema)
    }

    fn transform_document(
        &self,
        document: &Document,
        _operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        let Some(state) = &self.state else {
            return Err(TransformError::request(
                self.name(),
                "the transform was not applied to a schema",
            ));
        };
        let source = document.ast();
        let rewriter = Rewriter {
            state,
            prefix: &self.prefix,
            fragments: fragments(source),
        };
        let mut mapped = source.clone();
        mapped.definitions.retain(|d| match d {
            ast::Definition::FragmentDefinition(f) => !state.types.contains(&f.type_condition),
            _ => true,
        });
        rewrite_top_selection_sets(&state.outer, &mut mapped, |parent, selections| {
            rewriter.selections(parent, selections)
        });
        Ok(Document::from_ast(mapped))
    }

    fn transform_result(
        &self,
        mut result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        if let Some(state) = &self.state {
            let reshaper = WrapReshaper {
                state,
                prefix: &self.prefix,
            };
            reshape_result(&state.outer, context, &reshaper, &mut result);
        }
        result
    }
}

fn wrapping_field(name: &Name, ty: &Name) -> Component<FieldDefinition> {
    Component::new(FieldDefinition {
        description: None,
        name: name.clone(),
        arguments: Vec::new(),
        ty: Type::NonNullNamed(ty.clone()),
        directives: Default::default(),
    })
}

struct Rewriter<'a> {
    state: &'a State,
    prefix: &'a str,
    fragments: HashMap<&'a str, &'a Node<ast::FragmentDefinition>>,
}

fn response_key(field: &ast::Field) -> &Name {
    field.alias.as_ref().unwrap_or(&field.name)
}

fn inline(directives: ast::DirectiveList, selection_set: Vec<ast::Selection>) -> ast::Selection {
    ast::Selection::InlineFragment(Node::new(ast::InlineFragment {
        type_condition: None,
        directives,
        selection_set,
    }))
}

fn aliased_field(alias: &str, name: &str) -> Option<ast::Selection> {
    Some(ast::Selection::Field(Node::new(ast::Field {
        alias: Some(Name::new(alias).ok()?),
        name: Name::new(name).ok()?,
        arguments: Vec::new(),
        directives: Default::default(),
        selection_set: Vec::new(),
    })))
}

impl Rewriter<'_> {
    /// Rewrites a selection set on the outer type `parent`.
    fn selections(&self, parent: &Name, selections: &mut [ast::Selection]) {
        for selection in selections.iter_mut() {
            match selection {
                ast::Selection::Field(field) => {
                    if *parent == self.state.target && field.name == self.state.fields[0] {
                        let base = format!("{}{}", self.prefix, response_key(field));
                        let mut inner: Vec<ast::Selection> =
                            aliased_field(&base, "__typename").into_iter().collect();
                        inner.extend(self.flatten(0, &base, &field.selection_set));
                        *selection = inline(field.directives.clone(), inner);
                    } else if !field.selection_set.is_empty()
                        && let Some(definition) =
                            field_definition(&self.state.outer, parent, &field.name)
                    {
                        let child = definition.ty.inner_named_type().clone();
                        self.selections(&child, &mut field.make_mut().selection_set);
                    }
                }
                ast::Selection::InlineFragment(fragment) => {
                    let condition = fragment
                        .type_condition
                        .clone()
                        .unwrap_or_else(|| parent.clone());
                    self.selections(&condition, &mut fragment.make_mut().selection_set);
                }
                ast::Selection::FragmentSpread(_) => {}
            }
        }
    }

    /// Turns a selection set on wrapping type `level` into selections on the target type.
    fn flatten(
        &self,
        level: usize,
        base: &str,
        selections: &[ast::Selection],
    ) -> Vec<ast::Selection> {
        let last = level + 1 == self.state.types.len();
        let mut out = Vec::new();
        for selection in selections {
            match selection {
                ast::Selection::Field(field) if field.name == "__typename" => {}
                ast::Selection::Field(field)
                    if !last && field.name == self.state.fields[level + 1] =>
                {
                    let nested = format!("{base}__{}", response_key(field));
                    out.push(inline(
                        field.directives.clone(),
                        self.flatten(level + 1, &nested, &field.selection_set),
                    ));
                }
                ast::Selection::Field(field) => {
                    let Ok(alias) = Name::new(&format!("{base}__{}", response_key(field))) else {
                        continue;
                    };
                    let mut moved = field.clone();
                    let moved_mut = moved.make_mut();
                    moved_mut.alias = Some(alias);
                    if !moved_mut.selection_set.is_empty()
                        && let Some(definition) = field_definition(
                            &self.state.outer,
                            &self.state.types[level],
                            &field.name,
                        )
                    {
                        let child = definition.ty.inner_named_type().clone();
                        self.selections(&child, &mut moved_mut.selection_set);
                    }
                    out.push(ast::Selection::Field(moved));
                }
                ast::Selection::InlineFragment(fragment) => {
                    out.push(inline(
                        fragment.directives.clone(),
                        self.flatten(level, base, &fragment.selection_set),
                    ));
                }
                ast::Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.fragments.get(spread.fragment_name.as_str()) {
                        out.push(inline(
                            spread.directives.clone(),
                            self.flatten(level, base, &fragment.selection_set),
                        ));
                    }
                }
            }
        }
        out
    }
}

struct WrapReshaper<'s> {
    state: &'s State,
    prefix: &'s str,
}

impl WrapReshaper<'_> {
    fn is_wrapper(&self, group: &FieldGroup<'_>) -> bool {
        group.fields.iter().any(|(parent, field)| {
            *parent == self.state.target && field.name == self.state.fields[0]
        })
    }

    fn build<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        level: usize,
        base: &str,
        sets: &[&'a [ast::Selection]],
        inner: &mut JsonMap,
    ) -> Value {
        let ty = &self.state.types[level];
        let last = level + 1 == self.state.types.len();
        let mut object = JsonMap::new();
        for (key, group) in walker.collect(ty, sets).iter() {
            let inner_key = format!("{base}__{key}");
            if group.is_typename() {
                object.insert((*key).to_owned(), Value::String(ty.to_string()));
            } else if !last
                && group
                    .name()
                    .is_some_and(|n| *n == self.state.fields[level + 1])
            {
                let nested = self.build(
                    walker,
                    level + 1,
                    &inner_key,
                    &group.sub_selections(),
                    inner,
                );
                object.insert((*key).to_owned(), nested);
            } else if let Some(value) = inner.remove(&inner_key) {
                let value = match walker.group_type(group) {
                    Some(field_type) => {
                        reshape_value(walker, self, field_type, &group.sub_selections(), value)
                    }
                    None => value,
                };
                object.insert((*key).to_owned(), value);
            }
        }
        Value::Object(object)
    }

    fn find_leaf<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        level: usize,
        base: &str,
        sets: &[&'a [ast::Selection]],
        wanted: &str,
        keys: &mut Vec<PathSegment>,
    ) -> Option<PathStep<'a>> {
        let last = level + 1 == self.state.types.len();
        for (key, group) in walker.collect(&self.state.types[level], sets).iter() {
            let inner_key = format!("{base}__{key}");
            if !wanted.starts_with(&inner_key) {
                continue;
            }
            keys.push(PathSegment::Key((*key).to_owned()));
            if !last
                && group
                    .name()
                    .is_some_and(|n| *n == self.state.fields[level + 1])
            {
                if let Some(step) = self.find_leaf(
                    walker,
                    level + 1,
                    &inner_key,
                    &group.sub_selections(),
                    wanted,
                    keys,
                ) {
                    return Some(step);
                }
            } else if inner_key == wanted
                && let Some(ty) = walker.group_type(group)
            {
                return Some(PathStep {
                    consumed: 1,
                    segments: std::mem::take(keys),
                    ty: ty.clone(),
                    sets: group.sub_selections(),
                });
            }
            keys.pop();
        }
        None
    }
}

impl Reshaper for WrapReshaper<'_> {
    fn take<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        _parent: &Name,
        key: &str,
        groups: &FieldGroups<'a>,
        inner: &mut JsonMap,
    ) -> Option<Value> {
        let group = groups.get(key)?;
        if !self.is_wrapper(group) {
            return None;
        }
        let base = format!("{}{key}", self.prefix);
        inner.remove(&base)?;
        Some(self.build(walker, 0, &base, &group.sub_selections(), inner))
    }

    fn path<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        _parent: &Name,
        groups: &FieldGroups<'a>,
        path: &[PathSegment],
    ) -> Option<PathStep<'a>> {
        let PathSegment::Key(wanted) = path.first()? else {
            return None;
        };
        let rest = wanted.strip_prefix(self.prefix)?;
        for (key, group) in groups {
            if !self.is_wrapper(group) || !rest.starts_with(*key) {
                continue;
            }
            let base = format!("{}{key}", self.prefix);
            if *wanted == base {
                return Some(PathStep {
                    consumed: 1,
                    segments: vec![PathSegment::Key((*key).to_owned())],
                    ty: Type::NonNullNamed(self.state.types[0].clone()),
                    sets: group.sub_selections(),
                });
            }
            let mut keys = vec![PathSegment::Key((*key).to_owned())];
            if let Some(step) =
                self.find_leaf(walker, 0, &base, &group.sub_selections(), wanted, &mut keys)
            {
                return Some(step);
            }
        }
        None
    }
}

/// Moves all fields of a type under one new type: `WrapType::new("Query", "Namespace", "ns")`
/// gives `Query { ns: Namespace! }` with the former root fields in `Namespace`.
pub struct WrapType(WrapFields);

impl WrapType {
    /// Wraps every field of `type_name` in the new type `wrapping_type`, reached by the field
    /// `field_name`.
    pub fn new(type_name: &str, wrapping_type: &str, field_name: &str) -> Self {
        Self(WrapFields::new(type_name, [field_name], [wrapping_type]))
    }
}

impl Transform for WrapType {
    fn name(&self) -> &str {
        "WrapType"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        self.0.transform_schema(schema)
    }
    fn transform_document(
        &self,
        document: &Document,
        operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        self.0.transform_document(document, operation_name)
    }
    fn transform_result(
        &self,
        result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        self.0.transform_result(result, context)
    }
}
