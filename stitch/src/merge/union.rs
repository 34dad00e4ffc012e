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
    match (&mut existing.ty, &right.ty) {
        (ExtendedType::Object(left), ExtendedType::Object(r)) => {
            let left = left.make_mut();
            for (name, field) in &r.fields {
                let left_canonical = existing.canonical_fields.contains(name);
                let right_canonical = right.canonical_fields.contains(name);
                let replace = match left.fields.get(name) {
                    None => true,
                    Some(_) if right_canonical => true,
                    Some(_) if left_canonical => false,
                    Some(_) => !keep_type_level,
                };
                if replace {
                    left.fields.insert(name.clone(), field.clone());
                }
            }
            for interface in &r.implements_interfaces {
                if !left.implements_interfaces.contains(&interface.name) {
                    left.implements_interfaces
                        .insert(ComponentName::from(interface.name.clone()));
                }
            }
            if right.canonical || (left.description.is_none() && r.description.is_some()) {
                left.description = r.description.clone();
            }
        }
        (ExtendedType::Interface(left), ExtendedType::Interface(r)) => {
            let left = left.make_mut();
            for (name, field) in &r.fields {
                let replace = match left.fields.get(name) {
                    None => true,
                    Some(_) if right.canonical_fields.contains(name) => true,
                    Some(_) if existing.canonical_fields.contains(name) => false,
                    Some(_) => !keep_type_level,
                };
                if replace {
                    left.fields.insert(name.clone(), field.clone());
                }
            }
            for interface in &r.implements_interfaces {
                if !left.implements_interfaces.contains(&interface.name) {
                    left.implements_interfaces
                        .insert(ComponentName::from(interface.name.clone()));
                }
            }
        }
        (ExtendedType::Union(left), ExtendedType::Union(r)) => {
            let left = left.make_mut();
            for member in &r.members {
                if !left.members.contains(&member.name) {
                    left.members
                        .insert(ComponentName::from(member.name.clone()));
                }
            }
        }
        _ => {}
    }
    let fields = right.canonical_fields;
    existing.canonical_fields.extend(fields);
    existing.canonical |= right.canonical;
    existing.signature = compare::signature(&existing.ty);
}
