//! Introspection JSON → [`apollo_compiler::Schema`], keeping everything introspection carries.
//!
//! The schema is built programmatically (not by printing SDL and parsing it back): nothing is
//! re-escaped, every type and field is a plain definition (no `extend` components), and a fault
//! is reported with the type or field it concerns. What introspection carries and where it goes:
//!
//! | introspection | schema |
//! |---|---|
//! | `description` | `description` of the type, field, argument, enum value, directive, schema |
//! | `isDeprecated`, `deprecationReason` (fields, arguments, input fields, enum values) | `@deprecated(reason:)` |
//! | `defaultValue` (a GraphQL literal) | `default_value`, parsed |
//! | `specifiedByURL` | `@specifiedBy(url:)` |
//! | `isOneOf` | `@oneOf` (defined when the service did not list it) |
//! | interfaces of interfaces, `isRepeatable`, custom directives | as they are |
//! | `queryType` / `mutationType` / `subscriptionType` | the `schema` definition, any names |
//!
//! Longer than 600 lines on purpose: it is one conversion, a `Builder` whose methods (one per
//! kind of type, then fields, arguments, directives) share its state — the type kinds seen so
//! far, the endpoint and location named in errors — and the table above is its index. Split by
//! kind, each part would need the whole builder and the reader would lose the one walk.

use std::collections::HashMap;

use apollo_compiler::ast::{self, DirectiveLocation, Type};
use apollo_compiler::collections::{IndexMap, IndexSet};
use apollo_compiler::schema::{
    Component, ComponentName, DirectiveDefinition, EnumType, EnumValueDefinition, ExtendedType,
    FieldDefinition, InputObjectType, InputValueDefinition, InterfaceType, ObjectType, ScalarType,
    UnionType,
};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};

use super::default_value::DefaultValueParser;
use super::json::{
    Envelope, IntroDirective, IntroEnumValue, IntroField, IntroInputValue, IntroSchema, IntroType,
    TypeRef,
};
use crate::error::WrapError;

/// The endpoint named in errors when the JSON did not come from a named service.
const UNNAMED: &str = "the introspection result";

/// Builds a validated schema from an introspection result: the JSON of `{ __schema { … } }`,
/// with or without the response's `data` envelope.
///
/// ```
/// let json = serde_json::json!({ "__schema": {
///     "queryType": { "name": "Query" },
///     "types": [{ "kind": "OBJECT", "name": "Query", "interfaces": [], "fields": [
///         { "name": "hello", "args": [], "type": { "kind": "SCALAR", "name": "String" } }
///     ]}],
///     "directives": []
/// }});
/// let schema = quilt_wrap::schema_from_introspection(&json).unwrap();
/// assert!(schema.get_object("Query").unwrap().fields.contains_key("hello"));
/// ```
pub fn schema_from_introspection(json: &serde_json::Value) -> Result<Valid<Schema>, WrapError> {
    let envelope = Envelope::deserialize_value(json)
        .map_err(|message| invalid(UNNAMED, "__schema", message))?;
    from_envelope(envelope, UNNAMED)
}

/// Like [`schema_from_introspection`], from JSON text (parsed straight into the introspection
/// shapes, without an intermediate `serde_json::Value`).
pub fn schema_from_introspection_str(json: &str) -> Result<Valid<Schema>, WrapError> {
    let envelope: Envelope = serde_json::from_str(json)
        .map_err(|e| invalid(UNNAMED, "__schema", format!("not introspection JSON: {e}")))?;
    from_envelope(envelope, UNNAMED)
}

impl Envelope {
    fn deserialize_value(json: &serde_json::Value) -> Result<Self, String> {
        serde::Deserialize::deserialize(json).map_err(|e| format!("not introspection JSON: {e}"))
    }
}

/// Builds the schema from a decoded envelope, naming `endpoint` in errors.
pub(crate) fn from_envelope(
    envelope: Envelope,
    endpoint: &str,
) -> Result<Valid<Schema>, WrapError> {
    let schema = envelope
        .schema
        .or(envelope.data.and_then(|data| data.schema))
        .ok_or_else(|| invalid(endpoint, "__schema", "the result has no `__schema`"))?;
    build(schema, endpoint)
}

