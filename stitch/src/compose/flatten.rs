//! Copies of subschema types with every part marked as a plain definition.
//!
//! apollo-compiler remembers whether each field, interface, member or value came from a type
//! definition or from an `extend type` block, and prints the extension blocks again. The
//! stitched schema is one flat definition per type, so every component is re-marked as part of
//! the definition before it is inserted.

use apollo_compiler::Node;
use apollo_compiler::schema::{Component, ComponentName, DirectiveList, ExtendedType};

/// The type with every component re-marked as coming from its definition.
pub(crate) fn flatten(ty: &ExtendedType) -> ExtendedType {
    match ty {
        ExtendedType::Scalar(t) => {
            let mut t = (**t).clone();
            t.directives = directives(&t.directives);
            ExtendedType::Scalar(Node::new(t))
        }
        ExtendedType::Object(t) => {
            let mut t = (**t).clone();
            t.directives = directives(&t.directives);
            t.implements_interfaces = t.implements_interfaces.iter().map(name).collect();
            t.fields = t
                .fields
                .iter()
                .map(|(k, f)| (k.clone(), Component::from(f.node.clone())))
                .collect();
            ExtendedType::Object(Node::new(t))
        }
        ExtendedType::Interface(t) => {
            let mut t = (**t).clone();
            t.directives = directives(&t.directives);
            t.implements_interfaces = t.implements_interfaces.iter().map(name).collect();
            t.fields = t
                .fields
                .iter()
                .map(|(k, f)| (k.clone(), Component::from(f.node.clone())))
                .collect();
            ExtendedType::Interface(Node::new(t))
        }
        ExtendedType::Union(t) => {
            let mut t = (**t).clone();
            t.directives = directives(&t.directives);
            t.members = t.members.iter().map(name).collect();
            ExtendedType::Union(Node::new(t))
        }
        ExtendedType::Enum(t) => {
            let mut t = (**t).clone();
            t.directives = directives(&t.directives);
            t.values = t
                .values
                .iter()
                .map(|(k, v)| (k.clone(), Component::from(v.node.clone())))
                .collect();
            ExtendedType::Enum(Node::new(t))
        }
        ExtendedType::InputObject(t) => {
            let mut t = (**t).clone();
            t.directives = directives(&t.directives);
            t.fields = t
                .fields
                .iter()
                .map(|(k, f)| (k.clone(), Component::from(f.node.clone())))
                .collect();
            ExtendedType::InputObject(Node::new(t))
        }
    }
}

fn name(component: &ComponentName) -> ComponentName {
    ComponentName::from(component.name.clone())
}

fn directives(list: &DirectiveList) -> DirectiveList {
    DirectiveList(
        list.0
            .iter()
            .map(|d| Component::from(d.node.clone()))
            .collect(),
    )
}
