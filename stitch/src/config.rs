//! What a stitched schema is built from: subschemas and the choices for conflicts.

use std::sync::Arc;

use apollo_compiler::Schema;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use quilt_executor::{Executor, SharedExecutor};

use crate::entry_point::EntryPoint;
use crate::error::StitchError;
use crate::extension::FieldResolver;
use crate::subscription_options::SubscriptionOptions;
use crate::type_merging::{MergeTypes, TypeMergingOptions, ValidationLevel};
use crate::upstream_errors::SubschemaErrors;

/// One service of a stitched schema: its name, its schema and the executor that reaches it.
///
/// ```
/// use quilt_executor::{from_fn, ExecutionResult, Response, Request};
/// use quilt_stitch::SubschemaConfig;
///
/// let executor = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
/// let accounts = SubschemaConfig::from_sdl("accounts", "type Query { me: String }", executor)?;
/// assert_eq!(accounts.name(), "accounts");
/// # Ok::<(), quilt_stitch::StitchError>(())
/// ```
#[derive(Clone)]
pub struct SubschemaConfig {
    pub(crate) name: String,
    pub(crate) schema: Arc<Valid<Schema>>,
    pub(crate) executor: SharedExecutor,
    pub(crate) canonical: Vec<String>,
    pub(crate) merge: Vec<(String, EntryPoint)>,
    pub(crate) computed: Vec<(String, String)>,
    pub(crate) errors: SubschemaErrors,
    pub(crate) incremental_delivery: bool,
}

impl SubschemaConfig {
    /// A subschema named `name` with a validated schema and its executor.
    pub fn new(name: impl Into<String>, schema: Valid<Schema>, executor: impl Executor) -> Self {
        Self {
            name: name.into(),
            schema: Arc::new(schema),
            executor: Arc::new(executor),
            canonical: Vec::new(),
            merge: Vec::new(),
            computed: Vec::new(),
            errors: SubschemaErrors::default(),
            incremental_delivery: false,
        }
    }

    /// A subschema whose schema is given as SDL; an invalid SDL is an
    /// [`StitchError::InvalidSchema`] naming the subschema. The stitching directives (`@key`,
    /// `@merge`, `@computed`, `@canonical`) may be applied without being defined.
    pub fn from_sdl(
        name: impl Into<String>,
        sdl: &str,
        executor: impl Executor,
    ) -> Result<Self, StitchError> {
        let name = name.into();
        let schema = quilt_wrap::schema_from_sdl(sdl).map_err(|e| StitchError::InvalidSchema {
            message: format!("subschema `{name}`: {e}"),
        })?;
        Ok(Self::new(name, schema, executor))
    }

    /// A subschema reshaped by transforms ([`quilt_wrap::wrap_schema`]): the transformed schema
    /// is stitched, and the [`WrappedSchema`](quilt_wrap::WrappedSchema) executes each step,
    /// mapping its document back to the service's names (cached per document) and the result
    /// forward.
    ///
    /// ```
    /// use quilt_executor::{from_fn, ExecutionResult, Request, Response};
    /// use quilt_stitch::SubschemaConfig;
    /// use quilt_wrap::{transforms::RenameTypes, wrap_schema, WrapSchemaConfig as WrapConfig};
    ///
    /// let executor = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    /// let schema = apollo_compiler::Schema::parse_and_validate(
    ///     "type Query { me: User } type User { id: ID! }", "accounts.graphql").unwrap();
    /// let wrapped = wrap_schema(
    ///     WrapConfig::new(schema.into_inner(), executor)
    ///         .transform(RenameTypes::new(|name| Some(format!("Accounts{name}")))),
    /// ).unwrap();
    /// let accounts = SubschemaConfig::wrapped("accounts", wrapped);
    /// assert!(accounts.schema().types.contains_key("AccountsUser"));
    /// ```
    pub fn wrapped(name: impl Into<String>, wrapped: quilt_wrap::WrappedSchema) -> Self {
        let schema = wrapped.schema().clone();
        Self::new(name, schema, wrapped)
    }

    /// Sends this subschema's requests through the batching executor ([`quilt_batch`]): the
    /// steps of concurrent client operations that reach this service in one tick become one
    /// upstream request, and each gets exactly its own result back.
    pub fn batch(mut self, options: quilt_batch::BatchOptions) -> Self {
        let options = match options.label_value() {
            Some(_) => options,
            None => options.label(self.name.as_str()),
        };
        self.executor = Arc::new(quilt_batch::BatchingExecutor::new(self.executor, options));
        self
    }