/// Builds the schema from `__schema`, naming `endpoint` in errors.
pub(crate) fn build(intro: IntroSchema, endpoint: &str) -> Result<Valid<Schema>, WrapError> {
    let mut builder = Builder {
        endpoint,
        kinds: HashMap::new(),
        defaults: DefaultValueParser::new(),
    };
    let types = intro
        .types
        .ok_or_else(|| invalid(endpoint, "__schema", "`types` is missing"))?;
    for (index, ty) in types.iter().enumerate() {
        let name = ty.name.as_deref().ok_or_else(|| {
            invalid(
                endpoint,
                &format!("__schema.types[{index}]"),
                "a type has no name",
            )
        })?;
        let kind = Kind::parse(ty.kind.as_deref()).ok_or_else(|| {
            invalid(
                endpoint,
                name,
                format!("unknown or missing kind {:?}", ty.kind),
            )
        })?;
        if builder.kinds.insert(name.to_owned(), kind).is_some() {
            return Err(invalid(endpoint, name, "the type is listed twice"));
        }
    }

    let mut schema = Schema::new();
    for ty in &types {
        builder.add_type(&mut schema, ty)?;
    }
    let mut one_of_used = false;
    for ty in &types {
        one_of_used |= ty.is_one_of == Some(true);
    }
    for directive in intro.directives.as_deref().unwrap_or_default() {
        builder.add_directive(&mut schema, directive)?;
    }
    if one_of_used && !schema.directive_definitions.contains_key("oneOf") {
        schema.directive_definitions.insert(
            name("oneOf"),
            Node::new(DirectiveDefinition {
                description: None,
                name: name("oneOf"),
                arguments: Vec::new(),
                repeatable: false,
                locations: vec![DirectiveLocation::InputObject],
            }),
        );
    }

    let definition = schema.schema_definition.make_mut();
    definition.description = intro.description.as_deref().map(Node::from);
    let roots = [
        ("queryType", &intro.query_type, &mut definition.query),
        (
            "mutationType",
            &intro.mutation_type,
            &mut definition.mutation,
        ),
        (
            "subscriptionType",
            &intro.subscription_type,
            &mut definition.subscription,
        ),
    ];
    for (member, reference, slot) in roots {
        let Some(type_name) = reference.as_ref().and_then(|r| r.name.as_deref()) else {
            continue;
        };
        match builder.kinds.get(type_name) {
            Some(Kind::Object) => {
                *slot = Some(ComponentName::from(builder.name(type_name, type_name)?))
            }
            Some(other) => {
                return Err(invalid(
                    endpoint,
                    &format!("__schema.{member}"),
                    format!(
                        "root type `{type_name}` is {}, not an object type",
                        other.describe()
                    ),
                ));
            }
            None => {
                return Err(invalid(
                    endpoint,
                    &format!("__schema.{member}"),
                    format!("root type `{type_name}` is not among the types"),
                ));
            }
        }
    }
    if definition.query.is_none() {
        return Err(invalid(
            endpoint,
            "__schema.queryType",
            "the schema has no query type",
        ));
    }

    schema
        .validate()
        .map_err(|with_errors| WrapError::InvalidSchema {
            endpoint: endpoint.to_owned(),
            diagnostics: with_errors.errors.to_string(),
        })
}

fn invalid(endpoint: &str, location: &str, message: impl Into<String>) -> WrapError {
    WrapError::InvalidIntrospection {
        endpoint: endpoint.to_owned(),
        location: location.to_owned(),
        message: message.into(),
    }
}

fn name(static_name: &'static str) -> Name {
    Name::new_static(static_name).unwrap_or_else(|_| Name::new_unchecked(static_name))
}

/// The kind of a named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

