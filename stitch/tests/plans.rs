#![allow(clippy::unwrap_used)]
//! The planner from SDL alone (no service is called): each plan's readable form
//! (`StitchedSchema::explain`) against a snapshot, so a planning change shows up here as a
//! diff. Key chains: `a` knows `Product` by `id`, `c` by `upc`, only `b` knows both, with an
//! entry point by each.

use quilt_executor::{ExecutorError, from_fn};
use quilt_stitch::{EntryPoint, StitchError, StitchedSchema, Stitcher, SubschemaConfig};

/// An executor the planner never calls.
fn unused() -> impl quilt_executor::Executor {
    from_fn(|_| async { Err(ExecutorError::other("the planner tests call no service")) })
}

const A: &str = "
type Product { id: ID! name: String }
type Query { aProducts: [Product!]! aProductsById(ids: [ID!]!): [Product]! }";
const B: &str = "
type Product { id: ID! upc: ID! weight: Int }
type Query {
  bProductsById(ids: [ID!]!): [Product]!
  bProductsByUpc(upcs: [ID!]!): [Product]!
}";
const C: &str = "
type Product { upc: ID! price: Int related: [Product!] }
type Query { cProducts: [Product!]! cProductsByUpc(upcs: [ID!]!): [Product]! }";

/// The three services with their entry points in code.
fn chain() -> StitchedSchema {
    chain_with(false)
}

/// [`chain`], `a` answering `@defer` itself when `a_answers_defer`.
fn chain_with(a_answers_defer: bool) -> StitchedSchema {
    Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl("a", A, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("aProductsById", "id"))
                .incremental_delivery(a_answers_defer),
        )
        .subschema(
            SubschemaConfig::from_sdl("b", B, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("bProductsById", "id"))
                .merge("Product", EntryPoint::key_field("bProductsByUpc", "upc")),
        )
        .subschema(
            SubschemaConfig::from_sdl("c", C, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("cProductsByUpc", "upc")),
        )
        .build()
        .unwrap()
}

