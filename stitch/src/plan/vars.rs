//! The client variables a projected selection uses.

use std::collections::HashSet;

use apollo_compiler::ast;
use apollo_compiler::executable::{DirectiveList, Selection, SelectionSet};

pub(super) fn variables_in_set<'s>(set: &'s SelectionSet, out: &mut HashSet<&'s str>) {
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

pub(super) fn variables_in_directives<'s>(
    directives: &'s DirectiveList,
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
