//! Building one step's document: the root fields a subschema owns, their subtrees checked
//! against what the subschema can resolve, `__typename` added under abstract types, the
//! fragments and variables it uses.

use std::collections::HashSet;

use apollo_compiler::ast::{self, Type};
use apollo_compiler::executable::{
    ExecutableDocument, Field, Fragment, InlineFragment, Operation, Selection, SelectionSet,
};
use apollo_compiler::schema::FieldDefinition;
use apollo_compiler::{Name, Node};
use indexmap::IndexSet;
use quilt_executor::{Document, Location};

use super::build::RootEntry;
use super::{FetchStep, PlanError, PlanInput, ResponsePath, StepField};

/// Builds the step of one subschema.
pub(super) struct StepBuilder<'a, 'i> {
    input: &'i PlanInput<'a>,
    subschema: usize,
    fragments: IndexSet<Name>,
    typename: Node<FieldDefinition>,
}

impl<'a, 'i> StepBuilder<'a, 'i> {
    pub fn new(input: &'i PlanInput<'a>, subschema: usize) -> Self {
        Self {
            input,
            subschema,
            fragments: IndexSet::new(),
            typename: Node::new(FieldDefinition {
                description: None,
                name: Name::new_unchecked("__typename"),
                arguments: Vec::new(),
                ty: Type::NonNullNamed(Name::new_unchecked("String")),
                directives: Default::default(),
            }),
        }
    }

    /// The step for `entries`, root fields all owned by this builder's subschema.
    pub fn build(mut self, entries: &[RootEntry<'_>]) -> Result<FetchStep, PlanError> {
        let operation = self.input.operation;
        let mut root = SelectionSet::new(operation.selection_set.ty.clone());
        let mut fields = Vec::new();
        for entry in entries {
            let field = self.project_field(entry.field)?;
            let mut selection = Selection::Field(field);
            for conditions in entry.conditions.iter().rev() {
                if conditions.is_empty() {
                    continue;
                }
                let mut fragment = InlineFragment::without_type_condition(root.ty.clone());
                fragment.directives = conditions.clone();
                fragment.selection_set.push(selection);
                selection = Selection::InlineFragment(Node::new(fragment));
            }
            root.push(selection);
            let key = entry.field.response_key().to_string();
            if !fields.iter().any(|f: &StepField| f.key == key) {
                fields.push(StepField {
                    key,
                    location: location(self.input.document, entry.field),
                });
            }
        }

        let mut document = ExecutableDocument::new();
        let mut done = 0;
        while done < self.fragments.len() {
            let name = self.fragments[done].clone();
            done += 1;
            let Some(fragment) = self.input.document.fragments.get(&name) else {
                continue;
            };
            let selection_set = self.project_set(&fragment.selection_set)?;
            document.fragments.insert(
                name.clone(),
                Node::new(Fragment {
                    name,
                    directives: fragment.directives.clone(),
                    selection_set,
                }),
            );
        }

        let mut used = HashSet::new();
        variables_in_set(&root, &mut used);
        for fragment in document.fragments.values() {
            variables_in_set(&fragment.selection_set, &mut used);
            variables_in_directives(&fragment.directives, &mut used);
        }
        let variables: Vec<_> = operation
            .variables
            .iter()
            .filter(|v| used.contains(v.name.as_str()))
            .cloned()
            .collect();
        let variable_names = variables.iter().map(|v| v.name.clone()).collect();
        document.operations.insert(Node::new(Operation {
            operation_type: operation.operation_type,
            name: operation.name.clone(),
            variables,
            directives: Default::default(),
            selection_set: root,
        }));
        Ok(FetchStep {
            subschema: self.subschema,
            document: Document::parse(document.serialize().no_indent().to_string())
                .map_err(|e| PlanError::Print(e.to_string()))?,
            operation_name: operation.name.as_ref().map(|n| n.to_string()),
            variables: variable_names,
            applies_at: ResponsePath::default(),
            fields,
        })
    }

    fn project_field(&mut self, field: &Node<Field>) -> Result<Node<Field>, PlanError> {
        if field.selection_set.selections.is_empty() {
            return Ok(field.clone());
        }
        let mut projected = (**field).clone();
        projected.selection_set = self.project_set(&field.selection_set)?;
        let inner = field.ty().inner_named_type();
        if self.input.index.is_abstract(inner)
            && !projected
                .selection_set
                .selections
                .iter()
                .any(|s| matches!(s, Selection::Field(f) if f.response_key() == "__typename"))
        {
            let typename = Field::new(self.typename.name.clone(), self.typename.clone());
            projected
                .selection_set
                .selections
                .insert(0, Selection::Field(Node::new(typename)));
        }
        Ok(Node::new(projected))
    }

    fn project_set(&mut self, set: &SelectionSet) -> Result<SelectionSet, PlanError> {
        let mut projected = SelectionSet::new(set.ty.clone());
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if !self
                        .input
                        .index
                        .can_resolve(self.subschema, &set.ty, &field.name)
                    {
                        return Err(PlanError::Unresolvable {
                            subschema: self.input.subschema_names[self.subschema].clone(),
                            type_name: set.ty.to_string(),
                            field: field.name.to_string(),
                        });
                    }
                    projected.push(Selection::Field(self.project_field(field)?));
                }
                Selection::InlineFragment(fragment) => {
                    let mut copy = (**fragment).clone();
                    copy.selection_set = self.project_set(&fragment.selection_set)?;
                    projected.push(Selection::InlineFragment(Node::new(copy)));
                }
                Selection::FragmentSpread(spread) => {
                    self.fragments.insert(spread.fragment_name.clone());
                    projected.push(selection.clone());
                }
            }
        }
        Ok(projected)
    }
}

/// A field's line and column in the client's document.
pub(crate) fn location(document: &ExecutableDocument, field: &Node<Field>) -> Option<Location> {
    let span = field.location()?;
    let lc = span.line_column(&document.sources)?;
    Some(Location {
        line: lc.line,
        column: lc.column,
    })
}

fn variables_in_set<'s>(set: &'s SelectionSet, out: &mut HashSet<&'s str>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                for argument in &field.arguments {
                    variables_in_value(&argument.value, out);
                }
                variables_in_directives(&field.directives, out);
                variables_in_set(&field.selection_set, out);
            }
            Selection::InlineFragment(fragment) => {
                variables_in_directives(&fragment.directives, out);
                variables_in_set(&fragment.selection_set, out);
            }
            Selection::FragmentSpread(spread) => variables_in_directives(&spread.directives, out),
        }
    }
}

fn variables_in_directives<'s>(
    directives: &'s apollo_compiler::executable::DirectiveList,
    out: &mut HashSet<&'s str>,
) {
    for directive in directives.iter() {
        for argument in &directive.arguments {
            variables_in_value(&argument.value, out);
        }
    }
}

fn variables_in_value<'s>(value: &'s ast::Value, out: &mut HashSet<&'s str>) {
    match value {
        ast::Value::Variable(name) => {
            out.insert(name.as_str());
        }
        ast::Value::List(items) => items.iter().for_each(|v| variables_in_value(v, out)),
        ast::Value::Object(fields) => fields.iter().for_each(|(_, v)| variables_in_value(v, out)),
        _ => {}
    }
}
