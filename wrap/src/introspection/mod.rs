//! Schemas from introspection: the query Quilt sends and the conversion of its result.

mod default_value;
pub(crate) mod json;
mod query;
mod to_schema;

pub use query::IntrospectionOptions;
pub(crate) use to_schema::from_envelope;
pub use to_schema::{schema_from_introspection, schema_from_introspection_str};
