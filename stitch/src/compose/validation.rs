//! The definition kept of a field several subschemas define, and the checks of the others
//! against it. The hooks of [`TypeMergingOptions`] may choose it first (`type_candidate_merger`
//! per type, then `field_config_merger` per field; a chosen root field is resolved by its
//! subschema) and `nullable_on_conflict` may make it nullable. The checks are graphql-tools'
//! `validateFieldConsistency`: named types, list types, nullability, argument names and
//! argument nullability; each finding goes to the level its coordinate's settings give, and
//! definitions that differ in being a list always fail the build.

use std::collections::HashSet;

use apollo_compiler::ast::{FieldDefinition, OperationType, Type};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node, Schema};
use indexmap::IndexMap;

use super::ROOTS;
use crate::config::SubschemaConfig;
use crate::error::StitchError;
use crate::type_merging::ValidationLevel;
use crate::type_merging::{BuildWarning, TypeMergingOptions};

/// One subschema's definition of a field (or argument), with that subschema's schema to look
/// its named type up in.
struct Candidate<'a> {
    schema: &'a Schema,
    ty: &'a Type,
}

/// Where the findings go.
struct Report<'a> {
    options: &'a TypeMergingOptions,
    warnings: &'a mut Vec<BuildWarning>,
}

impl Report<'_> {
    fn finding(&mut self, coordinate: &str, message: String) -> Result<(), StitchError> {
        match self.options.settings_at(coordinate).level {
            ValidationLevel::Off => Ok(()),
            ValidationLevel::Error => Err(StitchError::MergeValidation {
                coordinate: coordinate.to_owned(),
                message,
            }),
            ValidationLevel::Warn => {
                tracing::warn!(%coordinate, %message, "merged definitions differ");
                self.warnings.push(BuildWarning {
                    coordinate: coordinate.to_owned(),
                    message,
                });
                Ok(())
            }
        }
    }
}

/// Checks every field of the merged object and interface types (root types included; not the
/// types left `unmerged`) that more than one subschema defines. First a `field_config_merger`
/// chooses its definition (answered: the root fields whose owner that changes), and
/// `nullable_on_conflict` makes it nullable where the definitions disagree on it.
pub(super) fn check_fields(
    merged: &mut Schema,
    subschemas: &[SubschemaConfig],
    options: &TypeMergingOptions,
    unmerged: &HashSet<Name>,
    warnings: &mut Vec<BuildWarning>,
) -> Result<Vec<(OperationType, Name, usize)>, StitchError> {
    let mut root_owners = Vec::new();
    let mut report = Report { options, warnings };
    let names: Vec<Name> = merged
        .types
        .keys()
        .filter(|name| !unmerged.contains(*name))
        .cloned()
        .collect();
    for type_name in names {
        let root = ROOTS
            .iter()
            .find(|(_, name)| *name == type_name.as_str())
            .map(|(op, _)| *op);
        if let Some(chooser) = &options.type_candidate_merger {
            choose_type(
                merged,
                subschemas,
                &type_name,
                root,
                chooser,
                &mut root_owners,
            );
        }
        // Each subschema's fields of this type, in subschema order.
        let mut candidates: IndexMap<Name, Vec<(&Schema, &Node<FieldDefinition>)>> =
            IndexMap::new();
        let mut owners: IndexMap<Name, Vec<(usize, &str)>> = IndexMap::new();
        for (index, sub) in subschemas.iter().enumerate() {
            let schema: &Schema = &sub.schema;
            let Some(fields) = fields_of(schema, &type_name, root) else {
                continue;
            };
            for (name, field) in fields {
                if crate::entities::HIDDEN_ROOT_FIELDS.contains(&name.as_str()) && root.is_some() {
                    continue;
                }
                candidates
                    .entry(name.clone())
                    .or_default()
                    .push((schema, field));
                owners
                    .entry(name.clone())
                    .or_default()
                    .push((index, &sub.name));
            }
        }
        for (field_name, defs) in candidates {
            if defs.len() < 2 {
                continue;
            }
            if final_field(merged, &type_name, &field_name).is_none() {
                continue;
            }
            if let Some(merger) = &options.field_config_merger {
                let names = owners
                    .get(&field_name)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let given: Vec<(&str, &FieldDefinition)> = names
                    .iter()
                    .zip(&defs)
                    .map(|((_, name), (_, f))| (*name, &***f))
                    .collect();
                let chosen = merger(&type_name, &field_name, &given);
                // A root field is resolved by the subschema whose definition was chosen.
                if let Some(op) = root
                    && let Some(((owner, _), _)) =
                        names.iter().zip(&defs).find(|(_, (_, f))| ***f == chosen)
                {
                    root_owners.push((op, field_name.clone(), *owner));
                }
                let chosen = super::strip::strip_field(&Node::new(chosen));
                replace_field(merged, &type_name, &field_name, chosen);
            }
            let Some(final_field) = final_field(merged, &type_name, &field_name) else {
                continue;
            };
            if options.nullable_on_conflict {
                let non_null = defs.iter().filter(|(_, f)| f.ty.is_non_null()).count();
                if non_null > 0 && non_null < defs.len() && final_field.ty.is_non_null() {
                    set_nullable(merged, &type_name, &field_name);
                }
            }
            let Some(final_field) = final_field_def(merged, &type_name, &field_name) else {
                continue;
            };
            check_field(merged, &type_name, &final_field, &defs, &mut report)?;
        }
    }
    Ok(root_owners)
}

