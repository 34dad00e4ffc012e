//! Editing a schema as a whole: renaming types everywhere they are referenced, removing what
//! refers to removed types, and dropping types no root can reach.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::{FieldDefinition, InputValueDefinition, Type};
use apollo_compiler::schema::{ComponentName, ExtendedType};
use apollo_compiler::{Name, Node, Schema};

/// Renames types (keys: old names) everywhere: definitions, field, argument and input field
/// types, interfaces, union members, directive arguments and the root operations.
pub(crate) fn rename_types(mut schema: Schema, renames: &HashMap<Name, Name>) -> Schema {
    if renames.is_empty() {
        return schema;
    }
    let rename = |name: &Name| renames.get(name).cloned();
    let types = std::mem::take(&mut schema.types);
    for (name, mut ty) in types {
        let new_name = rename(&name).unwrap_or(name);
        match &mut ty {
            ExtendedType::Scalar(t) => t.make_mut().name = new_name.clone(),
            ExtendedType::Object(t) => {
                let t = t.make_mut();
                t.name = new_name.clone();
                t.implements_interfaces = rename_set(&t.implements_interfaces, &rename);
                for field in t.fields.values_mut() {
                    rename_field(field.make_mut(), &rename);
                }
            }
            ExtendedType::Interface(t) => {
                let t = t.make_mut();
                t.name = new_name.clone();
                t.implements_interfaces = rename_set(&t.implements_interfaces, &rename);
                for field in t.fields.values_mut() {
                    rename_field(field.make_mut(), &rename);
                }
            }
            ExtendedType::Union(t) => {
                let t = t.make_mut();
                t.name = new_name.clone();
                t.members = rename_set(&t.members, &rename);
            }
            ExtendedType::Enum(t) => t.make_mut().name = new_name.clone(),
            ExtendedType::InputObject(t) => {
                let t = t.make_mut();
                t.name = new_name.clone();
                for field in t.fields.values_mut() {
                    rename_input_value(field.make_mut(), &rename);
                }
            }
        }
        schema.types.insert(new_name, ty);
    }
    for directive in schema.directive_definitions.values_mut() {
        for argument in &mut directive.make_mut().arguments {
            rename_input_value(argument.make_mut(), &rename);
        }
    }
    let definition = schema.schema_definition.make_mut();
    for root in [
        &mut definition.query,
        &mut definition.mutation,
        &mut definition.subscription,
    ]
    .into_iter()
    .flatten()
    {
        if let Some(new_name) = rename(&root.name) {
            root.name = new_name;
        }
    }
    schema
}

fn rename_set(
    set: &apollo_compiler::collections::IndexSet<ComponentName>,
    rename: &impl Fn(&Name) -> Option<Name>,
) -> apollo_compiler::collections::IndexSet<ComponentName> {
    set.iter()
        .map(|c| match rename(&c.name) {
            Some(name) => ComponentName {
                origin: c.origin.clone(),
                name,
            },
            None => c.clone(),
        })
        .collect()
}

fn rename_field(field: &mut FieldDefinition, rename: &impl Fn(&Name) -> Option<Name>) {
    rename_type_ref(&mut field.ty, rename);
    for argument in &mut field.arguments {
        rename_input_value(argument.make_mut(), rename);
    }
}

fn rename_input_value(value: &mut InputValueDefinition, rename: &impl Fn(&Name) -> Option<Name>) {
    rename_type_ref(value.ty.make_mut(), rename);
}

/// Renames the named type inside a type reference.
pub(crate) fn rename_type_ref(ty: &mut Type, rename: &impl Fn(&Name) -> Option<Name>) {
    match ty {
        Type::Named(name) | Type::NonNullNamed(name) => {
            if let Some(new_name) = rename(name) {
                *name = new_name;
            }
        }
        Type::List(item) | Type::NonNullList(item) => rename_type_ref(item, rename),
    }
}

