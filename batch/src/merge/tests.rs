//! Table tests of the exact merged document.

use std::sync::Arc;

use quilt_executor::Request;
use serde_json::{Value, json};

use super::*;
use crate::options::later_keys_win;

fn request(query: &str, variables: Value) -> Request {
    let Value::Object(variables) = variables else {
        panic!("variables must be an object")
    };
    Request::new(query).unwrap().variables(variables)
}

/// Merges the requests as the batcher does.
fn combined(requests: &[Request]) -> Merged {
    let prefixed = requests
        .iter()
        .enumerate()
        .map(|(i, r)| prefix_request(i, r).unwrap())
        .collect();
    let reducer: ExtensionsReducer = Arc::new(later_keys_win);
    combine(prefixed, requests, &reducer)
}

/// Merges the requests and returns the printed document and the merged variables.
fn merge(requests: &[Request]) -> (String, Value, SplitPlan) {
    let merged = combined(requests);
    // The text put together from the parts is what the merged AST prints.
    let reprinted = Document::from_ast(merged.request.document.ast().clone());
    assert_eq!(merged.request.query(), reprinted.as_str());
    (
        merged.request.query().to_owned(),
        Value::Object(merged.request.variables),
        merged.plan,
    )
}

fn printed(requests: &[Request]) -> String {
    merge(requests).0
}

#[test]
fn named_fragment_at_the_root_becomes_inline() {
    let doc = printed(&[
        request("query A { ...F } fragment F on Query { hello }", json!({})),
        request("{ hello }", json!({})),
    ]);
    assert_eq!(
        doc,
        "query A { ... on Query { _v0_hello: hello } _v1_hello: hello }"
    );
}

#[test]
fn nested_fragments_at_the_root_are_inlined_recursively() {
    let doc = printed(&[
        request(
            "{ ...A } fragment A on Query { ...B h: hello } fragment B on Query { echo(value: \"x\") }",
            json!({}),
        ),
        request("{ hello }", json!({})),
    ]);
    assert_eq!(
        doc,
        "{ ... on Query { ... on Query { _v0_echo: echo(value: \"x\") } _v0_h: hello } _v1_hello: hello }"
    );
}

#[test]
fn fragments_below_the_root_are_prefixed_and_unused_ones_pruned() {
    let doc = printed(&[
        request(
            "{ user(id: 1) { ...U } ...R } fragment U on User { id ...N } fragment N on User { name } \
             fragment R on Query { hello } fragment Unused on User { role }",
            json!({}),
        ),
        request("{ users { ...U } } fragment U on User { role }", json!({})),
    ]);
    assert_eq!(
        doc,
        "{ _v0_user: user(id: 1) { ..._v0_U } ... on Query { _v0_hello: hello } _v1_users: users { ..._v1_U } } \
         fragment _v0_U on User { id ..._v0_N } \
         fragment _v0_N on User { name } \
         fragment _v1_U on User { role }"
    );
}

#[test]
fn inline_fragments_at_the_root_keep_their_directives() {
    let doc = printed(&[
        request(
            "query($s: Boolean!) { ... on Query @skip(if: $s) { hello } ... { a: hello } }",
            json!({"s": false}),
        ),
        request("{ hello }", json!({})),
    ]);
    assert_eq!(
        doc,
        "query($_v0_s: Boolean!) { ... on Query @skip(if: $_v0_s) { _v0_hello: hello } ... { _v0_a: hello } _v1_hello: hello }"
    );
}

#[test]
fn variables_with_defaults_and_lists_are_prefixed() {
    let (doc, variables, _) = merge(&[
        request(
            "query U($ids: [ID!] = [\"1\", \"2\"], $n: String = \"x\") { users(ids: $ids) { id } hello(name: $n) }",
            json!({"ids": ["3"]}),
        ),
        request(
            "query($ids: [ID!]!, $input: EchoInput!) { users(ids: $ids) { id } echoInput(input: $input) }",
            json!({"ids": ["1", "2"], "input": {"text": "a"}, "unused": 1}),
        ),
    ]);
    assert_eq!(
        doc,
        "query U($_v0_ids: [ID!] = [\"1\", \"2\"], $_v0_n: String = \"x\", $_v1_ids: [ID!]!, $_v1_input: EchoInput!) { \
         _v0_users: users(ids: $_v0_ids) { id } _v0_hello: hello(name: $_v0_n) \
         _v1_users: users(ids: $_v1_ids) { id } _v1_echoInput: echoInput(input: $_v1_input) }"
    );
    // Absent variables stay absent (their defaults apply); undefined ones are dropped.
    assert_eq!(
        variables,
        json!({"_v0_ids": ["3"], "_v1_ids": ["1", "2"], "_v1_input": {"text": "a"}})
    );
}

