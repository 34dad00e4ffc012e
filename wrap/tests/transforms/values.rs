//! Enum and leaf values, and pruning.

use quilt_wrap::transforms::{FilterRootFields, MapLeafValues, PruneSchema, TransformEnumValues};
use serde_json::{Value, json};

use crate::support::wrap;

#[tokio::test]
async fn transform_enum_values_maps_literals_variables_defaults_and_results() {
    let w = wrap(vec![Box::new(TransformEnumValues::new(|ty, value, _| {
        (ty == "Role").then(|| format!("ROLE_{value}"))
    }))])
    .await;
    let role = w.wrapped.schema().get_enum("Role").unwrap();
    assert_eq!(
        role.values.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        ["ROLE_ADMIN", "ROLE_MEMBER"]
    );
    let result = w
        .run(
            "query($f: UserFilter!, $r: Role! = ROLE_MEMBER) {
               admins: usersByRole(role: ROLE_ADMIN) { name role }
               members: usersByRole(role: $r) { role }
               lit: searchUsers(filter: {role: ROLE_ADMIN}) { name }
               var: searchUsers(filter: $f) { name }
               node(id: \"user:2\") { ...R }
             }
             fragment R on User { role }",
            json!({"f": {"role": "ROLE_ADMIN", "nameContains": "A"}}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "admins": [{"name": "Ada", "role": "ROLE_ADMIN"}],
            "members": [{"role": "ROLE_MEMBER"}, {"role": "ROLE_MEMBER"}, {"role": "ROLE_MEMBER"}, {"role": "ROLE_MEMBER"}],
            "lit": [{"name": "Ada"}],
            "var": [{"name": "Ada"}],
            "node": {"role": "ROLE_MEMBER"}
        }})
    );
    let sent = w.last_query();
    assert!(
        sent.contains("= MEMBER") && sent.contains("role: ADMIN") && !sent.contains("ROLE_"),
        "{sent}"
    );
    assert_eq!(
        w.last_variables(),
        json!({"f": {"role": "ADMIN", "nameContains": "A"}})
    );
}

#[tokio::test]
async fn transform_enum_values_renames_defaults_in_the_schema() {
    let schema = apollo_compiler::Schema::parse_and_validate(
        "enum Color { RED GREEN } input Paint { color: Color = RED } type Query { paint(color: Color = GREEN, paint: Paint = {color: GREEN}): Color }",
        "s.graphql",
    )
    .unwrap()
    .into_inner();
    let executor = quilt_executor::from_fn(|_r: quilt_executor::Request| async {
        Ok(quilt_executor::Response::Single(
            quilt_executor::ExecutionResult::from_data(json!({"paint": "RED"})),
        ))
    });
    let wrapped = quilt_wrap::wrap_schema(
        quilt_wrap::WrapSchemaConfig::new(schema, executor)
            .transform(TransformEnumValues::new(|_, v, _| Some(v.to_lowercase()))),
    )
    .unwrap();
    let printed = wrapped.schema().to_string();
    assert!(printed.contains("color: Color = red"), "{printed}");
    assert!(
        printed.contains("paint(color: Color = green, paint: Paint = {color: green})"),
        "{printed}"
    );
    let result = crate::support::run(&wrapped, "{ paint(color: green) }", json!({})).await;
    assert_eq!(result, json!({"data": {"paint": "red"}}));
}

#[tokio::test]
async fn map_leaf_values_maps_inputs_and_outputs_by_type() {
    let w = wrap(vec![Box::new(MapLeafValues::new(
        |ty, value| match (ty, value) {
            ("ID", Value::String(s)) => Value::String(s.trim_start_matches("u-").to_owned()),
            (_, value) => value,
        },
        |ty, value| match (ty, value) {
            ("ID", Value::String(s)) => Value::String(format!("u-{s}")),
            ("Role", Value::String(s)) => Value::String(s.to_lowercase()),
            (_, value) => value,
        },
    ))])
    .await;
    let result = w
        .run(
            "query($ids: [ID!]) { user(id: \"u-2\") { id name role } users(ids: $ids) { id bestFriendId } }",
            json!({"ids": ["u-3", "u-5"]}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {
            "user": {"id": "u-2", "name": "Grace", "role": "member"},
            "users": [{"id": "u-3", "bestFriendId": "u-4"}, {"id": "u-5", "bestFriendId": null}]
        }})
    );
    assert_eq!(w.last_variables(), json!({"ids": ["3", "5"]}));
    assert!(
        w.last_query().contains("user(id: \"2\")"),
        "{}",
        w.last_query()
    );
}

#[tokio::test]
async fn prune_schema_removes_unreachable_types() {
    let filter = || {
        FilterRootFields::new(|_, field, _| field != "echoInput" && !field.starts_with("upload"))
    };
    let unpruned = wrap(vec![Box::new(filter())]).await;
    assert!(unpruned.wrapped.schema().types.contains_key("EchoInput"));
    let w = wrap(vec![Box::new(filter()), Box::new(PruneSchema::new())]).await;
    let schema = w.wrapped.schema();
    for gone in ["EchoInput", "File", "Upload"] {
        assert!(!schema.types.contains_key(gone), "{gone}");
    }
    for kept in ["User", "Post", "Node", "Role", "UserFilter", "String"] {
        assert!(schema.types.contains_key(kept), "{kept}");
    }
    let result = w
        .run(
            "{ node(id: \"post:1\") { id ... on Post { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        result,
        json!({"data": {"node": {"id": "1", "title": "Post 1"}}})
    );
}
