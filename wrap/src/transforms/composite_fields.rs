//! The general field transforms: `TransformCompositeFields` and its narrower forms
//! `TransformObjectFields`, `TransformInterfaceFields` and `TransformRootFields` (`MapFields`,
//! in `map_fields.rs`, is built on it).
//!
//! The schema side is a closure over (type, field, definition) that keeps, removes or replaces
//! each field; a replacement with another name renames it, and requests then ask for the old
//! name under the new one as alias. The request side is an optional closure over each selected
//! field, called bottom-up (its sub-selections already mapped), that may keep, drop or replace
//! it. The result side is an optional closure over every object of the data (parent before
//! children) with its type name, and one over the errors.

use std::collections::HashMap;

use apollo_compiler::ast::{self, FieldDefinition, OperationType};
use apollo_compiler::schema::{Component, ExtendedType};
use apollo_compiler::{Name, Node, Schema};
use quilt_executor::{Document, ExecutionResult, GraphQLError, JsonMap};
use serde_json::Value;

use crate::schema_edit::heal;
use crate::type_info::{field_definition, operation, root_operation_of, root_type};
use crate::{Transform, TransformContext, TransformError};

/// What a field transformer does with one field of the schema.
#[derive(Debug, Clone)]
pub enum FieldChange {
    /// Leaves it as it is.
    Keep,
    /// Removes it (and whatever is left dangling: the schema stays valid).
    Remove,
    /// Replaces its definition. A definition with another name renames the field: requests
    /// ask the wrapped schema for the old name, aliased to the new one.
    Replace(FieldDefinition),
}

impl FieldChange {
    /// `definition` renamed to `name`.
    pub fn rename(definition: &FieldDefinition, name: Name) -> Self {
        let mut definition = definition.clone();
        definition.name = name;
        Self::Replace(definition)
    }
}

/// What a field node transformer does with one selected field of a request.
#[derive(Debug, Clone)]
pub enum FieldNodeChange {
    /// Sends it as it is.
    Keep,
    /// Leaves it out of the request.
    Remove,
    /// Sends this field instead (under the wrapped schema's name when the field was renamed).
    Field(ast::Field),
    /// Sends these selections instead, as they are.
    Selections(Vec<ast::Selection>),
}

pub(super) type FieldFn =
    Box<dyn Fn(&str, Option<OperationType>, &str, &FieldDefinition) -> FieldChange + Send + Sync>;
/// A field node transformer: (parent type, field name, the selected field) in the names of the
/// transformed schema.
pub type FieldNodeFn = Box<dyn Fn(&str, &str, &ast::Field) -> FieldNodeChange + Send + Sync>;
/// A result object transformer: (the object's type, the object).
pub type ObjectFn = Box<dyn Fn(&str, &mut JsonMap) + Send + Sync>;
/// An errors transformer.
pub type ErrorsFn = Box<dyn Fn(Vec<GraphQLError>) -> Vec<GraphQLError> + Send + Sync>;

/// The alias under which the type of every object is asked when results are mapped; removed
/// from the result afterwards.
const TYPENAME_ALIAS: &str = "__quiltTypename";

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Scope {
    Composite,
    Object,
    Interface,
    Root,
}

/// The general field transform: maps the fields of object and interface types (root types
/// included), each request's selected fields and each result's objects and errors. As
/// graphql-tools' `TransformCompositeFields(fieldTransformer, fieldNodeTransformer,
/// dataTransformer, errorsTransformer)`.
///
/// ```
/// use quilt_wrap::transforms::{FieldChange, TransformCompositeFields};
///
/// // `id` is called `key` on every type, and product names are shown in capitals.
/// let t = TransformCompositeFields::new(|_type_name, field, definition| match field {
///     "id" => FieldChange::rename(definition, apollo_compiler::name!("key")),
///     _ => FieldChange::Keep,
/// })
/// .objects(|type_name, object| {
///     if type_name == "Product" {
///         if let Some(serde_json::Value::String(name)) = object.get_mut("name") {
///             *name = name.to_uppercase();
///         }
///     }
/// });
/// # let _ = t;
/// ```
pub struct TransformCompositeFields {
    transform: &'static str,
    scope: Scope,
    fields: FieldFn,
    nodes: Option<FieldNodeFn>,
    objects: Option<ObjectFn>,
    errors: Option<ErrorsFn>,
    /// Set by `transform_schema`: the transformed schema and, by type, new field name → old.
    outer: Option<Schema>,
    renames: HashMap<Name, HashMap<Name, Name>>,
}