#[test]
fn variables_inside_lists_and_objects_are_prefixed() {
    let doc = printed(&[
        request(
            "query($t: String!, $id: ID!) { echoInput(input: {text: $t, times: 2}) users(ids: [$id, \"2\"]) { id } }",
            json!({"t": "a", "id": "1"}),
        ),
        request("{ hello }", json!({})),
    ]);
    assert_eq!(
        doc,
        "query($_v0_t: String!, $_v0_id: ID!) { _v0_echoInput: echoInput(input: {text: $_v0_t, times: 2}) \
         _v0_users: users(ids: [$_v0_id, \"2\"]) { id } _v1_hello: hello }"
    );
}

#[test]
fn directives_taking_variables_are_renamed_everywhere() {
    let doc = printed(&[
        request(
            "query($a: Boolean!, $b: Boolean!) { hello @include(if: $a) user(id: 1) { name @skip(if: $b) ...F @include(if: $a) } } \
             fragment F on User { id @include(if: $b) }",
            json!({"a": true, "b": false}),
        ),
        request(
            "query($a: Boolean!) { hello @skip(if: $a) }",
            json!({"a": true}),
        ),
    ]);
    assert_eq!(
        doc,
        "query($_v0_a: Boolean!, $_v0_b: Boolean!, $_v1_a: Boolean!) { \
         _v0_hello: hello @include(if: $_v0_a) _v0_user: user(id: 1) { name @skip(if: $_v0_b) ..._v0_F @include(if: $_v0_a) } \
         _v1_hello: hello @skip(if: $_v1_a) } \
         fragment _v0_F on User { id @include(if: $_v0_b) }"
    );
}

#[test]
fn aliases_that_collide_across_requests_stay_apart() {
    let (doc, _, plan) = merge(&[
        request("{ x: hello(name: \"a\") y: echo(value: \"1\") }", json!({})),
        request("{ x: echo(value: \"2\") y: hello }", json!({})),
    ]);
    assert_eq!(
        doc,
        "{ _v0_x: hello(name: \"a\") _v0_y: echo(value: \"1\") _v1_x: echo(value: \"2\") _v1_y: hello }"
    );
    assert_eq!(plan.len(), 2);
}

#[test]
fn typename_at_the_root_is_aliased() {
    let doc = printed(&[
        request("{ __typename hello }", json!({})),
        request("{ t: __typename }", json!({})),
    ]);
    assert_eq!(
        doc,
        "{ _v0___typename: __typename _v0_hello: hello _v1_t: __typename }"
    );
}

#[test]
fn the_same_field_with_different_arguments() {
    let doc = printed(&[
        request("{ hello(name: \"a\") }", json!({})),
        request("{ hello(name: \"b\") }", json!({})),
        request("{ hello }", json!({})),
    ]);
    assert_eq!(
        doc,
        "{ _v0_hello: hello(name: \"a\") _v1_hello: hello(name: \"b\") _v2_hello: hello }"
    );
}

#[test]
fn mutations_keep_their_type_and_first_name() {
    let doc = printed(&[
        request("mutation { increment }", json!({})),
        request(
            "mutation Inc($by: Int) { increment(by: $by) }",
            json!({"by": 2}),
        ),
    ]);
    assert_eq!(
        doc,
        "mutation Inc($_v1_by: Int) { _v0_increment: increment _v1_increment: increment(by: $_v1_by) }"
    );
}

