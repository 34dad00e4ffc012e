//! Merge config read from a subschema's SDL: graphql-tools' stitching directives (`@key`,
//! `@merge`, `@computed`, `@canonical`) and Apollo Federation's (`@key(fields:)` with
//! `_entities`, `@requires`, `@external`, `@provides`).

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::OperationType;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use crate::config::SubschemaConfig;
use crate::entry_point::{Declarative, EntryPoint, nested_selection};
use crate::error::StitchError;

/// The fields other subschemas take over with `@override(from: "name")`: (the index of the
/// subschema named by `from`, its name of the type, field). That subschema's copy is no longer
/// resolved from it (the planner treats it as `@external` there), so the field comes from the
/// subschema carrying `@override`. A `from` naming no subschema, or the subschema itself,
/// changes nothing (as in Apollo Federation, where overriding a removed subgraph is allowed).
pub(crate) fn overridden(subschemas: &[SubschemaConfig]) -> HashSet<(usize, Name, Name)> {
    const NAMES: [&str; 2] = ["override", "federation__override"];
    let mut overridden = HashSet::new();
    for (index, sub) in subschemas.iter().enumerate() {
        let schema = &sub.schema;
        for (type_name, ty) in &schema.types {
            let fields = match ty {
                ExtendedType::Object(o) => &o.fields,
                ExtendedType::Interface(i) => &i.fields,
                _ => continue,
            };
            let root = [
                OperationType::Query,
                OperationType::Mutation,
                OperationType::Subscription,
            ]
            .into_iter()
            .find(|op| schema.root_operation(*op) == Some(type_name));
            for (field_name, field) in fields {
                let Some(from) = NAMES
                    .iter()
                    .find_map(|name| string_arg(field.directives.get(name).map(|d| &**d), "from"))
                else {
                    continue;
                };
                let Some(other) = subschemas.iter().position(|s| s.name == from) else {
                    continue;
                };
                if other == index {
                    continue;
                }
                // A root field is the other subschema's field of its own root type.
                let other_type = match root {
                    Some(op) => match subschemas[other].schema.root_operation(op) {
                        Some(name) => name.clone(),
                        None => continue,
                    },
                    None => type_name.clone(),
                };
                overridden.insert((other, other_type, field_name.clone()));
            }
        }
    }
    overridden
}

/// Root fields of federation subgraphs that only the gateway calls.
pub(crate) const HIDDEN_ROOT_FIELDS: &[&str] = &["_entities", "_service"];

/// What a subschema's directives configure.
#[derive(Default)]
pub(super) struct Found {
    /// (type, entry point).
    pub entry_points: Vec<(String, EntryPoint)>,
    /// (`Type.field`, required selection).
    pub computed: Vec<(String, String)>,
    /// Fields another service resolves.
    pub external: Vec<(Name, Name)>,
    /// Fields a parent field provides: (parent type, field) → provided field names.
    pub provides: Vec<((Name, Name), Vec<Name>)>,
}

fn string_arg(
    directive: Option<&apollo_compiler::ast::Directive>,
    argument: &str,
) -> Option<String> {
    directive?
        .specified_argument_by_name(argument)?
        .as_str()
        .map(str::to_owned)
}

/// The top-level field names of a field set text (`"id organization { id }"`).
fn top_level_names(selection: &str) -> Vec<Name> {
    let text = selection.trim();
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let mut depth = 0usize;
    let mut names = Vec::new();
    for token in text
        .replace('{', " { ")
        .replace('}', " } ")
        .split_whitespace()
    {
        match token {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            name if depth == 0 => {
                if let Ok(name) = Name::new(name.trim_end_matches(',')) {
                    names.push(name);
                }
            }
            _ => {}
        }
    }
    names
}

/// Types and fields the subschema's SDL marks `@canonical`, as coordinates.
pub(crate) fn canonical_marks(schema: &Schema) -> Vec<String> {
    let mut marks = Vec::new();
    for (name, ty) in &schema.types {
        if ty.is_built_in() {
            continue;
        }
        if ty.directives().has("canonical") {
            marks.push(name.to_string());
        }
        let fields: Vec<_> = match ty {
            ExtendedType::Object(o) => o
                .fields
                .iter()
                .map(|(n, f)| (n, f.directives.has("canonical")))
                .collect(),
            ExtendedType::Interface(i) => i
                .fields
                .iter()
                .map(|(n, f)| (n, f.directives.has("canonical")))
                .collect(),
            _ => Vec::new(),
        };
        marks.extend(
            fields
                .into_iter()
                .filter(|(_, marked)| *marked)
                .map(|(field, _)| format!("{name}.{field}")),
        );
    }
    marks
}

