//! Options for merging the types several subschemas define (graphql-tools'
//! `typeMergingOptions`): how the checks of a merged field's definitions report what they find,
//! per schema or per coordinate, and how a nullability conflict is settled.

use std::collections::HashMap;
use std::sync::Arc;

/// How a check made while building reports what it finds (as graphql-tools'
/// `validationLevel`): a build error, a logged warning, or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValidationLevel {
    /// The build fails with the problem (the default).
    #[default]
    Error,
    /// The build goes on; the problem is logged as a warning.
    Warn,
    /// The check is not made.
    Off,
}

/// How a type that several subschemas define is merged and checked.
///
/// When two subschemas define the same field of a merged type (or the same root field), the
/// stitched schema keeps one definition (a canonical one, else the last) and compares the
/// others with it: a different named type, a different nullability, different argument
/// names, an argument that is nullable here and required there. Each finding is reported at
/// the [`ValidationLevel`] the settings give (by default [`ValidationLevel::Warn`], as
/// graphql-tools): a build error, a warning (logged and kept in
/// [`StitchedSchema::build_warnings`](crate::StitchedSchema::build_warnings)), or nothing.
/// Definitions that differ in being a list cannot be merged and always fail the build.
///
/// ```
/// use quilt_stitch::{TypeMergingOptions, ValidationLevel, ValidationSettings};
///
/// let options = TypeMergingOptions::new()
///     .validation_settings(
///         ValidationSettings::new()
///             .level(ValidationLevel::Error)
///             .proxiable_scalar("String", ["ID"]),
///     )
///     .validation_scope("User.legacyCode", ValidationSettings::new().level(ValidationLevel::Off));
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct TypeMergingOptions {
    pub(crate) settings: ValidationSettings,
    pub(crate) scopes: HashMap<String, ValidationSettings>,
    pub(crate) nullable_on_conflict: bool,
    pub(crate) field_config_merger: Option<FieldConfigMergerFn>,
    pub(crate) type_candidate_merger: Option<TypeCandidateMergerFn>,
}

/// Chooses which subschema's definition of a merged type wins where definitions differ:
/// (type name, each defining subschema's name and definition, in subschema order) → the index
/// of the chosen one.
pub type TypeCandidateMergerFn =
    Arc<dyn Fn(&str, &[(&str, &apollo_compiler::schema::ExtendedType)]) -> usize + Send + Sync>;

/// Chooses the definition of a field several subschemas define: (type name, field name, each
/// subschema's name and definition, in subschema order) → the definition to keep.
pub type FieldConfigMergerFn = Arc<
    dyn Fn(
            &str,
            &str,
            &[(&str, &apollo_compiler::ast::FieldDefinition)],
        ) -> apollo_compiler::ast::FieldDefinition
        + Send
        + Sync,
>;

impl std::fmt::Debug for TypeMergingOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeMergingOptions")
            .field("settings", &self.settings)
            .field("scopes", &self.scopes)
            .field("nullable_on_conflict", &self.nullable_on_conflict)
            .field("field_config_merger", &self.field_config_merger.is_some())
            .field(
                "type_candidate_merger",
                &self.type_candidate_merger.is_some(),
            )
            .finish()
    }
}

impl TypeMergingOptions {
    /// The defaults: every finding a warning, no proxiable scalars, no strict nullability.
    pub fn new() -> Self {
        Self::default()
    }

    /// The settings for the whole schema (`validationSettings`).
    pub fn validation_settings(mut self, settings: ValidationSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Settings for one coordinate (`validationScopes`): `"Type.field"`,
    /// `"Type.field.argument"` or, for an input field, `"Input.field"`. What they set overrides
    /// the schema's settings there; what they leave unset is the schema's.
    pub fn validation_scope(
        mut self,
        coordinate: impl Into<String>,
        settings: ValidationSettings,
    ) -> Self {
        self.scopes.insert(coordinate.into(), settings);
        self
    }

    /// When some subschemas define a field as non-null and others as nullable, the merged
    /// field is nullable, whichever definition is kept (graphql-tools'
    /// `useNonNullableFieldOnConflict`; off by default).
    pub fn nullable_on_conflict(mut self, on: bool) -> Self {
        self.nullable_on_conflict = on;
        self
    }

    /// Chooses the definition kept of every field of a merged type (root types included) that
    /// several subschemas define, instead of the canonical or the last one (graphql-tools'
    /// `fieldConfigMerger`); the checks then compare the others with it.
    ///
    /// ```
    /// use quilt_stitch::TypeMergingOptions;
    /// // The first subschema's definition wins.
    /// let options = TypeMergingOptions::new()
    ///     .field_config_merger(|_type_name, _field, candidates| candidates[0].1.clone());
    /// # let _ = options;
    /// ```
    pub fn field_config_merger(
        mut self,
        merger: impl Fn(
            &str,
            &str,
            &[(&str, &apollo_compiler::ast::FieldDefinition)],
        ) -> apollo_compiler::ast::FieldDefinition
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.field_config_merger = Some(Arc::new(merger));
        self
    }

    /// Chooses, for each merged object or interface type (root types included) that several
    /// subschemas define, the definition whose fields win where definitions differ, instead of
    /// the last one (graphql-tools' `typeCandidateMerger`); a root field it defines is then
    /// resolved by that subschema. A [`field_config_merger`](Self::field_config_merger) still
    /// has the last word on each field.
    ///
    /// ```
    /// use quilt_stitch::TypeMergingOptions;
    /// // The first subschema's definition of every type wins.
    /// let options = TypeMergingOptions::new().type_candidate_merger(|_type_name, _candidates| 0);
    /// # let _ = options;
    /// ```
    pub fn type_candidate_merger(
        mut self,
        merger: impl Fn(&str, &[(&str, &apollo_compiler::schema::ExtendedType)]) -> usize
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.type_candidate_merger = Some(Arc::new(merger));
        self
    }

    /// The settings in force at `coordinate`: its scope's over the schema's.
    pub(crate) fn settings_at(&self, coordinate: &str) -> Effective {
        let scope = self.scopes.get(coordinate);
        let pick = |f: fn(&ValidationSettings) -> Option<_>| {
            scope.and_then(f).or_else(|| f(&self.settings))
        };
        Effective {
            level: pick(|s| s.level).unwrap_or(ValidationLevel::Warn),
            strict_null_comparison: scope
                .and_then(|s| s.strict_null_comparison)
                .or(self.settings.strict_null_comparison)
                .unwrap_or(false),
        }
    }
}

/// What the checks of merged definitions report and how strictly they compare
/// (`validationSettings`); unset parts fall back to the schema's settings, then to the
/// defaults.
#[derive(Debug, Clone, Default)]
pub struct ValidationSettings {
    pub(crate) level: Option<ValidationLevel>,
    pub(crate) strict_null_comparison: Option<bool>,
    pub(crate) proxiable_scalars: HashMap<String, Vec<String>>,
}

impl ValidationSettings {
    /// Nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// How findings are reported (`validationLevel`; default [`ValidationLevel::Warn`]).
    pub fn level(mut self, level: ValidationLevel) -> Self {
        self.level = Some(level);
        self
    }

