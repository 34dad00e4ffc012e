//! Composing the stitched schema from the subschemas: the union of their types, root fields
//! from every subschema, shared types checked to be identical (or merged as type merging
//! allows).

mod compare;
mod directives;
mod flatten;
mod inaccessible;
mod strip;
mod union;
mod validation;

use std::collections::HashMap;

use apollo_compiler::ast::OperationType;
use apollo_compiler::schema::{
    Component, ComponentName, ExtendedType, FieldDefinition, ObjectType,
};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};
use indexmap::IndexMap;

use crate::config::{OnTypeConflict, SubschemaConfig, TypeChoice, TypeConflict};
use crate::error::StitchError;
use crate::type_merging::{BuildWarning, MergeTypes, TypeMergingOptions};

/// The root operation types, with the stitched schema's names for them.
pub(crate) const ROOTS: [(OperationType, &str); 3] = [
    (OperationType::Query, "Query"),
    (OperationType::Mutation, "Mutation"),
    (OperationType::Subscription, "Subscription"),
];

/// The merged schema and who contributed what.
pub(crate) struct Merged {
    /// The stitched schema: everything the subschemas define, `@inaccessible` elements
    /// included (the planner's schema).
    pub schema: Valid<Schema>,
    /// The schema clients see: without the `@inaccessible` elements.
    pub public: Valid<Schema>,
    /// For each root field, the subschema (index) that resolves it.
    pub root_owners: HashMap<(OperationType, Name), usize>,
    /// What the checks of merged definitions found and let through.
    pub warnings: Vec<BuildWarning>,
}

/// How shared types and directives are merged.
pub(crate) struct Options<'a> {
    /// The checks of merged definitions.
    pub type_merging: &'a TypeMergingOptions,
    /// Which types are merged.
    pub merge_types: &'a MergeTypes,
    /// Whether the subschemas' directive definitions are kept.
    pub merge_directives: bool,
}

/// A root field as one subschema defines it: (owner, canonical, definition).
type RootCandidate = (usize, bool, Node<FieldDefinition>);

pub(crate) struct Candidate {
    owner: usize,
    canonical: bool,
    ty: ExtendedType,
    signature: Vec<String>,
    /// Fields whose definition came from a subschema marking them canonical.
    canonical_fields: Vec<Name>,
}

