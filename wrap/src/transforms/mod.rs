//! The built-in transforms (the graphql-tools set).

mod filter;
mod rename_fields;
mod rename_inputs;
mod rename_types;

pub use filter::{FilterInputObjectFields, FilterInterfaceFields, FilterObjectFields, FilterRootFields, FilterTypes};
pub use rename_fields::{RenameInterfaceFields, RenameObjectFields, RenameRootFields};
pub use rename_inputs::{RenameInputObjectFields, RenameObjectFieldArguments};
pub use rename_types::{RenameRootTypes, RenameTypes};
