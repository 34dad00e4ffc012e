//! Merged types: how one subschema fetches an object that another subschema returned.
//!
//! A type is *merged* when several subschemas contribute fields to it (`User` in accounts with
//! `name`, in reviews with `reviews`). A subschema that can be asked for such an object by its
//! key has an [`EntryPoint`] for the type: a root field (`users(ids:)`, `user(id:)`,
//! `_entities(representations:)`) and the key selection it needs from whichever service
//! returned the object first (`{ id }`).
//!
//! Entry points come from code ([`SubschemaConfig::merge`](crate::SubschemaConfig::merge)),
//! from the stitching directives in a subschema's SDL (`@key`, `@merge`, `@computed`,
//! `@canonical`), or from Apollo Federation's `@key(fields:)` with `_entities`.

use std::sync::Arc;

use quilt_executor::JsonMap;
use serde_json::Value;

/// Builds the arguments of a single-key entry point from one object's representation.
pub type ArgsFn = Arc<dyn Fn(&JsonMap) -> JsonMap + Send + Sync>;
/// Picks the key of one object from its representation.
pub type KeyFn = Arc<dyn Fn(&JsonMap) -> Value + Send + Sync>;
/// Builds the arguments of a list entry point from the keys of all objects at once.
pub type ArgsFromKeysFn = Arc<dyn Fn(Vec<Value>) -> JsonMap + Send + Sync>;
/// Turns the list a batched entry point returned into one value per key, in key order
/// (graphql-tools' `valuesFromResults`): (results, keys) → values.
pub type ValuesFromResultsFn = Arc<dyn Fn(Vec<Value>, &[Value]) -> Vec<Value> + Send + Sync>;

/// How the results of a batched entry point are matched to the keys sent.
#[derive(Clone, Default)]
pub(crate) enum Matching {
    /// One result per key, in key order.
    #[default]
    Position,
    /// Each key gets the result whose field (selected for the purpose) equals it, or null.
    By(String),
    /// A function of the results and the keys; the key selection's fields are selected on
    /// every result so that it can read them.
    Values(ValuesFromResultsFn),
}

/// A custom entry point: fetches the objects of one call (see [`EntryCall`]) and answers one
/// outcome per representation, in order: the object (or null), or an error message for the
/// object's fields.
pub type ResolveFn = Arc<
    dyn Fn(EntryCall) -> futures::future::BoxFuture<'static, Vec<Result<Value, String>>>
        + Send
        + Sync,
>;

/// What a custom entry point ([`EntryPoint::resolve`]) is given: the objects to fetch and
/// what to fetch of them, and the subschema's executor to fetch it with.
pub struct EntryCall {
    /// Each distinct object's representation (`__typename` and the key selection's fields).
    pub representations: Vec<JsonMap>,
    /// The fields to fetch on each object, as a GraphQL selection set (`{ bio }`), in the
    /// subschema's names; it may spread the fragments of `fragments` and use the variables of
    /// `variable_definitions`.
    pub selection: String,
    /// The fragment definitions `selection` uses, printed.
    pub fragments: String,
    /// The definitions of the client's variables `selection` uses (`$size: Int`), to add to
    /// the operation's, and their values.
    pub variable_definitions: Vec<String>,
    /// The values of those variables.
    pub variables: JsonMap,
    /// The subschema's executor.
    pub executor: quilt_executor::SharedExecutor,
    /// The client request's context.
    pub context: quilt_executor::Context,
}

impl std::fmt::Debug for EntryCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryCall")
            .field("representations", &self.representations)
            .field("selection", &self.selection)
            .finish_non_exhaustive()
    }
}

/// How a subschema fetches objects of a merged type by their key.
///
/// The *representation* of an object is a JSON object holding `__typename` and the fields of
/// the key selection (plus those the requested computed fields need), as the subschema that
/// returned the object answered them.
///
/// ```
/// use quilt_stitch::EntryPoint;
/// use serde_json::json;
///
/// // `users(ids: [ID!]!): [User]!`, results in the order of the keys.
/// let batched = EntryPoint::key_field("users", "id");
/// // `user(id: ID!): User`, with the arguments built in code.
/// let single = EntryPoint::single("user", "{ id }", |rep| {
///     let mut args = serde_json::Map::new();
///     args.insert("id".into(), rep["id"].clone());
///     args
/// });
/// // `usersByKeys(keys: [UserKey!]!): [User]!`, with the key built in code.
/// let custom = EntryPoint::batched(
///     "usersByKeys",
///     "{ id }",
///     |rep| json!({ "id": rep["id"] }),
///     |keys| serde_json::Map::from_iter([("keys".to_string(), json!(keys))]),
/// );
/// # let _ = (batched, single, custom);
/// ```
#[derive(Clone)]
pub struct EntryPoint {
    pub(crate) field_name: String,
    pub(crate) selection_set: String,
    pub(crate) args: EntryArgs,
    pub(crate) matching: Matching,
}