/// Composes `subschemas` into the stitched schema (see [`crate::Stitcher`] for the rules).
pub(crate) fn compose(
    subschemas: &[SubschemaConfig],
    type_defs: &[String],
    on_type_conflict: Option<&OnTypeConflict>,
    options: &Options<'_>,
) -> Result<Merged, StitchError> {
    check_canonical_marks(subschemas)?;
    let overridden = crate::entities::overridden(subschemas);
    let unmerged = unmerged_types(subschemas, options.merge_types);
    let mut types: IndexMap<Name, Candidate> = IndexMap::new();
    let mut roots: IndexMap<OperationType, IndexMap<Name, RootCandidate>> = IndexMap::new();
    let mut directives = IndexMap::new();
    let built_in_directives = Schema::new().directive_definitions;

    for (index, sub) in subschemas.iter().enumerate() {
        let root_names: Vec<&Name> = ROOTS
            .iter()
            .filter_map(|(op, _)| sub.schema.root_operation(*op))
            .collect();
        for (op, root_name) in ROOTS {
            let Some(root) = sub
                .schema
                .root_operation(op)
                .and_then(|n| sub.schema.get_object(n))
            else {
                continue;
            };
            let fields = roots.entry(op).or_default();
            for (name, field) in &root.fields {
                if crate::entities::HIDDEN_ROOT_FIELDS.contains(&name.as_str())
                    || overridden.contains(&(index, root.name.clone(), name.clone()))
                {
                    continue;
                }
                let field = strip::strip_field(field);
                let canonical = sub
                    .canonical
                    .iter()
                    .any(|c| *c == format!("{root_name}.{name}"));
                // Last one wins, unless the earlier one is canonical.
                let keep_earlier = fields.get(name).is_some_and(|(_, earlier, _)| *earlier);
                if !keep_earlier {
                    fields.insert(name.clone(), (index, canonical, field));
                }
            }
        }
        for (name, ty) in &sub.schema.types {
            if ty.is_built_in() || root_names.contains(&name) {
                continue;
            }
            let flat = strip::strip_type(&flatten::flatten(ty));
            let candidate = Candidate {
                owner: index,
                canonical: sub.canonical.iter().any(|c| c == name.as_str()),
                signature: compare::signature(&flat),
                canonical_fields: canonical_fields(&sub.canonical, name),
                ty: flat,
            };
            match types.get_mut(name) {
                None => {
                    types.insert(name.clone(), candidate);
                }
                Some(existing) if existing.signature == candidate.signature => {
                    if candidate.canonical {
                        *existing = candidate;
                    }
                }
                Some(existing) if unmerged.contains(name) => {
                    // Kept whole: canonical, chosen, else the last.
                    let choice = choose(
                        existing,
                        &candidate,
                        name,
                        subschemas,
                        on_type_conflict,
                        TypeChoice::Right,
                    )?;
                    if choice == TypeChoice::Right {
                        *existing = candidate;
                    }
                }
                Some(existing) if union::mergeable(&existing.ty, &candidate.ty) => {
                    union::merge_into(existing, candidate);
                }
                Some(existing) => {
                    let choice = choose(
                        existing,
                        &candidate,
                        name,
                        subschemas,
                        on_type_conflict,
                        TypeChoice::Fail,
                    )?;
                    if choice == TypeChoice::Right {
                        *existing = candidate;
                    }
                }
            }
        }
        for (name, def) in &sub.schema.directive_definitions {
            // Services often print the built-in directives too; those are not theirs.
            if options.merge_directives
                && !def.is_built_in()
                && !built_in_directives.contains_key(name)
                && !strip::GATEWAY_DIRECTIVES.contains(&name.as_str())
            {
                match directives.entry(name.clone()) {
                    indexmap::map::Entry::Occupied(mut earlier) => {
                        directives::merge_definition(earlier.get_mut(), def);
                    }
                    indexmap::map::Entry::Vacant(slot) => {
                        slot.insert(def.clone());
                    }
                }
            }
        }
    }

    for text in type_defs {
        add_type_defs(text, &mut types, &mut roots)?;
    }

    let mut schema = Schema::new();
    let mut root_owners = HashMap::new();
    for (op, root_name) in ROOTS {
        let Some(fields) = roots.get(&op) else {
            continue;
        };
        let name = Name::new_unchecked(root_name);
        let mut object = ObjectType {
            description: None,
            name: name.clone(),
            implements_interfaces: Default::default(),
            directives: Default::default(),
            fields: Default::default(),
        };
        for (field_name, (owner, _, def)) in fields {
            object
                .fields
                .insert(field_name.clone(), Component::from(def.clone()));
            if *owner != GATEWAY {
                root_owners.insert((op, field_name.clone()), *owner);
            }
        }
        schema
            .types
            .insert(name.clone(), ExtendedType::Object(Node::new(object)));
        let definition = schema.schema_definition.make_mut();
        let root = Some(ComponentName::from(name));
        match op {
            OperationType::Query => definition.query = root,
            OperationType::Mutation => definition.mutation = root,
            OperationType::Subscription => definition.subscription = root,
        }
    }
    for (name, candidate) in types {
        if strip::is_federation_helper(&name, &candidate.ty) {
            continue;
        }
        schema.types.insert(name, candidate.ty);
    }
    schema.directive_definitions.extend(directives);
    if !options.merge_directives {
        directives::strip_custom(&mut schema);
    }
    directives::add_incremental(&mut schema);
    let mut warnings = Vec::new();
    let chosen_owners = validation::check_fields(
        &mut schema,
        subschemas,
        options.type_merging,
        &unmerged,
        &mut warnings,
    )?;
    for (op, field, owner) in chosen_owners {
        root_owners.insert((op, field), owner);
    }
    let schema = schema.validate().map_err(|e| StitchError::InvalidSchema {
        message: e.errors.to_string(),
    })?;
    let public = inaccessible::Hidden::collect(subschemas).public(&schema)?;
    Ok(Merged {
        schema,
        public,
        root_owners,
        warnings,
    })
}