impl TransformCompositeFields {
    /// Maps the fields of object and interface types with `fields` (type name, field name,
    /// definition).
    pub fn new(
        fields: impl Fn(&str, &str, &FieldDefinition) -> FieldChange + Send + Sync + 'static,
    ) -> Self {
        Self::scoped(
            "TransformCompositeFields",
            Scope::Composite,
            Box::new(move |t, _, f, d| fields(t, f, d)),
        )
    }

    pub(super) fn scoped(transform: &'static str, scope: Scope, fields: FieldFn) -> Self {
        Self {
            transform,
            scope,
            fields,
            nodes: None,
            objects: None,
            errors: None,
            outer: None,
            renames: HashMap::new(),
        }
    }

    /// Maps each selected field of a request (parent type, field name, field), bottom-up.
    pub fn field_nodes(
        mut self,
        nodes: impl Fn(&str, &str, &ast::Field) -> FieldNodeChange + Send + Sync + 'static,
    ) -> Self {
        self.nodes = Some(Box::new(nodes));
        self
    }

    /// Maps every object of each result's data (its type name, the object), parents before
    /// their children. The type of every object is asked from the wrapped schema for this.
    pub fn objects(mut self, objects: impl Fn(&str, &mut JsonMap) + Send + Sync + 'static) -> Self {
        self.objects = Some(Box::new(objects));
        self
    }

    /// Maps each result's errors.
    pub fn errors(
        mut self,
        errors: impl Fn(Vec<GraphQLError>) -> Vec<GraphQLError> + Send + Sync + 'static,
    ) -> Self {
        self.errors = Some(Box::new(errors));
        self
    }

    fn apply(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let mut plan: Vec<(Name, Name, FieldChange)> = Vec::new();
        for (type_name, ty) in &schema.types {
            if type_name.starts_with("__") || ty.is_built_in() {
                continue;
            }
            let op = root_operation_of(&schema, type_name);
            let fields = match (self.scope, ty) {
                (Scope::Composite, ExtendedType::Object(t)) => &t.fields,
                (Scope::Object, ExtendedType::Object(t)) => &t.fields,
                (Scope::Root, ExtendedType::Object(t)) if op.is_some() => &t.fields,
                (Scope::Composite | Scope::Interface, ExtendedType::Interface(t)) => &t.fields,
                _ => continue,
            };
            for (field_name, field) in fields {
                if field_name.starts_with("__") {
                    continue;
                }
                match (self.fields)(type_name, op, field_name, field) {
                    FieldChange::Keep => {}
                    change => plan.push((type_name.clone(), field_name.clone(), change)),
                }
            }
        }
        for (type_name, field_name, change) in plan {
            let fields = match schema.types.get_mut(&type_name) {
                Some(ExtendedType::Object(t)) => &mut t.make_mut().fields,
                Some(ExtendedType::Interface(t)) => &mut t.make_mut().fields,
                _ => continue,
            };
            match change {
                FieldChange::Keep => {}
                FieldChange::Remove => {
                    fields.shift_remove(&field_name);
                }
                FieldChange::Replace(definition) => {
                    let new = definition.name.clone();
                    if new != field_name && fields.contains_key(&new) {
                        return Err(TransformError::schema(
                            self.transform,
                            format!("two fields of `{type_name}` would be called `{new}`"),
                        ));
                    }
                    let component: Component<FieldDefinition> =
                        Component::from(Node::new(definition));
                    *fields = std::mem::take(fields)
                        .into_iter()
                        .map(|(name, f)| {
                            if name == field_name {
                                (new.clone(), component.clone())
                            } else {
                                (name, f)
                            }
                        })
                        .collect();
                    if new != field_name {
                        self.renames
                            .entry(type_name.clone())
                            .or_default()
                            .insert(new, field_name);
                    }
                }
            }
        }
        let schema = heal(schema);
        self.outer = Some(schema.clone());
        Ok(schema)
    }

    fn maps_results(&self) -> bool {
        self.objects.is_some()
    }

