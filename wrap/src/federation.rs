//! Completing an Apollo Federation subgraph's SDL into a schema that validates.
//!
//! A subgraph's `_service.sdl` applies federation directives without defining them, links them
//! with `extend schema @link(url: ".../federation/v2.x", import: [...])` (Federation 2) or not at
//! all (Federation 1), and leaves out the subgraph types and root fields. Names follow the link
//! spec: an imported element keeps its name (or its `as` alias); any other is prefixed with the
//! link's namespace (`@federation__key`); Federation 1 uses bare names and `_FieldSet`.

use std::collections::HashMap;

use apollo_compiler::collections::IndexSet;
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::{Name, Node, Schema, ast};

use crate::error::WrapError;
use crate::sdl::{SPEC_DIRECTIVES, applied_directives, merge_definitions};

/// The federation directives: name, and the rest of the definition (`{FieldSet}`, `{Scope}`,
/// `{Policy}` and `{ContextFieldValue}` stand for the local names of those scalars).
const DIRECTIVES: [(&str, &str); 18] = [
    (
        "key",
        "(fields: {FieldSet}!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE",
    ),
    ("requires", "(fields: {FieldSet}!) on FIELD_DEFINITION"),
    ("provides", "(fields: {FieldSet}!) on FIELD_DEFINITION"),
    ("external", "(reason: String) on OBJECT | FIELD_DEFINITION"),
    (
        "tag",
        "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | \
         ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA",
    ),
    ("extends", " on OBJECT | INTERFACE"),
    ("shareable", " repeatable on OBJECT | FIELD_DEFINITION"),
    (
        "inaccessible",
        " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | \
         ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    ),
    (
        "override",
        "(from: String!, label: String) on FIELD_DEFINITION",
    ),
    ("composeDirective", "(name: String!) repeatable on SCHEMA"),
    ("interfaceObject", " on OBJECT"),
    (
        "authenticated",
        " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "requiresScopes",
        "(scopes: [[{Scope}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "policy",
        "(policies: [[{Policy}!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "context",
        "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
    ),
    (
        "fromContext",
        "(field: {ContextFieldValue}) on ARGUMENT_DEFINITION",
    ),
    (
        "cost",
        "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | \
         OBJECT | SCALAR",
    ),
    (
        "listSize",
        "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], \
         requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
    ),
];

/// The scalars the directive definitions refer to.
const SCALARS: [&str; 4] = ["FieldSet", "Scope", "Policy", "ContextFieldValue"];

/// Every type-system location, for directives the SDL applies but neither it nor federation
/// defines.
const ALL_LOCATIONS: &str = "SCHEMA | SCALAR | OBJECT | FIELD_DEFINITION | ARGUMENT_DEFINITION | \
                             INTERFACE | UNION | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION";

/// How the SDL names federation's elements.
struct Names {
    /// `None` for Federation 1 (no `@link` to the federation spec).
    prefix: Option<String>,
    /// Imported element → local name (`"@key"` → `"key"`, `"FieldSet"` → `"FieldSet"`).
    imports: HashMap<String, String>,
}

impl Names {
    fn from_schema(schema: &Schema) -> Self {
        for link in schema.schema_definition.directives.get_all("link") {
            let Some(url) = link
                .specified_argument_by_name("url")
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            if !url.contains("specs.apollo.dev/federation/") {
                continue;
            }
            let prefix = link
                .specified_argument_by_name("as")
                .and_then(|v| v.as_str())
                .unwrap_or("federation")
                .to_owned();
            let mut imports = HashMap::new();
            if let Some(ast::Value::List(items)) =
                link.specified_argument_by_name("import").map(|v| &**v)
            {
                for item in items {
                    match &**item {
                        ast::Value::String(element) => {
                            imports.insert(
                                element.clone(),
                                element.trim_start_matches('@').to_owned(),
                            );
                        }
                        ast::Value::Object(fields) => {
                            let get = |key: &str| {
                                fields
                                    .iter()
                                    .find(|(k, _)| k == key)
                                    .and_then(|(_, v)| v.as_str())
                            };
                            if let Some(element) = get("name") {
                                let local = get("as").unwrap_or(element);
                                imports.insert(
                                    element.to_owned(),
                                    local.trim_start_matches('@').to_owned(),
                                );
                            }
                        }
                        _ => {}
                    }
                }
            }
            return Self {
                prefix: Some(prefix),
                imports,
            };
        }
        Self {
            prefix: None,
            imports: HashMap::new(),
        }
    }

    fn directive(&self, name: &str) -> String {
        match &self.prefix {
            None => name.to_owned(),
            Some(prefix) => self
                .imports
                .get(&format!("@{name}"))
                .cloned()
                .unwrap_or_else(|| format!("{prefix}__{name}")),
        }
    }

    fn scalar(&self, name: &str) -> String {
        match &self.prefix {
            None => format!("_{name}"),
            Some(prefix) => self
                .imports
                .get(name)
                .cloned()
                .unwrap_or_else(|| format!("{prefix}__{name}")),
        }
    }
}

/// Adds what the subgraph SDL leaves out; `orphans` are the types it only extended.
pub(crate) fn complete(
    schema: &mut Schema,
    orphans: &IndexSet<Name>,
    endpoint: &str,
) -> Result<(), WrapError> {
    let names = Names::from_schema(schema);

    // `extend type User @key(...)` with no `type User`: the federation spec's `@extends`.
    let extends = Name::new(&names.directive("extends")).map_err(|_| WrapError::InvalidSdl {
        endpoint: endpoint.to_owned(),
        message: "the federation link's namespace is not a valid GraphQL name".into(),
    })?;
    for orphan in orphans {
        let directive = Node::new(ast::Directive {
            name: extends.clone(),
            arguments: Vec::new(),
        });
        match schema.types.get_mut(orphan) {
            Some(ExtendedType::Object(node)) if !node.directives.has(&extends) => {
                node.make_mut().directives.0.push(directive.into());
            }
            Some(ExtendedType::Interface(node)) if !node.directives.has(&extends) => {
                node.make_mut().directives.0.push(directive.into());
            }
            _ => {}
        }
    }

    let applied = applied_directives(schema);
    let defined = |schema: &Schema, name: &str| {
        schema.directive_definitions.contains_key(name) || schema.types.contains_key(name)
    };
    let mut extra = String::new();
    let mut scalars_needed: Vec<String> = Vec::new();
    for (name, rest) in DIRECTIVES {
        let local = names.directive(name);
        if !applied.contains_key(local.as_str()) || defined(schema, &local) {
            continue;
        }
        let mut rest = rest.to_owned();
        for scalar in SCALARS {
            let placeholder = format!("{{{scalar}}}");
            if rest.contains(&placeholder) {
                let local_scalar = names.scalar(scalar);
                rest = rest.replace(&placeholder, &local_scalar);
                if !scalars_needed.contains(&local_scalar) {
                    scalars_needed.push(local_scalar);
                }
            }
        }
        extra.push_str(&format!("directive @{local}{rest}\n"));
    }
    for scalar in scalars_needed {
        if !defined(schema, &scalar) {
            extra.push_str(&format!("scalar {scalar}\n"));
        }
    }
    for (name, definition) in SPEC_DIRECTIVES {
        if applied.contains_key(name) && !defined(schema, name) {
            extra.push_str(definition);
            extra.push('\n');
        }
    }
    if applied.contains_key("link") && !defined(schema, "link") {
        extra.push_str(
            "directive @link(url: String!, as: String, for: link__Purpose, import: [link__Import]) \
             repeatable on SCHEMA\n",
        );
        if !defined(schema, "link__Import") {
            extra.push_str("scalar link__Import\n");
        }
        if !defined(schema, "link__Purpose") {
            extra.push_str("enum link__Purpose { SECURITY EXECUTION }\n");
        }
    }
    if !defined(schema, "_Any") {
        extra.push_str("scalar _Any\n");
    }
    if !defined(schema, "_Service") {
        extra.push_str("type _Service { sdl: String }\n");
    }
    // Directives applied but defined nowhere (a linked spec's, a composed one): a permissive
    // definition keeps them on the schema.
    let known: IndexSet<String> = DIRECTIVES
        .iter()
        .map(|(name, _)| names.directive(name))
        .collect();
    for (directive, arguments) in &applied {
        let spec = SPEC_DIRECTIVES.iter().any(|(name, _)| directive == name);
        if defined(schema, directive)
            || known.contains(directive.as_str())
            || directive == "link"
            || spec
        {
            continue;
        }
        let arguments: Vec<String> = arguments.iter().map(|a| format!("{a}: _Any")).collect();
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!("({})", arguments.join(", "))
        };
        extra.push_str(&format!(
            "directive @{directive}{arguments} repeatable on {ALL_LOCATIONS}\n"
        ));
    }

    // `_Entity`: the object types with a `@key`.
    let key = names.directive("key");
    let entities: Vec<&Name> = schema
        .types
        .iter()
        .filter(|(_, ty)| matches!(ty, ExtendedType::Object(_)) && ty.directives().has(&key))
        .map(|(name, _)| name)
        .collect();
    let has_entities = !entities.is_empty();
    if has_entities && !defined(schema, "_Entity") {
        let members: Vec<String> = entities.iter().map(|n| n.to_string()).collect();
        extra.push_str(&format!("union _Entity = {}\n", members.join(" | ")));
    }
    merge_definitions(schema, &extra, endpoint)?;
    add_root_fields(schema, has_entities, endpoint)
}

