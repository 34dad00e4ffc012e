//! A real GraphQL service (async-graphql) for tests: queries, mutations, errors, uploads,
//! subscriptions, with counters a test can wait on.

use std::time::Duration;

use async_graphql::{
    Context, EmptyMutation, Enum, ErrorExtensions, ID, InputObject, Interface, Object, Schema,
    SimpleObject, Subscription, Upload,
};
use futures::Stream;
use http::HeaderMap;

use crate::stats::Stats;

/// The schema type of the test subgraph.
pub type SubgraphSchema = Schema<Query, Mutation, Subscription>;

/// Builds the test subgraph's schema; `stats` counts what happens to subscriptions.
pub fn schema(stats: Stats) -> SubgraphSchema {
    Schema::build(Query, Mutation, Subscription)
        .data(stats)
        .enable_subscription_in_federation()
        .finish()
}

/// A schema with no mutations, for tests that need an executable schema without state.
pub fn query_only_schema() -> Schema<Query, EmptyMutation, Subscription> {
    Schema::build(Query, EmptyMutation, Subscription)
        .data(Stats::default())
        .finish()
}

/// Request headers, put into the async-graphql context by the server.
#[derive(Clone, Debug, Default)]
pub struct RequestHeaders(pub HeaderMap);

/// WebSocket connection params, put into the context by the server.
#[derive(Clone, Debug, Default)]
pub struct ConnectionParams(pub serde_json::Value);

/// A user.
#[derive(SimpleObject, Clone, Debug)]
pub struct User {
    /// Id.
    #[graphql(owned)]
    pub id: ID,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Best friend; `null` for users without one.
    pub best_friend_id: Option<ID>,
}

/// A role.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Role {
    /// Admin.
    Admin,
    /// Member.
    Member,
}

/// A post, with a non-null field that fails for post 13 (for null propagation tests).
#[derive(Clone, Debug)]
pub struct Post {
    id: i32,
}

#[Object]
impl Post {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    async fn title(&self) -> async_graphql::Result<String> {
        if self.id == 13 {
            Err("post 13 has no title".into())
        } else {
            Ok(format!("Post {}", self.id))
        }
    }
    async fn maybe_title(&self) -> async_graphql::Result<Option<String>> {
        if self.id == 13 {
            Err("post 13 has no title".into())
        } else {
            Ok(Some(format!("Post {}", self.id)))
        }
    }
}

/// An input for `echoInput`.
#[derive(InputObject, Debug)]
pub struct EchoInput {
    /// A text.
    pub text: String,
    /// A number with a default.
    #[graphql(default = 1)]
    pub times: i32,
}

/// An uploaded file as the service saw it.
#[derive(SimpleObject)]
pub struct File {
    /// The file name.
    pub filename: String,
    /// The content type.
    pub mime_type: Option<String>,
    /// The content, as UTF-8 (lossy).
    pub content: String,
    /// The size in bytes.
    pub size: usize,
}

fn users() -> Vec<User> {
    (1..=5)
        .map(|i| User {
            id: ID(i.to_string()),
            name: ["Ada", "Grace", "Alan", "Edsger", "Barbara"][i - 1].to_string(),
            role: if i == 1 { Role::Admin } else { Role::Member },
            best_friend_id: (i < 5).then(|| ID((i + 1).to_string())),
        })
        .collect()
}

/// Query root.
pub struct Query;

