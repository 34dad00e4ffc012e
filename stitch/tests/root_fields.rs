#![allow(clippy::unwrap_used)]
//! Root fields from three real services over loopback: one and several services in one
//! operation, aliases, fragments, variables, directives, operation names, mutations.

mod common;

use common::{Services, run, run_op};
use serde_json::json;

#[tokio::test]
async fn stitched_sdl_has_every_root_field_and_shared_types_once() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let sdl = gateway.sdl();
    for field in [
        "me: User!",
        "topProducts(",
        "reviews(",
        "renameUser(",
        "addReview(",
    ] {
        assert!(sdl.contains(field), "missing {field} in\n{sdl}");
    }
    assert_eq!(sdl.matches("\ninterface Node {").count(), 1, "{sdl}");
    assert!(!sdl.contains("extend "), "flat SDL expected:\n{sdl}");
}

#[tokio::test]
async fn one_service_query() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let result = run(&gateway, "{ me { id name role } }", json!({})).await;
    assert_eq!(
        result,
        json!({"data": {"me": {"id": "1", "name": "Ada", "role": "ADMIN"}}})
    );
    assert_eq!(sent[0].take().len(), 1);
    assert!(sent[1].take().is_empty() && sent[2].take().is_empty());
}

#[tokio::test]
async fn three_services_in_one_operation_fan_out_and_keep_client_order() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let result = run(
        &gateway,
        "{ reviews(first: 2) { id rating } me { name } product(upc: \"1\") { name } __typename }",
        json!({}),
    )
    .await;
    assert_eq!(
        result,
        json!({"data": {
            "reviews": [{"id": "1", "rating": 1}, {"id": "2", "rating": 2}],
            "me": {"name": "Ada"},
            "product": {"name": "Table"},
            "__typename": "Query"
        }})
    );
    // Each service got exactly one request, holding only its own root fields.
    let [a, p, r] = sent.map(|s| s.take());
    assert_eq!((a.len(), p.len(), r.len()), (1, 1, 1));
    assert_eq!(a[0].0, "{ me { name } }");
    assert!(p[0].0.contains("product(upc: \"1\")") && !p[0].0.contains("me {"));
    assert!(
        !r[0].0.contains("__typename"),
        "root __typename is answered locally"
    );
}

#[tokio::test]
async fn aliases_of_the_same_field_with_different_arguments() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let result = run(
        &gateway,
        "{ a: product(upc: \"1\") { name usd: price eur: price(currency: EUR) }
           b: product(upc: \"2\") { title: name }
           first: user(id: \"1\") { name } second: user(id: \"2\") { name } }",
        json!({}),
    )
    .await;
    assert_eq!(
        result,
        json!({"data": {
            "a": {"name": "Table", "usd": 100.0, "eur": 200.0},
            "b": {"title": "Couch"},
            "first": {"name": "Ada"},
            "second": {"name": "Grace"}
        }})
    );
}

#[tokio::test]
async fn named_inline_and_nested_fragments() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let query = "
        query Q { ...Root topProducts(first: 2) { ...ProductBits ... on Product { upc } } }
        fragment Root on Query { me { ...UserBits } reviews(first: 1) { id } }
        fragment UserBits on User { id ... on User { name ...Role } }
        fragment Role on User { role }
        fragment ProductBits on Product { name ...Price }
        fragment Price on Product { price }";
    let result = run(&gateway, query, json!({})).await;
    assert_eq!(
        result,
        json!({"data": {
            "me": {"id": "1", "name": "Ada", "role": "ADMIN"},
            "reviews": [{"id": "1"}],
            "topProducts": [
                {"name": "Table", "price": 100.0, "upc": "1"},
                {"name": "Couch", "price": 250.0, "upc": "2"}
            ]
        }})
    );
    // Each service gets the fragments it needs and no others.
    let [a, p, r] = sent.map(|s| s.take());
    assert!(a[0].0.contains("fragment UserBits") && a[0].0.contains("fragment Role"));
    assert!(!a[0].0.contains("fragment Price") && !a[0].0.contains("fragment ProductBits"));
    assert!(p[0].0.contains("fragment ProductBits") && p[0].0.contains("fragment Price"));
    assert!(!p[0].0.contains("UserBits") && !r[0].0.contains("fragment"));
}

