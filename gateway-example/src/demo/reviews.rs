//! The reviews service: reviews of products by users. It knows users and products only by
//! their keys; it extends both types with `reviews`, and its `_users(ids:)` and
//! `_products(upcs:)` entry points let the gateway fetch those fields for objects that
//! accounts or products returned.

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};

use super::directives::{Sdl, key, merge, with_sdl};

/// The reviews schema.
pub type ReviewsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// A review.
#[derive(SimpleObject, Clone, Debug)]
pub struct Review {
    /// Id.
    pub id: ID,
    /// The text.
    pub body: String,
    /// 1 to 5 stars.
    pub rating: i32,
    /// The author (accounts holds the rest of the user).
    pub author: User,
    /// The product (products holds the rest of it).
    pub product: Product,
}

/// A user as reviews knows it: the key and the reviews they wrote.
#[derive(Clone, Debug)]
pub struct User {
    id: ID,
}

#[Object(directive = key::apply("{ id }".into()))]
impl User {
    /// The key.
    async fn id(&self) -> &ID {
        &self.id
    }
    /// The reviews this user wrote.
    async fn reviews(&self) -> Vec<Review> {
        all()
            .into_iter()
            .filter(|r| r.author.id == self.id)
            .collect()
    }
}

/// A product as reviews knows it: the key and its reviews.
#[derive(Clone, Debug)]
pub struct Product {
    upc: ID,
}

#[Object(directive = key::apply("{ upc }".into()))]
impl Product {
    /// The key.
    async fn upc(&self) -> &ID {
        &self.upc
    }
    /// The reviews of this product.
    async fn reviews(&self) -> Vec<Review> {
        all()
            .into_iter()
            .filter(|r| r.product.upc == self.upc)
            .collect()
    }
}

const REVIEWS: [(&str, i32, &str, &str); 5] = [
    ("Love it!", 5, "1", "1"),
    ("Too expensive.", 2, "2", "2"),
    ("Could be better.", 3, "3", "1"),
    ("Prefer something else.", 2, "1", "3"),
    ("Bright enough.", 4, "4", "4"),
];

fn all() -> Vec<Review> {
    REVIEWS
        .iter()
        .enumerate()
        .map(|(i, (body, rating, author, upc))| Review {
            id: ID((i + 1).to_string()),
            body: (*body).to_owned(),
            rating: *rating,
            author: User {
                id: ID((*author).to_owned()),
            },
            product: Product {
                upc: ID((*upc).to_owned()),
            },
        })
        .collect()
}

/// Query root of reviews.
pub struct Query;

#[Object]
impl Query {
    /// One review by id.
    async fn review(&self, id: ID) -> Option<Review> {
        all().into_iter().find(|r| r.id == id)
    }

    /// The latest reviews, newest first.
    async fn latest_reviews(&self, #[graphql(default = 3)] first: i32) -> Vec<Review> {
        let mut reviews = all();
        reviews.reverse();
        reviews.truncate(first.max(0) as usize);
        reviews
    }

    /// Users by ids (every id is a user here): the entry point for `User.reviews`.
    #[graphql(name = "_users", directive = merge::apply("id".into()))]
    async fn users(&self, ids: Vec<ID>) -> Vec<Option<User>> {
        ids.into_iter().map(|id| Some(User { id })).collect()
    }

    /// Products by upcs: the entry point for `Product.reviews`.
    #[graphql(name = "_products", directive = merge::apply("upc".into()))]
    async fn products(&self, upcs: Vec<ID>) -> Vec<Option<Product>> {
        upcs.into_iter().map(|upc| Some(Product { upc })).collect()
    }

    /// The SDL with its stitching directives.
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

/// Builds the reviews schema.
pub fn schema() -> ReviewsSchema {
    with_sdl(|| Schema::build(Query, EmptyMutation, EmptySubscription))
}