/// How the arguments of an entry point are built.
#[derive(Clone)]
pub(crate) enum EntryArgs {
    /// Declarative, as the stitching directives say: single or batched is decided by whether
    /// the root field returns a list.
    Declarative(Declarative),
    /// One call per object.
    Single(ArgsFn),
    /// One call for all objects; results matched back by position.
    Batched {
        key: KeyFn,
        args_from_keys: ArgsFromKeysFn,
    },
    /// Apollo Federation: `_entities(representations:)` with the representations as they are.
    Entities,
    /// Code that fetches the objects itself.
    Custom(ResolveFn),
}

/// The declarative form of `@merge(keyField:, keyArg:, key:, argsExpr:, additionalArgs:)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Declarative {
    /// A dotted path into the representation whose value is the key (`keyField`).
    pub key_field: Option<String>,
    /// Key object built from paths of the representation (`key`): `"path"` or `"name:path"`.
    pub key_paths: Option<Vec<String>>,
    /// The argument (dotted path into the arguments) that receives the key(s) (`keyArg`).
    pub key_arg: Option<String>,
    /// Arguments written as GraphQL with `$key` placeholders (`argsExpr`).
    pub args_expr: Option<String>,
    /// Fixed arguments written as GraphQL (`additionalArgs`).
    pub additional_args: Option<String>,
}

impl EntryPoint {
    /// The entry point `field_name` taking the key field `key_field` of the object: single
    /// (`user(id: ID!): User`) or batched (`users(ids: [ID!]!): [User]!`, results in key order)
    /// depending on whether the field returns a list. The argument is the field's only one
    /// (or name it with [`key_arg`](Self::key_arg)). Like `@merge(keyField: "id")`.
    pub fn key_field(field_name: impl Into<String>, key_field: impl Into<String>) -> Self {
        let key_field = key_field.into();
        Self {
            field_name: field_name.into(),
            selection_set: nested_selection(&key_field),
            args: EntryArgs::Declarative(Declarative {
                key_field: Some(key_field),
                ..Declarative::default()
            }),
            matching: Matching::Position,
        }
    }

    /// The entry point `field_name` that receives whole key objects (the fields of
    /// `selection_set`, without `__typename`): `products(keys: [ProductKey!]!): [Product]!`.
    /// Like `@merge` on a type with `@key(selectionSet:)`.
    pub fn key_object(field_name: impl Into<String>, selection_set: impl Into<String>) -> Self {
        Self {
            field_name: field_name.into(),
            selection_set: selection_set.into(),
            args: EntryArgs::Declarative(Declarative::default()),
            matching: Matching::Position,
        }
    }

    /// A single-key entry point with arguments built in code from each object's
    /// representation: one aliased call per object, all in one request.
    pub fn single(
        field_name: impl Into<String>,
        selection_set: impl Into<String>,
        args: impl Fn(&JsonMap) -> JsonMap + Send + Sync + 'static,
    ) -> Self {
        Self {
            field_name: field_name.into(),
            selection_set: selection_set.into(),
            args: EntryArgs::Single(Arc::new(args)),
            matching: Matching::Position,
        }
    }

    /// A list entry point: `key` picks each object's key from its representation (duplicate
    /// keys are sent once), `args_from_keys` builds the arguments from all keys; the field
    /// must return one result per key, in the same order (`null` for a missing object).
    pub fn batched(
        field_name: impl Into<String>,
        selection_set: impl Into<String>,
        key: impl Fn(&JsonMap) -> Value + Send + Sync + 'static,
        args_from_keys: impl Fn(Vec<Value>) -> JsonMap + Send + Sync + 'static,
    ) -> Self {
        Self {
            field_name: field_name.into(),
            selection_set: selection_set.into(),
            args: EntryArgs::Batched {
                key: Arc::new(key),
                args_from_keys: Arc::new(args_from_keys),
            },
            matching: Matching::Position,
        }
    }

    /// Apollo Federation's `_entities(representations: [_Any!]!)` for a type whose
    /// `@key(fields:)` is `selection_set`.
    pub fn federation(selection_set: impl Into<String>) -> Self {
        Self {
            field_name: "_entities".into(),
            selection_set: selection_set.into(),
            args: EntryArgs::Entities,
            matching: Matching::Position,
        }
    }

