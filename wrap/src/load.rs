//! Loading a remote schema through an executor: by introspection, or from the SDL the service
//! publishes (`{ _sdl }` or Apollo Federation's `{ _service { sdl } }`).

use std::time::Duration;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use quilt_executor::{ExecutionResult, Executor, ExecutorError, GraphQLError, Request};
use serde_json::Value;

use crate::error::WrapError;
use crate::introspection::{IntrospectionOptions, from_envelope, json::Envelope};
use crate::sdl::{schema_from_federation_sdl_named, schema_from_sdl_named};

/// The endpoint named in errors when neither the options nor the executor name one.
const UNNAMED: &str = "the service";

/// Where a remote schema comes from.
#[derive(Debug, Clone)]
pub enum SchemaSource {
    /// The introspection query. Loses applied directives other than `@deprecated`,
    /// `@specifiedBy` and `@oneOf` (introspection does not carry them).
    Introspection(IntrospectionOptions),
    /// The stitching-directives convention: `{ _sdl }` answers the service's SDL as a string,
    /// with its directives (`@key`, `@merge`, `@computed`, `@canonical`, custom ones).
    Sdl(SdlOptions),
    /// An Apollo Federation subgraph: `{ _service { sdl } }`. The SDL uses federation
    /// directives it does not define (`@key`, `@external`, `@requires`, `@link`, ...), `extend
    /// type`, and omits `_Any`, `_Entity`, `_Service` and the `_entities`/`_service` root
    /// fields; Quilt adds whatever is missing so that the schema validates.
    Federation(SdlOptions),
}

impl SchemaSource {
    /// Introspection with the default options.
    pub fn introspection() -> Self {
        SchemaSource::Introspection(IntrospectionOptions::default())
    }

    /// `{ _sdl }` with the default options.
    pub fn sdl() -> Self {
        SchemaSource::Sdl(SdlOptions::default())
    }

    /// `{ _service { sdl } }` with the default options.
    pub fn federation() -> Self {
        SchemaSource::Federation(SdlOptions::default())
    }

    /// Names the service in errors.
    pub fn endpoint(self, endpoint: impl Into<String>) -> Self {
        let endpoint = Some(endpoint.into());
        match self {
            SchemaSource::Introspection(options) => {
                SchemaSource::Introspection(IntrospectionOptions {
                    endpoint,
                    ..options
                })
            }
            SchemaSource::Sdl(options) => SchemaSource::Sdl(SdlOptions {
                endpoint,
                ..options
            }),
            SchemaSource::Federation(options) => SchemaSource::Federation(SdlOptions {
                endpoint,
                ..options
            }),
        }
    }
}

/// Options of the SDL sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdlOptions {
    /// The name or URL of the service, used in errors.
    pub endpoint: Option<String>,
    /// The longest the request may take.
    pub timeout: Duration,
}

impl Default for SdlOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Loads the schema of the service behind `executor` from `source`.
pub async fn load_schema<E: Executor + ?Sized>(
    executor: &E,
    source: SchemaSource,
) -> Result<Valid<Schema>, WrapError> {
    match source {
        SchemaSource::Introspection(options) => schema_from_executor(executor, options).await,
        SchemaSource::Sdl(options) => {
            let (sdl, endpoint) =
                fetch_sdl(executor, "query Sdl { _sdl }", &["_sdl"], &options).await?;
            schema_from_sdl_named(&sdl, &endpoint)
        }
        SchemaSource::Federation(options) => {
            let (sdl, endpoint) = fetch_sdl(
                executor,
                "query FederationSdl { _service { sdl } }",
                &["_service", "sdl"],
                &options,
            )
            .await?;
            schema_from_federation_sdl_named(&sdl, &endpoint)
        }
    }
}