    /// Marks a type (`"User"`) or a root field (`"Query.me"`) of this subschema as canonical:
    /// when several subschemas define it differently, this definition wins.
    pub fn canonical(mut self, coordinate: impl Into<String>) -> Self {
        self.canonical.push(coordinate.into());
        self
    }

    /// Declares how this subschema fetches objects of the merged type `type_name` by key
    /// (call it again for more entry points). Entry points declared in the SDL with the
    /// stitching directives (`@key`, `@merge`) or Apollo Federation's `@key(fields:)` are read
    /// without this call.
    ///
    /// ```
    /// use quilt_executor::{from_fn, ExecutionResult, Response, Request};
    /// use quilt_stitch::{EntryPoint, SubschemaConfig};
    ///
    /// let executor = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    /// let accounts = SubschemaConfig::from_sdl(
    ///     "accounts",
    ///     "type Query { users(ids: [ID!]!): [User]! } type User { id: ID! name: String }",
    ///     executor,
    /// )?
    /// .merge("User", EntryPoint::key_field("users", "id"));
    /// # Ok::<(), quilt_stitch::StitchError>(())
    /// ```
    pub fn merge(mut self, type_name: impl Into<String>, entry_point: EntryPoint) -> Self {
        self.merge.push((type_name.into(), entry_point));
        self
    }

    /// Marks `Type.field` as computed: this subschema resolves it only when given the fields
    /// of `selection_set` (`"{ price weight }"`), which other subschemas provide. Like
    /// `@computed(selectionSet:)`.
    pub fn computed(
        mut self,
        coordinate: impl Into<String>,
        selection_set: impl Into<String>,
    ) -> Self {
        self.computed
            .push((coordinate.into(), selection_set.into()));
        self
    }

    /// How the GraphQL errors this subschema answers reach clients: passed through without
    /// stack traces (the default), or redacted to an allow-list of extension keys
    /// ([`SubschemaErrors`]).
    ///
    /// ```
    /// # use quilt_executor::{from_fn, ExecutionResult, Response, Request};
    /// use quilt_stitch::{SubschemaConfig, SubschemaErrors};
    /// # let executor = from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    /// let payments = SubschemaConfig::from_sdl("payments", "type Query { balance: Int }", executor)?
    ///     .errors(SubschemaErrors::Redact { allowed_extensions: vec!["code".into()] });
    /// # Ok::<(), quilt_stitch::StitchError>(())
    /// ```
    pub fn errors(mut self, errors: SubschemaErrors) -> Self {
        self.errors = errors;
        self
    }

    /// Whether the subschema answers `@defer` itself (it delivers incrementally, as graphql-yoga
    /// with its defer-stream plugin or Apollo Server do). When it does, a deferred fragment
    /// inside one of its root fields is sent to it with `@defer`, so it can answer the rest
    /// before that fragment, and the gateway delivers the fragment (with the merged fields of
    /// other subschemas inside it) once the subschema has delivered it. Off by default: the
    /// gateway asks every subschema for the whole and splits the delivery itself. `@stream` is
    /// never sent.
    ///
    /// ```
    /// use quilt_stitch::SubschemaConfig;
    /// # let executor = quilt_executor::from_fn(|_| async { Err(quilt_executor::ExecutorError::other("x")) });
    /// let products = SubschemaConfig::from_sdl("products", "type Query { a: Int }", executor)?
    ///     .incremental_delivery(true);
    /// # Ok::<(), quilt_stitch::StitchError>(())
    /// ```
    pub fn incremental_delivery(mut self, on: bool) -> Self {
        self.incremental_delivery = on;
        self
    }

    /// The subschema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subschema's schema.
    pub fn schema(&self) -> &Valid<Schema> {
        &self.schema
    }
}

impl std::fmt::Debug for SubschemaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubschemaConfig")
            .field("name", &self.name)
            .field("canonical", &self.canonical)
            .finish_non_exhaustive()
    }
}

/// Two subschemas define a type differently; see [`Stitcher::on_type_conflict`].
#[derive(Debug)]
pub struct TypeConflict<'a> {
    /// The type's name.
    pub type_name: &'a str,
    /// The subschema whose definition was seen first.
    pub left: &'a str,
    /// The first definition.
    pub left_type: &'a ExtendedType,
    /// The subschema whose definition was seen second.
    pub right: &'a str,
    /// The second definition.
    pub right_type: &'a ExtendedType,
}

/// Which definition of a conflicting type to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeChoice {
    /// The first one seen.
    Left,
    /// The second one.
    Right,
    /// Neither: building fails with [`StitchError::TypeConflict`].
    Fail,
}