/// The non-root types several subschemas define that `merge_types` leaves unmerged and no
/// merge config (entry points in code, `@key`, canonical marks) merges.
fn unmerged_types(
    subschemas: &[SubschemaConfig],
    merge_types: &MergeTypes,
) -> std::collections::HashSet<Name> {
    if matches!(merge_types, MergeTypes::All) {
        return Default::default();
    }
    let mut definers: IndexMap<&Name, Vec<&str>> = IndexMap::new();
    let mut configured: std::collections::HashSet<&str> = Default::default();
    for sub in subschemas {
        let roots: Vec<&Name> = ROOTS
            .iter()
            .filter_map(|(op, _)| sub.schema.root_operation(*op))
            .collect();
        for (name, ty) in &sub.schema.types {
            if ty.is_built_in() || roots.contains(&name) {
                continue;
            }
            definers.entry(name).or_default().push(&sub.name);
            if ty.directives().iter().any(|d| d.name == "key") {
                configured.insert(name.as_str());
            }
        }
        configured.extend(sub.merge.iter().map(|(t, _)| t.as_str()));
        configured.extend(
            sub.canonical
                .iter()
                .map(|c| c.split('.').next().unwrap_or(c)),
        );
    }
    definers
        .into_iter()
        .filter(|(name, subs)| {
            subs.len() > 1 && !configured.contains(name.as_str()) && !merge_types.merges(name, subs)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Which of two different definitions of a type to keep: a canonical one, else the one
/// `on_type_conflict` chooses, else `default`.
fn choose(
    left: &Candidate,
    right: &Candidate,
    name: &Name,
    subschemas: &[SubschemaConfig],
    on_type_conflict: Option<&OnTypeConflict>,
    default: TypeChoice,
) -> Result<TypeChoice, StitchError> {
    let (left_name, right_name) = (&subschemas[left.owner].name, &subschemas[right.owner].name);
    match (left.canonical, right.canonical) {
        (true, true) => {
            return Err(StitchError::DuplicateCanonical {
                coordinate: name.to_string(),
                left: left_name.clone(),
                right: right_name.clone(),
            });
        }
        (true, false) => return Ok(TypeChoice::Left),
        (false, true) => return Ok(TypeChoice::Right),
        (false, false) => {}
    }
    let choice = on_type_conflict.map_or(default, |choose| {
        choose(&TypeConflict {
            type_name: name,
            left: left_name,
            left_type: &left.ty,
            right: right_name,
            right_type: &right.ty,
        })
    });
    if choice == TypeChoice::Fail {
        return Err(StitchError::TypeConflict {
            type_name: name.to_string(),
            left: left_name.clone(),
            right: right_name.clone(),
            difference: compare::difference(&left.signature, &right.signature),
        });
    }
    Ok(choice)
}

/// Every canonical mark names something its subschema defines, and no root field is marked by
/// two subschemas.
fn check_canonical_marks(subschemas: &[SubschemaConfig]) -> Result<(), StitchError> {
    let mut marked: HashMap<&str, &str> = HashMap::new();
    for sub in subschemas {
        for coordinate in &sub.canonical {
            let exists = match coordinate.split_once('.') {
                Some((root, field)) => {
                    ROOTS.iter().any(|(op, name)| {
                        *name == root
                            && sub
                                .schema
                                .root_operation(*op)
                                .and_then(|n| sub.schema.get_object(n))
                                .is_some_and(|o| o.fields.contains_key(field))
                    }) || sub.schema.type_field(root, field).is_ok()
                }
                None => sub.schema.types.contains_key(coordinate.as_str()),
            };
            if !exists {
                return Err(StitchError::UnknownCanonical {
                    subschema: sub.name.clone(),
                    coordinate: coordinate.clone(),
                });
            }
            if let Some(other) = marked.insert(coordinate, &sub.name) {
                return Err(StitchError::DuplicateCanonical {
                    coordinate: coordinate.clone(),
                    left: other.to_owned(),
                    right: sub.name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The fields of `type_name` a subschema's canonical marks name.
fn canonical_fields(marks: &[String], type_name: &Name) -> Vec<Name> {
    marks
        .iter()
        .filter_map(|m| m.split_once('.'))
        .filter(|(t, _)| *t == type_name.as_str())
        .filter_map(|(_, f)| Name::new(f).ok())
        .collect()
}

/// The owner of root fields the gateway defines itself (`Stitcher::type_defs`).
const GATEWAY: usize = usize::MAX;

/// Adds the gateway's own type definitions: new types, and new fields of existing object and
/// interface types (`extend type User { chirps: [Chirp!]! }`, root types included).
fn add_type_defs(
    text: &str,
    types: &mut IndexMap<Name, Candidate>,
    roots: &mut IndexMap<OperationType, IndexMap<Name, RootCandidate>>,
) -> Result<(), StitchError> {
    let error = |message: String| StitchError::InvalidTypeDefs { message };
    let parsed = Schema::builder()
        .adopt_orphan_extensions()
        .parse(text, "type_defs.graphql")
        .build()
        .map_err(|e| error(e.errors.to_string()))?;
    for (name, ty) in &parsed.types {
        if ty.is_built_in() {
            continue;
        }
        if let Some((op, _)) = ROOTS.iter().find(|(_, root)| *root == name.as_str()) {
            let ExtendedType::Object(object) = ty else {
                return Err(error(format!("`{name}` must be an object type")));
            };
            let fields = roots.entry(*op).or_default();
            for (field_name, field) in &object.fields {
                fields.insert(field_name.clone(), (GATEWAY, true, field.node.clone()));
            }
            continue;
        }
        let flat = flatten::flatten(ty);
        let candidate = Candidate {
            owner: 0,
            canonical: false,
            signature: compare::signature(&flat),
            canonical_fields: Vec::new(),
            ty: flat,
        };
        match types.get_mut(name) {
            None => {
                types.insert(name.clone(), candidate);
            }
            Some(existing) if union::mergeable(&existing.ty, &candidate.ty) => {
                union::merge_into(existing, candidate);
            }
            Some(_) => {
                return Err(error(format!(
                    "`{name}` is already defined by a subschema; only object and interface types \
                     can be extended"
                )));
            }
        }
    }
    Ok(())
}
