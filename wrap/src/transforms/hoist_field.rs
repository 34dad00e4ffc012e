//! `HoistField`: a field deep in the graph exposed on an outer type
//! (`Query.user(id).name` as `Query.userName(id)`).
//!
//! A request for the new field becomes the path of fields it stands for, under the client's
//! response key (`userName: user(id: 1) { name }`); the result is unwrapped level by level
//! (lists along the path stay lists) and error paths lose the intermediate keys.

use apollo_compiler::ast::{self, FieldDefinition, InputValueDefinition, Type};
use apollo_compiler::schema::{Component, ExtendedType};
use apollo_compiler::{Name, Node, Schema};
use quilt_executor::{Document, ExecutionResult, JsonMap, PathSegment};
use serde_json::Value;

use crate::reshape::{PathStep, Reshaper, reshape_result, reshape_value};
use crate::type_info::{field_definition, new_name, rewrite_top_selection_sets};
use crate::visit::{FieldGroups, SelectionWalker};
use crate::{Transform, TransformContext, TransformError};

type ArgFilter = Box<dyn Fn(usize, &InputValueDefinition) -> bool + Send + Sync>;

/// Adds to `type_name` a field `new_field_name` that resolves to the field at the end of `path`
/// (field names from `type_name`), and removes that field from its own type (unless that would
/// leave the type empty), as graphql-tools does. The new field takes the arguments of every
/// field on the path (choose with [`HoistField::arguments`]; required ones are always kept);
/// if a field along the path is a list, the new field is a list.
///
/// ```
/// use quilt_wrap::transforms::HoistField;
/// let t = HoistField::new("Query", ["user", "name"], "userName");
/// ```
pub struct HoistField {
    type_name: String,
    path: Vec<String>,
    new_field: String,
    arg_filter: Option<ArgFilter>,
    state: Option<State>,
}

struct State {
    outer: Schema,
    target: Name,
    new_field: Name,
    path: Vec<Name>,
    /// For each path level, the names of the arguments the new field takes for it.
    arguments: Vec<Vec<Name>>,
    /// The type of the new field.
    hoisted_type: Type,
    /// The type of the field at the end of the path.
    final_type: Type,
}

impl HoistField {
    /// Hoists the field at `path` (starting at a field of `type_name`) as `new_field_name`.
    pub fn new<P: Into<String>>(
        type_name: &str,
        path: impl IntoIterator<Item = P>,
        new_field_name: &str,
    ) -> Self {
        Self {
            type_name: type_name.to_owned(),
            path: path.into_iter().map(Into::into).collect(),
            new_field: new_field_name.to_owned(),
            arg_filter: None,
            state: None,
        }
    }

    /// Exposes only the arguments `keep` accepts; it gets the path level (0 for the first field)
    /// and the argument's definition.
    pub fn arguments(
        mut self,
        keep: impl Fn(usize, &InputValueDefinition) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.arg_filter = Some(Box::new(keep));
        self
    }

    fn error(&self, message: impl Into<String>) -> TransformError {
        TransformError::schema(self.name(), message)
    }
}

impl Transform for HoistField {
    fn name(&self) -> &str {
        "HoistField"
    }

