//! # quilt-wrap
//!
//! How a gateway learns and reshapes a remote service:
//!
//! - [`schema_from_executor`] sends the introspection query through any
//!   [`Executor`](quilt_executor::Executor) and builds a validated
//!   [`apollo_compiler::Schema`] keeping everything introspection carries;
//!   [`schema_from_introspection`] does the conversion alone.
//! - [`load_schema`] loads from a [`SchemaSource`]: introspection, the stitching-directives
//!   `{ _sdl }` convention, or an Apollo Federation subgraph's `{ _service { sdl } }`, the
//!   last two keeping the directives introspection loses.
//!
//! Every failure is a [`WrapError`] naming the endpoint and the type or field at fault.

mod error;
mod federation;
mod introspection;
mod load;
mod sdl;
mod sdl_fixups;

pub use error::WrapError;
pub use introspection::{
    IntrospectionOptions, schema_from_introspection, schema_from_introspection_str,
};
pub use load::{SchemaSource, SdlOptions, load_schema, schema_from_executor};
pub use sdl::{schema_from_federation_sdl, schema_from_sdl};
