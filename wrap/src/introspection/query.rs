//! The introspection query Quilt sends, with the optional parts of the spec as options.

use std::fmt::Write as _;
use std::time::Duration;

/// What to ask a service for when introspecting it, and how to name it in errors.
///
/// The defaults ask for everything the current GraphQL spec offers (descriptions,
/// `specifiedByURL`, `isRepeatable`, deprecated arguments and input fields, `isOneOf`), so that
/// the schema Quilt builds loses nothing. A service that does not know one of these meta-fields
/// rejects the query; [`schema_from_executor`](crate::schema_from_executor) then retries once
/// per unknown meta-field without it (older servers keep working).
///
/// ```
/// use quilt_wrap::IntrospectionOptions;
/// let options = IntrospectionOptions::default().endpoint("http://products/graphql").one_of(false);
/// assert!(options.query().contains("specifiedByURL"));
/// assert!(!options.query().contains("isOneOf"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionOptions {
    /// Ask for descriptions of types, fields, arguments, enum values and directives.
    pub descriptions: bool,
    /// Ask for the `description` of the schema itself.
    pub schema_description: bool,
    /// Ask for `specifiedByURL` of custom scalars.
    pub specified_by_url: bool,
    /// Ask for `isRepeatable` of directive definitions.
    pub directive_is_repeatable: bool,
    /// Ask for deprecated arguments and input fields (`includeDeprecated: true` on `args` and
    /// `inputFields`, with `isDeprecated` and `deprecationReason`).
    pub input_value_deprecation: bool,
    /// Ask for `isOneOf` of input object types.
    pub one_of: bool,
    /// How many `ofType` levels a type reference may have (`[[Int!]!]!` needs 5).
    pub type_depth: usize,
    /// Retry without a meta-field the service reports as unknown (see the type's docs).
    pub retry_without_unknown_features: bool,
    /// The name or URL of the service, used in errors. Without it, the endpoint named by the
    /// executor's own errors is used, or `"the service"`.
    pub endpoint: Option<String>,
    /// The longest the introspection request may take.
    pub timeout: Duration,
}

impl Default for IntrospectionOptions {
    fn default() -> Self {
        Self {
            descriptions: true,
            schema_description: true,
            specified_by_url: true,
            directive_is_repeatable: true,
            input_value_deprecation: true,
            one_of: true,
            type_depth: 9,
            retry_without_unknown_features: true,
            endpoint: None,
            timeout: Duration::from_secs(30),
        }
    }
}

impl IntrospectionOptions {
    /// The query of the oldest servers: descriptions only (what graphql-js'
    /// `getIntrospectionQuery()` asks by default).
    pub fn minimal() -> Self {
        Self {
            schema_description: false,
            specified_by_url: false,
            directive_is_repeatable: false,
            input_value_deprecation: false,
            one_of: false,
            ..Self::default()
        }
    }

    /// Names the service in errors.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the timeout of the introspection request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`descriptions`](Self::descriptions).
    pub fn descriptions(mut self, on: bool) -> Self {
        self.descriptions = on;
        self
    }

    /// Sets [`specified_by_url`](Self::specified_by_url).
    pub fn specified_by_url(mut self, on: bool) -> Self {
        self.specified_by_url = on;
        self
    }

    /// Sets [`directive_is_repeatable`](Self::directive_is_repeatable).
    pub fn directive_is_repeatable(mut self, on: bool) -> Self {
        self.directive_is_repeatable = on;
        self
    }

    /// Sets [`input_value_deprecation`](Self::input_value_deprecation).
    pub fn input_value_deprecation(mut self, on: bool) -> Self {
        self.input_value_deprecation = on;
        self
    }

    /// Sets [`one_of`](Self::one_of).
    pub fn one_of(mut self, on: bool) -> Self {
        self.one_of = on;
        self
    }

    /// The introspection query text for these options.
    pub fn query(&self) -> String {
        let description = if self.descriptions {
            "description "
        } else {
            ""
        };
        let schema_description = if self.descriptions && self.schema_description {
            "description "
        } else {
            ""
        };
        let specified_by = if self.specified_by_url {
            "specifiedByURL "
        } else {
            ""
        };
        let repeatable = if self.directive_is_repeatable {
            "isRepeatable "
        } else {
            ""
        };
        let one_of = if self.one_of { "isOneOf " } else { "" };
        let (include_deprecated, input_deprecation) = if self.input_value_deprecation {
            (
                "(includeDeprecated: true)",
                "isDeprecated deprecationReason ",
            )
        } else {
            ("", "")
        };

        let mut q = String::with_capacity(1500);
        let _ = write!(
            q,
            "query IntrospectionQuery {{ __schema {{ {schema_description}\
             queryType {{ name kind }} mutationType {{ name kind }} subscriptionType {{ name kind }} \
             types {{ ...FullType }} \
             directives {{ name {description}{repeatable}locations \
             args{include_deprecated} {{ ...InputValue }} }} }} }} \
             fragment FullType on __Type {{ kind name {description}{specified_by}{one_of}\
             fields(includeDeprecated: true) {{ name {description}\
             args{include_deprecated} {{ ...InputValue }} type {{ ...TypeRef }} \
             isDeprecated deprecationReason }} \
             inputFields{include_deprecated} {{ ...InputValue }} \
             interfaces {{ ...TypeRef }} \
             enumValues(includeDeprecated: true) {{ name {description}isDeprecated deprecationReason }} \
             possibleTypes {{ ...TypeRef }} }} \
             fragment InputValue on __InputValue {{ name {description}type {{ ...TypeRef }} \
             defaultValue {input_deprecation}}} \
             fragment TypeRef on __Type {{ "
        );
        let depth = self.type_depth.max(1);
        for _ in 1..depth {
            q.push_str("kind name ofType { ");
        }
        q.push_str("kind name");
        for _ in 1..depth {
            q.push_str(" }");
        }
        q.push_str(" }");
        q
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_option_parses_as_graphql() {
        for options in [
            IntrospectionOptions::default(),
            IntrospectionOptions::minimal(),
        ] {
            let query = options.query();
            apollo_compiler::ast::Document::parse(&query, "q.graphql").unwrap();
        }
    }

    #[test]
    fn options_toggle_meta_fields() {
        let all = IntrospectionOptions::default().query();
        for field in [
            "specifiedByURL",
            "isRepeatable",
            "isOneOf",
            "includeDeprecated: true) { ...InputValue",
            "isDeprecated deprecationReason }",
        ] {
            assert!(all.contains(field), "{field} missing from {all}");
        }
        let minimal = IntrospectionOptions::minimal().query();
        for field in ["specifiedByURL", "isRepeatable", "isOneOf"] {
            assert!(!minimal.contains(field), "{field} in {minimal}");
        }
        assert!(
            !IntrospectionOptions::default()
                .descriptions(false)
                .query()
                .contains("description")
        );
    }
}
