//! A service that does not know an optional introspection meta-field (apollo-compiler's own
//! introspection has no `__Type.isOneOf`) still gets introspected: the query is sent again
//! without it, and the schema comes out equal to the service's.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use apollo_compiler::Schema;
use apollo_compiler::executable::ExecutableDocument;
use apollo_compiler::introspection::partial_execute;
use apollo_compiler::request::coerce_variable_values;
use quilt_executor::{ExecutionResult, GraphQLError, Request, Response, from_fn};
use quilt_wrap::{IntrospectionOptions, schema_from_executor};
use support::compare::schema_diff;

const SDL: &str = r#"
"Root."
schema { query: Root }
directive @audit(level: Int = 2) repeatable on FIELD_DEFINITION | OBJECT
scalar Url @specifiedBy(url: "https://url.spec.whatwg.org/")
interface Node { id: ID! }
interface Resource implements Node { id: ID! url: Url }
type Page implements Resource & Node @audit @audit(level: 3) {
  id: ID!
  url: Url
  title(lang: String = "en", old: Boolean @deprecated(reason: "gone")): String @deprecated(reason: "use name")
}
input Filter { prefix: String = "a\"b" limit: Int = 10 @deprecated }
enum Mode { FAST SLOW @deprecated(reason: "too slow") }
type Root { pages(filter: Filter = {limit: 5}, mode: Mode = FAST): [Page!]! }
"#;

#[tokio::test]
async fn unknown_meta_fields_are_dropped_and_the_schema_still_matches() {
    let schema = Arc::new(Schema::parse_and_validate(SDL, "service.graphql").unwrap());
    let queries = Arc::new(Mutex::new(Vec::<String>::new()));
    let (served, seen) = (schema.clone(), queries.clone());
    // An in-process service answering introspection with apollo-compiler.
    let executor = from_fn(move |request: Request| {
        let (schema, seen) = (served.clone(), seen.clone());
        async move {
            seen.lock().unwrap().push(request.query().to_owned());
            let result =
                match ExecutableDocument::parse_and_validate(&schema, request.query(), "q.graphql")
                {
                    Err(with_errors) => ExecutionResult {
                        errors: with_errors
                            .errors
                            .iter()
                            .map(|d| GraphQLError::new(d.error.to_string()))
                            .collect(),
                        ..ExecutionResult::default()
                    },
                    Ok(document) => {
                        let operation = document
                            .operations
                            .get(request.operation_name.as_deref())
                            .unwrap();
                        let variables =
                            coerce_variable_values(&schema, operation, &Default::default())
                                .unwrap();
                        let response = partial_execute(
                            &schema,
                            &schema.implementers_map(),
                            &document,
                            operation,
                            &variables,
                        )
                        .unwrap();
                        serde_json::from_value(serde_json::to_value(&response).unwrap()).unwrap()
                    }
                };
            Ok(Response::Single(result))
        }
    });

    let built = schema_from_executor(
        &executor,
        IntrospectionOptions::default().endpoint("apollo"),
    )
    .await
    .unwrap();
    let queries = queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 2, "one rejected query, one accepted");
    assert!(queries[0].contains("isOneOf") && !queries[1].contains("isOneOf"));
    assert!(
        queries[1].contains("specifiedByURL"),
        "the other options stay on"
    );

    let diff = schema_diff(&built, &schema);
    assert!(
        diff.is_empty(),
        "{} mismatches:\n{}",
        diff.len(),
        diff.join("\n")
    );
}
