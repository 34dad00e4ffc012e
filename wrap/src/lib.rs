//! # quilt-wrap
//!
//! Remote schemas for Quilt: [`wrap_schema`] applies [`Transform`]s (rename, filter, reshape)
//! to a service's schema and gives a [`WrappedSchema`], an executor that maps each request back
//! to the service's names and each result forward.

mod mapping;
mod reshape;
mod schema_edit;
mod transform;
mod transform_error;
pub mod transforms;
mod type_info;
mod visit;
mod wrap;

pub use transform::{Transform, TransformContext};
pub use transform_error::TransformError;
pub use wrap::{MappedRequest, SubschemaConfig, WrappedSchema, wrap_schema};