#[test]
fn the_selected_operation_of_a_multi_operation_document_is_merged() {
    let r = Request::new("query A { hello } query B { echo(value: \"b\") }")
        .unwrap()
        .operation_name("B");
    let doc = printed(&[r, request("{ hello }", json!({}))]);
    assert_eq!(
        doc,
        "query B { _v0_echo: echo(value: \"b\") _v1_hello: hello }"
    );
}

#[test]
fn required_keys_leave_out_conditional_fields() {
    let (_, _, plan) = merge(&[request(
        "query($yes: Boolean!, $no: Boolean!, $unknown: Boolean!, $d: Boolean = true) { \
         a: hello b: hello @include(if: $yes) c: hello @include(if: $no) d: hello @skip(if: $unknown) \
         e: hello @include(if: $d) ... on Query { f: hello } ... on Node { g: hello } ...F ...F @skip(if: true) a: hello } \
         fragment F on Query { h: hello }",
        json!({"yes": true, "no": false}),
    )]);
    assert_eq!(plan_keys(&plan), vec![vec!["a", "b", "e", "f", "h"]]);
}

fn plan_keys(plan: &SplitPlan) -> Vec<Vec<String>> {
    (0..plan.len())
        .map(|i| plan.entry(i).required_keys().to_vec())
        .collect()
}

#[test]
fn unmergeable_requests_are_recognised() {
    let no_op = Request::new("query A { hello } query B { hello }").unwrap();
    assert_eq!(
        prefix_request(0, &no_op).unwrap_err(),
        Unmergeable::NoOperation
    );
    let directive = Request::new("query @cached { hello }").unwrap();
    assert_eq!(
        prefix_request(0, &directive).unwrap_err(),
        Unmergeable::OperationDirectives
    );
    let unknown = Request::new("{ ...Missing }").unwrap();
    assert!(matches!(
        prefix_request(0, &unknown),
        Err(Unmergeable::UnknownFragment(_))
    ));
    let nested_unknown = Request::new("{ user(id: 1) { ...Missing } }").unwrap();
    assert!(matches!(
        prefix_request(0, &nested_unknown),
        Err(Unmergeable::UnknownFragment(_))
    ));
    let cycle =
        Request::new("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }").unwrap();
    assert!(matches!(
        prefix_request(0, &cycle),
        Err(Unmergeable::FragmentCycle(_))
    ));
}

#[test]
fn extensions_are_reduced_in_order_and_context_comes_from_the_first() {
    let a = request("{ a }", json!({}))
        .extension("x", json!(1))
        .extension("y", json!(1));
    let b = request("{ b }", json!({})).extension("y", json!(2));
    let prefixed = vec![
        prefix_request(0, &a).unwrap(),
        prefix_request(1, &b).unwrap(),
    ];
    let reducer: ExtensionsReducer = Arc::new(later_keys_win);
    let merged = combine(prefixed, [&a, &b], &reducer);
    assert_eq!(
        Value::Object(merged.request.extensions),
        json!({"x": 1, "y": 2})
    );
}

#[test]
fn the_prefix_cache_renames_a_document_once_per_position() {
    let cache = PrefixCache::default();
    let a = request(
        "query Q($id: ID!) { user(id: $id) { name } }",
        json!({"id": "1"}),
    );
    let b = Request::from_document(a.document.clone())
        .variables([("id".to_owned(), json!("2"))].into_iter().collect());
    let first = cache.prefix_request(3, &a).unwrap();
    let again = cache.prefix_request(3, &b).unwrap();
    assert!(Arc::ptr_eq(&first.renamed, &again.renamed), "renamed once");
    assert_eq!(
        Value::Object(again.variables.clone()),
        json!({"_v3_id": "2"})
    );
    let other_position = cache.prefix_request(4, &b).unwrap();
    assert!(!Arc::ptr_eq(&first.renamed, &other_position.renamed));
    let reducer: ExtensionsReducer = Arc::new(later_keys_win);
    let merged = combine(vec![first, other_position], [&a, &b], &reducer);
    assert_eq!(
        merged.request.query(),
        "query Q($_v3_id: ID!, $_v4_id: ID!) { _v3_user: user(id: $_v3_id) { name } _v4_user: user(id: $_v4_id) { name } }"
    );
    assert_eq!(
        Value::Object(merged.request.variables),
        json!({"_v3_id": "1", "_v4_id": "2"})
    );
}