/// The same from stitching directives: `b` has two `@merge` fields, one per key.
fn chain_from_sdl() -> StitchedSchema {
    let a = "
type Product @key(selectionSet: \"{ id }\") { id: ID! name: String }
type Query {
  aProducts: [Product!]!
  aProductsById(ids: [ID!]!): [Product]! @merge(keyField: \"id\", argsExpr: \"ids: [[$key.id]]\")
}";
    let b = "
type Product { id: ID! upc: ID! weight: Int }
type Query {
  bProductsById(ids: [ID!]!): [Product]! @merge(keyField: \"id\")
  bProductsByUpc(upcs: [ID!]!): [Product]! @merge(keyField: \"upc\")
}";
    let c = "
type Product @key(selectionSet: \"{ upc }\") { upc: ID! price: Int related: [Product!] }
type Query {
  cProducts: [Product!]!
  cProductsByUpc(upcs: [ID!]!): [Product]! @merge(keyField: \"upc\")
}";
    let mut stitcher = Stitcher::new();
    for (name, sdl) in [("a", a), ("b", b), ("c", c)] {
        stitcher = stitcher.subschema(SubschemaConfig::from_sdl(name, sdl, unused()).unwrap());
    }
    stitcher.build().unwrap()
}

fn explain(gateway: &StitchedSchema, query: &str) -> String {
    gateway.explain(query, None).unwrap()
}

#[test]
fn a_field_of_c_from_a_goes_through_b() {
    insta::assert_snapshot!(explain(&chain(), "{ aProducts { price } }"), @r"
    query
      fetch a: { aProducts { _qk_id: id } }
      level 1
        b.bProductsById [aProducts] Product (id): { _qk_upc: upc }
      level 2
        c.cProductsByUpc [aProducts] Product (upc): { price }
    ");
}

#[test]
fn a_field_of_a_from_c_goes_through_b_by_its_other_key() {
    insta::assert_snapshot!(explain(&chain(), "{ cProducts { name } }"), @r"
    query
      fetch c: { cProducts { _qk_upc: upc } }
      level 1
        b.bProductsByUpc [cProducts] Product (upc): { _qk_id: id }
      level 2
        a.aProductsById [cProducts] Product (id): { name }
    ");
}

#[test]
fn the_intermediate_key_selected_by_the_client_adds_no_step() {
    insta::assert_snapshot!(explain(&chain(), "{ aProducts { upc price weight } }"), @r"
    query
      fetch a: { aProducts { _qk_id: id } }
      level 1
        b.bProductsById [aProducts] Product (id): { upc weight }
      level 2
        c.cProductsByUpc [aProducts] Product (upc): { price }
    ");
}

#[test]
fn both_entry_points_of_b_in_one_operation() {
    insta::assert_snapshot!(
        explain(&chain(), "{ aProducts { price } cProducts { name weight } }"),
        @r"
        query
          fetch a: { aProducts { _qk_id: id } }
          fetch c: { cProducts { _qk_upc: upc } }
          level 1
            b.bProductsById [aProducts] Product (id): { _qk_upc: upc }
            b.bProductsByUpc [cProducts] Product (upc): { weight _qk_id: id }
          level 2
            c.cProductsByUpc [aProducts] Product (upc): { price }
            a.aProductsById [cProducts] Product (id): { name }
        "
    );
}

#[test]
fn a_chain_inside_a_merged_list() {
    insta::assert_snapshot!(
        explain(&chain(), "{ aProducts { name related { name price } } }"),
        @r"
        query
          fetch a: { aProducts { name _qk_id: id } }
          level 1
            b.bProductsById [aProducts] Product (id): { _qk_upc: upc }
          level 2
            c.cProductsByUpc [aProducts] Product (upc): { related { _qk_upc: upc price } }
          level 3
            b.bProductsByUpc [aProducts.related] Product (upc): { _qk_id: id }
          level 4
            a.aProductsById [aProducts.related] Product (id): { name }
        "
    );
}

#[test]
fn the_same_chains_from_stitching_directives() {
    let gateway = chain_from_sdl();
    let query = "{ aProducts { price } cProducts { name } }";
    insta::assert_snapshot!(explain(&gateway, query), @r"
    query
      fetch a: { aProducts { _qk_id: id } }
      fetch c: { cProducts { _qk_upc: upc } }
      level 1
        b.bProductsById [aProducts] Product (id): { _qk_upc: upc }
        b.bProductsByUpc [cProducts] Product (upc): { _qk_id: id }
      level 2
        c.cProductsByUpc [aProducts] Product (upc): { price }
        a.aProductsById [cProducts] Product (id): { name }
    ");
}

#[test]
fn a_key_nothing_can_supply_is_a_build_error() {
    // Without `b`'s entry point by `upc`, objects from `c` cannot reach `a`'s fields.
    let error = Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl("a", A, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("aProductsById", "id")),
        )
        .subschema(
            SubschemaConfig::from_sdl("b", B, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("bProductsById", "id")),
        )
        .subschema(
            SubschemaConfig::from_sdl("c", C, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("cProductsByUpc", "upc")),
        )
        .build()
        .err()
        .unwrap();
    let StitchError::UnobtainableKey {
        type_name,
        field,
        subschema,
        key,
        ..
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(
        (
            type_name.as_str(),
            field.as_str(),
            subschema.as_str(),
            key.as_str()
        ),
        ("Product", "id", "c", "id"),
        "{error}"
    );
    insta::assert_snapshot!(error.to_string(), @r"
    merged type `Product`: field `id` cannot be fetched for the objects that subschema `c` returns: the entry point `a.aProductsById` needs the key field `id`, and no subschema can supply it from there (a subschema that knows both keys needs an entry point by a key that `c` has)
    ");
}

/// The four type-merging services of the differential tests, from their stitching directives
/// (`test-support/js/merge/*.graphql`): accounts, products, inventory (a computed field) and
/// reviews (a union across services).
fn shop() -> StitchedSchema {
    let mut stitcher = Stitcher::new();
    for name in ["accounts", "products", "inventory", "reviews"] {
        let sdl = std::fs::read_to_string(
            quilt_test_support::js::js_dir().join(format!("merge/{name}.graphql")),
        )
        .unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::from_sdl(name, &sdl, unused()).unwrap());
    }
    stitcher.build().unwrap()
}

#[test]
fn root_fields_of_several_services_are_one_fetch_each() {
    insta::assert_snapshot!(
        explain(&shop(), "{ me { name } topProducts(first: 2) { name } reviews(first: 1) { body } }"),
        @r"
        query
          fetch accounts: { me { name } }
          fetch products: { topProducts(first: 2) { name } }
          fetch reviews: { reviews(first: 1) { body } }
        "
    );
}

#[test]
fn merged_types_over_three_hops_and_a_computed_field() {
    insta::assert_snapshot!(
        explain(
            &shop(),
            "{ topProducts { reviews { author { name reviews { body } } } shippingEstimate } }"
        ),
        @r"
        query
          fetch products: { topProducts { _qk_upc: upc _qk_price: price _qk_weight: weight } }
          level 1
            reviews._products [topProducts] Product (upc): { reviews { author { _qk_id: id reviews { body } } } }
            inventory._inventory [topProducts] Product (upc, price, weight): { shippingEstimate }
          level 2
            accounts.user [topProducts.reviews.author] User (id): { name }
        "
    );
}

#[test]
fn an_abstract_type_across_services() {
    insta::assert_snapshot!(
        explain(&shop(), "{ recent { ... on Product { name inStock } ... on Review { body } } }"),
        @r"
        query
          fetch reviews: { recent { __typename ... on Product { ... on Product { _qk_upc: upc } ... on Product { _qk_upc: upc } } ... on Review { body } } }
          level 1
            products.products [recent] on Product (upc): { name }
            inventory._inventory [recent] on Product (upc): { inStock }
        "
    );
}

/// The four federation subgraphs of the gateway benchmark, stitched from their SDL.
fn federation_gateway() -> StitchedSchema {
    use quilt_test_support::federation;
    let mut stitcher = Stitcher::new();
    for (name, sdl) in federation::sdls() {
        let schema = quilt_wrap::schema_from_federation_sdl(&sdl).unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(name, schema, unused()));
    }
    stitcher.build().unwrap()
}

#[test]
fn federation_keys_through_entities() {
    let gateway = federation_gateway();
    insta::assert_snapshot!(explain(&gateway, quilt_test_support::federation::HEAVY_QUERY), @r"
    query
      fetch accounts: query TestQuery { users { ...User } } fragment User on User { id username name }
      fetch products: query TestQuery { topProducts { ... on Product { name price upc weight } } }
      level 1
        reviews._entities [users] User (id): { reviews { ...Review product { ... on Product { upc } reviews { ...Review author { ... on User { id username } reviews { ...Review product { ... on Product { upc } } } } } } } }fragment Review on Review { id body }
        inventory._entities [topProducts] Product (upc, price, weight): { inStock shippingEstimate }
        reviews._entities [topProducts] Product (upc): { reviews { ...Review author { ... on User { id username } reviews { ...Review product { ... on Product { upc } } } } } }fragment Review on Review { id body }
      level 2
        products._entities [users.reviews.product, users.reviews.product.reviews.author.reviews.product, topProducts.reviews.author.reviews.product] Product (upc): { name price weight }
        accounts._entities [users.reviews.product.reviews.author, topProducts.reviews.author] User (id): { name }
      level 3
        inventory._entities [users.reviews.product, users.reviews.product.reviews.author.reviews.product, topProducts.reviews.author.reviews.product] Product (upc, price, weight): { inStock shippingEstimate }
    ");
}

/// A key field the client selects plainly (no alias, arguments or directives) beside the
/// fields that need it is not selected a second time under its `_qk_` alias; one selected
/// under another name or only on a condition still is.
#[test]
fn a_key_the_client_selects_plainly_is_not_selected_twice() {
    let gateway = federation_gateway();
    let query = "query Q($x: Boolean!) { topProducts { price @include(if: $x) mass: weight upc shippingEstimate } }";
    insta::assert_snapshot!(explain(&gateway, query), @r"
    query
      fetch products: query Q($x: Boolean!) { topProducts { price @include(if: $x) mass: weight upc _qk_price: price _qk_weight: weight } }
      level 1
        inventory._entities [topProducts] Product (upc, price, weight): { shippingEstimate }
    ");
    // Fields under conditional fragments are conditional too: the aliased copies stay.
    let conditional = "query Q($x: Boolean!) { topProducts { ... @include(if: $x) { upc price } \
                       ... on Product @skip(if: $x) { weight } shippingEstimate } }";
    insta::assert_snapshot!(explain(&gateway, conditional), @r"
    query
      fetch products: query Q($x: Boolean!) { topProducts { ... @include(if: $x) { upc price } ... on Product @skip(if: $x) { weight } _qk_upc: upc _qk_price: price _qk_weight: weight } }
      level 1
        inventory._entities [topProducts] Product (upc, price, weight): { shippingEstimate }
    ");
    // Inside fragments that always apply, before or after the fields that need them, the
    // client's fields are the requirements too; a conditional spread's fields are not.
    let fragments = "fragment P on Product { upc price } fragment W on Product { weight } \
                     query Q($x: Boolean!) { topProducts { shippingEstimate ...P ... { ...W } } \
                     users { ...W2 @include(if: $x) reviews { id } } } \
                     fragment W2 on User { id }";
    insta::assert_snapshot!(explain(&gateway, fragments), @r"
    query
      fetch products: query Q { topProducts { ...P ... { ...W } } } fragment P on Product { upc price } fragment W on Product { weight }
      fetch accounts: query Q($x: Boolean!) { users { ...W2 @include(if: $x) _qk_id: id } } fragment W2 on User { id }
      level 1
        inventory._entities [topProducts] Product (upc, price, weight): { shippingEstimate }
        reviews._entities [users] User (id): { reviews { id } }
    ");
}

#[test]
fn gateway_fields_are_steps_of_their_own() {
    use quilt_stitch::FieldResolver;
    use serde_json::{Map, Value, json};
    let sdl = |name: &str| {
        std::fs::read_to_string(
            quilt_test_support::js::js_dir().join(format!("chirps/{name}.graphql")),
        )
        .unwrap()
    };
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl("users", &sdl("users"), unused()).unwrap())
        .subschema(SubschemaConfig::from_sdl("chirps", &sdl("chirps"), unused()).unwrap())
        .type_defs(sdl("gateway"))
        .resolve(
            "User.chirps",
            FieldResolver::batch_delegate(
                "chirps",
                "chirpsByAuthorIds",
                "{ id }",
                |user| user["id"].clone(),
                |ids, _args| Map::from_iter([("authorIds".to_owned(), Value::Array(ids))]),
            ),
        )
        .resolve(
            "User.recentChirps",
            FieldResolver::delegate("chirps", "chirpsByAuthorId")
                .selection_set("{ id }")
                .arg_from_parent("authorId", "id")
                .arg_from_field("first", "first"),
        )
        .resolve(
            "User.displayName",
            FieldResolver::local("{ name username }", |_user, _args| Ok(json!(""))),
        )
        .resolve(
            "Chirp.author",
            FieldResolver::batch_delegate(
                "users",
                "usersByIds",
                "{ authorId }",
                |chirp| chirp["authorId"].clone(),
                |ids, _args| Map::from_iter([("ids".to_owned(), Value::Array(ids))]),
            ),
        )
        .build()
        .unwrap();
    insta::assert_snapshot!(
        explain(
            &gateway,
            "{ users { displayName chirps { text author { name } } recentChirps(first: 2) { text } } }"
        ),
        @r"
        query
          fetch users: { users { _qk_name: name _qk_username: username _qk_id: id } }
          level 1
            gateway.displayName [users] User (name, username) -> displayName: 
            chirps.chirpsByAuthorIds [users] User (id) -> chirps: { text _qk_authorId: authorId }
            chirps.chirpsByAuthorId [users] User (id) -> recentChirps: { text }
          level 2
            users.usersByIds [users.chirps] Chirp (authorId) -> author: { name }
        "
    );
}

/// Federation 2 SDL: `uid` is an `@inaccessible` key of both services, `email` is overridden
/// by posts.
fn inaccessible_and_override() -> StitchedSchema {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3",
      import: ["@key", "@inaccessible", "@override"])"#;
    let users = format!(
        "{link}
type Query {{ users: [User!]! }}
type User @key(fields: \"uid\") {{ uid: ID! @inaccessible name: String! email: String! }}"
    );
    let posts = format!(
        "{link}
type Query {{ posts: [Post!]! }}
type Post {{ title: String! author: User! }}
type User @key(fields: \"uid\") {{
  uid: ID! @inaccessible
  email: String! @override(from: \"users\")
  posts: [Post!]!
}}"
    );
    let mut stitcher = Stitcher::new();
    for (name, sdl) in [("users", users), ("posts", posts)] {
        let schema = quilt_wrap::schema_from_federation_sdl(&sdl).unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(name, schema, unused()));
    }
    stitcher.build().unwrap()
}

#[test]
fn an_inaccessible_key_is_selected_and_an_overridden_field_goes_to_the_overriding_service() {
    let gateway = inaccessible_and_override();
    // `email` is answered by posts even though users, asked anyway, has a copy.
    insta::assert_snapshot!(explain(&gateway, "{ users { name email posts { title } } }"), @r"
    query
      fetch users: { users { name _qk_uid: uid } }
      level 1
        posts._entities [users] User (uid): { email posts { title } }
    ");
    // From posts, only `name` needs users.
    insta::assert_snapshot!(explain(&gateway, "{ posts { title author { name email } } }"), @r"
    query
      fetch posts: { posts { title author { _qk_uid: uid email } } }
      level 1
        users._entities [posts.author] User (uid): { name }
    ");
    let errors = gateway.explain("{ users { name uid } }", None).unwrap_err();
    assert_eq!(errors[0].message, "type `User` does not have a field `uid`");
}

#[test]
fn a_deferred_fragment_is_a_group_of_its_own_steps() {
    // The fragment's own-service field (`weight`... of `a`: `name`) stays in the step of its
    // parent; its merged fields (`price` from `c`, reached through `b`) are a group of their
    // own, nested defers a group inside it, and no subschema is sent `@defer`.
    let plan = explain(
        &chain(),
        "{ aProducts { id ... @defer(label: \"price\") { name price ... @defer { weight } } } }",
    );
    assert_eq!(
        plan,
        "query
  fetch a: { aProducts { id ... { name _qk_id: id ... { _qk_id: id } } } }
  level 1
    b.bProductsById (defer 1) [aProducts] Product (id): { _qk_upc: upc }
    b.bProductsById (defer 2) [aProducts] Product (id): { weight }
  level 2
    c.cProductsByUpc (defer 1) [aProducts] Product (upc): { price }
  defer 1 [aProducts] Product (label \"price\"): { name price ... @defer { weight } }
  defer 2 [aProducts] Product (in defer 1): { weight }
"
    );
}

#[test]
fn a_deferred_fragment_is_sent_to_a_subschema_that_answers_defer_itself() {
    // `a` answers @defer itself: its own field in the fragment is sent with `@defer` (a label
    // of the gateway's), the merged one from `c` is still a group of the gateway's steps.
    let plan = explain(
        &chain_with(true),
        "{ aProducts { id ... @defer(label: \"later\") { name price } } }",
    );
    // The key `c`'s step needs comes in `a`'s deferred payload: the group waits for it.
    assert_eq!(
        plan,
        "query
  fetch a: { aProducts { id ... @defer(label: \"_qd1\") { name _qk_id: id } } }
  level 1
    b.bProductsById (defer 1) [aProducts] Product (id): { _qk_upc: upc }
  level 2
    c.cProductsByUpc (defer 1) [aProducts] Product (upc): { price }
  defer 1 [aProducts] Product (label \"later\", sent with @defer): { name price }
"
    );
}
