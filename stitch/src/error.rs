//! Errors of building a stitched schema.

/// Why subschemas could not be stitched into one schema.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StitchError {
    /// No subschema was given.
    #[error("a stitched schema needs at least one subschema")]
    NoSubschemas,
    /// Two subschemas share a name; names identify subschemas in errors and plans.
    #[error("two subschemas are named `{name}`; subschema names must be unique")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// Two subschemas define a type differently and neither `on_type_conflict` nor `canonical`
    /// chose one.
    #[error(
        "type `{type_name}` is defined differently by subschemas `{left}` and `{right}` \
         ({difference}); make them identical, mark one `canonical`, or choose with `on_type_conflict`"
    )]
    TypeConflict {
        /// The type.
        type_name: String,
        /// The subschema whose definition came first.
        left: String,
        /// The subschema whose definition came second.
        right: String,
        /// What differs.
        difference: String,
    },
    /// Two subschemas mark the same type or root field `canonical`.
    #[error("`{coordinate}` is marked canonical by both `{left}` and `{right}`")]
    DuplicateCanonical {
        /// The type or `Type.field`.
        coordinate: String,
        /// The first subschema.
        left: String,
        /// The second subschema.
        right: String,
    },
    /// A `canonical` mark names a type or root field the subschema does not have.
    #[error("subschema `{subschema}` marks `{coordinate}` canonical but does not define it")]
    UnknownCanonical {
        /// The subschema.
        subschema: String,
        /// The coordinate.
        coordinate: String,
    },
    /// The definitions of a field (or argument) that several subschemas define cannot be
    /// merged, or differ where the type-merging settings make a difference an error.
    #[error("merged definitions of `{coordinate}`: {message}")]
    MergeValidation {
        /// `Type.field` or `Type.field.argument`.
        coordinate: String,
        /// What differs.
        message: String,
    },
    /// The merged schema is not a valid GraphQL schema.
    #[error("the stitched schema is invalid: {message}")]
    InvalidSchema {
        /// The validation errors, one per line.
        message: String,
    },
    /// A merged type's configuration (code or directives) does not fit the subschema.
    #[error("subschema `{subschema}`, `{coordinate}`: {message}")]
    InvalidMergeConfig {
        /// The subschema.
        subschema: String,
        /// The type and field concerned (`User (users)`, `Product.shippingEstimate`).
        coordinate: String,
        /// What is wrong.
        message: String,
    },
    /// A merged type's field is resolved by entry points whose keys cannot be obtained for the
    /// objects one subschema returns, not even through a chain of other subschemas.
    #[error(
        "merged type `{type_name}`: field `{field}` cannot be fetched for the objects that \
         subschema `{subschema}` returns: the entry point `{entry_point}` needs the key field \
         `{key}`, and no subschema can supply it from there (a subschema that knows both keys \
         needs an entry point by a key that `{subschema}` has)"
    )]
    UnobtainableKey {
        /// The merged type.
        type_name: String,
        /// The field that cannot be fetched.
        field: String,
        /// The subschema whose objects need it.
        subschema: String,
        /// The entry point that resolves it: `subschema.rootField`.
        entry_point: String,
        /// The key field nothing can supply.
        key: String,
    },
    /// A gateway-defined field's resolver does not fit the stitched schema or its target.
    #[error("gateway field `{coordinate}`: {message}")]
    InvalidFieldResolver {
        /// `Type.field`.
        coordinate: String,
        /// What is wrong.
        message: String,
    },
    /// The gateway's type definitions do not parse.
    #[error("the gateway's type definitions: {message}")]
    InvalidTypeDefs {
        /// The parse errors.
        message: String,
    },
}
