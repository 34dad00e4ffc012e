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
    Stitcher::new()
        .subschema(
            SubschemaConfig::from_sdl("a", A, unused())
                .unwrap()
                .merge("Product", EntryPoint::key_field("aProductsById", "id")),
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
        b.bProductsById [aProducts] Product (id): { upc weight _qk_upc: upc }
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
