//! Merged types: an object or interface type defined by several subschemas gets the union of
//! their fields and interfaces; a union type the union of its members. When two subschemas
//! define the same field differently, a canonical mark decides, else the last one wins (as in
//! graphql-tools).

use apollo_compiler::schema::{ComponentName, ExtendedType};

use super::{Candidate, compare};

/// Whether two definitions of a type merge by union rather than needing to be identical.
pub(super) fn mergeable(left: &ExtendedType, right: &ExtendedType) -> bool {
    matches!(
        (left, right),
        (ExtendedType::Object(_), ExtendedType::Object(_))
            | (ExtendedType::Interface(_), ExtendedType::Interface(_))
            | (ExtendedType::Union(_), ExtendedType::Union(_))
    )
}

/// Merges `right` into `existing`.
pub(super) fn merge_into(existing: &mut Candidate, right: Candidate) {
    let keep_type_level = existing.canonical && !right.canonical;
    let choice = FieldChoice {
        left: &existing.canonical_fields,
        right: &right.canonical_fields,
        keep_left: keep_type_level,
    };
    match (&mut existing.ty, &right.ty) {
        (ExtendedType::Object(left), ExtendedType::Object(r)) => {
            let left = left.make_mut();
            choice.merge(&mut left.fields, &r.fields);
            union_names(&mut left.implements_interfaces, &r.implements_interfaces);
            if right.canonical || (left.description.is_none() && r.description.is_some()) {
                left.description = r.description.clone();
            }
        }
        (ExtendedType::Interface(left), ExtendedType::Interface(r)) => {
            let left = left.make_mut();
            choice.merge(&mut left.fields, &r.fields);
            union_names(&mut left.implements_interfaces, &r.implements_interfaces);
        }
        (ExtendedType::Union(left), ExtendedType::Union(r)) => {
            union_names(&mut left.make_mut().members, &r.members);
        }
        _ => {}
    }
    let fields = right.canonical_fields;
    existing.canonical_fields.extend(fields);
    existing.canonical |= right.canonical;
    existing.signature = compare::signature(&existing.ty);
}

/// Which definition of a field both sides define is kept.
struct FieldChoice<'c> {
    left: &'c [apollo_compiler::Name],
    right: &'c [apollo_compiler::Name],
    /// The left type is canonical and the right one is not.
    keep_left: bool,
}

impl FieldChoice<'_> {
    /// Adds the right side's fields; a shared field takes the right definition unless a
    /// canonical mark keeps the left one.
    fn merge<V: Clone>(
        &self,
        left: &mut apollo_compiler::collections::IndexMap<apollo_compiler::Name, V>,
        right: &apollo_compiler::collections::IndexMap<apollo_compiler::Name, V>,
    ) {
        for (name, field) in right {
            let replace = match left.get(name) {
                None => true,
                Some(_) if self.right.contains(name) => true,
                Some(_) if self.left.contains(name) => false,
                Some(_) => !self.keep_left,
            };
            if replace {
                left.insert(name.clone(), field.clone());
            }
        }
    }
}

/// Adds the names of `right` missing from `left` (interfaces, union members).
fn union_names(
    left: &mut apollo_compiler::collections::IndexSet<ComponentName>,
    right: &apollo_compiler::collections::IndexSet<ComponentName>,
) {
    for name in right {
        if !left.contains(&name.name) {
            left.insert(ComponentName::from(name.name.clone()));
        }
    }
}
