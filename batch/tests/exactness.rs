//! The exactness property against a real GraphQL service: for many generated groups of
//! operations (random fields, arguments, aliases, fragments, variables, directives; some field
//! errors, some non-null violations that null the whole merged result), each request's batched
//! result equals the same request executed alone: data, and errors with their paths, messages
//! and extensions. Locations are left out of the comparison (see `support::normalized`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::fmt::Write;

use futures::future::join_all;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use quilt_batch::{BatchExt, BatchOptions};
use quilt_executor::{JsonMap, Request};
use quilt_test_support::TestServer;
use serde_json::{Value, json};
use support::{http_executor, normalized, run};

/// One generated top-level selection.
#[derive(Debug, Clone)]
struct Sel {
    kind: u8,
    param: u8,
    use_variable: bool,
    alias: Option<u8>,
    wrap: u8,
    flag: bool,
}

fn sel() -> impl Strategy<Value = Sel> {
    (
        0u8..11,
        0u8..16,
        any::<bool>(),
        prop::option::of(0u8..3),
        0u8..4,
        any::<bool>(),
    )
        .prop_map(|(kind, param, use_variable, alias, wrap, flag)| Sel {
            kind,
            param,
            use_variable,
            alias,
            wrap,
            flag,
        })
}

#[derive(Debug, Clone)]
struct Op {
    named: bool,
    selections: Vec<Sel>,
}

fn op() -> impl Strategy<Value = Op> {
    (any::<bool>(), prop::collection::vec(sel(), 1..4))
        .prop_map(|(named, selections)| Op { named, selections })
}

/// A group of operations sent concurrently; sometimes with a duplicate (for deduplication).
fn group() -> impl Strategy<Value = Vec<Op>> {
    (prop::collection::vec(op(), 1..6), any::<bool>()).prop_map(|(mut ops, duplicate)| {
        if duplicate {
            ops.push(ops[0].clone());
        }
        ops
    })
}

/// Renders an operation as a document and its variables.
fn render(op: &Op, index: usize) -> (String, JsonMap) {
    let mut definitions = Vec::new();
    let mut variables = JsonMap::new();
    let mut fragments = String::new();
    let mut body = String::new();
    let mut keys: Vec<String> = Vec::new();
    for (k, s) in op.selections.iter().enumerate() {
        let mut var = |ty: &str, value: Value| {
            let name = if ty == "Boolean!" {
                format!("f{k}")
            } else {
                format!("v{k}")
            };
            definitions.push(format!("${name}: {ty}"));
            variables.insert(name.clone(), value);
            format!("${name}")
        };
        let p = s.param;
        let (name, field) = match s.kind {
            0 => ("hello", "hello".to_owned()),
            1 => {
                let arg = if s.use_variable {
                    var("String", json!(format!("p{p}")))
                } else {
                    format!("\"l{p}\"")
                };
                ("hello", format!("hello(name: {arg})"))
            }
            2 => {
                let id = if s.use_variable {
                    var("ID!", json!((p % 7).to_string()))
                } else {
                    (p % 7).to_string()
                };
                let inner = if p % 2 == 0 {
                    fragments.push_str(&format!(" fragment U{k} on User {{ id name }}"));
                    format!("...U{k} role")
                } else {
                    "id bestFriendId".to_owned()
                };
                ("user", format!("user(id: {id}) {{ {inner} }}"))
            }
            3 => {
                let ids: Vec<String> = (0..p % 4).map(|i| ((p + i) % 7).to_string()).collect();
                let arg = if s.use_variable {
                    var("[ID!]", json!(ids))
                } else {
                    format!("{ids:?}")
                };
                ("users", format!("users(ids: {arg}) {{ id name }}"))
            }
            4 => (
                "posts",
                format!("posts(count: {}) {{ id maybeTitle }}", p % 15),
            ),
            5 => ("posts", format!("posts(count: {}) {{ id title }}", p % 15)),
            6 => ("post", format!("post(id: {}) {{ id title }}", p % 15)),
            7 => {
                if s.use_variable {
                    let t = var("String!", json!(format!("t{p}")));
                    (
                        "echoInput",
                        format!("echoInput(input: {{text: {t}, times: 2}})"),
                    )
                } else {
                    ("echo", format!("echo(value: \"e{p}\")"))
                }
            }
            8 => ("fail", format!("fail(message: \"m{p}\")")),
            9 if p < 3 => ("failNonNull", "failNonNull".to_owned()),
            _ => ("__typename", "__typename".to_owned()),
        };
        let mut key = s
            .alias
            .map(|a| ["a", "b", "x"][a as usize].to_owned())
            .unwrap_or_else(|| name.to_owned());
        if keys.contains(&key) {
            key = format!("k{k}");
        }
        keys.push(key.clone());
        let field = if key == name {
            field
        } else {
            format!("{key}: {field}")
        };
        match s.wrap {
            0 => write!(body, " {field}").unwrap(),
            1 => write!(body, " ... on Query {{ {field} }}").unwrap(),
            2 => {
                let flag = var("Boolean!", json!(s.flag));
                write!(body, " ... @include(if: {flag}) {{ {field} }}").unwrap()
            }
            _ => {
                write!(body, " ...F{k}").unwrap();
                fragments.push_str(&format!(" fragment F{k} on Query {{ {field} }}"));
            }
        }
    }
    let name = if op.named {
        format!("Op{index}")
    } else {
        String::new()
    };
    let head = if definitions.is_empty() {
        if name.is_empty() {
            String::new()
        } else {
            format!("query {name} ")
        }
    } else {
        format!("query {name}({}) ", definitions.join(", "))
    };
    (format!("{head}{{{body} }}{fragments}"), variables)
}