    /// Maps one selection set (children first), with `parent` its type in the transformed
    /// schema.
    fn selections(&self, schema: &Schema, parent: &Name, selections: &mut Vec<ast::Selection>) {
        for selection in selections.iter_mut() {
            match selection {
                ast::Selection::Field(field) => {
                    if field.selection_set.is_empty() || field.name.starts_with("__") {
                        continue;
                    }
                    if let Some(definition) = field_definition(schema, parent, &field.name) {
                        let child = definition.ty.inner_named_type().clone();
                        self.selections(schema, &child, &mut field.make_mut().selection_set);
                    }
                }
                ast::Selection::InlineFragment(inline) => {
                    let condition = inline
                        .type_condition
                        .clone()
                        .unwrap_or_else(|| parent.clone());
                    self.selections(schema, &condition, &mut inline.make_mut().selection_set);
                }
                ast::Selection::FragmentSpread(_) => {}
            }
        }
        let mut mapped = Vec::with_capacity(selections.len() + 1);
        for selection in selections.drain(..) {
            let ast::Selection::Field(field) = selection else {
                mapped.push(selection);
                continue;
            };
            let change = match &self.nodes {
                Some(nodes) if !field.name.starts_with("__") => nodes(parent, &field.name, &field),
                _ => FieldNodeChange::Keep,
            };
            let name = field.name.clone();
            let field = match change {
                FieldNodeChange::Keep => field,
                FieldNodeChange::Remove => continue,
                FieldNodeChange::Field(replacement) => Node::new(replacement),
                FieldNodeChange::Selections(replacement) => {
                    mapped.extend(replacement);
                    continue;
                }
            };
            mapped.push(ast::Selection::Field(self.renamed(parent, &name, field)));
        }
        let subscription = schema.root_operation(OperationType::Subscription);
        if self.maps_results() && subscription != Some(parent) {
            mapped.push(ast::Selection::Field(Node::new(ast::Field {
                alias: Some(Name::new_unchecked(TYPENAME_ALIAS)),
                name: apollo_compiler::name!("__typename"),
                arguments: Vec::new(),
                directives: Default::default(),
                selection_set: Vec::new(),
            })));
        }
        *selections = mapped;
    }

    /// The field as the wrapped schema knows it: where the field selected as `name` was
    /// renamed, it asks for the old name under its response key.
    fn renamed(&self, parent: &Name, name: &Name, mut field: Node<ast::Field>) -> Node<ast::Field> {
        if let Some(old) = self.renames.get(parent).and_then(|fields| fields.get(name)) {
            let field = field.make_mut();
            if field.alias.is_none() {
                field.alias = Some(name.clone());
            }
            field.name = old.clone();
        }
        field
    }
}

impl Transform for TransformCompositeFields {
    fn name(&self) -> &str {
        self.transform
    }

    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        self.apply(schema)
    }

    fn transform_document(
        &self,
        document: &Document,
        _operation_name: Option<&str>,
    ) -> Result<Document, TransformError> {
        let Some(outer) = &self.outer else {
            return Err(TransformError::request(
                self.transform,
                "the transform was not applied to a schema",
            ));
        };
        if self.renames.is_empty() && self.nodes.is_none() && !self.maps_results() {
            return Ok(document.clone());
        }
        let mut ast = document.ast().clone();
        for definition in &mut ast.definitions {
            match definition {
                ast::Definition::OperationDefinition(op) => {
                    if let Some(root) = root_type(outer, op.operation_type) {
                        self.selections(outer, &root, &mut op.make_mut().selection_set);
                    }
                }
                ast::Definition::FragmentDefinition(fragment) => {
                    let fragment = fragment.make_mut();
                    let parent = fragment.type_condition.clone();
                    self.selections(outer, &parent, &mut fragment.selection_set);
                }
                _ => {}
            }
        }
        Ok(Document::from_ast(ast))
    }

    fn transform_result(
        &self,
        mut result: ExecutionResult,
        context: &TransformContext,
    ) -> ExecutionResult {
        if let (Some(objects), Some(outer)) = (&self.objects, &self.outer) {
            let root = operation(context.document().ast(), context.operation_name())
                .and_then(|op| root_type(outer, op.operation_type));
            if let Some(data) = result.data_value_mut() {
                visit(data, objects, root.as_deref());
                strip_typename_alias(data);
            }
            if let Some(parts) = &mut result.incremental {
                for part in parts {
                    for value in part.data.iter_mut().chain(part.items.iter_mut().flatten()) {
                        visit(value, objects, None);
                        strip_typename_alias(value);
                    }
                }
            }
        }
        if let Some(errors) = &self.errors {
            result.errors = errors(std::mem::take(&mut result.errors));
        }
        result
    }
}