impl Kind {
    fn parse(kind: Option<&str>) -> Option<Self> {
        Some(match kind? {
            "SCALAR" => Kind::Scalar,
            "OBJECT" => Kind::Object,
            "INTERFACE" => Kind::Interface,
            "UNION" => Kind::Union,
            "ENUM" => Kind::Enum,
            "INPUT_OBJECT" => Kind::InputObject,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Scalar => "a scalar",
            Kind::Object => "an object type",
            Kind::Interface => "an interface",
            Kind::Union => "a union",
            Kind::Enum => "an enum",
            Kind::InputObject => "an input object type",
        }
    }

    fn is_input(self) -> bool {
        matches!(self, Kind::Scalar | Kind::Enum | Kind::InputObject)
    }

    fn is_output(self) -> bool {
        !matches!(self, Kind::InputObject)
    }
}

const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];
const BUILT_IN_DIRECTIVES: [&str; 4] = ["skip", "include", "deprecated", "specifiedBy"];

/// Whether a type reference is in an input or an output position.
#[derive(Clone, Copy)]
enum Position {
    Input,
    Output,
}

struct Builder<'a> {
    endpoint: &'a str,
    kinds: HashMap<String, Kind>,
    defaults: DefaultValueParser,
}

impl Builder<'_> {
    fn err(&self, location: &str, message: impl Into<String>) -> WrapError {
        invalid(self.endpoint, location, message)
    }

    fn name(&self, value: &str, location: &str) -> Result<Name, WrapError> {
        Name::new(value)
            .map_err(|_| self.err(location, format!("`{value}` is not a valid GraphQL name")))
    }

    fn add_type(&mut self, schema: &mut Schema, ty: &IntroType) -> Result<(), WrapError> {
        // Both are checked by `build` before this is called.
        let (Some(type_name), Some(kind)) = (ty.name.as_deref(), Kind::parse(ty.kind.as_deref()))
        else {
            return Err(self.err("__schema.types", "a type has no name or kind"));
        };
        if type_name.starts_with("__") {
            return Ok(()); // the introspection types are the schema's own
        }
        if BUILT_IN_SCALARS.contains(&type_name) {
            return match kind {
                Kind::Scalar => Ok(()),
                other => Err(self.err(
                    type_name,
                    format!("a built-in scalar cannot be {}", other.describe()),
                )),
            };
        }
        let name = self.name(type_name, type_name)?;
        let description = ty.description.as_deref().map(Node::from);
        let extended = match kind {
            Kind::Scalar => {
                let mut directives = apollo_compiler::schema::DirectiveList::default();
                if let Some(url) = &ty.specified_by_url {
                    directives.0.push(Component::new(directive(
                        "specifiedBy",
                        Some(("url", ast::Value::String(url.clone()))),
                    )));
                }
                ExtendedType::Scalar(Node::new(ScalarType {
                    description,
                    name,
                    directives,
                }))
            }
            Kind::Object => ExtendedType::Object(Node::new(ObjectType {
                description,
                name,
                implements_interfaces: self.interfaces(
                    type_name,
                    ty.interfaces.as_deref(),
                    true,
                )?,
                directives: Default::default(),
                fields: self.fields(type_name, ty.fields.as_deref())?,
            })),
            Kind::Interface => ExtendedType::Interface(Node::new(InterfaceType {
                description,
                name,
                // Servers from before interfaces could implement interfaces answer `null`.
                implements_interfaces: self.interfaces(
                    type_name,
                    ty.interfaces.as_deref(),
                    false,
                )?,
                directives: Default::default(),
                fields: self.fields(type_name, ty.fields.as_deref())?,
            })),
            Kind::Union => {
                let possible = ty
                    .possible_types
                    .as_deref()
                    .ok_or_else(|| self.err(type_name, "the union has no `possibleTypes`"))?;
                let mut members =
                    IndexSet::with_capacity_and_hasher(possible.len(), Default::default());
                for member in possible {
                    let location = format!("{type_name} (member)");
                    let member = self.named_ref(member, &location, &[Kind::Object])?;
                    members.insert(ComponentName::from(member));
                }
                ExtendedType::Union(Node::new(UnionType {
                    description,
                    name,
                    directives: Default::default(),
                    members,
                }))
            }
            Kind::Enum => {
                let values = ty
                    .enum_values
                    .as_deref()
                    .ok_or_else(|| self.err(type_name, "the enum has no `enumValues`"))?;
                let mut map = IndexMap::with_capacity_and_hasher(values.len(), Default::default());
                for value in values {
                    let definition = self.enum_value(type_name, value)?;
                    map.insert(definition.value.clone(), Component::new(definition));
                }
                ExtendedType::Enum(Node::new(EnumType {
                    description,
                    name,
                    directives: Default::default(),
                    values: map,
                }))
            }
            Kind::InputObject => {
                let input_fields = ty.input_fields.as_deref().ok_or_else(|| {
                    self.err(type_name, "the input object type has no `inputFields`")
                })?;
                let mut fields =
                    IndexMap::with_capacity_and_hasher(input_fields.len(), Default::default());
                for field in input_fields {
                    let definition = self.input_value(type_name, field, false)?;
                    fields.insert(definition.name.clone(), Component::new(definition));
                }
                let mut directives = apollo_compiler::schema::DirectiveList::default();
                if ty.is_one_of == Some(true) {
                    directives.0.push(Component::new(directive("oneOf", None)));
                }
                ExtendedType::InputObject(Node::new(InputObjectType {
                    description,
                    name,
                    directives,
                    fields,
                }))
            }
        };
        schema.types.insert(extended.name().clone(), extended);
        Ok(())
    }

    fn interfaces(
        &self,
        type_name: &str,
        interfaces: Option<&[TypeRef]>,
        required: bool,
    ) -> Result<IndexSet<ComponentName>, WrapError> {
        let interfaces = match interfaces {
            Some(interfaces) => interfaces,
            None if required => {
                return Err(self.err(type_name, "the type has no `interfaces` list"));
            }
            None => &[],
        };
        let mut set = IndexSet::with_capacity_and_hasher(interfaces.len(), Default::default());
        let location = format!("{type_name} (implements)");
        for interface in interfaces {
            set.insert(ComponentName::from(self.named_ref(
                interface,
                &location,
                &[Kind::Interface],
            )?));
        }
        Ok(set)
    }

    fn fields(
        &mut self,
        type_name: &str,
        fields: Option<&[IntroField]>,
    ) -> Result<IndexMap<Name, Component<FieldDefinition>>, WrapError> {
        let fields = fields.ok_or_else(|| self.err(type_name, "the type has no `fields` list"))?;
        let mut map = IndexMap::with_capacity_and_hasher(fields.len(), Default::default());
        for field in fields {
            let field_name = field
                .name
                .as_deref()
                .ok_or_else(|| self.err(type_name, "a field has no name"))?;
            let location = format!("{type_name}.{field_name}");
            let name = self.name(field_name, &location)?;
            let ty = field
                .ty
                .as_ref()
                .ok_or_else(|| self.err(&location, "the field has no type"))?;
            let ty = self.type_ref(ty, &location, Position::Output)?;
            let mut arguments = Vec::new();
            for arg in field.args.as_deref().unwrap_or_default() {
                arguments.push(Node::new(self.input_value(&location, arg, true)?));
            }
            let definition = FieldDefinition {
                description: field.description.as_deref().map(Node::from),
                name,
                arguments,
                ty,
                directives: deprecation(field.is_deprecated, &field.deprecation_reason),
            };
            if map
                .insert(definition.name.clone(), Component::new(definition))
                .is_some()
            {
                return Err(self.err(&location, "the field is listed twice"));
            }
        }
        Ok(map)
    }

    fn input_value(
        &mut self,
        owner: &str,
        value: &IntroInputValue,
        is_argument: bool,
    ) -> Result<InputValueDefinition, WrapError> {
        let value_name = value
            .name
            .as_deref()
            .ok_or_else(|| self.err(owner, "an argument or input field has no name"))?;
        let location = if is_argument {
            format!("{owner}({value_name}:)")
        } else {
            format!("{owner}.{value_name}")
        };
        let name = self.name(value_name, &location)?;
        let ty = value
            .ty
            .as_ref()
            .ok_or_else(|| self.err(&location, "the input value has no type"))?;
        let ty = self.type_ref(ty, &location, Position::Input)?;
        let default_value =
            match value.default_value.as_deref() {
                None => None,
                Some(literal) => Some(self.defaults.parse(literal).map_err(|message| {
                    self.err(&location, format!("bad default value: {message}"))
                })?),
            };
        Ok(InputValueDefinition {
            description: value.description.as_deref().map(Node::from),
            name,
            ty: Node::new(ty),
            default_value,
            directives: deprecation(value.is_deprecated, &value.deprecation_reason),
        })
    }

    fn enum_value(
        &self,
        type_name: &str,
        value: &IntroEnumValue,
    ) -> Result<EnumValueDefinition, WrapError> {
        let value_name = value
            .name
            .as_deref()
            .ok_or_else(|| self.err(type_name, "an enum value has no name"))?;
        let location = format!("{type_name}.{value_name}");
        Ok(EnumValueDefinition {
            description: value.description.as_deref().map(Node::from),
            value: self.name(value_name, &location)?,
            directives: deprecation(value.is_deprecated, &value.deprecation_reason),
        })
    }

    fn add_directive(
        &mut self,
        schema: &mut Schema,
        directive: &IntroDirective,
    ) -> Result<(), WrapError> {
        let directive_name = directive
            .name
            .as_deref()
            .ok_or_else(|| self.err("__schema.directives", "a directive has no name"))?;
        let location = format!("@{directive_name}");
        if BUILT_IN_DIRECTIVES.contains(&directive_name) {
            return Ok(()); // the schema's own definitions are the spec's
        }
        let name = self.name(directive_name, &location)?;
        let mut locations = Vec::new();
        for place in directive.locations.as_deref().unwrap_or_default() {
            locations.push(directive_location(place).ok_or_else(|| {
                self.err(&location, format!("unknown directive location `{place}`"))
            })?);
        }
        if locations.is_empty() {
            return Err(self.err(&location, "the directive has no locations"));
        }
        let mut arguments = Vec::new();
        for arg in directive.args.as_deref().unwrap_or_default() {
            arguments.push(Node::new(self.input_value(&location, arg, true)?));
        }
        let definition = DirectiveDefinition {
            description: directive.description.as_deref().map(Node::from),
            name: name.clone(),
            arguments,
            repeatable: directive.is_repeatable == Some(true),
            locations,
        };
        if schema
            .directive_definitions
            .insert(name, Node::new(definition))
            .is_some()
        {
            return Err(self.err(&location, "the directive is listed twice"));
        }
        Ok(())
    }

    /// A reference to a named type whose kind must be one of `allowed`.
    fn named_ref(
        &self,
        reference: &TypeRef,
        location: &str,
        allowed: &[Kind],
    ) -> Result<Name, WrapError> {
        let type_name = reference
            .name
            .as_deref()
            .ok_or_else(|| self.err(location, "a type reference has no name"))?;
        let kind = self.referenced_kind(reference, type_name, location)?;
        if !allowed.contains(&kind) {
            return Err(self.err(
                location,
                format!(
                    "`{type_name}` is {}, which cannot be used here",
                    kind.describe()
                ),
            ));
        }
        self.name(type_name, location)
    }

    /// The kind of the type `type_name` refers to, checked against the kind the reference states.
    fn referenced_kind(
        &self,
        reference: &TypeRef,
        type_name: &str,
        location: &str,
    ) -> Result<Kind, WrapError> {
        let kind = match self.kinds.get(type_name) {
            Some(kind) => *kind,
            None if BUILT_IN_SCALARS.contains(&type_name) => Kind::Scalar,
            None => {
                return Err(self.err(
                    location,
                    format!("unknown type `{type_name}` (not among `__schema.types`)"),
                ));
            }
        };
        if let Some(stated) = reference.kind.as_deref()
            && Kind::parse(Some(stated)) != Some(kind)
        {
            return Err(self.err(
                location,
                format!(
                    "`{type_name}` is referred to as {stated} but defined as {}",
                    kind.describe()
                ),
            ));
        }
        Ok(kind)
    }

    fn type_ref(
        &self,
        reference: &TypeRef,
        location: &str,
        position: Position,
    ) -> Result<Type, WrapError> {
        match reference.kind.as_deref() {
            Some("NON_NULL") => {
                let inner = reference
                    .of_type
                    .as_deref()
                    .ok_or_else(|| self.cut_off(location))?;
                if inner.kind.as_deref() == Some("NON_NULL") {
                    return Err(self.err(location, "a non-null type wraps a non-null type"));
                }
                Ok(self.type_ref(inner, location, position)?.non_null())
            }
            Some("LIST") => {
                let inner = reference
                    .of_type
                    .as_deref()
                    .ok_or_else(|| self.cut_off(location))?;
                Ok(self.type_ref(inner, location, position)?.list())
            }
            _ => {
                let type_name = reference.name.as_deref().ok_or_else(|| {
                    self.err(location, "a type reference has no name and no kind")
                })?;
                let kind = self.referenced_kind(reference, type_name, location)?;
                let fits = match position {
                    Position::Input => kind.is_input(),
                    Position::Output => kind.is_output(),
                };
                if !fits {
                    let role = match position {
                        Position::Input => "an input",
                        Position::Output => "an output",
                    };
                    return Err(self.err(
                        location,
                        format!(
                            "`{type_name}` is {}, which is not {role} type",
                            kind.describe()
                        ),
                    ));
                }
                Ok(Type::Named(self.name(type_name, location)?))
            }
        }
    }

    fn cut_off(&self, location: &str) -> WrapError {
        self.err(
            location,
            "a list or non-null type reference has no `ofType` (the type is nested deeper than the \
             introspection query asks for: raise `type_depth`)",
        )
    }
}