/// The fields `schema` defines for the merged type `type_name` (for a root type, those of the
/// subschema's root type of that operation, whatever its name).
fn fields_of<'a>(
    schema: &'a Schema,
    type_name: &Name,
    root: Option<OperationType>,
) -> Option<
    &'a apollo_compiler::collections::IndexMap<
        Name,
        apollo_compiler::schema::Component<FieldDefinition>,
    >,
> {
    let name = match root {
        Some(op) => schema.root_operation(op)?,
        None => type_name,
    };
    match schema.types.get(name)? {
        ExtendedType::Object(t) => Some(&t.fields),
        ExtendedType::Interface(t) => Some(&t.fields),
        _ => None,
    }
}

fn final_field<'a>(
    merged: &'a Schema,
    type_name: &Name,
    field: &Name,
) -> Option<&'a FieldDefinition> {
    match merged.types.get(type_name)? {
        ExtendedType::Object(t) => t.fields.get(field).map(|f| &***f),
        ExtendedType::Interface(t) => t.fields.get(field).map(|f| &***f),
        _ => None,
    }
}

fn final_field_def(merged: &Schema, type_name: &Name, field: &Name) -> Option<FieldDefinition> {
    final_field(merged, type_name, field).cloned()
}

/// Lets `chooser` pick the winning definition of `type_name` among the subschemas defining
/// it, and puts that definition's fields in place (recording the new owners of root fields).
fn choose_type(
    merged: &mut Schema,
    subschemas: &[SubschemaConfig],
    type_name: &Name,
    root: Option<OperationType>,
    chooser: &crate::type_merging::TypeCandidateMergerFn,
    root_owners: &mut Vec<(OperationType, Name, usize)>,
) {
    let definers: Vec<(usize, &str, &ExtendedType)> = subschemas
        .iter()
        .enumerate()
        .filter_map(|(i, sub)| {
            let name = match root {
                Some(op) => sub.schema.root_operation(op)?,
                None => type_name,
            };
            let ty = sub.schema.types.get(name)?;
            matches!(ty, ExtendedType::Object(_) | ExtendedType::Interface(_)).then_some((
                i,
                sub.name.as_str(),
                ty,
            ))
        })
        .collect();
    if definers.len() < 2 {
        return;
    }
    let given: Vec<(&str, &ExtendedType)> = definers.iter().map(|(_, n, t)| (*n, *t)).collect();
    let Some((owner, _, ty)) = definers.get(chooser(type_name, &given)) else {
        return;
    };
    let fields = match ty {
        ExtendedType::Object(t) => &t.fields,
        ExtendedType::Interface(t) => &t.fields,
        _ => return,
    };
    for (field_name, field) in fields {
        if final_field(merged, type_name, field_name).is_none() {
            continue;
        }
        replace_field(
            merged,
            type_name,
            field_name,
            super::strip::strip_field(field),
        );
        if let Some(op) = root {
            root_owners.push((op, field_name.clone(), *owner));
        }
    }
}

/// Puts `definition` in place of `type_name.field` (under the field's name).
fn replace_field(
    merged: &mut Schema,
    type_name: &Name,
    field: &Name,
    definition: Node<FieldDefinition>,
) {
    let fields = match merged.types.get_mut(type_name) {
        Some(ExtendedType::Object(t)) => &mut t.make_mut().fields,
        Some(ExtendedType::Interface(t)) => &mut t.make_mut().fields,
        _ => return,
    };
    if let Some(f) = fields.get_mut(field) {
        let mut definition = (*definition).clone();
        definition.name = field.clone();
        *f.make_mut() = definition;
    }
}

fn set_nullable(merged: &mut Schema, type_name: &Name, field: &Name) {
    let fields = match merged.types.get_mut(type_name) {
        Some(ExtendedType::Object(t)) => &mut t.make_mut().fields,
        Some(ExtendedType::Interface(t)) => &mut t.make_mut().fields,
        _ => return,
    };
    if let Some(f) = fields.get_mut(field) {
        let f = f.make_mut();
        f.ty = f.ty.clone().nullable();
    }
}

