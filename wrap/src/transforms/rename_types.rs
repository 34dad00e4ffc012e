//! `RenameTypes` and `RenameRootTypes`: new names for types; fragment type conditions and
//! variable types are mapped back in requests, `__typename`s forward in results.

use std::collections::{HashMap, HashSet};

use apollo_compiler::{Name, Schema};

use crate::mapping::{Mapped, NameMap, delegate_mapping};
use crate::schema_edit::rename_types;
use crate::type_info::new_name;
use crate::{Transform, TransformError};

type Renamer = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Renames types: the closure gets each type's name and returns its new name (`None` keeps it).
/// Built-in scalars and introspection types are never renamed; other scalars are unless
/// [`RenameTypes::rename_scalars`] says not to. Root types are renamed too.
///
/// ```
/// use quilt_wrap::transforms::RenameTypes;
/// let transform = RenameTypes::new(|name| Some(format!("Gh{name}")));
/// ```
pub struct RenameTypes {
    renamer: Renamer,
    rename_scalars: bool,
    roots_only: bool,
    mapped: Option<Mapped<NameMap>>,
}

impl RenameTypes {
    /// Renames every type the closure gives a new name.
    pub fn new(renamer: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            renamer: Box::new(renamer),
            rename_scalars: true,
            roots_only: false,
            mapped: None,
        }
    }

    /// Whether custom scalars are renamed (default: yes).
    pub fn rename_scalars(mut self, rename: bool) -> Self {
        self.rename_scalars = rename;
        self
    }

    fn apply(&mut self, schema: Schema, transform: &str) -> Result<Schema, TransformError> {
        let roots: HashSet<Name> = schema
            .schema_definition
            .iter_root_operations()
            .map(|(_, name)| name.name.clone())
            .collect();
        let mut renames = HashMap::new();
        let mut map = NameMap::default();
        for (name, ty) in &schema.types {
            if ty.is_built_in() || name.starts_with("__") {
                continue;
            }
            if (ty.is_scalar() && !self.rename_scalars)
                || (self.roots_only && !roots.contains(name))
            {
                continue;
            }
            if let Some(new) = (self.renamer)(name)
                && new != name.as_str()
            {
                let new = new_name(transform, &new)?;
                renames.insert(name.clone(), new.clone());
                map.rename_type(name.clone(), new);
            }
        }
        let mut seen = HashSet::new();
        for name in schema.types.keys() {
            let final_name = renames.get(name).unwrap_or(name);
            if !seen.insert(final_name.clone()) {
                return Err(TransformError::schema(
                    transform,
                    format!("two types would be called `{final_name}`"),
                ));
            }
        }
        let outer = rename_types(schema, &renames);
        self.mapped = Some(Mapped {
            outer: outer.clone(),
            mapper: map,
        });
        Ok(outer)
    }
}

impl Transform for RenameTypes {
    fn name(&self) -> &str {
        if self.roots_only {
            "RenameRootTypes"
        } else {
            "RenameTypes"
        }
    }

    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        let name = self.name().to_owned();
        self.apply(schema, &name)
    }

    delegate_mapping!(mapped);
}

/// Renames the root operation types (`Query`, `Mutation`, `Subscription`): the closure gets
/// each root type's name and returns its new name (`None` keeps it).
pub struct RenameRootTypes(RenameTypes);

impl RenameRootTypes {
    /// Renames the root types the closure gives a new name.
    pub fn new(renamer: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        let mut inner = RenameTypes::new(renamer);
        inner.roots_only = true;
        Self(inner)
    }
}

impl Transform for RenameRootTypes {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
        self.0.transform_schema(schema)
    }
    fn transform_document(
        &self,
        document: &quilt_executor::Document,
        operation_name: Option<&str>,
    ) -> Result<quilt_executor::Document, TransformError> {
        self.0.transform_document(document, operation_name)
    }
    fn transform_variables(
        &self,
        variables: quilt_executor::JsonMap,
        context: &crate::TransformContext,
    ) -> Result<quilt_executor::JsonMap, TransformError> {
        self.0.transform_variables(variables, context)
    }
    fn transform_result(
        &self,
        result: quilt_executor::ExecutionResult,
        context: &crate::TransformContext,
    ) -> quilt_executor::ExecutionResult {
        self.0.transform_result(result, context)
    }
}