/// Reads the stitching and federation directives of a subschema.
pub(super) fn read(sub: &SubschemaConfig) -> Result<Found, StitchError> {
    let schema = &sub.schema;
    let mut found = Found::default();
    let federation = schema
        .root_operation(OperationType::Query)
        .and_then(|q| schema.get_object(q))
        .is_some_and(|q| q.fields.contains_key("_entities"));
    for (type_name, ty) in &schema.types {
        let ExtendedType::Object(object) = ty else {
            continue;
        };
        let mut keys: Vec<Name> = Vec::new();
        for key in object.directives.get_all("key") {
            if let Some(fields) = key
                .specified_argument_by_name("fields")
                .and_then(|v| v.as_str())
            {
                keys.extend(top_level_names(fields));
                let resolvable = key
                    .specified_argument_by_name("resolvable")
                    .and_then(|v| v.to_bool())
                    .unwrap_or(true);
                if federation && resolvable {
                    found.entry_points.push((
                        type_name.to_string(),
                        EntryPoint::federation(fields.to_owned()),
                    ));
                }
            }
        }
        let all_external = object.directives.has("external");
        for (field_name, field) in &object.fields {
            if let Some(selection) = string_arg(
                field.directives.get("computed").map(|d| &**d),
                "selectionSet",
            )
            .or_else(|| string_arg(field.directives.get("requires").map(|d| &**d), "fields"))
            {
                found
                    .computed
                    .push((format!("{type_name}.{field_name}"), selection));
            }
            if (all_external || field.directives.has("external")) && !keys.contains(field_name) {
                found.external.push((type_name.clone(), field_name.clone()));
            }
            if let Some(provided) =
                string_arg(field.directives.get("provides").map(|d| &**d), "fields")
            {
                found.provides.push((
                    (type_name.clone(), field_name.clone()),
                    top_level_names(&provided),
                ));
            }
        }
    }
    let Some(query) = schema
        .root_operation(OperationType::Query)
        .and_then(|q| schema.get_object(q))
    else {
        return Ok(found);
    };
    // Types with several `@merge` fields here have several entry points: each keyed by its
    // own `keyField` (the type's `@key` applies to those without one).
    let mut merges_per_type: HashMap<Name, usize> = HashMap::new();
    for field in query.fields.values() {
        if field.directives.get("merge").is_some() {
            for target in merge_targets(schema, field.ty.inner_named_type()) {
                *merges_per_type.entry(target).or_default() += 1;
            }
        }
    }
    for (field_name, field) in &query.fields {
        let Some(merge) = field.directives.get("merge") else {
            continue;
        };
        let arg = |name: &str| {
            merge
                .specified_argument_by_name(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let key_paths = merge.specified_argument_by_name("key").map(|v| match &**v {
            apollo_compiler::ast::Value::List(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            other => other.as_str().map(str::to_owned).into_iter().collect(),
        });
        let declarative = Declarative {
            key_field: arg("keyField"),
            key_paths,
            key_arg: arg("keyArg"),
            args_expr: arg("argsExpr"),
            additional_args: arg("additionalArgs"),
        };
        let targets = merge_targets(schema, field.ty.inner_named_type());
        if targets.is_empty() {
            return Err(StitchError::InvalidMergeConfig {
                subschema: sub.name.clone(),
                coordinate: format!("Query.{field_name}"),
                message: format!("@merge on a field returning `{}`", field.ty),
            });
        }
        for target in targets {
            let key = schema
                .get_object(&target)
                .and_then(|o| string_arg(o.directives.get("key").map(|d| &***d), "selectionSet"));
            let several = merges_per_type.get(&target).is_some_and(|n| *n > 1);
            let selection = match (key, &declarative.key_field) {
                (_, Some(key_field)) if several => nested_selection(key_field),
                (Some(key), _) => key,
                (None, Some(key_field)) => nested_selection(key_field),
                (None, None) => {
                    return Err(StitchError::InvalidMergeConfig {
                        subschema: sub.name.clone(),
                        coordinate: format!("Query.{field_name}"),
                        message: format!(
                            "@merge without `keyField` needs `@key(selectionSet:)` on `{target}`"
                        ),
                    });
                }
            };
            found.entry_points.push((
                target.to_string(),
                EntryPoint::declarative(field_name.to_string(), selection, declarative.clone()),
            ));
        }
    }
    Ok(found)
}

/// The object types a `@merge` field returning `returned` merges: the type itself, or the
/// object types of an interface or union (none for anything else).
fn merge_targets(schema: &Schema, returned: &Name) -> Vec<Name> {
    match schema.types.get(returned) {
        Some(ExtendedType::Object(_)) => vec![returned.clone()],
        Some(ExtendedType::Interface(_) | ExtendedType::Union(_)) => schema
            .types
            .iter()
            .filter(|(n, t)| t.is_object() && schema.is_subtype(returned, n))
            .map(|(n, _)| n.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_selections() {
        assert_eq!(
            top_level_names("{ id organization { id name } kind }"),
            ["id", "organization", "kind"]
        );
        assert_eq!(top_level_names("price weight"), ["price", "weight"]);
        assert_eq!(nested_selection("id"), "{ id }");
        assert_eq!(nested_selection("org.id"), "{ org { id } }");
    }
}
