//! The shape of an introspection result (`__schema`), as it comes off the wire.
//!
//! Every member is optional here: a peer controls this data, and a missing member must become a
//! [`WrapError`](crate::WrapError) that names the type or field it belongs to, which serde's
//! own "missing field" errors cannot do. [`to_schema`](super::to_schema) checks what is required.

use serde::Deserialize;

/// `{ "__schema": … }`, optionally inside `{ "data": … }`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "__schema")]
    pub schema: Option<IntroSchema>,
    pub data: Option<DataEnvelope>,
}

/// The `data` member of a response.
#[derive(Debug, Deserialize)]
pub(crate) struct DataEnvelope {
    #[serde(rename = "__schema")]
    pub schema: Option<IntroSchema>,
}

/// `__Schema`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntroSchema {
    pub description: Option<String>,
    pub query_type: Option<NamedRef>,
    pub mutation_type: Option<NamedRef>,
    pub subscription_type: Option<NamedRef>,
    pub types: Option<Vec<IntroType>>,
    pub directives: Option<Vec<IntroDirective>>,
}

/// A `{ name }` reference to a root operation type.
#[derive(Debug, Deserialize)]
pub(crate) struct NamedRef {
    pub name: Option<String>,
}

/// `__Type` as a full definition.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntroType {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "specifiedByURL", alias = "specifiedByUrl")]
    pub specified_by_url: Option<String>,
    pub is_one_of: Option<bool>,
    pub fields: Option<Vec<IntroField>>,
    pub input_fields: Option<Vec<IntroInputValue>>,
    pub interfaces: Option<Vec<TypeRef>>,
    pub enum_values: Option<Vec<IntroEnumValue>>,
    pub possible_types: Option<Vec<TypeRef>>,
}

/// `__Field`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntroField {
    pub name: Option<String>,
    pub description: Option<String>,
    pub args: Option<Vec<IntroInputValue>>,
    #[serde(rename = "type")]
    pub ty: Option<TypeRef>,
    pub is_deprecated: Option<bool>,
    pub deprecation_reason: Option<String>,
}

/// `__InputValue`: an argument or an input field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntroInputValue {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub ty: Option<TypeRef>,
    pub default_value: Option<String>,
    pub is_deprecated: Option<bool>,
    pub deprecation_reason: Option<String>,
}

/// `__EnumValue`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntroEnumValue {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_deprecated: Option<bool>,
    pub deprecation_reason: Option<String>,
}

/// `__Directive`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntroDirective {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_repeatable: Option<bool>,
    pub locations: Option<Vec<String>>,
    pub args: Option<Vec<IntroInputValue>>,
}

/// A type reference: `{ kind, name, ofType }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TypeRef {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub of_type: Option<Box<TypeRef>>,
}