#[tokio::test]
async fn fragments_on_interfaces_and_unions_with_typename() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let query = "{
        search(term: \"ch\") { ... on Product { name } ... on Category { title } }
        more: search(term: \"furniture\") { __typename ...Cat }
        feed { id ... on Review { rating } ... on Comment { text } }
        catalogNode(id: \"c1\") { id ... on Category { title } }
        accountNode(id: \"2\") { ... on User { name } }
      }
      fragment Cat on Category { t: title }";
    let result = run(&gateway, query, json!({})).await;
    assert_eq!(
        result,
        json!({"data": {
            "search": [{"name": "Couch"}, {"name": "Chair"}],
            "more": [{"__typename": "Category", "t": "Furniture"}],
            "feed": [
                {"id": "1", "rating": 1},
                {"id": "k1", "text": "Nice"},
                {"id": "2", "rating": 2}
            ],
            "catalogNode": {"id": "c1", "title": "Furniture"},
            "accountNode": {"name": "Grace"}
        }})
    );
    // `__typename` is requested upstream under abstract types, though the client did not ask.
    let products = &sent[1].take()[0].0;
    assert!(
        products.contains("search(term: \"ch\") { __typename"),
        "{products}"
    );
    assert!(sent[2].take()[0].0.contains("feed { __typename"));
}

#[tokio::test]
async fn variables_defaults_lists_input_objects_enums_and_explicit_null() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let query = "query V($upc: String! = \"3\", $filter: ProductFilter, $currency: Currency!,
                          $role: Role!, $first: Int) {
        product(upc: $upc) { name price(currency: $currency) }
        filterProducts(filter: $filter) { upc }
        usersByRole(role: $role) { name }
        reviews(first: $first) { id }
      }";
    let variables = json!({
        "filter": {"upcs": ["1", "2", "4"], "maxPrice": 250, "currency": "EUR"},
        "currency": "EUR",
        "role": "MEMBER",
        "first": null
    });
    let result = run(&gateway, query, variables).await;
    assert_eq!(
        result,
        json!({"data": {
            "product": {"name": "Chair", "price": 100.0},
            "filterProducts": [{"upc": "1"}, {"upc": "4"}],
            "usersByRole": [{"name": "Grace"}, {"name": "Alan"}, {"name": "Edsger"}],
            "reviews": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}]
        }})
    );
    // Each service receives only the variables its document uses; explicit null is kept.
    let [a, p, r] = sent.map(|s| s.take());
    assert_eq!(
        a[0].1.keys().collect::<Vec<_>>(),
        vec!["role"],
        "accounts got {:?}",
        a[0]
    );
    let mut product_vars: Vec<_> = p[0].1.keys().cloned().collect();
    product_vars.sort();
    assert_eq!(product_vars, vec!["currency", "filter", "upc"]);
    assert_eq!(p[0].1["upc"], json!("3"), "the default is forwarded");
    assert_eq!(r[0].1.get("first"), Some(&json!(null)));
    assert!(!r[0].0.contains("$role") && !a[0].0.contains("$upc"));
}

