//! Gateway-defined fields over two services (the README's example): `User.chirps` by a batched
//! delegation, `Chirp.author` by a declarative delegation, `User.displayName` computed at the
//! gateway. Run with `cargo run -p quilt-stitch --example gateway_fields`; it prints the
//! stitched schema. stitch/tests/gateway_fields.rs runs the same over real services.

use quilt_executor::{ExecutionResult, Executor, Request, Response, from_fn};
use quilt_stitch::{FieldResolver, Stitcher, SubschemaConfig};
use serde_json::{Map, Value, json};

/// A stand-in for a remote service (in a real gateway: `HttpExecutor::new(url)?`).
fn service() -> impl Executor {
    from_fn(|_request: Request| async { Ok(Response::Single(ExecutionResult::default())) })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gateway = Stitcher::new()
        .subschema(SubschemaConfig::from_sdl(
            "users",
            "type Query { users: [User!]! user(id: ID!): User } type User { id: ID! name: String! username: String! }",
            service(),
        )?)
        .subschema(SubschemaConfig::from_sdl(
            "chirps",
            "type Query { chirpsByAuthorIds(authorIds: [ID!]!): [[Chirp!]!]! } type Chirp { text: String! authorId: ID! }",
            service(),
        )?)
        .type_defs(
            "extend type User { chirps: [Chirp!]! displayName: String! } extend type Chirp { author: User }",
        )
        .resolve(
            "User.chirps",
            FieldResolver::batch_delegate(
                "chirps",
                "chirpsByAuthorIds",
                "{ id }",
                |user| user["id"].clone(),
                |ids, _args| Map::from_iter([("authorIds".to_owned(), Value::Array(ids))]),
            ),
        )
        .resolve(
            "Chirp.author",
            FieldResolver::delegate("users", "user")
                .selection_set("{ authorId }")
                .arg_from_parent("id", "authorId"),
        )
        .resolve(
            "User.displayName",
            FieldResolver::local("{ name username }", |user, _args| {
                Ok(json!(format!("{} (@{})", user["name"].as_str().unwrap_or_default(),
                    user["username"].as_str().unwrap_or_default())))
            }),
        )
        .build()?;
    // The stitched schema has the gateway's fields; tests/gateway_fields.rs runs such a
    // gateway against real services.
    println!("{}", gateway.sdl());
    Ok(())
}
