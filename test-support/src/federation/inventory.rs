//! The inventory subgraph: stock and shipping, for products it does not own.
//!
//! ```graphql
//! extend type Product @key(fields: "upc") {
//!   upc: String! @external  weight: Int @external  price: Int @external
//!   inStock: Boolean  shippingEstimate: Int @requires(fields: "price weight")
//! }
//! ```
//!
//! The gateway must send `price` and `weight` (fetched from products) in each representation;
//! `shippingEstimate` is computed from them, never from the catalogue.

use async_graphql::{
    ComplexObject, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject,
};

use super::data;

/// The inventory schema.
pub type InventorySchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the inventory schema, with federation's `_service` and `_entities`.
pub fn schema() -> InventorySchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

// A product, as the inventory sees it. No doc comment: async-graphql would print it as a
// description before `extend type`, which GraphQL does not allow (graphql-js rejects the SDL).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(extends, complex)]
pub(crate) struct Product {
    /// The key, owned by products.
    #[graphql(external)]
    upc: String,
    /// Weight, owned by products; from the representation.
    #[graphql(external)]
    weight: Option<i32>,
    /// Price, owned by products; from the representation.
    #[graphql(external)]
    price: Option<i32>,
    /// Whether the inventory has it.
    in_stock: Option<bool>,
}

#[ComplexObject]
impl Product {
    /// Free from a price of 1000, otherwise half the weight.
    #[graphql(requires = "price weight")]
    async fn shipping_estimate(&self) -> Option<i32> {
        data::shipping_estimate(self.price, self.weight)
    }
}

/// The query root (only `_service` and `_entities`).
pub struct Query;

#[Object]
impl Query {
    /// `Product @key(fields: "upc")`, with the `price` and `weight` the gateway sends; null for
    /// an unknown upc.
    #[graphql(entity)]
    async fn find_product_by_upc(
        &self,
        #[graphql(key)] upc: String,
        price: Option<i32>,
        weight: Option<i32>,
    ) -> Option<Product> {
        let in_stock = data::product(&upc)?.in_stock;
        Some(Product {
            upc,
            weight,
            price,
            in_stock: Some(in_stock),
        })
    }
}