/// Chooses between two definitions of a type.
pub type OnTypeConflict = Arc<dyn Fn(&TypeConflict<'_>) -> TypeChoice + Send + Sync>;

/// Limits on what a client may send, checked before any upstream call.
#[derive(Debug, Clone, Copy)]
pub struct StitchLimits {
    /// The longest accepted document text, in bytes (default 256 KiB).
    pub max_document_bytes: usize,
    /// The deepest accepted selection nesting, fragments included (default 64).
    pub max_depth: usize,
    /// The deepest accepted nesting of selection sets, inline fragments and fragment spreads
    /// together (default 256): how deep validating, planning and shaping a document recurse,
    /// so that no document can exhaust a thread's stack.
    pub max_nesting: usize,
    /// How many prepared operations the plan cache keeps (default 1024).
    pub plan_cache_capacity: usize,
    /// How much memory the plan cache's entries may hold, estimated in bytes (default
    /// 8 MiB; an operation weighing more than a sixteenth of it is planned every time; once
    /// full, only operations asked for before are admitted).
    pub plan_cache_bytes: usize,
    /// How many deferred fragments an operation may have, each counted once per place it
    /// applies at (default 64): each is a group of fetches and payloads of its own.
    pub max_deferred_fragments: usize,
}

impl Default for StitchLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 256 * 1024,
            max_depth: 64,
            max_nesting: 256,
            plan_cache_capacity: 1024,
            plan_cache_bytes: 8 * 1024 * 1024,
            max_deferred_fragments: 64,
        }
    }
}

/// Builds a [`StitchedSchema`](crate::StitchedSchema) from subschemas. (`build` is defined
/// beside the stitched schema: the configuration knows nothing of what is built from it.)
///
/// Root fields of `Query`, `Mutation` and `Subscription` come from every subschema; when two
/// define the same root field, the last one wins unless one marks it
/// [`canonical`](SubschemaConfig::canonical). Other types must be identical where they are
/// shared, unless a canonical mark or [`on_type_conflict`](Stitcher::on_type_conflict) chooses.
#[derive(Default)]
pub struct Stitcher {
    pub(crate) subschemas: Vec<SubschemaConfig>,
    pub(crate) on_type_conflict: Option<OnTypeConflict>,
    pub(crate) limits: StitchLimits,
    pub(crate) type_defs: Vec<String>,
    pub(crate) resolvers: Vec<(String, FieldResolver)>,
    pub(crate) subscriptions: SubscriptionOptions,
    pub(crate) key_validation: ValidationLevel,
    pub(crate) expose_upstream_details: bool,
    pub(crate) expose_query_plan: bool,
    pub(crate) type_merging: TypeMergingOptions,
    pub(crate) merge_types: MergeTypes,
    pub(crate) skip_directives: bool,
}

impl Stitcher {
    /// A stitcher with no subschemas and the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a subschema.
    pub fn subschema(mut self, subschema: SubschemaConfig) -> Self {
        self.subschemas.push(subschema);
        self
    }

