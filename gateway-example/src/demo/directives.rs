//! graphql-tools' stitching directives as async-graphql type directives, and the `_sdl` field
//! that publishes a service's SDL with them applied.
//!
//! A gateway learns how to merge a type across services from these: `@key(selectionSet:)` on a
//! type says which fields identify an object, `@merge(keyField:)` on a root field says that the
//! field fetches objects of that type by their keys (`users(ids: [ID!]!): [User]!`).
//! Introspection cannot carry applied directives, so a service publishes its SDL as a string
//! field, `_sdl`, and the gateway reads the directives from there.

use async_graphql::{Context, ObjectType, Schema, SchemaBuilder, SubscriptionType};

pub use defs::{key, merge};

/// The directive definitions (the macro generates undocumented items, hence the module).
#[allow(missing_docs, non_snake_case, non_camel_case_types)]
mod defs {
    use async_graphql::TypeDirective;

    /// `@key(selectionSet: "{ id }")`: the fields that identify an object of the type.
    #[TypeDirective(location = "Object")]
    pub fn key(selectionSet: String) {}

    /// `@merge(keyField: "id")`: this root field fetches objects of its type by their keys,
    /// one list of keys per call, results in key order.
    #[TypeDirective(location = "FieldDefinition")]
    pub fn merge(keyField: String) {}
}

/// The SDL a service publishes at `_sdl`.
#[derive(Clone, Debug)]
pub struct Sdl(pub String);

impl Sdl {
    /// The `_sdl` resolver: the SDL given to the schema as data.
    pub fn of(ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(ctx.data::<Sdl>()?.0.clone())
    }
}

/// Builds a schema whose `_sdl` field answers its own SDL: the schema is built once to print
/// it, then again with the text as data.
pub fn with_sdl<Q, M, S>(build: impl Fn() -> SchemaBuilder<Q, M, S>) -> Schema<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let sdl = build().finish().sdl();
    build().data(Sdl(sdl)).finish()
}
