//! `@defer` and `@stream` in a plan.
//!
//! A deferred fragment is a group of steps of its own: the merged fields inside it that the
//! step of its parent object cannot resolve are cut into entity steps of that group (never
//! shared with the initial payload's steps), and its root fields into root steps of that
//! group. The fields inside it that the parent's subschema resolves stay in the parent's step
//! (the gateway asks for the whole and splits the delivery). Groups nest: a deferred fragment
//! inside another one is a group whose parent is that one's.
//!
//! `@stream` needs nothing of the planner: the list is fetched whole and the shaper delivers
//! its items after the first `initialCount`. Neither directive is sent to a subschema.

use apollo_compiler::ast;
use apollo_compiler::executable::{DirectiveList, Selection, SelectionSet};
use apollo_compiler::{Name, Node};

/// One deferred fragment at one place of the response.
#[derive(Debug)]
pub(crate) struct DeferGroup {
    /// The group it is nested in (0: the initial payload).
    pub parent: usize,
    /// The fragment's `label`.
    pub label: Option<String>,
    /// The response keys from the root to the objects it applies to (lists walked through).
    pub path: Vec<String>,
    /// The static type of those objects.
    pub path_type: Name,
    /// The fragment's type condition, when it narrows the objects.
    pub type_condition: Option<Name>,
    /// The fragment's selection, shaped on each object when the group is delivered.
    pub selection: SelectionSet,
    /// `if: $variable`: deferred only when the variable is true (else it is part of its
    /// parent group).
    pub if_variable: Option<Name>,
    /// Sent with `@defer` to the subschema of the root step it is in (which answers it
    /// itself): the group waits for that subschema's later payloads before its own steps.
    pub upstream: bool,
    /// Identifies the fragment in the document (the address of its selection set), so a
    /// fragment planned twice at one place is one group.
    origin: usize,
}

/// Whether a fragment's directives defer it.
pub(crate) enum Deferral {
    /// No `@defer`, or `@defer(if: false)`.
    Never,
    /// `@defer` or `@defer(if: true)`.
    Always,
    /// `@defer(if: $variable)`.
    If(Name),
}

/// How `@defer` (or `@stream`) in `directives` applies.
pub(crate) fn deferral(directives: &DirectiveList, name: &str) -> Deferral {
    let Some(directive) = directives.get(name) else {
        return Deferral::Never;
    };
    match directive.specified_argument_by_name("if").map(|v| &**v) {
        None | Some(ast::Value::Boolean(true)) => Deferral::Always,
        Some(ast::Value::Variable(variable)) => Deferral::If(variable.clone()),
        Some(_) => Deferral::Never,
    }
}

/// The `label` argument of `name` in `directives`.
pub(crate) fn label(directives: &DirectiveList, name: &str) -> Option<String> {
    directives
        .get(name)
        .and_then(|d| d.specified_argument_by_name("label"))
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Whether the request's variables turn the directive on (`Always`, or `If` a true variable).
pub(crate) fn active(deferral: &Deferral, variables: &quilt_executor::JsonMap) -> bool {
    match deferral {
        Deferral::Never => false,
        Deferral::Always => true,
        Deferral::If(name) => matches!(
            variables.get(name.as_str()),
            Some(serde_json::Value::Bool(true))
        ),
    }
}

/// `directives` without `@defer` and `@stream` (what a subschema is sent), or `None` when
/// there are none to remove.
pub(crate) fn without_incremental(directives: &DirectiveList) -> Option<DirectiveList> {
    if !directives.iter().any(|d| is_incremental(&d.name)) {
        return None;
    }
    Some(DirectiveList(
        directives
            .iter()
            .filter(|d| !is_incremental(&d.name))
            .cloned()
            .collect(),
    ))
}

fn is_incremental(name: &str) -> bool {
    name == "defer" || name == "stream"
}

/// The `@defer` sent to a subschema for group `group`: the client's `if`, and a label the
/// gateway chose.
pub(crate) fn upstream_defer(directives: &DirectiveList, group: usize) -> DirectiveList {
    let mut out = DirectiveList::new();
    for directive in directives.iter() {
        if directive.name == "stream" {
            continue;
        }
        if directive.name != "defer" {
            out.push(directive.clone());
            continue;
        }
        let mut defer = (**directive).clone();
        defer.arguments.retain(|a| a.name != "label");
        defer.arguments.push(Node::new(ast::Argument {
            name: Name::new_unchecked("label"),
            value: Node::new(ast::Value::String(format!(
                "{UPSTREAM_LABEL_PREFIX}{group}"
            ))),
        }));
        out.push(Node::new(defer));
    }
    out
}

/// The prefix of the labels the gateway gives the `@defer`s it sends to subschemas.
pub(crate) const UPSTREAM_LABEL_PREFIX: &str = "_qd";

/// Whether `selection` carries `@defer` or `@stream` (a named fragment holding one is not sent
/// as it is).
pub(crate) fn has_incremental(selection: &Selection) -> bool {
    selection
        .directives()
        .iter()
        .any(|d| is_incremental(&d.name))
}

/// The deferred groups of an operation while it is planned.
#[derive(Debug, Default)]
pub(crate) struct DeferGroups {
    /// Group `i + 1` is `groups[i]` (0 is the initial payload).
    pub groups: Vec<DeferGroup>,
    /// The `@stream`s of the operation's fields (not `if: false`): `None` always streams,
    /// `Some(variable)` when the variable is true.
    pub streams: Vec<Option<Name>>,
}

impl DeferGroups {
    /// The group of a fragment with `directives` found in group `parent` at `path`, if it
    /// defers: the one already planned for it there, or a new one.
    pub fn enter(
        &mut self,
        parent: usize,
        directives: &DirectiveList,
        selection: &SelectionSet,
        (path, path_type): (&[String], &Name),
    ) -> Option<usize> {
        let if_variable = match deferral(directives, "defer") {
            Deferral::Never => return None,
            Deferral::Always => None,
            Deferral::If(variable) => Some(variable),
        };
        let origin = selection as *const SelectionSet as usize;
        if let Some(i) = self
            .groups
            .iter()
            .position(|g| g.origin == origin && g.parent == parent && g.path == path)
        {
            return Some(i + 1);
        }
        self.groups.push(DeferGroup {
            parent,
            label: label(directives, "defer"),
            path: path.to_vec(),
            path_type: path_type.clone(),
            // The type the fragment's selection is on: its own condition, or the enclosing
            // fragment's.
            type_condition: (selection.ty != *path_type).then(|| selection.ty.clone()),
            selection: selection.clone(),
            if_variable,
            upstream: false,
            origin,
        });
        Some(self.groups.len())
    }

    /// Notes a field's `@stream`.
    pub fn note_field(&mut self, field: &Node<apollo_compiler::executable::Field>) {
        match deferral(&field.directives, "stream") {
            Deferral::Never => {}
            Deferral::Always => self.streams.push(None),
            Deferral::If(variable) => {
                if !self.streams.contains(&Some(variable.clone())) {
                    self.streams.push(Some(variable));
                }
            }
        }
    }
}