/// A caller may hand the stitched schema variables as JSON text: they are coerced like the
/// others (and a name given both ways goes by value).
#[tokio::test]
async fn variables_given_to_the_gateway_as_json_text_are_coerced_like_the_others() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let raw = |json: &str| serde_json::value::RawValue::from_string(json.to_owned()).unwrap();
    let request = quilt_executor::Request::new(
        "query($role: Role!, $upc: String!) { usersByRole(role: $role) { name } product(upc: $upc) { name } }",
    )
    .unwrap()
    .variable("upc", json!("3"))
    .raw_variable("role", raw(r#""MEMBER""#))
    .raw_variable("upc", raw(r#""1""#));
    let result = quilt_executor::Executor::execute(&gateway, request)
        .await
        .unwrap()
        .into_single()
        .await
        .unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    assert_eq!(
        result.data_value(),
        Some(json!({
            "usersByRole": [{"name": "Grace"}, {"name": "Alan"}, {"name": "Edsger"}],
            "product": {"name": "Chair"}
        }))
    );
    let [a, _, _] = sent.map(|s| s.take());
    assert_eq!(a[0].1.get("role"), Some(&json!("MEMBER")));
}

#[tokio::test]
async fn skip_and_include_with_variables_at_the_root_and_below() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let query = "query D($yes: Boolean!, $no: Boolean!) {
        me @include(if: $yes) { name role @skip(if: $yes) email @include(if: $no) }
        product(upc: \"1\") @skip(if: $yes) { name }
        ... @include(if: $no) { reviews { id } }
        ... on Query @include(if: $yes) { review(id: \"3\") { body } }
        topProducts(first: 1) { ... @skip(if: $no) { name } upc @include(if: false) }
      }";
    let result = run(&gateway, query, json!({"yes": true, "no": false})).await;
    assert_eq!(
        result,
        json!({"data": {
            "me": {"name": "Ada"},
            "review": {"body": "Review 3"},
            "topProducts": [{"name": "Table"}]
        }})
    );
}

#[tokio::test]
async fn operations_selected_by_name() {
    let services = Services::start().await;
    let (gateway, _) = services.gateway();
    let document = "query Me { me { name } } query Top { topProducts(first: 1) { name } }
                    mutation Rename { renameUser(id: \"2\", name: \"G\") { name } }";
    assert_eq!(
        run_op(&gateway, document, json!({}), Some("Top")).await,
        json!({"data": {"topProducts": [{"name": "Table"}]}})
    );
    assert_eq!(
        run_op(&gateway, document, json!({}), Some("Me")).await,
        json!({"data": {"me": {"name": "Ada"}}})
    );
    assert_eq!(
        run_op(&gateway, document, json!({}), Some("Rename")).await,
        json!({"data": {"renameUser": {"name": "G"}}})
    );
    assert!(services.log.entries() == vec!["accounts.renameUser(G)".to_string()]);
}

#[tokio::test]
async fn mutations_run_in_document_order_and_consecutive_fields_share_a_request() {
    let services = Services::start().await;
    let (gateway, sent) = services.gateway();
    let query = "mutation M($body: String!) {
        first: renameUser(id: \"1\", name: \"one\") { name }
        addProduct(name: \"Desk\", price: 10) { name upc }
        addReview(input: {body: $body, rating: 5}) { body rating }
        second: renameUser(id: \"2\", name: \"two\") { name }
        third: renameUser(id: \"3\", name: \"three\") { name __typename }
        __typename
      }";
    let result = run(&gateway, query, json!({"body": "great"})).await;
    assert_eq!(
        result,
        json!({"data": {
            "first": {"name": "one"},
            "addProduct": {"name": "Desk", "upc": "99"},
            "addReview": {"body": "great", "rating": 5},
            "second": {"name": "two"},
            "third": {"name": "three", "__typename": "User"},
            "__typename": "Mutation"
        }})
    );
    assert_eq!(
        services.log.entries(),
        vec![
            "accounts.renameUser(one)",
            "products.addProduct(Desk)",
            "reviews.addReview(great, none)",
            "accounts.renameUser(two)",
            "accounts.renameUser(three)",
        ]
    );
    // accounts: one request for `first`, one shared by `second` and `third`.
    let accounts = sent[0].take();
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    assert!(accounts[1].0.contains("second:") && accounts[1].0.contains("third:"));
    assert_eq!(services.accounts.stats().snapshot().http_requests, 2);
}