fn requests(ops: &[Op]) -> Vec<Request> {
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let (text, variables) = render(op, i);
            Request::new(text.clone())
                .unwrap_or_else(|e| panic!("generated an unparsable document {text}: {e}"))
                .variables(variables)
        })
        .collect()
}

#[test]
fn batched_results_equal_results_alone() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start()).unwrap();
    let alone = http_executor(server.http_url());
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    let mut runner = TestRunner::new(Config {
        cases: 80,
        failure_persistence: None,
        ..Config::default()
    });
    let merged_cases = std::cell::Cell::new(0);
    let nulled_cases = std::cell::Cell::new(0);
    runner
        .run(&group(), |ops| {
            let requests = requests(&ops);
            runtime.block_on(async {
                let expected = join_all(requests.iter().map(|r| run(&alone, r.clone()))).await;
                for (r, e) in requests.iter().zip(&expected) {
                    prop_assert!(
                        e.data.is_some(),
                        "the generator made an invalid request: {} {:?}",
                        r.query(),
                        e.errors
                    );
                }
                let before = server.stats().snapshot().http_requests;
                let actual = join_all(requests.iter().map(|r| run(&batched, r.clone()))).await;
                let upstream = server.stats().snapshot().http_requests - before;
                for ((request, expected), actual) in requests.iter().zip(&expected).zip(&actual) {
                    prop_assert_eq!(
                        normalized(actual),
                        normalized(expected),
                        "request {} {:?}",
                        request.query(),
                        request.variables
                    );
                }
                if expected.iter().any(|e| e.data_value() == Some(Value::Null)) {
                    nulled_cases.set(nulled_cases.get() + 1);
                } else {
                    prop_assert_eq!(
                        upstream,
                        1,
                        "one upstream request for the whole group: {:#?}",
                        requests.iter().map(|r| r.query()).collect::<Vec<_>>()
                    );
                    if requests.len() > 1 {
                        merged_cases.set(merged_cases.get() + 1);
                    }
                }
                Ok::<(), TestCaseError>(())
            })
        })
        .unwrap();
    // The generator must exercise both paths.
    let (merged, nulled) = (merged_cases.get(), nulled_cases.get());
    eprintln!("{merged} groups merged into one request, {nulled} groups with a null result");
    assert!(merged > 10, "merged cases: {merged}");
    assert!(nulled > 3, "cases with a non-null violation: {nulled}");
}