/// Removes, until nothing changes, whatever refers to a type that is not in the schema: fields,
/// arguments, input fields, union members, implemented interfaces, root operations; then types
/// left without fields, values or members.
pub(crate) fn heal(mut schema: Schema) -> Schema {
    loop {
        let known: HashSet<Name> = schema.types.keys().cloned().collect();
        let exists = |ty: &Type| known.contains(ty.inner_named_type());
        let field_ok = |f: &FieldDefinition| {
            exists(&f.ty)
                && f.arguments
                    .iter()
                    .all(|a| exists(&a.ty) || !a.is_required())
        };
        let mut changed = false;
        let mut empty = Vec::new();
        // Objects and interfaces have the same `fields` and `implements_interfaces` but no common
        // trait: one body for both. Drops fields and arguments whose types are gone and
        // interfaces that are gone; remembers types left without fields.
        macro_rules! drop_dangling_fields {
            ($t:ident, $name:ident) => {{
                if $t.fields.values().any(|f| !field_ok(f))
                    || $t
                        .fields
                        .values()
                        .any(|f| f.arguments.iter().any(|a| !exists(&a.ty)))
                    || $t
                        .implements_interfaces
                        .iter()
                        .any(|i| !known.contains(&i.name))
                {
                    let $t = $t.make_mut();
                    $t.fields.retain(|_, f| field_ok(f));
                    for f in $t.fields.values_mut() {
                        f.make_mut().arguments.retain(|a| exists(&a.ty));
                    }
                    $t.implements_interfaces.retain(|i| known.contains(&i.name));
                    changed = true;
                }
                if $t.fields.is_empty() {
                    empty.push($name.clone());
                }
            }};
        }
        for (name, ty) in schema.types.iter_mut() {
            match ty {
                ExtendedType::Object(t) => drop_dangling_fields!(t, name),
                ExtendedType::Interface(t) => drop_dangling_fields!(t, name),
                ExtendedType::Union(t) => {
                    if t.members.iter().any(|m| !known.contains(&m.name)) {
                        t.make_mut().members.retain(|m| known.contains(&m.name));
                        changed = true;
                    }
                    if t.members.is_empty() {
                        empty.push(name.clone());
                    }
                }
                ExtendedType::InputObject(t) => {
                    if t.fields.values().any(|f| !exists(&f.ty)) {
                        t.make_mut().fields.retain(|_, f| exists(&f.ty));
                        changed = true;
                    }
                    if t.fields.is_empty() {
                        empty.push(name.clone());
                    }
                }
                ExtendedType::Enum(t) => {
                    if t.values.is_empty() {
                        empty.push(name.clone());
                    }
                }
                ExtendedType::Scalar(_) => {}
            }
        }
        for name in &empty {
            schema.types.shift_remove(name);
            changed = true;
        }
        for directive in schema.directive_definitions.values_mut() {
            if directive.arguments.iter().any(|a| !exists(&a.ty)) {
                directive.make_mut().arguments.retain(|a| exists(&a.ty));
                changed = true;
            }
        }
        let definition = schema.schema_definition.make_mut();
        for root in [&mut definition.mutation, &mut definition.subscription] {
            if root
                .as_ref()
                .is_some_and(|r| !known.contains(&r.name) || empty.contains(&r.name))
            {
                *root = None;
                changed = true;
            }
        }
        if !changed {
            return schema;
        }
    }
}

/// Removes the types that no root operation type and no directive definition can reach
/// (implementations of a reachable interface count as reachable). Built-in scalars stay.
pub(crate) fn prune(mut schema: Schema) -> Schema {
    let mut implementers: HashMap<Name, Vec<Name>> = HashMap::new();
    for (name, ty) in &schema.types {
        let interfaces = match ty {
            ExtendedType::Object(t) => &t.implements_interfaces,
            ExtendedType::Interface(t) => &t.implements_interfaces,
            _ => continue,
        };
        for interface in interfaces {
            implementers
                .entry(interface.name.clone())
                .or_default()
                .push(name.clone());
        }
    }
    let mut reachable: HashSet<Name> = HashSet::new();
    let mut queue: Vec<Name> = schema
        .schema_definition
        .iter_root_operations()
        .map(|(_, name)| name.name.clone())
        .collect();
    for directive in schema.directive_definitions.values() {
        queue.extend(
            directive
                .arguments
                .iter()
                .map(|a| a.ty.inner_named_type().clone()),
        );
    }
    let add_field = |queue: &mut Vec<Name>, field: &Node<FieldDefinition>| {
        queue.push(field.ty.inner_named_type().clone());
        queue.extend(
            field
                .arguments
                .iter()
                .map(|a| a.ty.inner_named_type().clone()),
        );
    };
    while let Some(name) = queue.pop() {
        if !reachable.insert(name.clone()) {
            continue;
        }
        match schema.types.get(&name) {
            Some(ExtendedType::Object(t)) => {
                t.fields.values().for_each(|f| add_field(&mut queue, f));
                queue.extend(t.implements_interfaces.iter().map(|i| i.name.clone()));
            }
            Some(ExtendedType::Interface(t)) => {
                t.fields.values().for_each(|f| add_field(&mut queue, f));
                queue.extend(t.implements_interfaces.iter().map(|i| i.name.clone()));
                queue.extend(implementers.get(&name).into_iter().flatten().cloned());
            }
            Some(ExtendedType::Union(t)) => queue.extend(t.members.iter().map(|m| m.name.clone())),
            Some(ExtendedType::InputObject(t)) => {
                queue.extend(t.fields.values().map(|f| f.ty.inner_named_type().clone()))
            }
            _ => {}
        }
    }
    schema
        .types
        .retain(|name, ty| ty.is_built_in() || reachable.contains(name));
    schema
}
