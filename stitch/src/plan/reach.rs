//! Key chains: which fields of a merged type a step can obtain for the objects it returns, and
//! through which entry points.
//!
//! Services may know a type by different keys (`a` by `id`, `c` by `upc`, only `b` both). The
//! fields a step selects itself are at level 0. A subschema whose entry point's key is made of
//! fields obtained up to level `L` supplies its own fields at level `L + 1` (one more hop, one
//! more batched request per service). The search runs breadth first and each field is reached
//! once, at its lowest level, so every chain is a shortest one and a field's key is always
//! obtained at a strictly lower level than the field: following providers from any field ends
//! at the step's own fields after at most one hop per subschema. There is no recursion that a
//! schema or a query can make endless.
//!
//! The same search runs when the stitched schema is built, from every subschema that can
//! return a merged type, so a field whose entry points all need a key nothing can supply is a
//! build error ([`check`]) rather than a surprise at run time.

use std::collections::HashMap;
use std::sync::Arc;

use apollo_compiler::Name;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Schema, ast::Type};

use crate::entities::EntityIndex;
use crate::error::StitchError;
use crate::index::StitchIndex;
use crate::resolve::Resolver;

/// The key chains searched so far, shared by every operation a stitched schema plans: a
/// search depends only on the schema, the subschema of the step, the type and whether the
/// step resolves the type's computed fields (their requirements in its representation), so
/// each is made once (bounded by subschemas × types × 2).
#[derive(Debug, Default)]
pub(crate) struct ReachCache(
    std::sync::Mutex<apollo_compiler::collections::HashMap<(usize, Name, bool), Arc<Reach>>>,
);

impl ReachCache {
    /// The search kept for `key`, or `search`'s answer, kept.
    pub fn get_or_search(
        &self,
        key: (usize, Name, bool),
        search: impl FnOnce() -> Reach,
    ) -> Arc<Reach> {
        let lock = || {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(found) = lock().get(&key) {
            return found.clone();
        }
        // Searched without the lock (two planners may both search once; either answer is
        // the same).
        let reach = Arc::new(search());
        lock().entry(key).or_insert(reach).clone()
    }
}

/// The fields of one merged type obtainable from one step.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    /// Each obtainable field: its level, and from level 1 the entry point that fetches it.
    fields: HashMap<Name, (usize, Option<Arc<Resolver>>)>,
}

