//! Gateway-defined fields: fields the gateway adds to the stitched schema
//! ([`Stitcher::type_defs`](crate::Stitcher::type_defs)) and resolves itself, by delegating to
//! a root field of a subschema or with a local Rust function. The planner treats them as
//! dependent steps: the parent's required fields are fetched with the parent, then one request
//! per level serves every parent at that place.

use std::sync::Arc;

use futures::future::BoxFuture;
use quilt_executor::JsonMap;
use serde_json::Value;

/// A local resolver: the parent's required fields and the field's arguments to a JSON value.
pub type LocalFn =
    Arc<dyn Fn(JsonMap, JsonMap) -> BoxFuture<'static, Result<Value, String>> + Send + Sync>;
/// Builds a delegation's arguments from the parent's required fields and the field's arguments.
pub type DelegateArgsFn = Arc<dyn Fn(&JsonMap, &JsonMap) -> JsonMap + Send + Sync>;
/// Picks the key of a parent for a batched delegation.
pub type ParentKeyFn = Arc<dyn Fn(&JsonMap) -> Value + Send + Sync>;
/// Builds a batched delegation's arguments from all parents' keys and the field's arguments.
pub type KeysArgsFn = Arc<dyn Fn(Vec<Value>, &JsonMap) -> JsonMap + Send + Sync>;

/// How a gateway-defined field is resolved.
///
/// ```
/// use quilt_stitch::FieldResolver;
/// use serde_json::json;
///
/// // `User.chirps` from `chirpsByAuthorId(authorId:)` of the chirps service.
/// let chirps = FieldResolver::delegate("chirps", "chirpsByAuthorId")
///     .selection_set("{ id }")
///     .arg_from_parent("authorId", "id")
///     .arg_from_field("first", "first");
/// // The same for all users at once: `chirpsByAuthorIds(ids:)` returns a flat list, grouped
/// // back by each chirp's `authorId`.
/// let batched = FieldResolver::batch_delegate(
///     "chirps",
///     "chirpsByAuthorIds",
///     "{ id }",
///     |parent| parent["id"].clone(),
///     |keys, _args| serde_json::Map::from_iter([("ids".to_string(), json!(keys))]),
/// )
/// .group_by("authorId");
/// // `User.displayName` computed at the gateway.
/// let display = FieldResolver::local("{ name username }", |parent, _args| {
///     Ok(json!(format!("{} ({})", parent["name"].as_str().unwrap_or(""),
///                                 parent["username"].as_str().unwrap_or(""))))
/// });
/// # let _ = (chirps, batched, display);
/// ```
#[derive(Clone)]
pub struct FieldResolver {
    pub(crate) selection_set: String,
    pub(crate) kind: ResolverKind,
    pub(crate) on_located_error: Option<OnLocatedErrorFn>,
}

/// Maps each error a delegated call answers before it is placed in the response
/// (graphql-tools' `onLocatedError`).
pub type OnLocatedErrorFn =
    Arc<dyn Fn(quilt_executor::GraphQLError) -> quilt_executor::GraphQLError + Send + Sync>;

#[derive(Clone)]
pub(crate) enum ResolverKind {
    Delegate {
        subschema: String,
        field_name: String,
        args: DelegateArgs,
    },
    BatchDelegate {
        subschema: String,
        field_name: String,
        key: ParentKeyFn,
        args_from_keys: KeysArgsFn,
        matching: Matching,
    },
    Local(LocalFn),
}

/// Where a delegated call's arguments come from.
#[derive(Clone)]
pub(crate) enum DelegateArgs {
    Mapping(Vec<(String, ArgSource)>),
    Closure(DelegateArgsFn),
}

/// One argument of a declarative delegation.
#[derive(Clone, Debug)]
pub(crate) enum ArgSource {
    /// A dotted path into the parent's required fields.
    Parent(String),
    /// One of the field's own arguments.
    Field(String),
    /// A fixed value.
    Value(Value),
}

/// How a batched delegation's results are matched back to the parents.
#[derive(Clone, Debug)]
pub(crate) enum Matching {
    /// One result per key, in key order.
    Position,
    /// A flat list; each parent gets the items whose field equals its key.
    GroupBy(String),
    /// A flat list; each parent gets the first item whose field equals its key (or null).
    FindBy(String),
}

impl FieldResolver {
    /// Delegates to `field_name`, a root query field of subschema `subschema`, once per
    /// distinct set of arguments (all calls of a level in one request). Arguments come from
    /// [`arg_from_parent`](Self::arg_from_parent), [`arg_from_field`](Self::arg_from_field)
    /// and [`arg_value`](Self::arg_value).
    pub fn delegate(subschema: impl Into<String>, field_name: impl Into<String>) -> Self {
        Self {
            selection_set: String::new(),
            on_located_error: None,
            kind: ResolverKind::Delegate {
                subschema: subschema.into(),
                field_name: field_name.into(),
                args: DelegateArgs::Mapping(Vec::new()),
            },
        }
    }

    /// Delegates with arguments built in code from the parent's required fields
    /// (`selection_set`) and the field's arguments.
    pub fn delegate_with(
        subschema: impl Into<String>,
        field_name: impl Into<String>,
        selection_set: impl Into<String>,
        args: impl Fn(&JsonMap, &JsonMap) -> JsonMap + Send + Sync + 'static,
    ) -> Self {
        Self {
            selection_set: selection_set.into(),
            on_located_error: None,
            kind: ResolverKind::Delegate {
                subschema: subschema.into(),
                field_name: field_name.into(),
                args: DelegateArgs::Closure(Arc::new(args)),
            },
        }
    }

