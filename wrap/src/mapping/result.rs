//! Rewriting result data from inner to outer `__typename`s and leaf values, driven by the
//! request document (in outer names) and the outer schema.

use apollo_compiler::Schema;
use apollo_compiler::ast::{self, Type};
use apollo_compiler::schema::ExtendedType;
use quilt_executor::ExecutionResult;
use serde_json::Value;

use super::Mapper;
use crate::transform::TransformContext;
use crate::visit::{FieldGroups, SelectionWalker};

/// Maps `result` (data and incremental parts) in place.
pub(crate) fn map_result(
    outer: &Schema,
    mapper: &dyn Mapper,
    context: &TransformContext,
    result: &mut ExecutionResult,
) {
    let Some(walker) =
        SelectionWalker::new(outer, context.document().ast(), context.operation_name())
    else {
        return;
    };
    let root = walker.root_type();
    let root_sets = walker.root_sets();
    let mapping = ResultMapping {
        walker: &walker,
        mapper,
    };
    if let Some(data) = result.data_value_mut() {
        mapping.value(&root, &root_sets, data);
    }
    if let Some(parts) = &mut result.incremental {
        for part in parts {
            let Some((ty, sets)) = walker.locate(&root, &root_sets, &part.path) else {
                continue;
            };
            if let Some(data) = &mut part.data {
                mapping.value(&ty, &sets, data);
            }
            if let Some(items) = &mut part.items {
                let item_type = ty.item_type().clone();
                for item in items {
                    mapping.value(&item_type, &sets, item);
                }
            }
        }
    }
}

struct ResultMapping<'a, 'd> {
    walker: &'a SelectionWalker<'d>,
    mapper: &'a dyn Mapper,
}

impl<'d> ResultMapping<'_, 'd> {
    fn value(&self, ty: &Type, sets: &[&'d [ast::Selection]], value: &mut Value) {
        match (ty, value) {
            (_, Value::Null) => {}
            (Type::List(item) | Type::NonNullList(item), Value::Array(items)) => {
                for v in items {
                    self.value(item, sets, v);
                }
            }
            (Type::Named(name) | Type::NonNullNamed(name), value) => {
                match self.walker.schema().types.get(name) {
                    Some(ExtendedType::Enum(_) | ExtendedType::Scalar(_)) => {
                        let taken = std::mem::take(value);
                        *value = self.mapper.output_leaf(name, taken);
                    }
                    Some(_) => {
                        if let Value::Object(object) = value {
                            let groups = self.walker.collect(name, sets);
                            for (key, v) in object.iter_mut() {
                                self.entry(&groups, key, v);
                            }
                        }
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    fn entry(&self, groups: &FieldGroups<'d>, key: &str, value: &mut Value) {
        let Some(group) = groups.get(key) else {
            return;
        };
        if group.is_typename() {
            if let Value::String(inner) = value
                && let Some(outer) = self.mapper.typename_to_outer(inner)
            {
                *inner = outer.to_string();
            }
            return;
        }
        if let Some(ty) = self.walker.group_type(group) {
            self.value(ty, &group.sub_selections(), value);
        }
    }
}
