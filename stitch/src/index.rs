//! `StitchIndex`: who can resolve what, computed once per stitched schema.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::OperationType;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use crate::config::SubschemaConfig;

/// For every root field its owning subschema, and for every (type, field) of the stitched
/// schema the subschemas that can resolve it. Subschemas are numbered in the order given.
#[derive(Debug, Default)]
pub(crate) struct StitchIndex {
    root_owners: HashMap<(OperationType, Name), usize>,
    resolvers: HashMap<(Name, Name), Vec<usize>>,
    abstract_types: HashSet<Name>,
}

impl StitchIndex {
    /// Indexes `schema` (the stitched one) against the subschemas it was merged from.
    pub fn build(
        schema: &Schema,
        subschemas: &[SubschemaConfig],
        root_owners: HashMap<(OperationType, Name), usize>,
    ) -> Self {
        let mut resolvers: HashMap<(Name, Name), Vec<usize>> = HashMap::new();
        let mut abstract_types = HashSet::new();
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
                resolvers.insert((type_name.clone(), field_name.clone()), owners);
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
        let (Ok(t), Ok(f)) = (Name::new(type_name), Name::new(field)) else {
            return false;
        };
        self.resolvers
            .get(&(t, f))
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