    /// Any difference in nullability is a finding, not only a kept definition that is
    /// stricter than another (`strictNullComparison`; default off).
    pub fn strict_null_comparison(mut self, on: bool) -> Self {
        self.strict_null_comparison = Some(on);
        self
    }

    /// Where the kept definition's type is the scalar `scalar`, another subschema's definition
    /// may name one of the scalars `proxied` without a finding (`proxiableScalars`: the gateway
    /// passes the value through). Naming a type that is not a scalar is a build error. Read
    /// from the schema's settings only.
    pub fn proxiable_scalar<I, S>(mut self, scalar: impl Into<String>, proxied: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.proxiable_scalars
            .entry(scalar.into())
            .or_default()
            .extend(proxied.into_iter().map(Into::into));
        self
    }
}

/// The settings in force at one coordinate.
pub(crate) struct Effective {
    pub level: ValidationLevel,
    pub strict_null_comparison: bool,
}

/// Something the checks of a build found and let through ([`ValidationLevel::Warn`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildWarning {
    /// Where: `Type.field`, `Type.field.argument` or a type's name.
    pub coordinate: String,
    /// What was found.
    pub message: String,
}

impl std::fmt::Display for BuildWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.coordinate, self.message)
    }
}

/// The filter of [`MergeTypes::Filter`]: (type name, names of the subschemas defining it).
pub type MergeTypesFn = Arc<dyn Fn(&str, &[&str]) -> bool + Send + Sync>;

/// Which types several subschemas define are merged (graphql-tools' `mergeTypes`): a merged
/// object or interface type gets the union of its definitions' fields (checked as
/// [`TypeMergingOptions`] says) and can be fetched across subschemas; a type that is not merged
/// keeps one definition whole: a canonical one, else the one
/// [`on_type_conflict`](crate::Stitcher::on_type_conflict) chooses, else the last. Root types
/// and types with merge config (entry points, `@key`, canonical marks) are always merged.
#[derive(Clone, Default)]
pub enum MergeTypes {
    /// Every type (the default).
    #[default]
    All,
    /// Only the root types and the types with merge config.
    None,
    /// These types (and the root types and those with merge config).
    Only(Vec<String>),
    /// The types the closure accepts, given the type's name and the names of the subschemas
    /// that define it.
    Filter(MergeTypesFn),
}

impl MergeTypes {
    /// Merges the types `keep` accepts (type name, names of the subschemas defining it).
    ///
    /// ```
    /// use quilt_stitch::MergeTypes;
    /// let merge = MergeTypes::filter(|type_name, _subschemas| type_name != "Settings");
    /// # let _ = merge;
    /// ```
    pub fn filter(keep: impl Fn(&str, &[&str]) -> bool + Send + Sync + 'static) -> Self {
        Self::Filter(Arc::new(keep))
    }

    /// Merges the types named.
    pub fn only<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::Only(names.into_iter().map(Into::into).collect())
    }

    /// Whether `type_name`, defined by `subschemas`, is merged (merge config aside).
    pub(crate) fn merges(&self, type_name: &str, subschemas: &[&str]) -> bool {
        match self {
            Self::All => true,
            Self::None => false,
            Self::Only(names) => names.iter().any(|n| n == type_name),
            Self::Filter(keep) => keep(type_name, subschemas),
        }
    }
}

impl std::fmt::Debug for MergeTypes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("All"),
            Self::None => f.write_str("None"),
            Self::Only(names) => f.debug_tuple("Only").field(names).finish(),
            Self::Filter(_) => f.write_str("Filter(..)"),
        }
    }
}
