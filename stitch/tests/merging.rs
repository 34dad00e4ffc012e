#![allow(clippy::unwrap_used)]
//! Merging rules: root field conflicts (last wins, canonical), shared types (identical merge,
//! conflicts are build errors naming both subschemas, `on_type_conflict` chooses), and a plan
//! that would need type merging fails with a clear error.

mod common;

use common::run;
use quilt_executor::{ExecutionResult, Executor, Request, Response, from_fn};
use quilt_stitch::{StitchError, Stitcher, SubschemaConfig, TypeChoice};
use serde_json::{Value, json};

/// An executor answering every request with `data` (the gateway keeps what was asked).
fn fixed(data: Value) -> impl Executor {
    from_fn(move |_r: Request| {
        let data = data.clone();
        async move { Ok(Response::Single(ExecutionResult::from_data(data))) }
    })
}

fn sub(name: &str, sdl: &str, data: Value) -> SubschemaConfig {
    SubschemaConfig::from_sdl(name, sdl, fixed(data)).unwrap()
}

#[tokio::test]
async fn conflicting_root_fields_last_wins_unless_canonical() {
    let one = || {
        sub(
            "one",
            "type Query { shared: String a: String }",
            json!({"shared": "from one", "a": "A"}),
        )
    };
    let two = || {
        sub(
            "two",
            "type Query { shared: String b: String }",
            json!({"shared": "from two", "b": "B"}),
        )
    };
    let last_wins = Stitcher::new()
        .subschema(one())
        .subschema(two())
        .build()
        .unwrap();
    assert_eq!(
        run(&last_wins, "{ a shared b }", json!({})).await,
        json!({"data": {"a": "A", "shared": "from two", "b": "B"}})
    );
    let canonical = Stitcher::new()
        .subschema(one().canonical("Query.shared"))
        .subschema(two())
        .build()
        .unwrap();
    assert_eq!(
        run(&canonical, "{ shared }", json!({})).await,
        json!({"data": {"shared": "from one"}})
    );
}

#[test]
fn identical_shared_types_merge_and_different_ones_fail_naming_both() {
    let enum_a = "type Query { a: Color } enum Color { RED GREEN }";
    let enum_b = "type Query { b: Color } \"Colours\" enum Color { RED GREEN }";
    let merged = Stitcher::new()
        .subschema(sub("a", enum_a, json!({})))
        .subschema(sub("b", enum_b, json!({})))
        .build()
        .unwrap();
    assert_eq!(merged.sdl().matches("enum Color").count(), 1);

    let enum_c = "type Query { c: Color } enum Color { RED BLUE }";
    let err = Stitcher::new()
        .subschema(sub("a", enum_a, json!({})))
        .subschema(sub("c", enum_c, json!({})))
        .build()
        .unwrap_err();
    let StitchError::TypeConflict {
        type_name,
        left,
        right,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(
        (type_name.as_str(), left.as_str(), right.as_str()),
        ("Color", "a", "c")
    );
    let text = err.to_string();
    assert!(
        text.contains("value GREEN") && text.contains("value BLUE"),
        "{text}"
    );

    let input_a = "type Query { a(f: F): Int } input F { x: Int }";
    let input_b = "type Query { b(f: F): Int } input F { x: String }";
    let err = Stitcher::new()
        .subschema(sub("a", input_a, json!({})))
        .subschema(sub("b", input_b, json!({})))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("`F`"), "{err}");
}

#[tokio::test]
async fn on_type_conflict_or_canonical_choose_a_definition() {
    let a = || {
        sub(
            "a",
            "type Query { a: T c: Color } type T { x: Int y: Int } enum Color { RED GREEN }",
            json!({"a": {"x": 1, "y": 2}, "c": "GREEN"}),
        )
    };
    let b = || {
        sub(
            "b",
            "type Query { b: T } type T { x: Int! } enum Color { RED BLUE }",
            json!({"b": {"x": 3}}),
        )
    };
    let chosen = Stitcher::new()
        .subschema(a())
        .subschema(b())
        .on_type_conflict(|conflict| {
            assert_eq!(conflict.type_name, "Color");
            TypeChoice::Left
        })
        .build()
        .unwrap();
    // Object types merge: the union of their fields, the last definition of a shared field.
    let sdl = chosen.sdl();
    assert!(sdl.contains("y: Int") && sdl.contains("x: Int!"), "{sdl}");
    assert!(sdl.contains("GREEN") && !sdl.contains("BLUE"), "{sdl}");
    assert_eq!(
        run(&chosen, "{ a { x y } b { x } c }", json!({})).await,
        json!({"data": {"a": {"x": 1, "y": 2}, "b": {"x": 3}, "c": "GREEN"}})
    );
    // `b` cannot resolve `T.y` and `T` has no entry point: a clear plan error, not a request
    // the service would reject.
    let result = run(&chosen, "{ b { y } }", json!({})).await;
    let message = result["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`b`") && message.contains("T.y"),
        "{message}"
    );

    let canonical = Stitcher::new()
        .subschema(a().canonical("T").canonical("Color"))
        .subschema(b())
        .build()
        .unwrap();
    let sdl = canonical.sdl();
    assert!(sdl.contains("x: Int\n") && sdl.contains("y: Int"), "{sdl}");
    assert!(!sdl.contains("BLUE"), "{sdl}");
    let field = Stitcher::new()
        .subschema(a().canonical("T.x"))
        .subschema(b().canonical("Color"))
        .build()
        .unwrap();
    let sdl = field.sdl();
    assert!(sdl.contains("x: Int\n") && sdl.contains("BLUE"), "{sdl}");
}

#[test]
fn bad_configurations_are_build_errors() {
    assert!(matches!(
        Stitcher::new().build(),
        Err(StitchError::NoSubschemas)
    ));
    let err = Stitcher::new()
        .subschema(sub("x", "type Query { a: Int }", json!({})))
        .subschema(sub("x", "type Query { b: Int }", json!({})))
        .build()
        .unwrap_err();
    assert!(matches!(err, StitchError::DuplicateName { .. }), "{err}");
    let err = Stitcher::new()
        .subschema(sub("x", "type Query { a: Int }", json!({})).canonical("Query.nope"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("Query.nope"), "{err}");
    let err = SubschemaConfig::from_sdl("broken", "type Query { a: Missing }", fixed(json!({})))
        .unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
}
