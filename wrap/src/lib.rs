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
//! - [`wrap_schema`] applies [`Transform`]s (rename, filter, reshape) to a service's schema and
//!   gives a [`WrappedSchema`], an executor that maps each request back to the service's names
//!   and each result forward.
//!
//! Loading failures are [`WrapError`]s naming the endpoint and the type or field at fault;
//! transform failures are [`TransformError`]s.

mod error;
mod federation;
mod introspection;
mod load;
mod mapping;
mod reshape;
mod schema_edit;
mod sdl;
mod sdl_fixups;
mod transform;
mod transform_error;
pub mod transforms;
mod type_info;
mod visit;
mod wrap;

pub use error::WrapError;
pub use introspection::{
    IntrospectionOptions, schema_from_introspection, schema_from_introspection_str,
};
pub use load::{SchemaSource, SdlOptions, load_schema, schema_from_executor};
pub use sdl::{schema_from_federation_sdl, schema_from_sdl};
pub use transform::{Transform, TransformContext};
pub use transform_error::TransformError;
pub use wrap::{MappedRequest, WrapSchemaConfig, WrappedSchema, wrap_schema};
