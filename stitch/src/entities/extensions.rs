//! Gateway-defined fields resolved: each `Type.field` of the type definitions the stitcher was
//! given, with its [`FieldResolver`](crate::FieldResolver) checked against the stitched schema
//! and the target subschema, as a [`Resolver`] the planner handles like an entry point.

use std::sync::Arc;

use apollo_compiler::ast::OperationType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema, ast};
use quilt_executor::JsonMap;
use serde_json::Value;

use crate::config::SubschemaConfig;
use crate::error::StitchError;
use crate::extension::{ArgSource, DelegateArgs, FieldResolver, ResolverKind};
use crate::index::FieldMap;
use crate::resolve::declarative::at_path;
use crate::resolve::{BatchDelegate, Method, Resolver, field_set};

/// The gateway-defined fields of a stitched schema.
#[derive(Default)]
pub(crate) struct ExtensionIndex {
    fields: FieldMap<Arc<Resolver>>,
}

/// Marks a local resolver's `Resolver::subschema` (it calls no subschema).
pub(crate) const LOCAL: usize = usize::MAX;

impl ExtensionIndex {
    /// Checks every resolver against the stitched schema and its target subschema.
    pub fn build(
        resolvers: &[(String, FieldResolver)],
        subschemas: &[SubschemaConfig],
        schema: &Valid<Schema>,
    ) -> Result<Self, StitchError> {
        let mut index = Self::default();
        for (coordinate, resolver) in resolvers {
            let error = |message: String| StitchError::InvalidFieldResolver {
                coordinate: coordinate.clone(),
                message,
            };
            let (type_name, field_name) = coordinate
                .split_once('.')
                .and_then(|(t, f)| Some((Name::new(t).ok()?, Name::new(f).ok()?)))
                .ok_or_else(|| error("expected a `Type.field` coordinate".into()))?;
            let field = schema.type_field(&type_name, &field_name).map_err(|_| {
                error("the stitched schema has no such field (add it with `type_defs`)".into())
            })?;
            let key = if resolver.selection_set.trim().is_empty() {
                Vec::new()
            } else {
                field_set(
                    "gateway",
                    schema,
                    &type_name,
                    &resolver.selection_set,
                    coordinate,
                )
                .map_err(|e| error(e.to_string()))?
            };
            let (subschema, target, args) = match &resolver.kind {
                ResolverKind::Local(f) => (LOCAL, None, Method::Local(f.clone())),
                ResolverKind::Delegate {
                    subschema,
                    field_name,
                    args,
                } => {
                    let (i, target) = target(subschemas, subschema, field_name).map_err(error)?;
                    let args = match args {
                        DelegateArgs::Closure(f) => f.clone(),
                        DelegateArgs::Mapping(mapping) => {
                            for (arg, source) in mapping {
                                if !target.arguments.iter().any(|a| a.name == arg.as_str()) {
                                    return Err(error(format!(
                                        "`{field_name}` of subschema `{subschema}` has no argument `{arg}`"
                                    )));
                                }
                                if let ArgSource::Field(name) = source
                                    && !field.arguments.iter().any(|a| a.name == name.as_str())
                                {
                                    return Err(error(format!(
                                        "the field has no argument `{name}`"
                                    )));
                                }
                            }
                            mapping_fn(mapping.clone())
                        }
                    };
                    (i, Some(target), Method::Delegate(args))
                }
                ResolverKind::BatchDelegate {
                    subschema,
                    field_name,
                    key,
                    args_from_keys,
                    matching,
                } => {
                    let (i, target) = target(subschemas, subschema, field_name).map_err(error)?;
                    if !target.ty.is_list() {
                        return Err(error(format!(
                            "`{field_name}` of subschema `{subschema}` must return a list for a batched delegation"
                        )));
                    }
                    (
                        i,
                        Some(target),
                        Method::BatchDelegate(BatchDelegate {
                            key: key.clone(),
                            args_from_keys: args_from_keys.clone(),
                            matching: matching.clone(),
                        }),
                    )
                }
            };
            if let Some(target) = &target {
                let (ours, theirs) = (field.ty.inner_named_type(), target.ty.inner_named_type());
                if ours != theirs {
                    return Err(error(format!(
                        "the field returns `{}` but `{}` returns `{}`",
                        field.ty, target.name, target.ty
                    )));
                }
            }
            let resolver = Resolver {
                subschema,
                type_name: type_name.clone(),
                field_name: target
                    .as_ref()
                    .map_or_else(|| field_name.clone(), |t| t.name.clone()),
                key,
                method: args,
                arg_types: target
                    .as_ref()
                    .map(|t| {
                        t.arguments
                            .iter()
                            .map(|a| (a.name.clone(), (*a.ty).clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
                abstract_result: false,
                on_located_error: resolver.on_located_error.clone(),
            };
            index
                .fields
                .insert(type_name, field_name, Arc::new(resolver));
        }
        Ok(index)
    }

    /// The resolver of a gateway-defined field.
    pub fn get(&self, type_name: &str, field: &str) -> Option<&Arc<Resolver>> {
        self.fields.get(type_name, field)
    }
}

/// The subschema named `name` and its query root field `field`.
fn target(
    subschemas: &[SubschemaConfig],
    name: &str,
    field: &str,
) -> Result<(usize, apollo_compiler::Node<ast::FieldDefinition>), String> {
    let (i, sub) = subschemas
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name)
        .ok_or_else(|| format!("no subschema is named `{name}`"))?;
    let definition = sub
        .schema
        .root_operation(OperationType::Query)
        .and_then(|q| sub.schema.get_object(q))
        .and_then(|q| q.fields.get(field))
        .ok_or_else(|| format!("subschema `{name}` has no root query field `{field}`"))?;
    Ok((i, definition.node.clone()))
}

/// The declarative mapping as a function of (parent, field arguments).
fn mapping_fn(mapping: Vec<(String, ArgSource)>) -> crate::extension::DelegateArgsFn {
    Arc::new(move |parent: &JsonMap, args: &JsonMap| {
        let mut out = JsonMap::new();
        for (arg, source) in &mapping {
            let value = match source {
                ArgSource::Parent(path) => at_path(parent, path).cloned(),
                ArgSource::Field(name) => args.get(name).cloned(),
                ArgSource::Value(value) => Some(value.clone()),
            };
            if let Some(value) = value.filter(|v| !v.is_null()) {
                out.insert(arg.clone(), value);
            } else if let ArgSource::Parent(_) = source {
                out.insert(arg.clone(), Value::Null);
            }
        }
        out
    })
}
