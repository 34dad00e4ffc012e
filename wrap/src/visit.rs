//! Type-aware traversal of an operation: which schema type each selection set is on, and the
//! fields of a selection set grouped by response key (fragments flattened), as GraphQL's
//! CollectFields does but without evaluating `@skip`/`@include` (a result tells which ran).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use apollo_compiler::ast::{self, Type};
use apollo_compiler::{Name, Node, Schema};
use quilt_executor::PathSegment;

use crate::type_info::{field_definition, fragments, operation, root_type};

/// A parent type and the addresses of the selection sets collected on it.
type MemoKey = (Name, Vec<usize>);

/// Walks the selected operation of a document against a schema.
pub(crate) struct SelectionWalker<'a> {
    schema: &'a Schema,
    fragments: HashMap<&'a str, &'a Node<ast::FragmentDefinition>>,
    operation: &'a Node<ast::OperationDefinition>,
    root: Name,
    /// Groups already collected, by parent type and selection sets (every object of a list
    /// shares them).
    memo: RefCell<HashMap<MemoKey, Rc<FieldGroups<'a>>>>,
}

/// The fields of one selection set with the same response key.
pub(crate) struct FieldGroup<'a> {
    /// Each field with the type it was selected on.
    pub(crate) fields: Vec<(Name, &'a ast::Field)>,
}

/// Fields by response key, in first-seen order.
pub(crate) type FieldGroups<'a> = apollo_compiler::collections::IndexMap<&'a str, FieldGroup<'a>>;

impl<'a> FieldGroup<'a> {
    /// Whether the group is `__typename`.
    pub(crate) fn is_typename(&self) -> bool {
        self.fields
            .first()
            .is_some_and(|(_, f)| f.name == "__typename")
    }

    /// The field name (all fields of a valid group share it).
    pub(crate) fn name(&self) -> Option<&'a Name> {
        self.fields.first().map(|(_, f)| &f.name)
    }

    /// The selection sets of all the group's fields.
    pub(crate) fn sub_selections(&self) -> Vec<&'a [ast::Selection]> {
        self.fields
            .iter()
            .map(|(_, f)| f.selection_set.as_slice())
            .collect()
    }
}

impl<'a> SelectionWalker<'a> {
    /// A walker over the operation `operation_name` of `document`; `None` when there is no such
    /// operation or the schema has no root type for it.
    pub(crate) fn new(
        schema: &'a Schema,
        document: &'a ast::Document,
        operation_name: Option<&str>,
    ) -> Option<Self> {
        let op = operation(document, operation_name)?;
        let root = root_type(schema, op.operation_type)?;
        Some(Self {
            schema,
            fragments: fragments(document),
            operation: op,
            root,
            memo: RefCell::new(HashMap::new()),
        })
    }

    /// The schema.
    pub(crate) fn schema(&self) -> &'a Schema {
        self.schema
    }

    /// The root type, as a type reference.
    pub(crate) fn root_type(&self) -> Type {
        Type::Named(self.root.clone())
    }

    /// The operation's selection set.
    pub(crate) fn root_sets(&self) -> Vec<&'a [ast::Selection]> {
        vec![self.operation.selection_set.as_slice()]
    }

    /// Groups the fields of `sets` (on type `parent`) by response key, flattening fragments.
    pub(crate) fn collect(
        &self,
        parent: &Name,
        sets: &[&'a [ast::Selection]],
    ) -> Rc<FieldGroups<'a>> {
        let key = (
            parent.clone(),
            sets.iter().map(|s| s.as_ptr() as usize).collect::<Vec<_>>(),
        );
        if let Some(groups) = self.memo.borrow().get(&key) {
            return groups.clone();
        }
        let mut groups = FieldGroups::default();
        let mut visiting = Vec::new();
        for set in sets {
            self.collect_into(parent, set, &mut groups, &mut visiting);
        }
        let groups = Rc::new(groups);
        self.memo.borrow_mut().insert(key, groups.clone());
        groups
    }

    fn collect_into(
        &self,
        parent: &Name,
        set: &'a [ast::Selection],
        groups: &mut FieldGroups<'a>,
        visiting: &mut Vec<&'a str>,
    ) {
        for selection in set {
            match selection {
                ast::Selection::Field(field) => {
                    let key = field.alias.as_ref().unwrap_or(&field.name).as_str();
                    groups
                        .entry(key)
                        .or_insert_with(|| FieldGroup { fields: Vec::new() })
                        .fields
                        .push((parent.clone(), field));
                }
                ast::Selection::InlineFragment(inline) => {
                    let condition = inline.type_condition.as_ref().unwrap_or(parent);
                    self.collect_into(condition, &inline.selection_set, groups, visiting);
                }
                ast::Selection::FragmentSpread(spread) => {
                    let name = spread.fragment_name.as_str();
                    if visiting.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = self.fragments.get(name) {
                        visiting.push(name);
                        self.collect_into(
                            &fragment.type_condition,
                            &fragment.selection_set,
                            groups,
                            visiting,
                        );
                        visiting.pop();
                    }
                }
            }
        }
    }

    /// The declared type of a group's field (the first of its fields found in the schema).
    pub(crate) fn group_type(&self, group: &FieldGroup<'a>) -> Option<&'a Type> {
        group
            .fields
            .iter()
            .find_map(|(parent, field)| field_definition(self.schema, parent, &field.name))
            .map(|definition| &definition.ty)
    }

    /// The type and selection sets at a response path, starting from `ty` with `sets`.
    pub(crate) fn locate(
        &self,
        ty: &Type,
        sets: &[&'a [ast::Selection]],
        path: &[PathSegment],
    ) -> Option<(Type, Vec<&'a [ast::Selection]>)> {
        let mut ty = ty.clone();
        let mut sets = sets.to_vec();
        for segment in path {
            match segment {
                PathSegment::Index(_) => {
                    if !ty.is_list() {
                        return None;
                    }
                    ty = ty.item_type().clone();
                }
                PathSegment::Key(key) => {
                    if ty.is_list() {
                        return None;
                    }
                    let groups = self.collect(ty.inner_named_type(), &sets);
                    let group = groups.get(key.as_str())?;
                    ty = self.group_type(group)?.clone();
                    sets = group.sub_selections();
                }
            }
        }
        Some((ty, sets))
    }
}
