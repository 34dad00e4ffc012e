//! [`NameMap`]: renames of types, fields, arguments, input fields and enum values.

use std::collections::HashMap;

use apollo_compiler::Name;
use serde_json::Value;

use super::Mapper;

/// Renames recorded by a rename transform, keyed by outer names.
#[derive(Debug, Default, Clone)]
pub(crate) struct NameMap {
    types_in: HashMap<Name, Name>,
    types_out: HashMap<Name, Name>,
    fields: HashMap<Name, HashMap<Name, Name>>,
    arguments: HashMap<Name, HashMap<Name, HashMap<Name, Name>>>,
    input_fields: HashMap<Name, HashMap<Name, Name>>,
    enum_in: HashMap<Name, HashMap<Name, Name>>,
    enum_out: HashMap<Name, HashMap<Name, Name>>,
}

impl NameMap {
    /// Records that the inner type `inner` is called `outer`.
    pub(crate) fn rename_type(&mut self, inner: Name, outer: Name) {
        self.types_in.insert(outer.clone(), inner.clone());
        self.types_out.insert(inner, outer);
    }

    /// Records that field `inner` of the (outer) type `parent` is called `outer`.
    pub(crate) fn rename_field(&mut self, parent: Name, inner: Name, outer: Name) {
        self.fields.entry(parent).or_default().insert(outer, inner);
    }

    /// Records that argument `inner` of `parent.field` (outer names) is called `outer`.
    pub(crate) fn rename_argument(&mut self, parent: Name, field: Name, inner: Name, outer: Name) {
        self.arguments
            .entry(parent)
            .or_default()
            .entry(field)
            .or_default()
            .insert(outer, inner);
    }

    /// Records that field `inner` of the (outer) input type `parent` is called `outer`.
    pub(crate) fn rename_input_field(&mut self, parent: Name, inner: Name, outer: Name) {
        self.input_fields
            .entry(parent)
            .or_default()
            .insert(outer, inner);
    }

    /// Records that value `inner` of the (outer) enum `parent` is called `outer`.
    pub(crate) fn rename_enum_value(&mut self, parent: Name, inner: Name, outer: Name) {
        self.enum_in
            .entry(parent.clone())
            .or_default()
            .insert(outer.clone(), inner.clone());
        self.enum_out
            .entry(parent)
            .or_default()
            .insert(inner, outer);
    }
}

fn map_enum(map: &HashMap<Name, HashMap<Name, Name>>, type_name: &str, value: Value) -> Value {
    match (&value, map.get(type_name)) {
        (Value::String(s), Some(values)) => match values.get(s.as_str()) {
            Some(mapped) => Value::String(mapped.to_string()),
            None => value,
        },
        _ => value,
    }
}

impl Mapper for NameMap {
    fn type_name(&self, outer: &str) -> Option<&Name> {
        self.types_in.get(outer)
    }
    fn typename_to_outer(&self, inner: &str) -> Option<&Name> {
        self.types_out.get(inner)
    }
    fn field_name(&self, parent: &str, field: &str) -> Option<&Name> {
        self.fields.get(parent)?.get(field)
    }
    fn argument_name(&self, parent: &str, field: &str, argument: &str) -> Option<&Name> {
        self.arguments.get(parent)?.get(field)?.get(argument)
    }
    fn input_field_name(&self, input_type: &str, field: &str) -> Option<&Name> {
        self.input_fields.get(input_type)?.get(field)
    }
    fn maps_input_leaves(&self) -> bool {
        !self.enum_in.is_empty()
    }
    fn input_leaf(&self, type_name: &str, value: Value) -> Value {
        map_enum(&self.enum_in, type_name, value)
    }
    fn maps_results(&self) -> bool {
        !self.types_out.is_empty() || !self.enum_out.is_empty()
    }
    fn output_leaf(&self, type_name: &str, value: Value) -> Value {
        map_enum(&self.enum_out, type_name, value)
    }
}
