//! Result and error-path reshaping for the transforms that change the response shape
//! (`WrapFields`, `WrapType`, `HoistField`): the result is walked along the request document
//! (outer names and shape) and a [`Reshaper`] rebuilds the parts it changed.

use apollo_compiler::ast::Type;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, ast};
use quilt_executor::{ExecutionResult, JsonMap, PathSegment};
use serde_json::Value;

use crate::transform::TransformContext;
use crate::visit::{FieldGroups, SelectionWalker};

/// Where an error path continues after a reshaped part.
pub(crate) struct PathStep<'a> {
    /// How many inner segments were consumed.
    pub(crate) consumed: usize,
    /// The outer segments they become.
    pub(crate) segments: Vec<PathSegment>,
    /// The type at that point.
    pub(crate) ty: Type,
    /// The selection sets at that point.
    pub(crate) sets: Vec<&'a [ast::Selection]>,
}

/// What a shape-changing transform knows about its own parts of a result.
pub(crate) trait Reshaper {
    /// Builds the outer value of the group `key` of an object of type `parent` from the inner
    /// object, taking the inner keys it uses; `None` when the group is not reshaped.
    fn take<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        parent: &Name,
        key: &str,
        groups: &FieldGroups<'a>,
        inner: &mut JsonMap,
    ) -> Option<Value>;

    /// Maps the start of `path` (inner) at an object of type `parent`; `None` when the first
    /// segment is not a reshaped part.
    fn path<'a>(
        &self,
        walker: &SelectionWalker<'a>,
        parent: &Name,
        groups: &FieldGroups<'a>,
        path: &[PathSegment],
    ) -> Option<PathStep<'a>>;
}

/// Reshapes a whole result: data, incremental data (at the root only when its path is empty),
/// and error paths.
pub(crate) fn reshape_result(
    walker_schema: &apollo_compiler::Schema,
    context: &TransformContext,
    reshaper: &dyn Reshaper,
    result: &mut ExecutionResult,
) {
    let Some(walker) = SelectionWalker::new(
        walker_schema,
        context.document().ast(),
        context.operation_name(),
    ) else {
        return;
    };
    let root = walker.root_type();
    let sets = walker.root_sets();
    if let Some(data) = result.data_value_mut() {
        let taken = std::mem::take(data);
        *data = reshape_value(&walker, reshaper, &root, &sets, taken);
    }
    for error in &mut result.errors {
        if let Some(path) = &error.path {
            error.path = Some(map_path(&walker, reshaper, &root, &sets, path));
        }
    }
    if let Some(parts) = &mut result.incremental {
        for part in parts {
            for error in &mut part.errors {
                if let Some(path) = &error.path {
                    error.path = Some(map_path(&walker, reshaper, &root, &sets, path));
                }
            }
            let inner_path = std::mem::take(&mut part.path);
            part.path = map_path(&walker, reshaper, &root, &sets, &inner_path);
            let Some((ty, part_sets)) = walker.locate(&root, &sets, &part.path) else {
                continue;
            };
            if let Some(data) = part.data.take() {
                part.data = Some(reshape_value(&walker, reshaper, &ty, &part_sets, data));
            }
            if let Some(items) = part.items.take() {
                let item_type = ty.item_type().clone();
                part.items = Some(
                    items
                        .into_iter()
                        .map(|item| reshape_value(&walker, reshaper, &item_type, &part_sets, item))
                        .collect(),
                );
            }
        }
    }
}

/// Reshapes one value of the outer type `ty` selected by `sets`.
pub(crate) fn reshape_value<'a>(
    walker: &SelectionWalker<'a>,
    reshaper: &dyn Reshaper,
    ty: &Type,
    sets: &[&'a [ast::Selection]],
    value: Value,
) -> Value {
    match (ty, value) {
        (Type::List(item) | Type::NonNullList(item), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| reshape_value(walker, reshaper, item, sets, v))
                .collect(),
        ),
        (Type::Named(name) | Type::NonNullNamed(name), Value::Object(mut inner)) => {
            match walker.schema().types.get(name) {
                Some(
                    ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_),
                ) => {}
                _ => return Value::Object(inner),
            }
            let groups = walker.collect(name, sets);
            let mut outer = JsonMap::new();
            for (key, group) in groups.iter() {
                if let Some(value) = reshaper.take(walker, name, key, &groups, &mut inner) {
                    outer.insert((*key).to_owned(), value);
                } else if let Some(value) = inner.remove(*key) {
                    let value = match walker.group_type(group) {
                        Some(field_type) if !group.is_typename() => reshape_value(
                            walker,
                            reshaper,
                            field_type,
                            &group.sub_selections(),
                            value,
                        ),
                        _ => value,
                    };
                    outer.insert((*key).to_owned(), value);
                }
            }
            outer.extend(inner);
            Value::Object(outer)
        }
        (_, value) => value,
    }
}

/// Maps an inner error path to the outer shape.
pub(crate) fn map_path<'a>(
    walker: &SelectionWalker<'a>,
    reshaper: &dyn Reshaper,
    root: &Type,
    root_sets: &[&'a [ast::Selection]],
    path: &[PathSegment],
) -> Vec<PathSegment> {
    let mut ty = root.clone();
    let mut sets = root_sets.to_vec();
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        match &path[i] {
            PathSegment::Index(_) => {
                out.push(path[i].clone());
                if ty.is_list() {
                    ty = ty.item_type().clone();
                }
                i += 1;
            }
            PathSegment::Key(key) => {
                let parent = ty.inner_named_type().clone();
                let groups = walker.collect(&parent, &sets);
                if let Some(step) = reshaper.path(walker, &parent, &groups, &path[i..]) {
                    out.extend(step.segments);
                    i += step.consumed.max(1);
                    ty = step.ty;
                    sets = step.sets;
                    continue;
                }
                let Some(group) = groups.get(key.as_str()) else {
                    out.extend(path[i..].iter().cloned());
                    break;
                };
                out.push(path[i].clone());
                match walker.group_type(group) {
                    Some(field_type) => {
                        ty = field_type.clone();
                        sets = group.sub_selections();
                    }
                    None => {
                        out.extend(path[i + 1..].iter().cloned());
                        break;
                    }
                }
                i += 1;
            }
        }
    }
    out
}
