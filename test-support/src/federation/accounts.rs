//! The accounts subgraph: users.
//!
//! ```graphql
//! type Query { me: User  user(id: ID!): User  users: [User] }
//! type User @key(fields: "id") { id: ID!  name: String  username: String @shareable  birthday: Int }
//! ```
//!
//! `username` is `@shareable` because the reviews subgraph provides it along `Review.author`
//! (Federation 2 wants every subgraph that can resolve a provided field to share it).

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};

use super::data;

/// The accounts schema.
pub type AccountsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the accounts schema, with federation's `_service` and `_entities`.
pub fn schema() -> AccountsSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

/// A user.
#[derive(SimpleObject, Clone, Debug)]
pub struct User {
    /// The key.
    pub id: ID,
    /// Full name.
    pub name: Option<String>,
    /// Login name.
    #[graphql(shareable)]
    pub username: Option<String>,
    /// Seconds since the epoch.
    pub birthday: Option<i32>,
}

impl From<&data::User> for User {
    fn from(user: &data::User) -> Self {
        Self {
            id: ID(user.id.to_owned()),
            name: Some(user.name.to_owned()),
            username: Some(user.username.to_owned()),
            birthday: Some(user.birthday),
        }
    }
}

/// The query root.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in user.
    async fn me(&self) -> Option<User> {
        Some(data::me().into())
    }

    /// One user, or null.
    async fn user(&self, id: ID) -> Option<User> {
        data::user(&id).map(User::from)
    }

    /// Every user.
    async fn users(&self) -> Option<Vec<Option<User>>> {
        Some(data::USERS.iter().map(|u| Some(u.into())).collect())
    }

    /// `User @key(fields: "id")`: null for an unknown id.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        data::user(&id).map(User::from)
    }
}