/// `@name(arg: value)`.
fn directive(
    directive_name: &'static str,
    argument: Option<(&'static str, ast::Value)>,
) -> ast::Directive {
    ast::Directive {
        name: name(directive_name),
        arguments: argument
            .into_iter()
            .map(|(arg, value)| {
                Node::new(ast::Argument {
                    name: name(arg),
                    value: Node::new(value),
                })
            })
            .collect(),
    }
}

/// `@deprecated(reason: …)` when deprecated; `@deprecated` alone when no reason is given.
fn deprecation(is_deprecated: Option<bool>, reason: &Option<String>) -> ast::DirectiveList {
    let deprecated = is_deprecated.unwrap_or(reason.is_some());
    if !deprecated {
        return ast::DirectiveList::default();
    }
    let argument = reason
        .as_ref()
        .map(|reason| ("reason", ast::Value::String(reason.clone())));
    ast::DirectiveList(vec![Node::new(directive("deprecated", argument))])
}

fn directive_location(location: &str) -> Option<DirectiveLocation> {
    Some(match location {
        "QUERY" => DirectiveLocation::Query,
        "MUTATION" => DirectiveLocation::Mutation,
        "SUBSCRIPTION" => DirectiveLocation::Subscription,
        "FIELD" => DirectiveLocation::Field,
        "FRAGMENT_DEFINITION" => DirectiveLocation::FragmentDefinition,
        "FRAGMENT_SPREAD" => DirectiveLocation::FragmentSpread,
        "INLINE_FRAGMENT" => DirectiveLocation::InlineFragment,
        "VARIABLE_DEFINITION" => DirectiveLocation::VariableDefinition,
        "SCHEMA" => DirectiveLocation::Schema,
        "SCALAR" => DirectiveLocation::Scalar,
        "OBJECT" => DirectiveLocation::Object,
        "FIELD_DEFINITION" => DirectiveLocation::FieldDefinition,
        "ARGUMENT_DEFINITION" => DirectiveLocation::ArgumentDefinition,
        "INTERFACE" => DirectiveLocation::Interface,
        "UNION" => DirectiveLocation::Union,
        "ENUM" => DirectiveLocation::Enum,
        "ENUM_VALUE" => DirectiveLocation::EnumValue,
        "INPUT_OBJECT" => DirectiveLocation::InputObject,
        "INPUT_FIELD_DEFINITION" => DirectiveLocation::InputFieldDefinition,
        _ => return None,
    })
}