#[test]
fn printed_operations_that_differ_only_in_name_share_one_renaming_and_keep_their_names() {
    let cache = PrefixCache::default();
    let printed = |text: &str, ty: OperationType, name: &str, id: &str| {
        let document = Document::from_printed(text, ty, Some(name));
        Request::from_document(document)
            .variables([("id".to_owned(), json!(id))].into_iter().collect())
    };
    let body = "($id: ID!) { user(id: $id) { name } }";
    let one = printed(
        &format!("query Op1{body}"),
        OperationType::Query,
        "Op1",
        "1",
    );
    let two = printed(
        &format!("query Op2{body}"),
        OperationType::Query,
        "Op2",
        "2",
    );
    let first = cache.prefix_request(0, &one).unwrap();
    let shared = cache.prefix_request(0, &two).unwrap();
    assert!(Arc::ptr_eq(&first.renamed, &shared.renamed), "renamed once");
    assert_eq!(
        cache.entries.lock().unwrap().len(),
        1,
        "one renaming kept for both"
    );
    // Each merged request goes out under its own operation's name.
    let reducer: ExtensionsReducer = Arc::new(later_keys_win);
    let merged = combine(vec![shared], [&two], &reducer);
    assert_eq!(
        merged.request.query(),
        "query Op2($_v0_id: ID!) { _v0_user: user(id: $_v0_id) { name } }"
    );
    assert_eq!(merged.request.operation_name.as_deref(), Some("Op2"));
    assert_eq!(
        Value::Object(merged.request.variables),
        json!({"_v0_id": "2"})
    );
    // The same text after the name in a mutation, a name that only begins like another, or a
    // request naming an operation the document lacks: not that renaming.
    let mutation = printed(
        &format!("mutation Op1{body}"),
        OperationType::Mutation,
        "Op1",
        "1",
    );
    assert_eq!(one.document.body_hash64(), two.document.body_hash64());
    assert_ne!(one.document.body_hash64(), mutation.document.body_hash64());
    let renamed = cache.prefix_request(0, &mutation).unwrap();
    assert!(!Arc::ptr_eq(&first.renamed, &renamed.renamed));
    assert_eq!(renamed.renamed.operation_type, OperationType::Mutation);
    let mut other_name = printed(
        &format!("query Op3{body}"),
        OperationType::Query,
        "Op3",
        "3",
    );
    other_name.operation_name = Some("Missing".to_owned());
    assert_eq!(
        cache.prefix_request(0, &other_name).unwrap_err(),
        Unmergeable::NoOperation
    );
    let prefix_of_name =
        Document::from_printed("query Op1x { a }", OperationType::Query, Some("Op1"));
    assert_eq!(prefix_of_name.operation_name_and_body(), None);
}

#[test]
fn the_prefix_cache_does_not_keep_what_depends_on_variable_values() {
    let cache = PrefixCache::default();
    let query = "query Q($s: Boolean!) { a @skip(if: $s) b }";
    let skipped = request(query, json!({"s": true}));
    let kept = Request::from_document(skipped.document.clone())
        .variables([("s".to_owned(), json!(false))].into_iter().collect());
    let first = cache.prefix_request(0, &skipped).unwrap();
    assert_eq!(first.plan.required_keys(), ["b"]);
    let second = cache.prefix_request(0, &kept).unwrap();
    assert_eq!(second.plan.required_keys(), ["a", "b"]);
    assert!(!Arc::ptr_eq(&first.renamed, &second.renamed));
}

#[test]
fn the_merged_document_knows_whether_a_part_uses_incremental_delivery() {
    let merged_flag = |requests: &[Request]| {
        let merged = combined(requests);
        let searched = Document::from_ast(merged.request.document.ast().clone());
        let known = merged.request.document.uses_incremental_delivery();
        assert_eq!(known, searched.uses_incremental_delivery());
        known
    };
    let plain = [
        request("{ a }", json!({})),
        request("{ b { c } }", json!({})),
    ];
    assert!(!merged_flag(&plain));
    let deferred = [
        request("{ a }", json!({})),
        request("{ b { ... @defer { c } } }", json!({})),
    ];
    assert!(merged_flag(&deferred));
}