/// With the test service (async-graphql), a failed field is left out of `data` and a root
/// object without fields is answered as `data: null`: the request whose only field fails gets
/// `data: null` alone, so the batcher runs it again on its own; the others keep their share.
#[tokio::test]
async fn a_query_whose_every_field_fails_gets_what_it_gets_alone() {
    let server = TestServer::start().await.unwrap();
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    let (a, b, c) = tokio::join!(
        run(&batched, Request::new("{ hello }").unwrap()),
        run(&batched, Request::new("{ failNonNull }").unwrap()),
        run(
            &batched,
            Request::new("{ p: post(id: 13) { title } f: fail }").unwrap()
        ),
    );
    assert_eq!(a.data_value(), Some(json!({"hello": "Hello, world!"})));
    assert!(a.errors.is_empty());
    assert_eq!(b.data_value(), Some(Value::Null));
    assert_eq!(
        serde_json::to_value(&b.errors[0].path).unwrap(),
        json!(["failNonNull"])
    );
    assert_eq!(c.data_value(), Some(json!({"p": null})));
    let paths: Vec<_> = c
        .errors
        .iter()
        .map(|e| serde_json::to_value(&e.path).unwrap())
        .collect();
    assert!(paths.contains(&json!(["p", "title"])) && paths.contains(&json!(["f"])));
    // One merged request, then `{ failNonNull }` alone.
    assert_eq!(server.stats().snapshot().http_requests, 2);
}

/// Requests run on their own again after a merged answer without data send their variables
/// again, those given as JSON text included: one request's variable of the wrong type fails
/// the merged request as a whole, and the other's answer needs its own variable.
#[tokio::test]
async fn requests_run_alone_again_keep_their_variables_given_as_json_text() {
    let server = TestServer::start().await.unwrap();
    let batched = http_executor(server.http_url()).batched(BatchOptions::default());
    let raw = |json: &str| serde_json::value::RawValue::from_string(json.to_owned()).unwrap();
    let greeting = Request::new("query($name: String!) { hello(name: $name) }")
        .unwrap()
        .raw_variable("name", raw(r#""raw""#));
    let wrong = Request::new("query($value: String!) { echo(value: $value) }")
        .unwrap()
        .raw_variable("value", raw("[1]"));
    let (a, b) = tokio::join!(run(&batched, greeting), run(&batched, wrong));
    assert_eq!(
        a.data_value(),
        Some(json!({"hello": "Hello, raw!"})),
        "{:?}",
        a.errors
    );
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert!(!b.errors.is_empty(), "{:?}", b.data);
    // The merged request, then each one alone.
    assert_eq!(server.stats().snapshot().http_requests, 3);
}

#[test]
fn the_generator_renders_valid_documents() {
    let op = Op {
        named: true,
        selections: vec![
            Sel {
                kind: 2,
                param: 2,
                use_variable: true,
                alias: Some(0),
                wrap: 3,
                flag: true,
            },
            Sel {
                kind: 1,
                param: 1,
                use_variable: true,
                alias: None,
                wrap: 2,
                flag: false,
            },
        ],
    };
    let (text, variables) = render(&op, 3);
    assert_eq!(
        text,
        "query Op3($v0: ID!, $v1: String, $f1: Boolean!) { ...F0 ... @include(if: $f1) { hello(name: $v1) } } \
         fragment U0 on User { id name } fragment F0 on Query { a: user(id: $v0) { ...U0 role } }"
    );
    assert_eq!(variables.len(), 3);
}