    /// An entry point written in code (graphql-tools' merged type `resolve`): given the
    /// objects' representations (with the fields of `selection_set`) and the selection to
    /// fetch on them, it fetches them with the subschema's executor as it sees fit and answers
    /// one outcome per representation, in order: the object (or null), or an error message,
    /// which is put on each of the object's fields it was asked for.
    ///
    /// ```
    /// use quilt_executor::{Executor, Request};
    /// use quilt_stitch::EntryPoint;
    /// use serde_json::{json, Value};
    ///
    /// // One `profile(id:)` call per object, aliased, in one request.
    /// let profiles = EntryPoint::resolve("{ id }", |call| {
    ///     Box::pin(async move {
    ///         let count = call.representations.len();
    ///         let fields: Vec<String> = (0..count)
    ///             .map(|i| format!("_{i}: profile(id: $id{i}) {}", call.selection))
    ///             .collect();
    ///         let definitions: Vec<String> = (0..count).map(|i| format!("$id{i}: ID!")).collect();
    ///         let query = format!("query ({}) {{ {} }}", definitions.join(", "), fields.join(" "));
    ///         let fetched = async {
    ///             let mut request = Request::new(query).map_err(|e| e.to_string())?;
    ///             for (i, r) in call.representations.iter().enumerate() {
    ///                 request.variables.insert(format!("id{i}"), r["id"].clone());
    ///             }
    ///             let response = call.executor.execute(request).await.map_err(|e| e.to_string())?;
    ///             response.into_single().await.map_err(|e| e.to_string())
    ///         };
    ///         match fetched.await {
    ///             Ok(result) => {
    ///                 let data = result.data_value().unwrap_or_default();
    ///                 (0..count).map(|i| Ok(data[format!("_{i}")].clone())).collect()
    ///             }
    ///             Err(message) => vec![Err(message); count],
    ///         }
    ///     })
    /// });
    /// # let _ = profiles;
    /// ```
    pub fn resolve(
        selection_set: impl Into<String>,
        resolve: impl Fn(EntryCall) -> futures::future::BoxFuture<'static, Vec<Result<Value, String>>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            field_name: String::new(),
            selection_set: selection_set.into(),
            args: EntryArgs::Custom(Arc::new(resolve)),
            matching: Matching::Position,
        }
    }

    /// Names the argument (a dotted path such as `input.ids` for a nested one) that receives
    /// the key or keys of a declarative entry point.
    pub fn key_arg(mut self, key_arg: impl Into<String>) -> Self {
        if let EntryArgs::Declarative(d) = &mut self.args {
            d.key_arg = Some(key_arg.into());
        }
        self
    }

    /// Fixed arguments added to every call, written as GraphQL (`scope: "full", limit: 5`).
    pub fn additional_args(mut self, args: impl Into<String>) -> Self {
        if let EntryArgs::Declarative(d) = &mut self.args {
            d.additional_args = Some(args.into());
        }
        self
    }

    /// Matches the results of a batched entry point to the keys by the result field `field`
    /// (selected for the purpose) instead of by position: each object gets the result whose
    /// `field` equals its key, or null. For a service that answers in its own order and leaves
    /// out what it does not find.
    ///
    /// ```
    /// use quilt_stitch::EntryPoint;
    /// let users = EntryPoint::key_field("usersByIds", "id").match_by("id");
    /// # let _ = users;
    /// ```
    pub fn match_by(mut self, field: impl Into<String>) -> Self {
        self.matching = Matching::By(field.into());
        self
    }

    /// Turns the list a batched entry point returned into one value per key, in key order,
    /// with a function of (results, keys) (graphql-tools' `valuesFromResults`). The fields of
    /// the key selection are selected on every result, so the function can read them.
    ///
    /// ```
    /// use quilt_stitch::EntryPoint;
    /// use serde_json::Value;
    /// let users = EntryPoint::key_field("usersByIds", "id").values_from_results(|results, keys| {
    ///     keys.iter()
    ///         .map(|key| results.iter().find(|r| r.get("id") == Some(key)).cloned().unwrap_or(Value::Null))
    ///         .collect()
    /// });
    /// # let _ = users;
    /// ```
    pub fn values_from_results(
        mut self,
        values: impl Fn(Vec<Value>, &[Value]) -> Vec<Value> + Send + Sync + 'static,
    ) -> Self {
        self.matching = Matching::Values(Arc::new(values));
        self
    }

    /// The root field this entry point calls.
    pub fn field_name(&self) -> &str {
        &self.field_name
    }

    /// The key selection it needs (`{ id }`).
    pub fn selection_set(&self) -> &str {
        &self.selection_set
    }

    pub(crate) fn declarative(
        field_name: String,
        selection_set: String,
        declarative: Declarative,
    ) -> Self {
        Self {
            field_name,
            selection_set,
            args: EntryArgs::Declarative(declarative),
            matching: Matching::Position,
        }
    }
}

impl std::fmt::Debug for EntryPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryPoint")
            .field("field_name", &self.field_name)
            .field("selection_set", &self.selection_set)
            .finish_non_exhaustive()
    }
}

/// `a.b.c` as the selection `{ a { b { c } } }`.
pub(crate) fn nested_selection(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    format!(
        "{{ {}{} }}",
        parts.join(" { "),
        " }".repeat(parts.len().saturating_sub(1))
    )
}
