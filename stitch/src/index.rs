//! `StitchIndex`: who can resolve what, computed once per stitched schema.

use std::collections::HashMap;

use apollo_compiler::ast::OperationType;
use apollo_compiler::collections::{HashMap as FastMap, HashSet as FastSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use crate::config::SubschemaConfig;

/// For every root field its owning subschema, and for every (type, field) of the stitched
/// schema the subschemas that can resolve it. Subschemas are numbered in the order given.
#[derive(Debug, Default)]
pub(crate) struct StitchIndex {
    root_owners: HashMap<(OperationType, Name), usize>,
    resolvers: FieldMap<Vec<usize>>,
    abstract_types: FastSet<Name>,
}

/// Values per (type, field), found by the names as `&str`: a lookup builds no [`Name`] (the
/// planner asks for every field of every operation it plans).
#[derive(Debug)]
pub(crate) struct FieldMap<V>(FastMap<Name, FastMap<Name, V>>);

impl<V> Default for FieldMap<V> {
    fn default() -> Self {
        Self(FastMap::default())
    }
}

impl<V> FieldMap<V> {
    /// The value of `type_name.field`.
    pub fn get(&self, type_name: &str, field: &str) -> Option<&V> {
        self.0.get(type_name)?.get(field)
    }

    /// Sets the value of `type_name.field`.
    pub fn insert(&mut self, type_name: Name, field: Name, value: V) {
        self.0.entry(type_name).or_default().insert(field, value);
    }

    /// The value of `type_name.field`, the default one put there first if there is none.
    pub fn entry(&mut self, type_name: Name, field: Name) -> &mut V
    where
        V: Default,
    {
        self.0
            .entry(type_name)
            .or_default()
            .entry(field)
            .or_default()
    }
}

impl StitchIndex {
    /// Indexes `schema` (the stitched one) against the subschemas it was merged from.
    pub fn build(
        schema: &Schema,
        subschemas: &[SubschemaConfig],
        root_owners: HashMap<(OperationType, Name), usize>,
    ) -> Self {
        let mut resolvers: FieldMap<Vec<usize>> = FieldMap::default();
        let mut abstract_types = FastSet::default();
        for (type_name, ty) in &schema.types {
            let fields = match ty {
                ExtendedType::Object(o) => &o.fields,
                ExtendedType::Interface(i) => {
                    abstract_types.insert(type_name.clone());
                    &i.fields
                }
                ExtendedType::Union(_) => {
                    abstract_types.insert(type_name.clone());
                    continue;
                }
                _ => continue,
            };
            for (field_name, field) in fields {
                let owners = subschemas
                    .iter()
                    .enumerate()
                    .filter(|(_, sub)| {
                        sub.schema.type_field(type_name, field_name).is_ok_and(|f| {
                            let (theirs, ours) =
                                (f.ty.inner_named_type(), field.ty.inner_named_type());
                            // Scalars of different names pass through (merged definitions
                            // that differ so were checked when merging).
                            theirs == ours
                                || (is_scalar(&sub.schema, theirs) && is_scalar(schema, ours))
                        })
                    })
                    .map(|(i, _)| i)
                    .collect();
                resolvers.insert(type_name.clone(), field_name.clone(), owners);
            }
        }
        Self {
            root_owners,
            resolvers,
            abstract_types,
        }
    }

    /// The subschema that resolves a root field.
    pub fn root_owner(&self, operation: OperationType, field: &str) -> Option<usize> {
        let name = Name::new(field).ok()?;
        self.root_owners.get(&(operation, name)).copied()
    }

    /// Whether `subschema` can resolve `field` on `type_name` (meta fields always can).
    pub fn can_resolve(&self, subschema: usize, type_name: &str, field: &str) -> bool {
        if field.starts_with("__") {
            return true;
        }
        self.resolvers
            .get(type_name, field)
            .is_some_and(|owners| owners.contains(&subschema))
    }

    /// Whether a type is an interface or a union.
    pub fn is_abstract(&self, type_name: &str) -> bool {
        self.abstract_types.contains(type_name)
    }
}

fn is_scalar(schema: &Schema, name: &Name) -> bool {
    matches!(schema.types.get(name), Some(ExtendedType::Scalar(_)))
}