    /// Delegates for all parents at once: `key` picks each parent's key (duplicates are sent
    /// once), `args_from_keys` builds the arguments; results are matched back by position
    /// unless [`group_by`](Self::group_by) or [`find_by`](Self::find_by) says otherwise.
    pub fn batch_delegate(
        subschema: impl Into<String>,
        field_name: impl Into<String>,
        selection_set: impl Into<String>,
        key: impl Fn(&JsonMap) -> Value + Send + Sync + 'static,
        args_from_keys: impl Fn(Vec<Value>, &JsonMap) -> JsonMap + Send + Sync + 'static,
    ) -> Self {
        Self {
            selection_set: selection_set.into(),
            on_located_error: None,
            kind: ResolverKind::BatchDelegate {
                subschema: subschema.into(),
                field_name: field_name.into(),
                key: Arc::new(key),
                args_from_keys: Arc::new(args_from_keys),
                matching: Matching::Position,
            },
        }
    }

    /// Resolves the field at the gateway from the parent's required fields (`selection_set`)
    /// and the field's arguments.
    pub fn local(
        selection_set: impl Into<String>,
        resolve: impl Fn(&JsonMap, &JsonMap) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        let resolve = Arc::new(resolve);
        Self {
            selection_set: selection_set.into(),
            on_located_error: None,
            kind: ResolverKind::Local(Arc::new(move |parent, args| {
                let result = resolve(&parent, &args);
                Box::pin(async move { result })
            })),
        }
    }

    /// Like [`local`](Self::local), with an async function.
    pub fn local_async<F>(
        selection_set: impl Into<String>,
        resolve: impl Fn(JsonMap, JsonMap) -> F + Send + Sync + 'static,
    ) -> Self
    where
        F: std::future::Future<Output = Result<Value, String>> + Send + 'static,
    {
        Self {
            selection_set: selection_set.into(),
            on_located_error: None,
            kind: ResolverKind::Local(Arc::new(move |parent, args| {
                Box::pin(resolve(parent, args))
            })),
        }
    }

    /// The fields of the parent the resolver needs (`{ id }`).
    pub fn selection_set(mut self, selection_set: impl Into<String>) -> Self {
        self.selection_set = selection_set.into();
        self
    }

    /// Passes the parent's field at `path` (dotted) as argument `arg` of the delegation.
    pub fn arg_from_parent(self, arg: impl Into<String>, path: impl Into<String>) -> Self {
        self.mapping(arg.into(), ArgSource::Parent(path.into()))
    }

    /// Passes the field's own argument `field_arg` as argument `arg` of the delegation.
    pub fn arg_from_field(self, arg: impl Into<String>, field_arg: impl Into<String>) -> Self {
        self.mapping(arg.into(), ArgSource::Field(field_arg.into()))
    }

    /// Passes a fixed value as argument `arg` of the delegation.
    pub fn arg_value(self, arg: impl Into<String>, value: Value) -> Self {
        self.mapping(arg.into(), ArgSource::Value(value))
    }

    fn mapping(mut self, arg: String, source: ArgSource) -> Self {
        if let ResolverKind::Delegate {
            args: DelegateArgs::Mapping(list),
            ..
        } = &mut self.kind
        {
            list.push((arg, source));
        }
        self
    }

    /// Matches a batched delegation's flat list of results to parents by the items' field
    /// `field` (selected for the purpose) equal to the parent's key: each parent gets a list.
    pub fn group_by(mut self, field: impl Into<String>) -> Self {
        if let ResolverKind::BatchDelegate { matching, .. } = &mut self.kind {
            *matching = Matching::GroupBy(field.into());
        }
        self
    }

    /// Maps each error the delegated call answers (a message rewritten, extensions added)
    /// before it is placed at the client's path; as graphql-tools' `onLocatedError` option of
    /// `delegateToSchema`/`batchDelegateToSchema`.
    ///
    /// ```
    /// use quilt_stitch::FieldResolver;
    /// let profile = FieldResolver::delegate("profiles", "profile")
    ///     .arg_from_field("id", "id")
    ///     .on_located_error(|mut error| {
    ///         error.message = format!("profiles: {}", error.message);
    ///         error
    ///     });
    /// # let _ = profile;
    /// ```
    pub fn on_located_error(
        mut self,
        map: impl Fn(quilt_executor::GraphQLError) -> quilt_executor::GraphQLError
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.on_located_error = Some(Arc::new(map));
        self
    }

    /// Like [`group_by`](Self::group_by), each parent getting the first matching item.
    pub fn find_by(mut self, field: impl Into<String>) -> Self {
        if let ResolverKind::BatchDelegate { matching, .. } = &mut self.kind {
            *matching = Matching::FindBy(field.into());
        }
        self
    }
}

impl std::fmt::Debug for FieldResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            ResolverKind::Delegate { field_name, .. } => format!("delegate to {field_name}"),
            ResolverKind::BatchDelegate { field_name, .. } => {
                format!("batch delegate to {field_name}")
            }
            ResolverKind::Local(_) => "local".to_owned(),
        };
        f.debug_struct("FieldResolver")
            .field("selection_set", &self.selection_set)
            .field("kind", &kind)
            .finish()
    }
}
