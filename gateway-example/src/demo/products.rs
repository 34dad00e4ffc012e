//! The products service: the catalogue. `Product` is keyed by `upc` and fetched in batches by
//! `products(upcs:)`.

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};

use super::directives::{Sdl, key, merge, with_sdl};

/// The products schema.
pub type ProductsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// A product of the catalogue.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(directive = key::apply("{ upc }".into()))]
pub struct Product {
    /// The key: the universal product code.
    pub upc: ID,
    /// The name.
    pub name: String,
    /// The price in cents.
    pub price: i32,
}

const CATALOGUE: [(&str, i32); 4] = [("Table", 899), ("Couch", 1299), ("Chair", 54), ("Lamp", 25)];

/// The product with this upc, if any.
pub fn product(upc: &str) -> Option<Product> {
    let index: usize = upc.parse().ok()?;
    let (name, price) = CATALOGUE.get(index.checked_sub(1)?)?;
    Some(Product {
        upc: ID(upc.to_owned()),
        name: (*name).to_owned(),
        price: *price,
    })
}

/// Query root of products.
pub struct Query;

#[Object]
impl Query {
    /// The first products of the catalogue.
    async fn top_products(&self, #[graphql(default = 3)] first: i32) -> Vec<Product> {
        (1..=first.clamp(0, CATALOGUE.len() as i32))
            .filter_map(|upc| product(&upc.to_string()))
            .collect()
    }

    /// One product by upc.
    async fn product(&self, upc: ID) -> Option<Product> {
        product(&upc)
    }

    /// Products by upcs, in the order asked, null for unknown ones: the merge entry point of
    /// `Product`.
    #[graphql(directive = merge::apply("upc".into()))]
    async fn products(&self, upcs: Vec<ID>) -> Vec<Option<Product>> {
        upcs.iter().map(|upc| product(upc)).collect()
    }

    /// The SDL with its stitching directives.
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

/// Builds the products schema.
pub fn schema() -> ProductsSchema {
    with_sdl(|| Schema::build(Query, EmptyMutation, EmptySubscription))
}
