//! The built-in transforms (the graphql-tools set).

mod composite_fields;
mod directives;
mod filter;
mod hoist_field;
mod input_fields;
mod leaf_values;
mod map_fields;
mod prune;
mod rename_fields;
mod rename_inputs;
mod rename_types;
mod transform_query;
mod wrap_fields;

pub use composite_fields::{
    ErrorsFn, FieldChange, FieldNodeChange, FieldNodeFn, ObjectFn, TransformCompositeFields,
    TransformInterfaceFields, TransformObjectFields, TransformRootFields,
};
pub use directives::{
    FilterObjectFieldDirectives, Matcher, RemoveObjectFieldDeprecations,
    RemoveObjectFieldDirectives, RemoveObjectFieldsWithDeprecation,
    RemoveObjectFieldsWithDirective,
};
pub use filter::{
    FilterInputObjectFields, FilterInterfaceFields, FilterObjectFields, FilterRootFields,
    FilterTypes,
};
pub use hoist_field::HoistField;
pub use input_fields::{InputFieldChange, InputObjectFn, TransformInputObjectFields};
pub use leaf_values::{MapLeafValues, TransformEnumValues};
pub use map_fields::MapFields;
pub use prune::PruneSchema;
pub use rename_fields::{RenameInterfaceFields, RenameObjectFields, RenameRootFields};
pub use rename_inputs::{RenameInputObjectFields, RenameObjectFieldArguments};
pub use rename_types::{RenameRootTypes, RenameTypes};
pub use transform_query::TransformQuery;
pub use wrap_fields::{WrapFields, WrapType};
