//! A plan's readable form: what `StitchedSchema::explain` prints and the planner's snapshot
//! tests compare. One line per step, in the order they run:
//!
//! ```text
//! query
//!   fetch a: { aProducts { _qk_id: id } }
//!   level 1
//!     b.bProductsById [aProducts] Product (id): { _qk_upc: upc }
//!   level 2
//!     c.cProductsByUpc [aProducts] Product (upc): { price }
//! ```
//!
//! A step of a deferred fragment's group says `(defer N)`; the groups are listed last, each
//! with the path and type of the objects it applies to and its selection.
//!
//! An entity step shows its subschema and entry point, the path of the objects it gathers
//! (`@` for the root), the type (`on Type` when other types stand at that place), the
//! representation's fields in parentheses, and the selection it sends for each object.

use std::fmt;

use apollo_compiler::ast::OperationType;

use super::Plan;

/// A plan with the names of its subschemas, printable.
pub(crate) struct Explain<'p> {
    pub plan: &'p Plan,
    pub names: &'p [String],
}

impl fmt::Display for Explain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plan = self.plan;
        let kind = match plan.operation_type {
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        };
        writeln!(f, "{kind}")?;
        if plan.introspection {
            writeln!(f, "  introspection (answered by the gateway)")?;
        }
        for step in &plan.steps {
            writeln!(
                f,
                "  fetch {}{}: {}",
                self.name(step.subschema),
                deferred(step.group),
                one_line(step.document.as_str())
            )?;
        }
        for (i, level) in plan.entity_steps.iter().enumerate() {
            if level.is_empty() {
                continue;
            }
            writeln!(f, "  level {}", i + 1)?;
            for step in level {
                let resolver = &step.resolver;
                let paths: Vec<String> = (step.places.iter())
                    .map(|place| {
                        if place.path.is_empty() {
                            "@".to_owned()
                        } else {
                            place.path.join(".")
                        }
                    })
                    .collect();
                let path = paths.join(", ");
                let on = match &step.type_condition {
                    Some(t) => format!("on {t}"),
                    None => resolver.type_name.to_string(),
                };
                let requirements: Vec<&str> =
                    step.requirements.iter().map(|r| r.as_str()).collect();
                let placement = match &step.placement {
                    Some(key) => format!(" -> {key}"),
                    None => String::new(),
                };
                writeln!(
                    f,
                    "    {}.{}{} [{path}] {on} ({}){placement}: {}{}",
                    self.name(resolver.subschema),
                    resolver.field_name,
                    deferred(step.group),
                    requirements.join(", "),
                    one_line(&step.selection),
                    one_line(&step.fragments),
                )?;
            }
        }
        for (i, group) in plan.defers.iter().enumerate() {
            let path = if group.path.is_empty() {
                "@".to_owned()
            } else {
                group.path.join(".")
            };
            let on = group.type_condition.as_ref().unwrap_or(&group.path_type);
            let mut notes = Vec::new();
            if group.parent > 0 {
                notes.push(format!("in defer {}", group.parent));
            }
            if let Some(label) = &group.label {
                notes.push(format!("label {label:?}"));
            }
            if let Some(variable) = &group.if_variable {
                notes.push(format!("if ${variable}"));
            }
            if group.upstream {
                notes.push("sent with @defer".to_owned());
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join(", "))
            };
            writeln!(
                f,
                "  defer {} [{path}] {on}{notes}: {}",
                i + 1,
                one_line(&group.selection.serialize().no_indent().to_string())
            )?;
        }
        Ok(())
    }
}

/// ` (defer N)` after a step of deferred group N (nothing for the initial payload's).
fn deferred(group: usize) -> String {
    if group == 0 {
        String::new()
    } else {
        format!(" (defer {group})")
    }
}

impl Explain<'_> {
    fn name(&self, subschema: usize) -> &str {
        self.names.get(subschema).map_or("gateway", String::as_str)
    }
}

/// Printed GraphQL on one line, runs of whitespace as one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
