//! Two Federation 2 subgraphs for `@inaccessible` and `@override`, as async-graphql services
//! with static data:
//!
//! ```graphql
//! # users
//! type Query { users: [User!]!  staff: [User!]! @inaccessible }
//! type User @key(fields: "uid") {
//!   uid: ID! @inaccessible  name: String!  email: String!  role: Role!
//! }
//! enum Role { MEMBER  ROOT @inaccessible }
//! # posts
//! type Query { posts: [Post!]! }
//! type Post @key(fields: "id") { id: ID!  title: String!  author: User! }
//! type User @key(fields: "uid") {
//!   uid: ID! @inaccessible  posts: [Post!]!  email: String! @override(from: "users")
//! }
//! ```
//!
//! Each service answers `email` with its own name in it (`u1@users`, `u1@posts`), so a test
//! sees which one resolved it.

use async_graphql::{EmptyMutation, EmptySubscription, Enum, ID, Object, Schema, SimpleObject};

use crate::server::{TestServer, graphql_router};
use crate::stats::Stats;

/// The users: (uid, name).
pub const USERS: [(&str, &str); 2] = [("u1", "Ada"), ("u2", "Grace")];
/// The posts: (id, title, author uid).
pub const POSTS: [(&str, &str, &str); 3] = [
    ("p1", "Engines", "u1"),
    ("p2", "Compilers", "u2"),
    ("p3", "Notes", "u1"),
];

/// The users subgraph.
pub mod users {
    use super::*;

    /// A user's role.
    #[derive(Enum, Clone, Copy, PartialEq, Eq)]
    pub enum Role {
        /// Everyone.
        Member,
        /// Hidden from clients.
        #[graphql(inaccessible)]
        Root,
    }

    /// A user.
    #[derive(SimpleObject)]
    pub struct User {
        /// The key, hidden from clients.
        #[graphql(inaccessible)]
        pub uid: ID,
        /// The name.
        pub name: String,
        /// The overridden copy: says where it came from.
        pub email: String,
        /// The role.
        pub role: Role,
    }

    fn user(uid: &str) -> Option<User> {
        USERS
            .iter()
            .find(|(id, _)| *id == uid)
            .map(|(id, name)| User {
                uid: ID((*id).to_owned()),
                name: (*name).to_owned(),
                email: format!("{id}@users"),
                role: Role::Member,
            })
    }

    /// The query root.
    pub struct Query;

    #[Object]
    impl Query {
        /// Every user.
        async fn users(&self) -> Vec<User> {
            USERS.iter().filter_map(|(id, _)| user(id)).collect()
        }

        /// Hidden from clients.
        #[graphql(inaccessible)]
        async fn staff(&self) -> Vec<User> {
            Vec::new()
        }

        #[graphql(entity)]
        async fn find_user_by_uid(&self, uid: ID) -> Option<User> {
            user(&uid)
        }
    }

    /// The users schema, with federation's `_service` and `_entities`.
    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

/// The posts subgraph.
pub mod posts {
    use super::*;

    /// A post.
    #[derive(SimpleObject)]
    pub struct Post {
        /// The key.
        pub id: ID,
        /// The title.
        pub title: String,
        /// Who wrote it.
        pub author: User,
    }

    /// A user, known by key.
    pub struct User {
        /// The key.
        pub uid: ID,
    }

    #[Object]
    impl User {
        #[graphql(inaccessible)]
        async fn uid(&self) -> &ID {
            &self.uid
        }

        /// The user's posts.
        async fn posts(&self) -> Vec<Post> {
            posts()
                .into_iter()
                .filter(|p| p.author.uid == self.uid)
                .collect()
        }

        /// Taken over from users.
        #[graphql(override_from = "users")]
        async fn email(&self) -> String {
            format!("{}@posts", self.uid.as_str())
        }
    }

    fn posts() -> Vec<Post> {
        POSTS
            .iter()
            .map(|(id, title, author)| Post {
                id: ID((*id).to_owned()),
                title: (*title).to_owned(),
                author: User {
                    uid: ID((*author).to_owned()),
                },
            })
            .collect()
    }

    /// The query root.
    pub struct Query;

    #[Object]
    impl Query {
        /// Every post.
        async fn posts(&self) -> Vec<Post> {
            posts()
        }

        #[graphql(entity)]
        async fn find_user_by_uid(&self, uid: ID) -> User {
            User { uid }
        }

        #[graphql(entity)]
        async fn find_post_by_id(&self, id: ID) -> Option<Post> {
            posts().into_iter().find(|p| p.id == id)
        }
    }

    /// The posts schema, with federation's `_service` and `_entities`.
    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

/// The two subgraphs running: (users, posts), each counting its requests.
pub async fn start() -> anyhow::Result<(TestServer, TestServer)> {
    let localhost: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    let stats = (Stats::default(), Stats::default());
    let users = TestServer::serve(
        localhost,
        graphql_router(users::schema(), stats.0.clone()),
        stats.0,
    )
    .await?;
    let posts = TestServer::serve(
        localhost,
        graphql_router(posts::schema(), stats.1.clone()),
        stats.1,
    )
    .await?;
    Ok((users, posts))
}
