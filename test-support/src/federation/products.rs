//! The products subgraph: the catalogue.
//!
//! ```graphql
//! type Query { topProducts(first: Int = 5): [Product] }
//! type Product @key(fields: "upc") { upc: String!  name: String  price: Int  weight: Int }
//! ```

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};

use super::data;

/// The products schema.
pub type ProductsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the products schema, with federation's `_service` and `_entities`.
pub fn schema() -> ProductsSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

/// A product.
#[derive(SimpleObject, Clone, Debug)]
pub struct Product {
    /// The key.
    pub upc: String,
    /// Name.
    pub name: Option<String>,
    /// Price in cents.
    pub price: Option<i32>,
    /// Weight in grams.
    pub weight: Option<i32>,
}

impl From<data::Product> for Product {
    fn from(product: data::Product) -> Self {
        Self {
            upc: product.upc,
            name: Some(product.name),
            price: Some(product.price),
            weight: Some(product.weight),
        }
    }
}

/// The query root.
pub struct Query;

#[Object]
impl Query {
    /// The first products of the catalogue (generated ones after the first nine).
    async fn top_products(
        &self,
        #[graphql(default = 5)] first: i32,
    ) -> Option<Vec<Option<Product>>> {
        Some(
            data::top_products(first)
                .into_iter()
                .map(|p| Some(p.into()))
                .collect(),
        )
    }

    /// `Product @key(fields: "upc")`: null for an unknown upc.
    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
        data::product(&upc).map(Product::from)
    }
}