/// Adds `_service: _Service!` and, when there are entities, `_entities(representations:
/// [_Any!]!): [_Entity]!` to the query type (creating `Query` when the SDL has none).
fn add_root_fields(
    schema: &mut Schema,
    has_entities: bool,
    endpoint: &str,
) -> Result<(), WrapError> {
    let fields = if has_entities {
        "type Query { _entities(representations: [_Any!]!): [_Entity]! _service: _Service! }"
    } else {
        "type Query { _service: _Service! }"
    };
    let parsed = Schema::builder()
        .parse(fields, "quilt-federation-root.graphql")
        .build()
        .map_err(|e| WrapError::InvalidSdl {
            endpoint: endpoint.to_owned(),
            message: format!("could not add the federation root fields: {}", e.errors),
        })?;
    let Some(ExtendedType::Object(template)) = parsed.types.get("Query") else {
        return Ok(());
    };
    let query_name = match &schema.schema_definition.query {
        Some(name) => name.name.clone(),
        None => {
            schema.types.insert(
                template.name.clone(),
                ExtendedType::Object(template.clone()),
            );
            schema.schema_definition.make_mut().query = Some(template.name.clone().into());
            return Ok(());
        }
    };
    let Some(ExtendedType::Object(query)) = schema.types.get_mut(&query_name) else {
        return Ok(());
    };
    let query = query.make_mut();
    for (name, field) in &template.fields {
        if !query.fields.contains_key(name) {
            let definition: FieldDefinition = (*field.node).clone();
            query.fields.insert(name.clone(), definition.into());
        }
    }
    Ok(())
}