impl Reach {
    /// Searches the fields of `type_name` (a field of the stitched schema's type) obtainable
    /// from the step of `subschema`, which selects itself the fields for which `own` is true.
    pub fn search(
        schema: &Schema,
        type_name: &Name,
        subschema: usize,
        subschema_count: usize,
        index: &StitchIndex,
        entities: &EntityIndex,
        own: impl Fn(&str) -> bool,
    ) -> Self {
        let all: Vec<&Name> = match schema.types.get(type_name) {
            Some(ExtendedType::Object(o)) => o.fields.keys().collect(),
            Some(ExtendedType::Interface(i)) => i.fields.keys().collect(),
            _ => Vec::new(),
        };
        let mut reach = Reach::default();
        for field in &all {
            if own(field) {
                reach.fields.insert((*field).clone(), (0, None));
            }
        }
        // One round per hop; at most one hop per subschema can add anything new.
        for level in 1..=subschema_count {
            let mut found: Vec<(Name, Arc<Resolver>)> = Vec::new();
            for other in (0..subschema_count).filter(|&s| s != subschema) {
                for resolver in entities.resolvers(type_name, other) {
                    if reach.key_level(resolver).is_none() {
                        continue;
                    }
                    for field in &all {
                        let supplies = index.can_resolve(other, type_name, field)
                            && !entities.is_external(other, type_name, field)
                            && entities.computed(other, type_name, field).is_none();
                        if supplies
                            && !reach.fields.contains_key(*field)
                            && !found.iter().any(|(f, _)| f == *field)
                        {
                            found.push(((*field).clone(), resolver.clone()));
                        }
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            for (field, resolver) in found {
                reach.fields.insert(field, (level, Some(resolver)));
            }
        }
        reach
    }

    /// The level at which `field` is obtained, if it can be.
    pub fn level(&self, field: &str) -> Option<usize> {
        self.fields.get(field).map(|(level, _)| *level)
    }

    /// The entry point the search found for `field` (none for the step's own fields).
    pub fn provider(&self, field: &str) -> Option<&Arc<Resolver>> {
        self.fields.get(field).and_then(|(_, r)| r.as_ref())
    }

    /// The level of an entry point's key (the highest of its fields), if all can be obtained.
    pub fn key_level(&self, resolver: &Resolver) -> Option<usize> {
        resolver
            .key
            .iter()
            .try_fold(0, |max, k| Some(max.max(self.level(&k.name)?)))
    }

    /// The first key field of an entry point that cannot be obtained.
    pub fn missing_key<'r>(&self, resolver: &'r Resolver) -> Option<&'r Name> {
        resolver
            .key
            .iter()
            .map(|k| &k.name)
            .find(|k| self.level(k).is_none())
    }
}

/// Checks, for every merged type and every subschema that can return its objects, that each
/// field another subschema resolves through an entry point can be fetched: some entry point's
/// key is obtainable from there, directly or through a chain of other subschemas.
pub(crate) fn check(
    schema: &Schema,
    subschemas: &[Arc<apollo_compiler::validation::Valid<Schema>>],
    names: &[String],
    index: &StitchIndex,
    entities: &EntityIndex,
) -> Result<(), StitchError> {
    let count = subschemas.len();
    for (type_name, ty) in &schema.types {
        let ExtendedType::Object(object) = ty else {
            continue;
        };
        if !(0..count).any(|s| !entities.resolvers(type_name, s).is_empty()) {
            continue;
        }
        for (source, sub) in subschemas.iter().enumerate() {
            if !returns(sub, type_name) {
                continue;
            }
            let own = |field: &str| {
                index.can_resolve(source, type_name, field)
                    && !entities.is_external(source, type_name, field)
                    && entities.computed(source, type_name, field).is_none()
            };
            let reach = Reach::search(schema, type_name, source, count, index, entities, own);
            for field in object.fields.keys() {
                if own(field) {
                    continue;
                }
                let mut entry_points = (0..count)
                    .filter(|&t| {
                        index.can_resolve(t, type_name, field)
                            && !entities.is_external(t, type_name, field)
                    })
                    .flat_map(|t| entities.resolvers(type_name, t).iter())
                    .peekable();
                if entry_points.peek().is_none() {
                    // Nothing fetches it by key: not a key problem (planning reports it).
                    continue;
                }
                let mut unobtainable = None;
                let mut any = false;
                for resolver in entry_points {
                    match reach.missing_key(resolver) {
                        None => {
                            any = true;
                            break;
                        }
                        Some(key) => {
                            unobtainable.get_or_insert((resolver.clone(), key.clone()));
                        }
                    }
                }
                if let (false, Some((resolver, key))) = (any, unobtainable) {
                    return Err(StitchError::UnobtainableKey {
                        type_name: type_name.to_string(),
                        field: field.to_string(),
                        subschema: names[source].clone(),
                        entry_point: format!(
                            "{}.{}",
                            names[resolver.subschema], resolver.field_name
                        ),
                        key: key.to_string(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Whether a subschema has a field (at any level, root fields included) that returns objects
/// of `type_name`, directly or through an interface or union.
fn returns(sub: &Schema, type_name: &Name) -> bool {
    if !sub.types.contains_key(type_name) {
        return false;
    }
    let named = |ty: &Type| {
        let inner = ty.inner_named_type();
        inner == type_name || (inner != "_Entity" && sub.is_subtype(inner, type_name))
    };
    sub.types.values().any(|ty| match ty {
        ExtendedType::Object(o) => o.fields.values().any(|f| named(&f.ty)),
        ExtendedType::Interface(i) => i.fields.values().any(|f| named(&f.ty)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_made_once_per_key_and_shared() {
        let cache = ReachCache::default();
        let searches = std::cell::Cell::new(0);
        let search = || {
            searches.set(searches.get() + 1);
            Reach::default()
        };
        let product = || Name::new_unchecked("Product");
        let first = cache.get_or_search((1, product(), false), search);
        let again = cache.get_or_search((1, product(), false), search);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(searches.get(), 1);
        // Another subschema, or the computed fields counted: searches of their own.
        cache.get_or_search((2, product(), false), search);
        cache.get_or_search((1, product(), true), search);
        assert_eq!(searches.get(), 3);
    }
}