fn check_field(
    merged: &Schema,
    type_name: &Name,
    final_field: &FieldDefinition,
    defs: &[(&Schema, &Node<FieldDefinition>)],
    report: &mut Report<'_>,
) -> Result<(), StitchError> {
    let coordinate = format!("{type_name}.{}", final_field.name);
    let candidates: Vec<Candidate<'_>> = defs
        .iter()
        .map(|(schema, f)| Candidate { schema, ty: &f.ty })
        .collect();
    check_type(
        merged,
        &final_field.ty,
        &candidates,
        "field",
        &coordinate,
        report,
    )?;
    let settings = report.options.settings_at(&coordinate);
    let final_non_null = final_field.ty.is_non_null();
    if settings.strict_null_comparison
        && candidates
            .iter()
            .any(|c| c.ty.is_non_null() != final_non_null)
    {
        report.finding(
            &coordinate,
            format!("the nullability of field `{coordinate}` differs across subschemas"),
        )?;
    } else if final_non_null && candidates.iter().any(|c| !c.ty.is_non_null()) {
        report.finding(
            &coordinate,
            format!(
                "the kept definition of field `{coordinate}` is non-null while some subschemas \
                 permit null"
            ),
        )?;
    }
    // Arguments, by name, in the order they are first seen.
    let mut arguments: IndexMap<&Name, Vec<Candidate<'_>>> = IndexMap::new();
    for (schema, f) in defs {
        for arg in &f.arguments {
            arguments.entry(&arg.name).or_default().push(Candidate {
                schema,
                ty: &arg.ty,
            });
        }
    }
    if arguments.values().any(|a| a.len() != defs.len()) {
        report.finding(
            &coordinate,
            format!(
                "the subschemas define different arguments for field `{coordinate}`; an \
                 argument may be left out of some requests"
            ),
        )?;
    }
    for (name, candidates) in &arguments {
        let argument = format!("{coordinate}.{name}");
        let Some(final_ty) = final_field
            .arguments
            .iter()
            .find(|a| a.name == **name)
            .map(|a| &*a.ty)
            .or_else(|| candidates.last().map(|c| c.ty))
        else {
            continue;
        };
        check_type(merged, final_ty, candidates, "argument", &argument, report)?;
        let settings = report.options.settings_at(&argument);
        let final_non_null = final_ty.is_non_null();
        if settings.strict_null_comparison
            && candidates
                .iter()
                .any(|c| c.ty.is_non_null() != final_non_null)
        {
            report.finding(
                &argument,
                format!("the nullability of argument `{argument}` differs across subschemas"),
            )?;
        } else if !final_non_null && candidates.iter().any(|c| c.ty.is_non_null()) {
            report.finding(
                &argument,
                format!(
                    "the kept definition of argument `{argument}` permits null while some \
                     subschemas require it"
                ),
            )?;
        }
    }
    Ok(())
}

/// The named type and list-ness of each candidate against the kept definition's.
fn check_type(
    merged: &Schema,
    final_ty: &Type,
    candidates: &[Candidate<'_>],
    kind: &str,
    coordinate: &str,
    report: &mut Report<'_>,
) -> Result<(), StitchError> {
    let final_named = final_ty.inner_named_type();
    let final_is_scalar = matches!(merged.types.get(final_named), Some(ExtendedType::Scalar(_)));
    for candidate in candidates {
        if final_ty.is_list() != candidate.ty.is_list() {
            return Err(StitchError::MergeValidation {
                coordinate: coordinate.to_owned(),
                message: format!(
                    "the definitions of {kind} `{coordinate}` differ in being a list \
                     (`{final_ty}` and `{}`) and cannot be merged",
                    candidate.ty
                ),
            });
        }
        let named = candidate.ty.inner_named_type();
        if named == final_named {
            continue;
        }
        let proxiable = report
            .options
            .settings
            .proxiable_scalars
            .get(final_named.as_str())
            .is_some_and(|p| p.iter().any(|n| n == named.as_str()));
        let both_scalars = final_is_scalar
            && matches!(
                candidate.schema.types.get(named),
                Some(ExtendedType::Scalar(_))
            );
        if proxiable && !both_scalars {
            return Err(StitchError::MergeValidation {
                coordinate: coordinate.to_owned(),
                message: format!("`{final_named}` and `{named}` are not proxiable scalars"),
            });
        }
        if !proxiable {
            report.finding(
                coordinate,
                format!(
                    "the definitions of {kind} `{coordinate}` name different types across \
                     subschemas (`{final_named}` and `{named}`)"
                ),
            )?;
        }
    }
    Ok(())
}
