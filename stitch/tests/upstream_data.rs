#![allow(clippy::unwrap_used)]
//! What the gateway does when a subschema's data breaks its own schema: a null in a non-null
//! field without an error, a value of the wrong shape, an abstract value without a valid
//! `__typename`. The gateway adds a located error and propagates the null as the spec says;
//! it never passes the malformed value on.

mod common;

use common::run;
use quilt_executor::{ExecutionResult, Executor, Request, Response, from_fn};
use quilt_stitch::{Stitcher, SubschemaConfig};
use serde_json::{Value, json};

fn fixed(data: Value) -> impl Executor {
    from_fn(move |_r: Request| {
        let data = data.clone();
        async move { Ok(Response::Single(ExecutionResult::from_data(data))) }
    })
}

const SDL: &str = "type Query { a: T b: [T!] c: I d: T! }
                   type T implements I { x: Int! y: Int }
                   interface I { y: Int }";

#[tokio::test]
async fn malformed_upstream_data_becomes_located_errors() {
    let data = json!({
        "a": {"x": null, "y": 1},
        "b": [{"x": 1, "y": 2}, "not an object"],
        "c": {"y": 3},
        "d": {"x": 4, "y": 5}
    });
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("bad", SDL, fixed(data)).unwrap())
        .build()
        .unwrap();
    let result = run(
        &gateway,
        "{ a { x y }\n b { x }\n c { y }\n d { x } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result["data"],
        json!({"a": null, "b": null, "c": null, "d": {"x": 4}})
    );
    let errors = result["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["a", "x"]));
    assert_eq!(
        errors[0]["message"],
        json!("Cannot return null for non-nullable field T.x.")
    );
    assert_eq!(errors[0]["locations"], json!([{"line": 1, "column": 7}]));
    assert_eq!(errors[1]["path"], json!(["b", 1]));
    assert_eq!(errors[2]["path"], json!(["c"]));
    assert!(
        errors[2]["message"]
            .as_str()
            .unwrap()
            .contains("__typename")
    );
}

#[tokio::test]
async fn a_missing_non_null_root_value_nulls_data_with_one_error() {
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("bad", SDL, fixed(json!({}))).unwrap())
        .build()
        .unwrap();
    let result = run(&gateway, "{ a { y } d { y } }", json!({})).await;
    assert_eq!(result["data"], json!(null));
    assert_eq!(result["errors"].as_array().unwrap().len(), 1);
    assert_eq!(result["errors"][0]["path"], json!(["d"]));
}

/// The two ways out of the gateway agree byte for byte: the data written as JSON while it is
/// completed (`execute_serialized`, what the server sends) and the tree (`execute`, what a
/// wrapping executor reads) serialized by serde_json — escapes, numbers, nulls propagated
/// through lists and objects, abstract types, aliases and `__typename` included.
#[tokio::test]
async fn serialized_data_equals_the_serialized_tree() {
    let sdl = "type Query { a: T b: [T] c: [I!] d: T! e: [[Int]] s: String j: JSON }
               scalar JSON
               type T implements I { x: Int! y: Float s: String }
               type U implements I { y: Float }
               interface I { y: Float }";
    let data = json!({
        "a": {"x": 1, "y": 2.5, "s": "quote \" backslash \\ tab \t nl \n ctl \u{1} é 😀 </script>"},
        "b": [{"x": 1, "y": -0.0, "s": "x"}, {"x": null, "y": 1e300, "s": null}, null],
        "c": [{"__typename": "U", "y": 3}, {"__typename": "T", "x": 2, "y": null}],
        "d": {"x": 9007199254740993u64, "y": null, "s": ""},
        "e": [[1, null], null, []],
        "s": "a string that is long enough to be checked in more than one chunk of sixteen",
        "j": {"nested": ["any", {"json": true}], "k\"ey": null}
    });
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("fixed", sdl, fixed(data)).unwrap())
        .build()
        .unwrap();
    let queries = [
        "{ a { x y s } b { x y s } c { __typename y ... on T { x } } d { x y s } e s j }",
        "{ first: a { s x } again: a { x } b { s } }",
        "{ d { kind: __typename x } e }",
        // A null in a non-null list item propagates to the list.
        "{ c { ... on T { x } } b { x } }",
    ];
    for query in queries {
        let single = |response: Result<Response, _>| async move {
            response.unwrap().into_single().await.unwrap()
        };
        let tree = single(gateway.execute(Request::new(query).unwrap()).await).await;
        let bytes = single(
            gateway
                .execute(
                    Request::new(query)
                        .unwrap()
                        .data_form(quilt_executor::DataForm::Json),
                )
                .await,
        )
        .await;
        assert!(
            matches!(bytes.data, Some(quilt_executor::ResultData::Json(_))),
            "{query}"
        );
        assert_eq!(
            String::from_utf8(bytes.to_json().unwrap()).unwrap(),
            serde_json::to_string(&tree).unwrap(),
            "{query}"
        );
        // The generic serde path writes the same.
        assert_eq!(
            serde_json::to_string(&bytes).unwrap(),
            serde_json::to_string(&tree).unwrap()
        );
    }
}

/// Objects of many types under one abstract field: each type is a grouping of the client's
/// fields of its own, more than a short operation keeps with it (its budget is counted by
/// its text's length). The answers are right every time, the first and the later ones,
/// whichever groupings were kept and whichever were built for the response.
#[tokio::test]
async fn many_object_types_under_one_field_are_shaped_right_past_the_kept_groupings_budget() {
    let types: Vec<String> = (0..12).map(|i| format!("T{i}")).collect();
    let sdl = format!(
        "interface Node {{ id: ID! }} type Query {{ nodes: [Node!]! }} {}",
        types
            .iter()
            .map(|t| format!("type {t} implements Node {{ id: ID! }}"))
            .collect::<String>()
    );
    let nodes: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"__typename": t, "id": i.to_string()}))
        .collect();
    let gateway = Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl("fixed", &sdl, fixed(json!({ "nodes": nodes }))).unwrap(),
        )
        .build()
        .unwrap();
    let expected: Vec<Value> = (0..12).map(|i| json!({"id": i.to_string()})).collect();
    let typed: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": i.to_string(), "__typename": t}))
        .collect();
    for _ in 0..3 {
        let result = run(&gateway, "{ nodes { id } }", json!({})).await;
        assert_eq!(result, json!({ "data": { "nodes": expected } }));
        let result = run(&gateway, "{ nodes { id __typename } }", json!({})).await;
        assert_eq!(result, json!({ "data": { "nodes": typed } }));
    }
    let answers = futures::future::join_all(
        (0..8).map(|_| run(&gateway, "{ nodes { __typename id } }", json!({}))),
    )
    .await;
    for answer in answers {
        let nodes = answer["data"]["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), 12, "{answer}");
        for (i, node) in nodes.iter().enumerate() {
            assert_eq!(node, &json!({"__typename": types[i], "id": i.to_string()}));
        }
    }
}