#[Object]
impl Query {
    /// Greets.
    async fn hello(&self, #[graphql(default = "world")] name: String) -> String {
        format!("Hello, {name}!")
    }
    /// One user by id, or null.
    async fn user(&self, id: ID) -> Option<User> {
        users().into_iter().find(|u| u.id == id)
    }
    /// Users by ids, in the order asked, null for unknown ids.
    async fn users(&self, ids: Option<Vec<ID>>) -> Vec<Option<User>> {
        match ids {
            Some(ids) => ids
                .into_iter()
                .map(|id| users().into_iter().find(|u| u.id == id))
                .collect(),
            None => users().into_iter().map(Some).collect(),
        }
    }
    /// Posts 1..=count.
    async fn posts(&self, #[graphql(default = 3)] count: i32) -> Vec<Post> {
        (1..=count).map(|id| Post { id }).collect()
    }
    /// One post.
    async fn post(&self, id: i32) -> Post {
        Post { id }
    }
    /// Echoes a string.
    async fn echo(&self, value: String) -> String {
        value
    }
    /// Echoes an input object.
    async fn echo_input(&self, input: EchoInput) -> String {
        input.text.repeat(input.times.max(0) as usize)
    }
    /// Echoes any JSON value.
    async fn echo_json(
        &self,
        value: async_graphql::Json<serde_json::Value>,
    ) -> async_graphql::Json<serde_json::Value> {
        value
    }
    /// Always fails with a field error carrying `extensions.code = "BOOM"`.
    async fn fail(
        &self,
        #[graphql(default = "boom")] message: String,
    ) -> async_graphql::Result<Option<String>> {
        Err(async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "BOOM")))
    }
    /// A non-null field that fails: `data` becomes null.
    async fn fail_non_null(&self) -> async_graphql::Result<String> {
        Err("non-null failure".into())
    }
    /// Answers after `ms` milliseconds.
    async fn slow(&self, ms: u64) -> String {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        format!("slept {ms}ms")
    }
    /// The value of a request header, or null.
    async fn header(&self, ctx: &Context<'_>, name: String) -> Option<String> {
        ctx.data_opt::<RequestHeaders>()
            .and_then(|h| h.0.get(name.as_str()))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
    /// The WebSocket connection params the server received, as JSON (null over HTTP).
    async fn connection_params(&self, ctx: &Context<'_>) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(
            ctx.data_opt::<ConnectionParams>()
                .map(|p| p.0.clone())
                .unwrap_or(serde_json::Value::Null),
        )
    }
    /// A string of `bytes` bytes (for response size limits).
    async fn big(&self, bytes: usize) -> String {
        "x".repeat(bytes)
    }
    /// How many HTTP requests the server has received so far.
    async fn request_count(&self, ctx: &Context<'_>) -> u64 {
        ctx.data_unchecked::<Stats>().snapshot().http_requests
    }
    /// A user or a post by global id (`user:1`, `post:2`), for interface tests.
    async fn node(&self, id: ID) -> Option<Node> {
        let (kind, n) = id.as_str().split_once(':')?;
        match kind {
            "user" => users()
                .into_iter()
                .find(|u| u.id.as_str() == n)
                .map(Node::User),
            "post" => n.parse().ok().map(|id| Node::Post(Post { id })),
            _ => None,
        }
    }
    /// The users with a role (an enum argument).
    async fn users_by_role(&self, role: Role) -> Vec<User> {
        users().into_iter().filter(|u| u.role == role).collect()
    }
    /// The users matching a filter (an input object with an enum field).
    async fn search_users(&self, filter: UserFilter) -> Vec<User> {
        users()
            .into_iter()
            .filter(|u| filter.role.is_none_or(|r| r == u.role))
            .filter(|u| {
                filter
                    .name_contains
                    .as_ref()
                    .is_none_or(|s| u.name.contains(s.as_str()))
            })
            .collect()
    }
    /// An old greeting.
    #[graphql(deprecation = "use hello")]
    async fn greeting(&self) -> String {
        "Hi!".into()
    }
}

/// Mutation root.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds `by` to a shared counter and returns the new value (mutations run in order).
    async fn increment(&self, ctx: &Context<'_>, #[graphql(default = 1)] by: i64) -> i64 {
        ctx.data_unchecked::<Stats>().add_counter(by)
    }
    /// Reads one uploaded file.
    async fn upload(&self, ctx: &Context<'_>, file: Upload) -> async_graphql::Result<File> {
        read_upload(ctx, file)
    }
    /// Reads several uploaded files.
    async fn upload_many(
        &self,
        ctx: &Context<'_>,
        files: Vec<Upload>,
    ) -> async_graphql::Result<Vec<File>> {
        files.into_iter().map(|f| read_upload(ctx, f)).collect()
    }
}

fn read_upload(ctx: &Context<'_>, file: Upload) -> async_graphql::Result<File> {
    use std::io::Read;
    let value = file.value(ctx)?;
    let filename = value.filename.clone();
    let mime_type = value.content_type.clone();
    let mut content = Vec::new();
    value.into_read().read_to_end(&mut content)?;
    Ok(File {
        filename,
        mime_type,
        size: content.len(),
        content: String::from_utf8_lossy(&content).into_owned(),
    })
}

/// Subscription root.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Counts from `from` to `to` (inclusive), one number every `interval_ms`.
    async fn count(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 1)] from: i64,
        to: i64,
        #[graphql(default = 0)] interval_ms: u64,
    ) -> impl Stream<Item = i64> + use<> {
        let guard = ctx.data_unchecked::<Stats>().subscription_started();
        async_stream::stream! {
            let _guard = guard;
            let mut n = from;
            while n <= to {
                if interval_ms > 0 && n != from {
                    tokio::time::sleep(Duration::from_millis(interval_ms)).await;
                }
                yield n;
                n += 1;
            }
            _guard.finished();
        }
    }
    /// Emits `1, 2, 3, ...` every `interval_ms` until the client stops it.
    async fn ticks(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] interval_ms: u64,
    ) -> impl Stream<Item = i64> + use<> {
        let guard = ctx.data_unchecked::<Stats>().subscription_started();
        async_stream::stream! {
            let _guard = guard;
            let mut n = 0;
            loop {
                n += 1;
                yield n;
                tokio::time::sleep(Duration::from_millis(interval_ms)).await;
            }
        }
    }
    /// Emits one event, then an error for the second.
    async fn fail_after_one(&self) -> impl Stream<Item = async_graphql::Result<i64>> + use<> {
        futures::stream::iter(vec![Ok(1), Err("second event failed".into())])
    }
    /// Echoes a connection param (by key) once.
    async fn connection_param(
        &self,
        ctx: &Context<'_>,
        key: String,
    ) -> impl Stream<Item = Option<String>> + use<> {
        let value = ctx.data_opt::<ConnectionParams>().and_then(|p| {
            p.0.get(&key).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
        futures::stream::once(async move { value })
    }
}

/// Something with a global id: a user or a post.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    /// A user.
    User(User),
    /// A post.
    Post(Post),
}

/// A filter for `searchUsers`.
#[derive(InputObject, Debug)]
pub struct UserFilter {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only users whose name contains this text.
    pub name_contains: Option<String>,
}
