//! The accounts service: users. `User` is keyed by `id` and fetched in batches by
//! `users(ids:)`, so other services can extend it (reviews adds `User.reviews`).

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};

use super::directives::{Sdl, key, merge, with_sdl};

/// The accounts schema.
pub type AccountsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// A user of the shop.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(directive = key::apply("{ id }".into()))]
pub struct User {
    /// The key.
    pub id: ID,
    /// The display name.
    pub name: String,
    /// The handle, `@name`.
    pub username: String,
}

const NAMES: [&str; 4] = ["Ada", "Grace", "Alan", "Edsger"];

/// The user with this id, if any.
pub fn user(id: &str) -> Option<User> {
    let index: usize = id.parse().ok()?;
    let name = NAMES.get(index.checked_sub(1)?)?;
    Some(User {
        id: ID(id.to_owned()),
        name: (*name).to_owned(),
        username: format!("@{}", name.to_lowercase()),
    })
}

/// Query root of accounts.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user (always Ada in the demo).
    async fn me(&self) -> Option<User> {
        user("1")
    }

    /// One user by id.
    async fn user(&self, id: ID) -> Option<User> {
        user(&id)
    }

    /// Users by ids, in the order asked, null for unknown ids: the merge entry point of `User`.
    #[graphql(directive = merge::apply("id".into()))]
    async fn users(&self, ids: Vec<ID>) -> Vec<Option<User>> {
        ids.iter().map(|id| user(id)).collect()
    }

    /// The SDL with its stitching directives.
    #[graphql(name = "_sdl")]
    async fn sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Sdl::of(ctx)
    }
}

/// Builds the accounts schema.
pub fn schema() -> AccountsSchema {
    with_sdl(|| Schema::build(Query, EmptyMutation, EmptySubscription))
}
