//! Directives and deprecations on object fields: `FilterObjectFieldDirectives`,
//! `RemoveObjectFieldDirectives`, `RemoveObjectFieldsWithDirective`,
//! `RemoveObjectFieldDeprecations`, `RemoveObjectFieldsWithDeprecation`. They change the schema
//! only; requests against the result are valid against the original.

use apollo_compiler::Schema;
use apollo_compiler::ast::{Directive, DirectiveList, FieldDefinition};
use apollo_compiler::schema::ExtendedType;
use quilt_executor::JsonMap;
use serde_json::Value;

use crate::schema_edit::heal;
use crate::type_info::literal_to_json;
use crate::{Transform, TransformError};

/// Matches a name or a deprecation reason: exactly (`From<&str>`) or by a predicate.
pub struct Matcher(Box<dyn Fn(&str) -> bool + Send + Sync>);

impl Matcher {
    /// Matches what `predicate` accepts.
    pub fn new(predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self(Box::new(predicate))
    }

    fn matches(&self, text: &str) -> bool {
        (self.0)(text)
    }
}

impl From<&str> for Matcher {
    fn from(exact: &str) -> Self {
        let exact = exact.to_owned();
        Self::new(move |text| text == exact)
    }
}

impl From<String> for Matcher {
    fn from(exact: String) -> Self {
        Self::new(move |text| text == exact)
    }
}

/// Applies `edit` to the fields of every object type (root types included) and heals the
/// schema afterwards.
fn edit_object_fields(
    mut schema: Schema,
    mut edit: impl FnMut(
        &str,
        &mut apollo_compiler::collections::IndexMap<
            apollo_compiler::Name,
            apollo_compiler::schema::Component<FieldDefinition>,
        >,
    ),
) -> Schema {
    for (type_name, ty) in schema.types.iter_mut() {
        if type_name.starts_with("__") {
            continue;
        }
        if let ExtendedType::Object(object) = ty {
            edit(type_name, &mut object.make_mut().fields);
        }
    }
    heal(schema)
}

fn directive_matches(directive: &Directive, name: &Matcher, args: &JsonMap) -> bool {
    name.matches(&directive.name)
        && args.iter().all(|(key, expected)| {
            directive
                .arguments
                .iter()
                .find(|a| a.name == key.as_str())
                .is_some_and(|a| literal_to_json(&a.value) == *expected)
        })
}

fn deprecation_reason(directives: &DirectiveList) -> Option<String> {
    let deprecated = directives.get("deprecated")?;
    Some(
        deprecated
            .specified_argument_by_name("reason")
            .and_then(|r| r.as_str())
            .unwrap_or("No longer supported")
            .to_owned(),
    )
}

type DirectiveFilter = Box<dyn Fn(&str, &JsonMap) -> bool + Send + Sync>;

/// Keeps only the directives on object fields that the closure accepts; it gets the directive
/// name and its arguments as JSON.
pub struct FilterObjectFieldDirectives(DirectiveFilter);

impl FilterObjectFieldDirectives {
    /// Keeps the directives `keep` returns `true` for.
    pub fn new(keep: impl Fn(&str, &JsonMap) -> bool + Send + Sync + 'static) -> Self {
        Self(Box::new(keep))
    }
}

impl Transform for FilterObjectFieldDirectives {
    fn name(&self) -> &str {
        "FilterObjectFieldDirectives"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(edit_object_fields(schema, |_, fields| {
            for field in fields.values_mut() {
                let keep = |d: &apollo_compiler::Node<Directive>| {
                    let args: JsonMap = d
                        .arguments
                        .iter()
                        .map(|a| (a.name.to_string(), literal_to_json(&a.value)))
                        .collect();
                    (self.0)(&d.name, &args)
                };
                if !field.directives.iter().all(keep) {
                    field.make_mut().directives.retain(keep);
                }
            }
        }))
    }
}