    /// Chooses between two different definitions of a shared type.
    pub fn on_type_conflict(
        mut self,
        choose: impl Fn(&TypeConflict<'_>) -> TypeChoice + Send + Sync + 'static,
    ) -> Self {
        self.on_type_conflict = Some(Arc::new(choose));
        self
    }

    /// Sets the limits on client documents and the plan cache size.
    pub fn limits(mut self, limits: StitchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets how subscriptions run: deduplication (on by default), each client's queue, the
    /// most open at once, re-subscription after an upstream failure ([`SubscriptionOptions`]).
    pub fn subscriptions(mut self, options: SubscriptionOptions) -> Self {
        self.subscriptions = options;
        self
    }

    /// Adds the gateway's own type definitions to the stitched schema: new types, new fields of
    /// existing types (`extend type User { chirps: [Chirp!]! }`) and new root fields. Each new
    /// field needs a [`resolve`](Self::resolve).
    pub fn type_defs(mut self, sdl: impl Into<String>) -> Self {
        self.type_defs.push(sdl.into());
        self
    }

    /// Resolves the gateway-defined field `"Type.field"` by delegation to a subschema or with a
    /// local function ([`FieldResolver`]).
    ///
    /// ```
    /// use quilt_executor::{from_fn, ExecutionResult, Request, Response};
    /// use quilt_stitch::{FieldResolver, Stitcher, SubschemaConfig};
    /// use serde_json::json;
    ///
    /// let accounts = from_fn(|_r: Request| async {
    ///     Ok(Response::Single(ExecutionResult::from_data(json!({ "me": { "name": "Ada", "username": "ada" } }))))
    /// });
    /// let gateway = Stitcher::new()
    ///     .subschema(SubschemaConfig::from_sdl(
    ///         "accounts", "type Query { me: User } type User { name: String username: String }", accounts)?)
    ///     .type_defs("extend type User { displayName: String }")
    ///     .resolve("User.displayName", FieldResolver::local("{ name username }", |user, _args| {
    ///         Ok(json!(format!("{} (@{})", user["name"].as_str().unwrap_or(""), user["username"].as_str().unwrap_or(""))))
    ///     }))
    ///     .build()?;
    /// # let _ = gateway;
    /// # Ok::<(), quilt_stitch::StitchError>(())
    /// ```
    pub fn resolve(mut self, coordinate: impl Into<String>, resolver: FieldResolver) -> Self {
        self.resolvers.push((coordinate.into(), resolver));
        self
    }

    /// How building reports a merged type's field that cannot be fetched for the objects some
    /// subschema returns, because every entry point that resolves it needs a key no chain of
    /// subschemas can supply from there ([`StitchError::UnobtainableKey`]). By default a build
    /// error; with [`ValidationLevel::Warn`] the gateway builds and a query that selects such
    /// a field is refused when it is planned (as graphql-tools answers it).
    pub fn key_validation(mut self, level: ValidationLevel) -> Self {
        self.key_validation = level;
        self
    }

    /// Whether clients see the details of upstream failures: the subschemas' URLs, the text of
    /// transport errors (an upstream's HTTP error body), and stack traces in subschema errors.
    /// Off by default: a client gets a fixed message per kind of failure with
    /// `extensions.code`, `serviceName` and `requestId`, and the log line with that request id
    /// holds the detail. Turn it on for development only.
    pub fn expose_upstream_details(mut self, expose: bool) -> Self {
        self.expose_upstream_details = expose;
        self
    }

    /// Lets a client ask for the plan of its operation, as Apollo Router does: a request
    /// carrying the header [`EXPOSE_QUERY_PLAN_HEADER`](crate::EXPOSE_QUERY_PLAN_HEADER)
    /// (`Apollo-Expose-Query-Plan: true`) gets `extensions.apolloQueryPlan.text`, the plan as
    /// [`StitchedSchema::explain`](crate::StitchedSchema::explain) prints it. Off by default
    /// (a plan names the subschemas and their documents); without it the header is ignored.
    pub fn expose_query_plan(mut self, expose: bool) -> Self {
        self.expose_query_plan = expose;
        self
    }

    /// How the definitions of a field that several subschemas define are checked against the
    /// one kept, and how a nullability conflict is settled ([`TypeMergingOptions`], as
    /// graphql-tools' `typeMergingOptions`). By default every finding is a logged warning.
    ///
    /// ```
    /// use quilt_executor::{from_fn, ExecutionResult, Request, Response};
    /// use quilt_stitch::{
    ///     StitchError, Stitcher, SubschemaConfig, TypeMergingOptions, ValidationLevel,
    ///     ValidationSettings,
    /// };
    ///
    /// let none = || from_fn(|_r: Request| async { Ok(Response::Single(ExecutionResult::default())) });
    /// let stitcher = || {
    ///     Stitcher::new()
    ///         .subschema(SubschemaConfig::from_sdl("a", "type Query { a: User } type User { code: ID }", none()).unwrap())
    ///         .subschema(SubschemaConfig::from_sdl("b", "type Query { b: User } type User { code: String }", none()).unwrap())
    /// };
    /// // By default: built, with a warning.
    /// let gateway = stitcher().build()?;
    /// assert_eq!(gateway.build_warnings()[0].coordinate, "User.code");
    /// // As an error.
    /// let strict = TypeMergingOptions::new()
    ///     .validation_settings(ValidationSettings::new().level(ValidationLevel::Error));
    /// let err = stitcher().type_merging(strict).build().unwrap_err();
    /// assert!(matches!(err, StitchError::MergeValidation { .. }));
    /// # Ok::<(), StitchError>(())
    /// ```
    pub fn type_merging(mut self, options: TypeMergingOptions) -> Self {
        self.type_merging = options;
        self
    }

    /// Which shared types are merged ([`MergeTypes`], graphql-tools' `mergeTypes`; by default
    /// all): a type left out keeps one definition whole instead of the union of its fields.
    pub fn merge_types(mut self, merge_types: MergeTypes) -> Self {
        self.merge_types = merge_types;
        self
    }

    /// Whether the subschemas' own directive definitions are part of the stitched schema
    /// (graphql-tools' `mergeDirectives`; by default they are, and a directive several define
    /// gets the union of their locations and arguments). Without them, the applications of
    /// directives that are not built in are removed too.
    pub fn merge_directives(mut self, merge: bool) -> Self {
        self.skip_directives = !merge;
        self
    }
}