    fn transform_schema(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        if self.path.is_empty() {
            return Err(self.error("the path is empty"));
        }
        let target = new_name(self.name(), &self.type_name)?;
        let new_field = new_name(self.name(), &self.new_field)?;
        let path: Vec<Name> = self
            .path
            .iter()
            .map(|p| new_name(self.name(), p))
            .collect::<Result<_, _>>()?;
        let mut parent = target.clone();
        let mut arguments = Vec::new();
        let mut exposed: Vec<Node<InputValueDefinition>> = Vec::new();
        let mut list_levels = Vec::new();
        let mut nullable = false;
        let mut last: Option<(Name, FieldDefinition)> = None;
        for (level, name) in path.iter().enumerate() {
            let Some(definition) = field_definition(&schema, &parent, name) else {
                return Err(self.error(format!(
                    "`{parent}` has no field `{name}` (path {:?})",
                    self.path
                )));
            };
            let mut names = Vec::new();
            for argument in &definition.arguments {
                let required = argument.is_required();
                if required || self.arg_filter.as_ref().is_none_or(|f| f(level, argument)) {
                    if exposed.iter().any(|a| a.name == argument.name) {
                        return Err(self.error(format!(
                            "two fields on the path take an argument `{}`",
                            argument.name
                        )));
                    }
                    exposed.push(argument.clone());
                    names.push(argument.name.clone());
                }
            }
            arguments.push(names);
            if level + 1 < path.len() {
                list_levels.push((definition.ty.is_list(), definition.ty.is_non_null()));
                nullable |= !definition.ty.is_non_null();
                if definition.ty.is_list() && definition.ty.item_type().is_list() {
                    return Err(self.error(format!(
                        "`{parent}.{name}` is a list of lists, which cannot be hoisted through"
                    )));
                }
                parent = definition.ty.inner_named_type().clone();
            } else {
                last = Some((parent.clone(), definition.clone()));
            }
        }
        let Some((owner, final_field)) = last else {
            return Err(self.error("the path is empty"));
        };
        let mut hoisted_type = final_field.ty.clone();
        for (is_list, non_null) in list_levels.iter().rev() {
            if *is_list {
                hoisted_type = if *non_null {
                    Type::NonNullList(Box::new(hoisted_type))
                } else {
                    Type::List(Box::new(hoisted_type))
                };
            }
        }
        if nullable {
            hoisted_type = hoisted_type.nullable();
        }
        let Some(ExtendedType::Object(object)) = schema.types.get_mut(&target) else {
            return Err(self.error(format!("`{target}` is not an object type of the schema")));
        };
        if object.fields.contains_key(&new_field) {
            return Err(self.error(format!("`{target}` already has a field `{new_field}`")));
        }
        object.make_mut().fields.insert(
            new_field.clone(),
            Component::new(FieldDefinition {
                description: final_field.description.clone(),
                name: new_field.clone(),
                arguments: exposed,
                ty: hoisted_type.clone(),
                directives: final_field.directives.clone(),
            }),
        );
        if let Some(ExtendedType::Object(owner_type)) = schema.types.get_mut(&owner)
            && owner_type.fields.len() > 1
        {
            owner_type.make_mut().fields.shift_remove(&final_field.name);
        }
        self.state = Some(State {
            outer: schema.clone(),
            target,
            new_field,
            path,
            arguments,
            hoisted_type,
            final_type: final_field.ty.clone(),
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
        let mut mapped = document.ast().clone();
        rewrite_top_selection_sets(&state.outer, &mut mapped, |parent, selections| {
            state.selections(parent, selections)
        });
        Ok(Document::from_ast(mapped))
    }

    fn transform_result(
        &self,
        mut result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        if let Some(state) = &self.state {
            reshape_result(&state.outer, context, state, &mut result);
        }
        result
    }
}

impl State {
    fn selections(&self, parent: &Name, selections: &mut [ast::Selection]) {
        for selection in selections {
            match selection {
                ast::Selection::Field(field) => {
                    let hoisted = *parent == self.target && field.name == self.new_field;
                    let child = if hoisted {
                        Some(self.hoisted_type.inner_named_type().clone())
                    } else {
                        field_definition(&self.outer, parent, &field.name)
                            .map(|d| d.ty.inner_named_type().clone())
                    };
                    let field = field.make_mut();
                    if let Some(child) = child
                        && !field.selection_set.is_empty()
                    {
                        self.selections(&child, &mut field.selection_set);
                    }
                    if hoisted {
                        self.expand(field);
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

    /// Turns `key: newField(args) { s }` into `key: p0(args0) { p1(args1) { ... { s } } }`.
    fn expand(&self, field: &mut ast::Field) {
        let arguments_of = |level: usize| -> Vec<Node<ast::Argument>> {
            field
                .arguments
                .iter()
                .filter(|a| self.arguments[level].contains(&a.name))
                .cloned()
                .collect()
        };
        let mut selection_set = std::mem::take(&mut field.selection_set);
        for level in (1..self.path.len()).rev() {
            selection_set = vec![ast::Selection::Field(Node::new(ast::Field {
                alias: None,
                name: self.path[level].clone(),
                arguments: arguments_of(level),
                directives: Default::default(),
                selection_set,
            }))];
        }
        if field.alias.is_none() {
            field.alias = Some(field.name.clone());
        }
        field.arguments = arguments_of(0);
        field.name = self.path[0].clone();
        field.selection_set = selection_set;
    }

    fn is_hoisted(&self, groups: &FieldGroups<'_>, key: &str) -> bool {
        groups.get(key).is_some_and(|g| {
            g.fields
                .iter()
                .any(|(parent, field)| *parent == self.target && field.name == self.new_field)
        })
    }

    /// The value of the field at `path[level]` unwrapped down to the final field.
    fn unwrap(&self, value: Value, level: usize) -> Value {
        if level + 1 >= self.path.len() {
            return value;
        }
        match value {
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.unwrap(v, level)).collect())
            }
            Value::Object(mut object) => {
                let next = object
                    .remove(self.path[level + 1].as_str())
                    .unwrap_or(Value::Null);
                self.unwrap(next, level + 1)
            }
            other => other,
        }
    }
}

impl Reshaper for State {
    fn take<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        _parent: &Name,
        key: &str,
        groups: &FieldGroups<'a>,
        inner: &mut JsonMap,
    ) -> Option<Value> {
        if !self.is_hoisted(groups, key) {
            return None;
        }
        let value = self.unwrap(inner.remove(key)?, 0);
        let sets = groups
            .get(key)
            .map(|g| g.sub_selections())
            .unwrap_or_default();
        Some(reshape_value(
            walker,
            self,
            &self.hoisted_type,
            &sets,
            value,
        ))
    }

    fn path<'a>(
        &self,
        _walker: &SelectionWalker<'a>,
        _parent: &Name,
        groups: &FieldGroups<'a>,
        path: &[PathSegment],
    ) -> Option<PathStep<'a>> {
        let PathSegment::Key(key) = path.first()? else {
            return None;
        };
        if !self.is_hoisted(groups, key) {
            return None;
        }
        let mut segments = vec![path[0].clone()];
        let mut j = 1;
        let mut reached_final = self.path.len() == 1;
        for level in 1..self.path.len() {
            while let Some(PathSegment::Index(_)) = path.get(j) {
                segments.push(path[j].clone());
                j += 1;
            }
            match path.get(j) {
                Some(PathSegment::Key(k)) if k.as_str() == self.path[level].as_str() => {
                    j += 1;
                    reached_final = level + 1 == self.path.len();
                }
                _ => break,
            }
        }
        let sets = groups
            .get(key.as_str())
            .map(|g| g.sub_selections())
            .unwrap_or_default();
        let ty = if reached_final {
            self.final_type.clone()
        } else {
            self.hoisted_type.clone()
        };
        Some(PathStep {
            consumed: j,
            segments,
            ty,
            sets,
        })
    }
}