/// Introspects the service behind `executor` and builds its schema.
///
/// Sends the introspection query of `options` (the first result is taken when the executor
/// answers with a stream), and converts the result with everything it carries: descriptions,
/// deprecations, default values, `@specifiedBy`, `@oneOf`, interfaces implementing interfaces,
/// directive definitions, root types of any name. When the service rejects a meta-field it
/// does not know (`isOneOf`, `specifiedByURL`, ...), the query is sent again without it.
///
/// Errors name the endpoint ([`IntrospectionOptions::endpoint`], or the one the executor's
/// error names) and, for a faulty result, the type or field at fault.
pub async fn schema_from_executor<E: Executor + ?Sized>(
    executor: &E,
    options: IntrospectionOptions,
) -> Result<Valid<Schema>, WrapError> {
    let mut options = options;
    // One retry per optional meta-field at most.
    for _ in 0..7 {
        let query = options.query();
        let (result, endpoint) = run(
            executor,
            &query,
            "IntrospectionQuery",
            options.endpoint.as_deref(),
            options.timeout,
        )
        .await?;
        if !result.errors.is_empty() {
            if options.retry_without_unknown_features
                && disable_unknown_feature(&mut options, &result.errors)
            {
                continue;
            }
            return Err(classify_errors(&endpoint, &result.errors, true));
        }
        let Some(data) = result
            .data
            .filter(|data| !data.is_null())
            .and_then(|data| data.into_value().ok())
        else {
            return Err(WrapError::NoResult {
                endpoint,
                message: "the answer has neither data nor errors".into(),
            });
        };
        let envelope = Envelope {
            schema: None,
            data: Some(serde_json::from_value(data).map_err(|e| {
                WrapError::InvalidIntrospection {
                    endpoint: endpoint.clone(),
                    location: "__schema".into(),
                    message: format!("the data is not an introspection result: {e}"),
                }
            })?),
        };
        return from_envelope(envelope, &endpoint);
    }
    Err(WrapError::NoResult {
        endpoint: options.endpoint.unwrap_or_else(|| UNNAMED.into()),
        message: "the service rejected every form of the introspection query".into(),
    })
}

