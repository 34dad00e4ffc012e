//! Removing what only configures the gateway from the stitched schema: the stitching and
//! federation directives where they are applied, and federation's helper types.

use apollo_compiler::schema::{
    Component, DirectiveList, ExtendedType, FieldDefinition, InputValueDefinition,
};
use apollo_compiler::{Name, Node, ast};

/// Directives that configure the gateway and are not part of the stitched schema.
pub(crate) const GATEWAY_DIRECTIVES: &[&str] = &[
    "key",
    "merge",
    "computed",
    "canonical",
    "external",
    "requires",
    "provides",
    "shareable",
    "extends",
    "link",
    "override",
    "inaccessible",
    "interfaceObject",
    "composeDirective",
];

fn keep(list: &DirectiveList) -> DirectiveList {
    DirectiveList(
        list.0
            .iter()
            .filter(|d| !GATEWAY_DIRECTIVES.contains(&d.name.as_str()))
            .cloned()
            .collect(),
    )
}

fn keep_ast(list: &ast::DirectiveList) -> ast::DirectiveList {
    ast::DirectiveList(
        list.0
            .iter()
            .filter(|d| !GATEWAY_DIRECTIVES.contains(&d.name.as_str()))
            .cloned()
            .collect(),
    )
}

fn argument(arg: &Node<InputValueDefinition>) -> Node<InputValueDefinition> {
    let mut arg = (**arg).clone();
    arg.directives = keep_ast(&arg.directives);
    Node::new(arg)
}

/// A field definition without gateway directives (on it and its arguments).
pub(crate) fn strip_field(field: &Node<FieldDefinition>) -> Node<FieldDefinition> {
    let mut field = (**field).clone();
    field.directives = keep_ast(&field.directives);
    field.arguments = field.arguments.iter().map(argument).collect();
    Node::new(field)
}

/// A type without gateway directives.
pub(crate) fn strip_type(ty: &ExtendedType) -> ExtendedType {
    match ty {
        ExtendedType::Object(t) => {
            let mut t = (**t).clone();
            t.directives = keep(&t.directives);
            for field in t.fields.values_mut() {
                *field = Component::from(strip_field(&field.node));
            }
            ExtendedType::Object(Node::new(t))
        }
        ExtendedType::Interface(t) => {
            let mut t = (**t).clone();
            t.directives = keep(&t.directives);
            for field in t.fields.values_mut() {
                *field = Component::from(strip_field(&field.node));
            }
            ExtendedType::Interface(Node::new(t))
        }
        ExtendedType::Union(t) => {
            let mut t = (**t).clone();
            t.directives = keep(&t.directives);
            ExtendedType::Union(Node::new(t))
        }
        ExtendedType::Enum(t) => {
            let mut t = (**t).clone();
            t.directives = keep(&t.directives);
            for value in t.values.values_mut() {
                let mut v = (*value.node).clone();
                v.directives = keep_ast(&v.directives);
                *value = Component::from(Node::new(v));
            }
            ExtendedType::Enum(Node::new(t))
        }
        ExtendedType::Scalar(t) => {
            let mut t = (**t).clone();
            t.directives = keep(&t.directives);
            ExtendedType::Scalar(Node::new(t))
        }
        ExtendedType::InputObject(t) => {
            let mut t = (**t).clone();
            t.directives = keep(&t.directives);
            for field in t.fields.values_mut() {
                let mut f = (*field.node).clone();
                f.directives = keep_ast(&f.directives);
                *field = Component::from(Node::new(f));
            }
            ExtendedType::InputObject(Node::new(t))
        }
    }
}

/// Federation's types that only `_entities` and `_service` use.
pub(crate) fn is_federation_helper(name: &Name, ty: &ExtendedType) -> bool {
    matches!(name.as_str(), "_Any" | "_Entity" | "_Service")
        || name.starts_with("link__")
        || name.starts_with("federation__")
        || (matches!(name.as_str(), "FieldSet" | "_FieldSet") && ty.is_scalar())
}
