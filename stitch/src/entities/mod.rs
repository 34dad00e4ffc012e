//! Merged types resolved: for every (type, subschema) the entry points that fetch the type's
//! objects by key, and per subschema the fields it resolves only with extra input (computed
//! fields, `@requires`), the fields it cannot resolve (`@external`) and the ones a parent field
//! provides (`@provides`). Built once per stitched schema from code config and directives.

mod directives;
mod extensions;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};

use crate::config::SubschemaConfig;
use crate::error::StitchError;
use crate::resolve::{Resolver, field_set};

pub(crate) use directives::{HIDDEN_ROOT_FIELDS, canonical_marks, overridden};
pub(crate) use extensions::ExtensionIndex;

/// A field resolved only with more input than the key: its required top-level fields.
pub(crate) type Requirements = Vec<Node<apollo_compiler::executable::Field>>;

/// What the planner needs to know about merged types.
#[derive(Default)]
pub(crate) struct EntityIndex {
    resolvers: HashMap<(Name, usize), Vec<Arc<Resolver>>>,
    computed: HashMap<(usize, Name, Name), Requirements>,
    external: HashSet<(usize, Name, Name)>,
    provides: HashMap<(usize, Name, Name), Vec<Name>>,
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
                index
                    .resolvers
                    .entry((resolver.type_name.clone(), i))
                    .or_default()
                    .push(Arc::new(resolver));
            }
            let mut computed = found.computed;
            computed.extend(sub.computed.iter().cloned());
            for (coordinate, selection) in computed {
                let (type_name, field) = split_coordinate(&sub.name, &coordinate)?;
                let fields = field_set(&sub.name, merged, &type_name, &selection, &coordinate)?;
                index.computed.insert((i, type_name, field), fields);
            }
            for (type_name, field) in found.external {
                index.external.insert((i, type_name, field));
            }
            for ((type_name, field), names) in found.provides {
                index.provides.insert((i, type_name, field), names);
            }
        }
        // A field another subschema overrides is external here, unless it is part of a key of
        // this subschema (which it still answers in representations).
        for (i, type_name, field) in overridden(subschemas) {
            let in_key = index
                .resolvers
                .get(&(type_name.clone(), i))
                .is_some_and(|resolvers| {
                    resolvers
                        .iter()
                        .any(|r| r.key.iter().any(|k| k.name == field))
                });
            if !in_key {
                index.external.insert((i, type_name, field));
            }
        }
        Ok(index)
    }

    /// The entry points of `subschema` for `type_name`.
    pub fn resolvers(&self, type_name: &str, subschema: usize) -> &[Arc<Resolver>] {
        Name::new(type_name)
            .ok()
            .and_then(|t| self.resolvers.get(&(t, subschema)))
            .map_or(&[], Vec::as_slice)
    }

    /// The extra fields `subschema` needs to resolve `type_name.field`, if it is computed.
    pub fn computed(
        &self,
        subschema: usize,
        type_name: &str,
        field: &str,
    ) -> Option<&Requirements> {
        let (t, f) = (Name::new(type_name).ok()?, Name::new(field).ok()?);
        self.computed.get(&(subschema, t, f))
    }

    /// Whether `subschema` marks `type_name.field` `@external` (another service resolves it).
    pub fn is_external(&self, subschema: usize, type_name: &str, field: &str) -> bool {
        let (Ok(t), Ok(f)) = (Name::new(type_name), Name::new(field)) else {
            return false;
        };
        self.external.contains(&(subschema, t, f))
    }

    /// The fields of its type that `subschema` provides under `type_name.field` (`@provides`).
    pub fn provides(&self, subschema: usize, type_name: &str, field: &str) -> &[Name] {
        let (Ok(t), Ok(f)) = (Name::new(type_name), Name::new(field)) else {
            return &[];
        };
        self.provides
            .get(&(subschema, t, f))
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
