//! Merged types resolved: for every (type, subschema) the entry points that fetch the type's
//! objects by key, and per subschema the fields it resolves only with extra input (computed
//! fields, `@requires`), the fields it cannot resolve (`@external`) and the ones a parent field
//! provides (`@provides`). Built once per stitched schema from code config and directives.

mod directives;
mod extensions;

use std::sync::Arc;

use apollo_compiler::collections::HashMap as FastMap;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};

use crate::config::SubschemaConfig;
use crate::error::StitchError;
use crate::index::FieldMap;
use crate::resolve::{Resolver, field_set};

pub(crate) use directives::{HIDDEN_ROOT_FIELDS, canonical_marks, overridden};
pub(crate) use extensions::ExtensionIndex;

/// A field resolved only with more input than the key: its required top-level fields.
pub(crate) type Requirements = Vec<Node<apollo_compiler::executable::Field>>;

/// What the planner needs to know about merged types.
#[derive(Default)]
pub(crate) struct EntityIndex {
    /// Per type, per subschema: its entry points.
    resolvers: FastMap<Name, PerSubschema<Vec<Arc<Resolver>>>>,
    /// Per field, the subschemas where it is computed and what it requires there.
    computed: FieldMap<PerSubschema<Requirements>>,
    /// Per field, the subschemas where it is external.
    external: FieldMap<Vec<usize>>,
    /// Per field, the subschemas that provide fields under it, and those fields.
    provides: FieldMap<PerSubschema<Vec<Name>>>,
}

/// Values of the few subschemas that have one, by subschema number.
type PerSubschema<V> = Vec<(usize, V)>;

/// The value of `subschema` in a list of values per subschema.
fn of<V>(values: &[(usize, V)], subschema: usize) -> Option<&V> {
    values
        .iter()
        .find_map(|(s, value)| (*s == subschema).then_some(value))
}

/// The value of `subschema` in a list of values per subschema, the default one put first.
fn of_mut<V: Default>(values: &mut Vec<(usize, V)>, subschema: usize) -> &mut V {
    let at = match values.iter().position(|(s, _)| *s == subschema) {
        Some(at) => at,
        None => {
            values.push((subschema, V::default()));
            values.len() - 1
        }
    };
    &mut values[at].1
}

impl EntityIndex {
    /// Reads the entry points of every subschema (code config, stitching directives,
    /// federation `@key`) and checks them against the subschemas' schemas.
    /// Computed fields' requirements are read against the stitched schema `merged`: they name
    /// fields of other subschemas.
    pub fn build(
        subschemas: &[SubschemaConfig],
        merged: &Valid<Schema>,
    ) -> Result<Self, StitchError> {
        let mut index = EntityIndex::default();
        for (i, sub) in subschemas.iter().enumerate() {
            let found = directives::read(sub)?;
            let mut entry_points = found.entry_points;
            entry_points.extend(sub.merge.iter().cloned());
            for (type_name, entry) in entry_points {
                let resolver = Resolver::of_entry_point(sub, i, &type_name, &entry)?;
                let per_subschema = index
                    .resolvers
                    .entry(resolver.type_name.clone())
                    .or_default();
                of_mut(per_subschema, i).push(Arc::new(resolver));
            }
            let mut computed = found.computed;
            computed.extend(sub.computed.iter().cloned());
            for (coordinate, selection) in computed {
                let (type_name, field) = split_coordinate(&sub.name, &coordinate)?;
                let fields = field_set(&sub.name, merged, &type_name, &selection, &coordinate)?;
                *of_mut(index.computed.entry(type_name, field), i) = fields;
            }
            for (type_name, field) in found.external {
                index.external_insert(i, type_name, field);
            }
            for ((type_name, field), names) in found.provides {
                *of_mut(index.provides.entry(type_name, field), i) = names;
            }
        }
        // A field another subschema overrides is external here, unless it is part of a key of
        // this subschema (which it still answers in representations).
        for (i, type_name, field) in overridden(subschemas) {
            let in_key = index
                .resolvers(&type_name, i)
                .iter()
                .any(|r| r.key.iter().any(|k| k.name == field));
            if !in_key {
                index.external_insert(i, type_name, field);
            }
        }
        Ok(index)
    }

    /// The entry points of `subschema` for `type_name`.
    pub fn resolvers(&self, type_name: &str, subschema: usize) -> &[Arc<Resolver>] {
        self.resolvers
            .get(type_name)
            .and_then(|per_subschema| of(per_subschema, subschema))
            .map_or(&[], Vec::as_slice)
    }

    fn external_insert(&mut self, subschema: usize, type_name: Name, field: Name) {
        let subschemas = self.external.entry(type_name, field);
        if !subschemas.contains(&subschema) {
            subschemas.push(subschema);
        }
    }

    /// The extra fields `subschema` needs to resolve `type_name.field`, if it is computed.
    pub fn computed(
        &self,
        subschema: usize,
        type_name: &str,
        field: &str,
    ) -> Option<&Requirements> {
        of(self.computed.get(type_name, field)?, subschema)
    }

    /// Whether `subschema` marks `type_name.field` `@external` (another service resolves it).
    pub fn is_external(&self, subschema: usize, type_name: &str, field: &str) -> bool {
        self.external
            .get(type_name, field)
            .is_some_and(|subschemas| subschemas.contains(&subschema))
    }

    /// The fields of its type that `subschema` provides under `type_name.field` (`@provides`).
    pub fn provides(&self, subschema: usize, type_name: &str, field: &str) -> &[Name] {
        self.provides
            .get(type_name, field)
            .and_then(|per_subschema| of(per_subschema, subschema))
            .map_or(&[], Vec::as_slice)
    }
}

/// `Type.field` split, or a build error naming the subschema.
fn split_coordinate(subschema: &str, coordinate: &str) -> Result<(Name, Name), StitchError> {
    coordinate
        .split_once('.')
        .and_then(|(t, f)| Some((Name::new(t).ok()?, Name::new(f).ok()?)))
        .ok_or_else(|| StitchError::InvalidMergeConfig {
            subschema: subschema.to_owned(),
            coordinate: coordinate.to_owned(),
            message: "expected a `Type.field` coordinate".into(),
        })
}
