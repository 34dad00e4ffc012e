//! The reviews subgraph: reviews, and the reviews of users and products it does not own.
//!
//! ```graphql
//! type Review @key(fields: "id") {
//!   id: ID!  body: String  author: User @provides(fields: "username")  product: Product
//! }
//! type User @key(fields: "id") { id: ID!  username: String @external  reviews: [Review] }
//! type Product @key(fields: "upc") { upc: String!  reviews: [Review] }
//! ```

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema};

use super::data;

/// The reviews schema.
pub type ReviewsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the reviews schema, with federation's `_service` and `_entities`.
pub fn schema() -> ReviewsSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

fn reviews(all: impl Iterator<Item = &'static data::Review>) -> Option<Vec<Option<Review>>> {
    Some(all.map(|r| Some(Review(r))).collect())
}

/// A review.
#[derive(Clone, Copy, Debug)]
pub struct Review(&'static data::Review);

#[Object]
impl Review {
    /// The key.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Text.
    async fn body(&self) -> Option<&str> {
        Some(&self.0.body)
    }

    /// The author, with the username this subgraph knows too.
    #[graphql(provides = "username")]
    async fn author(&self) -> Option<User> {
        Some(User::new(self.0.author_id))
    }

    /// The reviewed product.
    async fn product(&self) -> Option<Product> {
        Some(Product {
            upc: self.0.product_upc.to_owned(),
        })
    }
}

/// A user, owned by accounts.
#[derive(Clone, Debug)]
pub struct User {
    id: String,
}

impl User {
    fn new(id: &str) -> Self {
        Self { id: id.to_owned() }
    }
}

#[Object]
impl User {
    /// The key.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Login name: owned by accounts, known here for `Review.author` only.
    #[graphql(external)]
    async fn username(&self) -> Option<&'static str> {
        data::user(&self.id).map(|u| u.username)
    }

    /// The reviews the user wrote.
    async fn reviews(&self) -> Option<Vec<Option<Review>>> {
        reviews(data::reviews_by_author(&self.id))
    }
}

/// A product, owned by products.
#[derive(Clone, Debug)]
pub struct Product {
    upc: String,
}

#[Object]
impl Product {
    /// The key.
    async fn upc(&self) -> &str {
        &self.upc
    }

    /// The product's reviews.
    async fn reviews(&self) -> Option<Vec<Option<Review>>> {
        reviews(data::reviews_of_product(&self.upc))
    }
}

/// The query root (only `_service` and `_entities`).
pub struct Query;

#[Object]
impl Query {
    /// `Review @key(fields: "id")`: null for an unknown id.
    #[graphql(entity)]
    async fn find_review_by_id(&self, id: ID) -> Option<Review> {
        data::review(&id).map(Review)
    }

    /// `User @key(fields: "id")`: any id (a user without reviews has an empty list).
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User::new(&id)
    }

    /// `Product @key(fields: "upc")`: any upc (a product without reviews has an empty list).
    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Product {
        Product { upc }
    }
}
