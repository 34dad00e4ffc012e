//! The general field transforms against the test subgraph, for what the stitched differential
//! tests cannot reach: input object literals (graphql-tools' stitching sends arguments as
//! variables), results of a wrapped schema used on its own, and renames that would collide.

use apollo_compiler::{Node, ast, name};
use quilt_wrap::transforms::{
    FieldChange, InputFieldChange, TransformCompositeFields, TransformInputObjectFields,
};
use quilt_wrap::{WrapSchemaConfig, wrap_schema};
use serde_json::{Value, json};

use crate::support::{subgraph_schema, wrap};

#[tokio::test]
async fn input_object_literals_are_renamed_then_given_to_the_object_transformer() {
    let w = wrap(vec![Box::new(
        TransformInputObjectFields::new(|type_name, field, definition| match (type_name, field) {
            ("UserFilter", "nameContains") => InputFieldChange::rename(definition, name!("text")),
            _ => InputFieldChange::Keep,
        })
        .object_nodes(|type_name, fields| {
            // Sees the wrapped schema's names; adds a role when none is given.
            if type_name == "UserFilter" && !fields.iter().any(|(n, _)| n == "role") {
                assert!(fields.iter().all(|(n, _)| n != "text"), "{fields:?}");
                fields.push((name!("role"), Node::new(ast::Value::Enum(name!("MEMBER")))));
            }
        }),
    )])
    .await;
    let result = w
        .run("{ searchUsers(filter: {text: \"a\"}) { name } }", json!({}))
        .await;
    // Ada (the admin) is left out by the added role.
    assert_eq!(
        result,
        json!({"data": {"searchUsers": [{"name": "Grace"}, {"name": "Alan"}, {"name": "Barbara"}]}})
    );
    let sent = w.last_query();
    assert!(
        sent.contains("nameContains: \"a\"") && sent.contains("role: MEMBER"),
        "{sent}"
    );
    // Variables are renamed too (and not given to the literal transformer).
    let result = w
        .run(
            "query ($f: UserFilter!) { searchUsers(filter: $f) { name } }",
            json!({"f": {"text": "d", "role": "ADMIN"}}),
        )
        .await;
    assert_eq!(result, json!({"data": {"searchUsers": [{"name": "Ada"}]}}));
    assert_eq!(
        w.last_variables(),
        json!({"f": {"nameContains": "d", "role": "ADMIN"}})
    );
}

#[tokio::test]
async fn a_wrapped_schema_alone_shows_no_type_names_it_asked_for_its_object_transformer() {
    let w = wrap(vec![Box::new(
        TransformCompositeFields::new(|type_name, field, definition| {
            if (type_name, field) == ("User", "name") {
                FieldChange::rename(definition, name!("fullName"))
            } else {
                FieldChange::Keep
            }
        })
        .objects(|type_name, object| {
            object.insert("seenAs".into(), Value::String(type_name.to_owned()));
        }),
    )])
    .await;
    let result = w
        .run("{ user(id: \"2\") { fullName n: fullName } }", json!({}))
        .await;
    // The transformer saw `Query` and `User`; the type names asked for it are gone.
    assert_eq!(
        result,
        json!({"data": {"user": {"fullName": "Grace", "n": "Grace", "seenAs": "User"}, "seenAs": "Query"}})
    );
    let sent = w.last_query();
    assert!(
        sent.contains("fullName: name") && sent.contains("n: name"),
        "{sent}"
    );
}

#[test]
fn a_rename_onto_an_existing_field_is_a_schema_error() {
    let executor = quilt_executor::from_fn(|_r: quilt_executor::Request| async {
        Ok(quilt_executor::Response::Single(
            quilt_executor::ExecutionResult::default(),
        ))
    });
    let config = WrapSchemaConfig::new(subgraph_schema(), executor).transform(
        TransformCompositeFields::new(|type_name, field, definition| {
            if (type_name, field) == ("User", "name") {
                FieldChange::rename(definition, name!("id"))
            } else {
                FieldChange::Keep
            }
        }),
    );
    let Err(error) = wrap_schema(config) else {
        panic!("the rename was accepted");
    };
    let text = error.to_string();
    assert!(text.contains("User") && text.contains("`id`"), "{text}");
}