/// Calls `objects` on every object of `value` whose type is known, parents first.
fn visit(value: &mut Value, objects: &ObjectFn, type_name: Option<&str>) {
    match value {
        Value::Array(items) => {
            for item in items {
                visit(item, objects, None);
            }
        }
        Value::Object(object) => {
            let known = object
                .get(TYPENAME_ALIAS)
                .or_else(|| object.get("__typename"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| type_name.map(str::to_owned));
            if let Some(type_name) = known {
                objects(&type_name, object);
            }
            for member in object.values_mut() {
                visit(member, objects, None);
            }
        }
        _ => {}
    }
}

/// Removes the type names asked for the object transformer.
fn strip_typename_alias(value: &mut Value) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(strip_typename_alias),
        Value::Object(object) => {
            object.shift_remove(TYPENAME_ALIAS);
            object.values_mut().for_each(strip_typename_alias);
        }
        _ => {}
    }
}

/// Generates a narrower form of [`TransformCompositeFields`]: the struct, `field_nodes` and
/// the [`Transform`] impl (each writes its own `new`).
macro_rules! narrower {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(TransformCompositeFields);

        impl $name {
            /// Maps each selected field of a request (parent type, field name, field),
            /// bottom-up.
            pub fn field_nodes(
                self,
                nodes: impl Fn(&str, &str, &ast::Field) -> FieldNodeChange + Send + Sync + 'static,
            ) -> Self {
                Self(self.0.field_nodes(nodes))
            }
        }

        impl Transform for $name {
            fn name(&self) -> &str {
                self.0.name()
            }
            fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
                self.0.transform_schema(schema)
            }
            fn transform_document(
                &self,
                document: &Document,
                operation_name: Option<&str>,
            ) -> Result<Document, TransformError> {
                self.0.transform_document(document, operation_name)
            }
        }
    };
}

narrower!(
    /// Maps the fields of object types (root types included) with a closure over (type name,
    /// field name, definition); as graphql-tools' `TransformObjectFields`.
    ///
    /// ```
    /// use quilt_wrap::transforms::{FieldChange, TransformObjectFields};
    /// let t = TransformObjectFields::new(|type_name, field, _| {
    ///     if type_name == "User" && field == "password" { FieldChange::Remove } else { FieldChange::Keep }
    /// });
    /// # let _ = t;
    /// ```
    TransformObjectFields
);

impl TransformObjectFields {
    /// Maps the fields of object types with `fields` (type name, field name, definition).
    pub fn new(
        fields: impl Fn(&str, &str, &FieldDefinition) -> FieldChange + Send + Sync + 'static,
    ) -> Self {
        Self(TransformCompositeFields::scoped(
            "TransformObjectFields",
            Scope::Object,
            Box::new(move |t, _, f, d| fields(t, f, d)),
        ))
    }
}

narrower!(
    /// Maps the fields of interface types with a closure over (interface name, field name,
    /// definition); the implementing types are left as they are (as graphql-tools'
    /// `TransformInterfaceFields`), so a rename must be made on them too, with
    /// [`TransformObjectFields`] or [`TransformCompositeFields`].
    TransformInterfaceFields
);

impl TransformInterfaceFields {
    /// Maps the fields of interface types with `fields` (interface name, field name,
    /// definition).
    pub fn new(
        fields: impl Fn(&str, &str, &FieldDefinition) -> FieldChange + Send + Sync + 'static,
    ) -> Self {
        Self(TransformCompositeFields::scoped(
            "TransformInterfaceFields",
            Scope::Interface,
            Box::new(move |t, _, f, d| fields(t, f, d)),
        ))
    }
}

narrower!(
    /// Maps root fields with a closure over (operation type, field name, definition); as
    /// graphql-tools' `TransformRootFields`.
    ///
    /// ```
    /// use apollo_compiler::name;
    /// use quilt_wrap::transforms::{FieldChange, TransformRootFields};
    /// let t = TransformRootFields::new(|_operation, field, definition| match field {
    ///     "topProducts" => FieldChange::rename(definition, name!("bestSellers")),
    ///     "internal" => FieldChange::Remove,
    ///     _ => FieldChange::Keep,
    /// });
    /// # let _ = t;
    /// ```
    TransformRootFields
);

impl TransformRootFields {
    /// Maps the root fields with `fields` (operation type, field name, definition).
    pub fn new(
        fields: impl Fn(OperationType, &str, &FieldDefinition) -> FieldChange + Send + Sync + 'static,
    ) -> Self {
        Self(TransformCompositeFields::scoped(
            "TransformRootFields",
            Scope::Root,
            Box::new(move |_, op, f, d| op.map_or(FieldChange::Keep, |op| fields(op, f, d))),
        ))
    }
}