/// Sends `query` and fetches the string at `path` in its data.
async fn fetch_sdl<E: Executor + ?Sized>(
    executor: &E,
    query: &str,
    path: &[&str],
    options: &SdlOptions,
) -> Result<(String, String), WrapError> {
    let operation = query.split_whitespace().nth(1).unwrap_or("Sdl");
    let (result, endpoint) = run(
        executor,
        query,
        operation,
        options.endpoint.as_deref(),
        options.timeout,
    )
    .await?;
    if !result.errors.is_empty() {
        return Err(classify_errors(&endpoint, &result.errors, false));
    }
    let data = result.data_value();
    let mut value = data.as_ref().unwrap_or(&Value::Null);
    for key in path {
        value = value.get(key).unwrap_or(&Value::Null);
    }
    match value {
        Value::String(sdl) => Ok((sdl.clone(), endpoint)),
        Value::Null if result.data.is_none() => Err(WrapError::NoResult {
            endpoint,
            message: "the answer has neither data nor errors".into(),
        }),
        other => Err(WrapError::InvalidSdl {
            endpoint,
            message: format!(
                "`{}` is not a string but {}",
                path.join("."),
                describe(other)
            ),
        }),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Executes one query within `timeout` and returns its (first) result and the endpoint name.
async fn run<E: Executor + ?Sized>(
    executor: &E,
    query: &str,
    operation_name: &str,
    endpoint: Option<&str>,
    timeout: Duration,
) -> Result<(ExecutionResult, String), WrapError> {
    let named = |error: &ExecutorError| {
        endpoint
            .map(str::to_owned)
            .or_else(|| executor_endpoint(error).map(str::to_owned))
            .unwrap_or_else(|| UNNAMED.to_owned())
    };
    let request = Request::new(query.to_owned())
        .map_err(|e| WrapError::Executor {
            endpoint: endpoint.unwrap_or(UNNAMED).to_owned(),
            source: ExecutorError::other(format!("the schema query does not parse: {e}")),
        })?
        .operation_name(operation_name);
    let outcome = tokio::time::timeout(timeout, async {
        executor.execute(request).await?.into_single().await
    })
    .await
    .unwrap_or_else(|_| {
        Err(ExecutorError::Timeout {
            endpoint: endpoint.unwrap_or(UNNAMED).to_owned(),
            after: timeout,
        })
    });
    match outcome {
        Ok(result) => Ok((result, endpoint.unwrap_or(UNNAMED).to_owned())),
        Err(error) => {
            let endpoint = named(&error);
            Err(match error.status() {
                Some(status @ (401 | 403)) => WrapError::Unauthorized {
                    endpoint,
                    status: Some(status),
                    message: match &error {
                        ExecutorError::HttpStatus { body_excerpt, .. } => body_excerpt.clone(),
                        other => other.to_string(),
                    },
                },
                _ => WrapError::Executor {
                    endpoint,
                    source: error,
                },
            })
        }
    }
}

/// The endpoint an executor error names.
fn executor_endpoint(error: &ExecutorError) -> Option<&str> {
    match error {
        ExecutorError::Connect { endpoint, .. }
        | ExecutorError::Timeout { endpoint, .. }
        | ExecutorError::HttpStatus { endpoint, .. }
        | ExecutorError::Protocol { endpoint, .. }
        | ExecutorError::Decode { endpoint, .. }
        | ExecutorError::Closed { endpoint, .. }
        | ExecutorError::ResponseTooLarge { endpoint, .. }
        | ExecutorError::InvalidRequest { endpoint, .. } => Some(endpoint),
        _ => None,
    }
}

/// The optional meta-fields and the words by which a service's validation error names them.
const FEATURES: [(&str, &str); 6] = [
    ("isOneOf", ""),
    ("specifiedByURL", ""),
    ("isRepeatable", ""),
    ("includeDeprecated", "__InputValue"),
    ("isDeprecated", "__InputValue"),
    ("description", "__Schema"),
];

/// When the errors say that an optional meta-field is unknown, turns it off and says so.
fn disable_unknown_feature(options: &mut IntrospectionOptions, errors: &[GraphQLError]) -> bool {
    let mut changed = false;
    for error in errors {
        let message = &error.message;
        for (index, (field, context)) in FEATURES.iter().enumerate() {
            let mentions = message.contains(field)
                && (context.is_empty()
                    || message.contains(context)
                    || *field == "includeDeprecated");
            if !mentions {
                continue;
            }
            let flag = match index {
                0 => &mut options.one_of,
                1 => &mut options.specified_by_url,
                2 => &mut options.directive_is_repeatable,
                3 | 4 => &mut options.input_value_deprecation,
                _ => &mut options.schema_description,
            };
            changed |= std::mem::replace(flag, false);
        }
    }
    changed
}

/// Turns a service's GraphQL errors into the most telling [`WrapError`].
fn classify_errors(endpoint: &str, errors: &[GraphQLError], introspection: bool) -> WrapError {
    let endpoint = endpoint.to_owned();
    let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    let joined = messages.join("; ");
    for error in errors {
        let code = error.code().unwrap_or_default().to_ascii_uppercase();
        let lower = error.message.to_ascii_lowercase();
        let auth_code = matches!(
            code.as_str(),
            "UNAUTHENTICATED" | "UNAUTHORIZED" | "FORBIDDEN"
        );
        let auth_words = [
            "unauthorized",
            "unauthenticated",
            "not authorized",
            "not authenticated",
            "forbidden",
            "authentication required",
            "access denied",
        ]
        .iter()
        .any(|word| lower.contains(word));
        if auth_code || auth_words {
            let status = error
                .extensions
                .as_ref()
                .and_then(|ext| ext.get("http"))
                .and_then(|http| http.get("status"))
                .and_then(Value::as_u64)
                .and_then(|status| u16::try_from(status).ok());
            return WrapError::Unauthorized {
                endpoint,
                status,
                message: joined,
            };
        }
    }
    if introspection {
        let disabled = errors.iter().any(|error| {
            let lower = error.message.to_ascii_lowercase();
            lower.contains("introspection")
                || lower.contains("__schema")
                || lower.contains("__type")
        });
        if disabled {
            return WrapError::IntrospectionDisabled {
                endpoint,
                message: joined,
            };
        }
    }
    WrapError::ServiceErrors { endpoint, messages }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unknown_meta_fields_are_turned_off_one_by_one() {
        let mut options = IntrospectionOptions::default();
        let errors = [GraphQLError::new(
            r#"Cannot query field "isOneOf" on type "__Type"."#,
        )];
        assert!(disable_unknown_feature(&mut options, &errors));
        assert!(!options.one_of && options.specified_by_url);
        assert!(
            !disable_unknown_feature(&mut options, &errors),
            "no progress, no retry"
        );
        let errors = [GraphQLError::new(
            r#"Unknown argument "includeDeprecated" on field "__Type.inputFields"."#,
        )];
        assert!(disable_unknown_feature(&mut options, &errors));
        assert!(!options.input_value_deprecation);
        let errors = [GraphQLError::new(
            r#"Cannot query field "isDeprecated" on type "__Field"."#,
        )];
        assert!(
            !disable_unknown_feature(&mut options, &errors),
            "isDeprecated of fields is not optional"
        );
    }

    #[test]
    fn errors_are_classified() {
        let e = classify_errors(
            "svc",
            &[GraphQLError::new("GraphQL introspection is not allowed")],
            true,
        );
        assert!(matches!(e, WrapError::IntrospectionDisabled { .. }), "{e}");
        let e = classify_errors(
            "svc",
            &[GraphQLError::new("nope").with_code("UNAUTHENTICATED")],
            true,
        );
        assert!(
            matches!(e, WrapError::Unauthorized { status: None, .. }),
            "{e}"
        );
        let e = classify_errors("svc", &[GraphQLError::new("boom")], true);
        assert!(matches!(e, WrapError::ServiceErrors { .. }), "{e}");
        assert!(e.to_string().contains("svc") && e.to_string().contains("boom"));
    }
}
