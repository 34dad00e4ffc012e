//! Renaming fields, arguments and input fields: `RenameRootFields`, `RenameObjectFields`,
//! `RenameInterfaceFields`, `RenameObjectFieldArguments`, `RenameInputObjectFields`.
//!
//! A renamed field is requested as `newName: oldName` (the client's own alias is kept), so
//! result keys need no mapping; renamed arguments and input fields are renamed in literals and
//! variable values.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::{FieldDefinition, OperationType};
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::{Component, ExtendedType};
use apollo_compiler::{Name, Schema};

use crate::mapping::{Mapped, NameMap};
use crate::type_info::{new_name, root_operation_of};
use crate::{Transform, TransformError};

/// Where a field is: its type, the operation type when the type is a root, the field.
type FieldRenamer = Box<
    dyn Fn(&str, Option<OperationType>, &str, &FieldDefinition) -> Option<String> + Send + Sync,
>;

#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Root,
    Object,
    Interface,
}

/// The shared engine of the field renames.
struct FieldRename {
    transform: &'static str,
    scope: Scope,
    renamer: FieldRenamer,
    mapped: Option<Mapped<NameMap>>,
}

impl FieldRename {
    fn apply(&mut self, mut schema: Schema) -> Result<Schema, TransformError> {
        let mut map = NameMap::default();
        // type -> (old field -> new field)
        let mut plan: HashMap<Name, HashMap<Name, Name>> = HashMap::new();
        for (type_name, ty) in &schema.types {
            if type_name.starts_with("__") {
                continue;
            }
            let fields = match (self.scope, ty) {
                (Scope::Root, ExtendedType::Object(t))
                    if root_operation_of(&schema, type_name).is_some() =>
                {
                    &t.fields
                }
                (Scope::Object, ExtendedType::Object(t)) => &t.fields,
                (Scope::Interface, ExtendedType::Interface(t)) => &t.fields,
                _ => continue,
            };
            for (field_name, field) in fields {
                if field_name.starts_with("__") {
                    continue;
                }
                let op = root_operation_of(&schema, type_name);
                if let Some(new) = (self.renamer)(type_name, op, field_name, field)
                    && new != field_name.as_str()
                {
                    let new = new_name(self.transform, &new)?;
                    plan.entry(type_name.clone())
                        .or_default()
                        .insert(field_name.clone(), new);
                }
            }
        }
        if self.scope == Scope::Interface {
            // Implementations must rename the same fields, or the schema would not validate.
            let implementers = schema.implementers_map();
            let interface_plans: Vec<(Name, HashMap<Name, Name>)> =
                plan.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            for (interface, renames) in interface_plans {
                if let Some(implementers) = implementers.get(&interface) {
                    for implementer in implementers.iter() {
                        let entry = plan.entry(implementer.clone()).or_default();
                        for (old, new) in &renames {
                            entry.entry(old.clone()).or_insert_with(|| new.clone());
                        }
                    }
                }
            }
        }
        for (type_name, renames) in &plan {
            let fields = match schema.types.get_mut(type_name) {
                Some(ExtendedType::Object(t)) => &mut t.make_mut().fields,
                Some(ExtendedType::Interface(t)) => &mut t.make_mut().fields,
                _ => continue,
            };
            *fields = rename_components(std::mem::take(fields), renames, |f, name| {
                f.make_mut().name = name
            })
            .map_err(|name| {
                TransformError::schema(
                    self.transform,
                    format!("two fields of `{type_name}` would be called `{name}`"),
                )
            })?;
            for (old, new) in renames {
                map.rename_field(type_name.clone(), old.clone(), new.clone());
            }
        }
        self.mapped = Some(Mapped {
            outer: schema.clone(),
            mapper: map,
        });
        Ok(schema)
    }
}

/// Renames the keys of an ordered map (keeping order), setting each renamed value's name;
/// `Err(name)` when two entries would share a name.
fn rename_components<T>(
    fields: IndexMap<Name, Component<T>>,
    renames: &HashMap<Name, Name>,
    set_name: impl Fn(&mut Component<T>, Name),
) -> Result<IndexMap<Name, Component<T>>, Name> {
    let mut out = IndexMap::default();
    let mut seen = HashSet::new();
    for (name, mut value) in fields {
        let name = match renames.get(&name) {
            Some(new) => {
                set_name(&mut value, new.clone());
                new.clone()
            }
            None => name,
        };
        if !seen.insert(name.clone()) {
            return Err(name);
        }
        out.insert(name, value);
    }
    Ok(out)
}

/// Implements [`Transform`] for a newtype over [`FieldRename`].
macro_rules! field_rename_transform {
    ($name:ident) => {
        impl Transform for $name {
            fn name(&self) -> &str {
                stringify!($name)
            }
            fn transform_schema(&mut self, schema: Schema) -> Result<Schema, TransformError> {
                self.0.apply(schema)
            }
            fn transform_document(
                &self,
                document: &quilt_executor::Document,
                _operation_name: Option<&str>,
            ) -> Result<quilt_executor::Document, TransformError> {
                match &self.0.mapped {
                    Some(mapped) => Ok(mapped.document(document)),
                    None => Err(TransformError::request(
                        stringify!($name),
                        "the transform was not applied to a schema",
                    )),
                }
            }
        }
    };
}

fn field_rename(transform: &'static str, scope: Scope, renamer: FieldRenamer) -> FieldRename {
    FieldRename {
        transform,
        scope,
        renamer,
        mapped: None,
    }
}

/// Renames fields of object types (root types included): the closure gets the type name, the
/// field name and its definition and returns the new name (`None` keeps it).
///
/// ```
/// use quilt_wrap::transforms::RenameObjectFields;
/// let t = RenameObjectFields::new(|type_name, field, _| {
///     (type_name == "User" && field == "name").then(|| "fullName".to_owned())
/// });
/// ```
pub struct RenameObjectFields(FieldRename);

impl RenameObjectFields {
    /// Renames the fields the closure gives a new name.
    pub fn new(
        renamer: impl Fn(&str, &str, &FieldDefinition) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self(field_rename(
            "RenameObjectFields",
            Scope::Object,
            Box::new(move |t, _, f, d| renamer(t, f, d)),
        ))
    }
}
field_rename_transform!(RenameObjectFields);

/// Renames fields of interface types, and the same fields of the types implementing them (so
/// the schema stays valid): the closure gets the interface name, the field name and its
/// definition and returns the new name (`None` keeps it).
pub struct RenameInterfaceFields(FieldRename);

impl RenameInterfaceFields {
    /// Renames the fields the closure gives a new name.
    pub fn new(
        renamer: impl Fn(&str, &str, &FieldDefinition) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self(field_rename(
            "RenameInterfaceFields",
            Scope::Interface,
            Box::new(move |t, _, f, d| renamer(t, f, d)),
        ))
    }
}
field_rename_transform!(RenameInterfaceFields);

/// Renames root fields: the closure gets the operation type, the field name and its definition
/// and returns the new name (`None` keeps it).
///
/// ```
/// use quilt_wrap::transforms::RenameRootFields;
/// let t = RenameRootFields::new(|_operation, field, _| Some(format!("gh_{field}")));
/// ```
pub struct RenameRootFields(FieldRename);

impl RenameRootFields {
    /// Renames the root fields the closure gives a new name.
    pub fn new(
        renamer: impl Fn(OperationType, &str, &FieldDefinition) -> Option<String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self(field_rename(
            "RenameRootFields",
            Scope::Root,
            Box::new(move |_, op, f, d| renamer(op?, f, d)),
        ))
    }
}
field_rename_transform!(RenameRootFields);