/// Removes the directives with a matching name (and, if given, argument values) from object
/// fields.
///
/// ```
/// use quilt_wrap::transforms::RemoveObjectFieldDirectives;
/// let t = RemoveObjectFieldDirectives::new("auth").with_args(serde_json::json!({"role": "admin"}));
/// ```
pub struct RemoveObjectFieldDirectives {
    name: Matcher,
    args: JsonMap,
}

impl RemoveObjectFieldDirectives {
    /// Removes directives whose name matches.
    pub fn new(name: impl Into<Matcher>) -> Self {
        Self {
            name: name.into(),
            args: JsonMap::new(),
        }
    }

    /// Only those whose arguments have these values (a JSON object).
    pub fn with_args(mut self, args: Value) -> Self {
        if let Value::Object(args) = args {
            self.args = args;
        }
        self
    }
}

impl Transform for RemoveObjectFieldDirectives {
    fn name(&self) -> &str {
        "RemoveObjectFieldDirectives"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(edit_object_fields(schema, |_, fields| {
            for field in fields.values_mut() {
                if field
                    .directives
                    .iter()
                    .any(|d| directive_matches(d, &self.name, &self.args))
                {
                    field
                        .make_mut()
                        .directives
                        .retain(|d| !directive_matches(d, &self.name, &self.args));
                }
            }
        }))
    }
}

/// Removes the object fields that carry a matching directive (name and, if given, argument
/// values).
pub struct RemoveObjectFieldsWithDirective {
    name: Matcher,
    args: JsonMap,
}

impl RemoveObjectFieldsWithDirective {
    /// Removes fields with a directive whose name matches.
    pub fn new(name: impl Into<Matcher>) -> Self {
        Self {
            name: name.into(),
            args: JsonMap::new(),
        }
    }

    /// Only directives whose arguments have these values (a JSON object).
    pub fn with_args(mut self, args: Value) -> Self {
        if let Value::Object(args) = args {
            self.args = args;
        }
        self
    }
}

impl Transform for RemoveObjectFieldsWithDirective {
    fn name(&self) -> &str {
        "RemoveObjectFieldsWithDirective"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(edit_object_fields(schema, |_, fields| {
            fields.retain(|_, field| {
                !field
                    .directives
                    .iter()
                    .any(|d| directive_matches(d, &self.name, &self.args))
            });
        }))
    }
}

/// Removes `@deprecated` from object fields whose deprecation reason matches (the fields stay).
pub struct RemoveObjectFieldDeprecations(Matcher);

impl RemoveObjectFieldDeprecations {
    /// Removes deprecations whose reason matches.
    pub fn new(reason: impl Into<Matcher>) -> Self {
        Self(reason.into())
    }
}

impl Transform for RemoveObjectFieldDeprecations {
    fn name(&self) -> &str {
        "RemoveObjectFieldDeprecations"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(edit_object_fields(schema, |_, fields| {
            for field in fields.values_mut() {
                if deprecation_reason(&field.directives).is_some_and(|r| self.0.matches(&r)) {
                    field
                        .make_mut()
                        .directives
                        .retain(|d| d.name != "deprecated");
                }
            }
        }))
    }
}

/// Removes the object fields deprecated with a matching reason.
pub struct RemoveObjectFieldsWithDeprecation(Matcher);

impl RemoveObjectFieldsWithDeprecation {
    /// Removes fields whose deprecation reason matches.
    pub fn new(reason: impl Into<Matcher>) -> Self {
        Self(reason.into())
    }
}

impl Transform for RemoveObjectFieldsWithDeprecation {
    fn name(&self) -> &str {
        "RemoveObjectFieldsWithDeprecation"
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        Ok(edit_object_fields(schema, |_, fields| {
            fields.retain(|_, field| {
                !deprecation_reason(&field.directives).is_some_and(|r| self.0.matches(&r))
            });
        }))
    }
}