fn raw(json: &str) -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string(json.to_owned()).unwrap()
}

#[test]
fn variables_given_as_json_text_are_prefixed_and_kept_as_text() {
    let first = request(
        "query($a: Int, $r: [Int]) { x(a: $a, r: $r) }",
        json!({"a": 1}),
    )
    .raw_variable("r", raw("[1,2]"));
    // A name given both ways goes by value; an unused one is dropped.
    let second = request("query($r: [Int]) { x(r: $r) }", json!({"r": [3]}))
        .raw_variable("r", raw("[9]"))
        .raw_variable("unused", raw("true"));
    for taking in [false, true] {
        let merged = if taking {
            let mut requests = [first.clone(), second.clone()];
            let cache = PrefixCache::default();
            let prefixed = requests
                .iter_mut()
                .enumerate()
                .map(|(i, r)| cache.prefix_taking(i, r).unwrap())
                .collect();
            assert!(requests.iter().all(Request::has_no_variables));
            let reducer: ExtensionsReducer = Arc::new(later_keys_win);
            combine(prefixed, &[first.clone(), second.clone()], &reducer)
        } else {
            combined(&[first.clone(), second.clone()])
        };
        let request = merged.request;
        assert_eq!(
            Value::Object(request.variables.clone()),
            json!({"_v0_a": 1, "_v1_r": [3]})
        );
        let raw: Vec<(&str, &str)> = request
            .raw_variables
            .iter()
            .map(|(name, value)| (name.as_str(), value.get()))
            .collect();
        assert_eq!(raw, vec![("_v0_r", "[1,2]")], "taking: {taking}");
        assert_eq!(
            serde_json::to_string(&request.variables_json()).unwrap(),
            r#"{"_v0_a":1,"_v1_r":[3],"_v0_r":[1,2]}"#
        );
    }
}

#[test]
fn conditions_read_variables_given_as_json_text() {
    let r = Request::new(
        "query($yes: Boolean!, $no: Boolean!, $n: Int) { a: hello b: hello @include(if: $yes) \
         c: hello @include(if: $no) d: hello @include(if: $n) }",
    )
    .unwrap()
    .raw_variable("yes", raw("true"))
    .raw_variable("no", raw("false"))
    .raw_variable("n", raw("1"));
    let (_, _, plan) = merge(&[r]);
    assert_eq!(plan_keys(&plan), vec![vec!["a", "b"]]);
}

#[test]
fn a_printed_document_is_parsed_for_its_renaming_and_kept_only_when_renamed_per_request() {
    use quilt_executor::{Document, OperationType};
    use std::borrow::Cow;
    // Cached renamings: the tree is parsed for the renaming and not kept.
    let plain = Document::from_printed(
        "query Q($a: Int) { f(a: $a) }",
        OperationType::Query,
        Some("Q"),
    )
    .with_incremental_delivery(false);
    let mut request = Request::from_document(plain.clone());
    request.operation_name = Some("Q".into());
    let merged = combined(&[request.clone(), request.clone()]);
    assert_eq!(
        merged.request.document.as_str(),
        "query Q($_v0_a: Int, $_v1_a: Int) { _v0_f: f(a: $_v0_a) _v1_f: f(a: $_v1_a) }"
    );
    assert!(matches!(plain.syntax(), Cow::Owned(_)));
    // A top-level condition on a variable: renamed for every request, so the tree is kept.
    let conditional = Document::from_printed(
        "query Q($c: Boolean!) { f @include(if: $c) g }",
        OperationType::Query,
        Some("Q"),
    )
    .with_incremental_delivery(false);
    let mut request = Request::from_document(conditional.clone())
        .variables(json!({"c": true}).as_object().cloned().unwrap_or_default());
    request.operation_name = Some("Q".into());
    let merged = combined(&[request.clone(), request]);
    assert!(
        merged
            .request
            .document
            .as_str()
            .contains("_v1_f: f @include(if: $_v1_c)")
    );
    assert!(matches!(conditional.syntax(), Cow::Borrowed(_)));
}
