//! Projecting a selection onto one subschema: what it can resolve stays in its step (with
//! `__typename` added under abstract types and the fragments it uses); a field of a merged type
//! that it cannot resolve is cut out and handed to an entity step of a subschema that can, and
//! the key fields that step needs are selected in its place (aliased `_qk_<field>`). Choosing
//! that subschema and its entry point, and what it requires, is [`cut`].

mod cut;

pub(super) use cut::{selection_selects_plainly, selects_plainly};

use std::sync::Arc;

use apollo_compiler::ast::Type;
use apollo_compiler::collections::{HashSet, IndexMap};
use apollo_compiler::executable::{
    DirectiveList, ExecutableDocument, Field, FragmentMap, InlineFragment, Selection, SelectionSet,
};
use apollo_compiler::schema::FieldDefinition;
use apollo_compiler::{Name, Node};
use indexmap::IndexSet;
use quilt_executor::Location;

use super::defer::{DeferGroups, has_incremental, upstream_defer, without_incremental};
use super::entity::{BuilderKey, EntityBuilder};
use super::reach::Reach;
use super::{PlanError, PlanInput};
use crate::resolve::KEY_ALIAS_PREFIX;
use crate::resolve::Resolver;

/// The step being projected.
pub(super) struct StepCtx {
    /// Its subschema.
    pub subschema: usize,
    /// The root step it descends from (always 0 for queries).
    pub root: usize,
    /// Its level: 0 for root steps.
    pub level: usize,
    /// The deferred group of what is being projected (0: the initial payload): a field cut
    /// out of it goes to an entity step of that group.
    pub group: usize,
    /// The named fragments its document keeps (they need no cut).
    pub fragments: IndexSet<Name>,
    /// At the top of an entity step: the merged type whose computed fields this subschema
    /// resolves there (their requirements are in the representation).
    pub computed_type: Option<Name>,
}

/// The planner's state across all steps of an operation.
pub(super) struct Planner<'a, 'i> {
    pub input: &'i PlanInput<'a>,
    pub builders: IndexMap<BuilderKey, EntityBuilder<'a>>,
    /// The deferred fragments found so far.
    pub defers: DeferGroups,
    typename: Node<FieldDefinition>,
    resolvable_fragments: HashSet<(usize, Name)>,
    unresolvable_fragments: HashSet<(usize, Name)>,
}

impl<'a, 'i> Planner<'a, 'i> {
    pub fn new(input: &'i PlanInput<'a>) -> Self {
        Self {
            input,
            builders: IndexMap::default(),
            defers: DeferGroups::default(),
            typename: Node::new(FieldDefinition {
                description: None,
                name: Name::new_unchecked("__typename"),
                arguments: Vec::new(),
                ty: Type::NonNullNamed(Name::new_unchecked("String")),
                directives: Default::default(),
            }),
            resolvable_fragments: HashSet::default(),
            unresolvable_fragments: HashSet::default(),
        }
    }

    /// Whether `subschema` resolves `type_name.field` where it stands (not external, not
    /// computed unless the representation carries the computed field's requirements).
    fn resolves(&self, ctx: &StepCtx, type_name: &str, field: &str, provided: &[Name]) -> bool {
        if field.starts_with("__") || provided.iter().any(|p| p == field) {
            return true;
        }
        let sub = ctx.subschema;
        let entities = self.input.entities;
        if !self.input.index.can_resolve(sub, type_name, field)
            || entities.is_external(sub, type_name, field)
        {
            return false;
        }
        entities.computed(sub, type_name, field).is_none()
            || ctx.computed_type.as_ref().is_some_and(|t| t == type_name)
    }

    /// Whether a deferred fragment projected here is sent with `@defer`: in a query's root
    /// step, to a subschema that answers `@defer` itself.
    fn sends_defer(&self, ctx: &StepCtx) -> bool {
        ctx.level == 0
            && self.input.operation.operation_type == apollo_compiler::ast::OperationType::Query
            && self.input.incremental.get(ctx.subschema) == Some(&true)
    }

    /// Whether the subschema knows a type (fragments on other types are dropped).
    fn knows_type(&self, sub: usize, type_name: &str) -> bool {
        self.input.subschemas[sub].types.contains_key(type_name)
    }

    /// Projects a field the subschema resolves; `path` is the response path of the field's
    /// parent object.
    pub fn project_field(
        &mut self,
        ctx: &mut StepCtx,
        parent_type: &Name,
        field: &'a Node<Field>,
        path: &[String],
    ) -> Result<Node<Field>, PlanError> {
        self.defers.note_field(field);
        let stripped = without_incremental(&field.directives);
        if field.selection_set.selections.is_empty() {
            return Ok(match stripped {
                Some(directives) => {
                    let mut copy = (**field).clone();
                    copy.directives = directives;
                    Node::new(copy)
                }
                None => field.clone(),
            });
        }
        let mut child_path = path.to_vec();
        child_path.push(field.response_key().to_string());
        let child_type = field.ty().inner_named_type().clone();
        let provided = self
            .input
            .entities
            .provides(ctx.subschema, parent_type, &field.name)
            .to_vec();
        let mut projected = (**field).clone();
        if let Some(directives) = stripped {
            projected.directives = directives;
        }
        let saved = ctx.computed_type.take();
        projected.selection_set = self.project_set(
            ctx,
            &field.selection_set,
            &child_path,
            &child_type,
            &provided,
            &mut Vec::new(),
        )?;
        ctx.computed_type = saved;
        if self.input.index.is_abstract(&child_type)
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

    /// Projects a selection set at `path`, whose objects are statically of type `path_type`.
    pub fn project_set(
        &mut self,
        ctx: &mut StepCtx,
        set: &'a SelectionSet,
        path: &[String],
        path_type: &Name,
        provided: &[Name],
        conditions: &mut Vec<DirectiveList>,
    ) -> Result<SelectionSet, PlanError> {
        let mut projected = SelectionSet::new(set.ty.clone());
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if let Some(resolver) = self.input.extensions.get(&set.ty, &field.name) {
                        let resolver = resolver.clone();
                        self.gateway_field(
                            ctx,
                            &resolver,
                            &set.ty,
                            field,
                            path,
                            path_type,
                            &mut projected,
                        )?;
                    } else if self.resolves(ctx, &set.ty, &field.name, provided) {
                        let field = self.project_field(ctx, &set.ty, field, path)?;
                        // A requirement selected here before under its `_qk_` alias is read
                        // from this field instead (see `cut::selects_plainly`).
                        projected.selections.retain(|s| {
                            !matches!(s, Selection::Field(f)
                                if is_key_alias_of(f, &field.name) && selects_plainly(&field, f))
                        });
                        projected.push(Selection::Field(field));
                    } else {
                        self.cut(
                            ctx,
                            &set.ty,
                            field,
                            path,
                            path_type,
                            conditions,
                            &mut projected,
                        )?;
                    }
                }
                Selection::InlineFragment(fragment) => {
                    if let Some(condition) = &fragment.type_condition
                        && !self.knows_type(ctx.subschema, condition)
                    {
                        continue;
                    }
                    let (inner, directives) = self.project_fragment(
                        ctx,
                        &fragment.directives,
                        &fragment.selection_set,
                        (path, path_type, provided),
                        conditions,
                    )?;
                    let mut copy = (**fragment).clone();
                    copy.selection_set = inner;
                    copy.directives = directives;
                    let copy = Selection::InlineFragment(Node::new(copy));
                    self.drop_key_copies_selected_by(&mut projected, &copy);
                    projected.push(copy);
                }
                Selection::FragmentSpread(spread) => {
                    let Some(fragment) = self.input.document.fragments.get(&spread.fragment_name)
                    else {
                        continue;
                    };
                    if !self.knows_type(ctx.subschema, fragment.type_condition()) {
                        continue;
                    }
                    if provided.is_empty()
                        && ctx.computed_type.is_none()
                        && !has_incremental(selection)
                        && self.fragment_resolvable(ctx, &spread.fragment_name)
                    {
                        ctx.fragments.insert(spread.fragment_name.clone());
                        self.drop_key_copies_selected_by(&mut projected, selection);
                        projected.push(selection.clone());
                        continue;
                    }
                    // Inlined: the cut parts depend on where the fragment is spread.
                    let (inner, directives) = self.project_fragment(
                        ctx,
                        &spread.directives,
                        &fragment.selection_set,
                        (path, path_type, provided),
                        conditions,
                    )?;
                    let mut inline =
                        InlineFragment::with_type_condition(fragment.type_condition().clone());
                    inline.directives = directives;
                    inline.selection_set = inner;
                    let inline = Selection::InlineFragment(Node::new(inline));
                    self.drop_key_copies_selected_by(&mut projected, &inline);
                    projected.push(inline);
                }
            }
        }
        Ok(projected)
    }

    /// Drops from `projected` the requirements selected earlier under their `_qk_` alias that
    /// `fragment`, about to be added to it, selects plainly where it always applies (see
    /// `cut::selection_selects_plainly`): they are read from the client's field instead.
    fn drop_key_copies_selected_by(&self, projected: &mut SelectionSet, fragment: &Selection) {
        let fragments = &self.input.document.fragments;
        let ty = projected.ty.clone();
        projected.selections.retain(|s| {
            !matches!(s, Selection::Field(f)
                if is_key_alias_of(f, &f.name)
                    && selection_selects_plainly(&ty, fragment, f, fragments))
        });
    }

    /// Projects a fragment's selection at the place it is spread, its `@skip`/`@include`
    /// carried to the fields cut out of it.
    /// A deferred fragment is projected in its own group (see [`DeferGroups::enter`]). Answers
    /// the projected selection and the directives the subschema is sent: without `@defer` and
    /// `@stream`, or with the gateway's `@defer` where the subschema answers it itself.
    fn project_fragment(
        &mut self,
        ctx: &mut StepCtx,
        directives: &DirectiveList,
        set: &'a SelectionSet,
        (path, path_type, provided): (&[String], &Name, &[Name]),
        conditions: &mut Vec<DirectiveList>,
    ) -> Result<(SelectionSet, DirectiveList), PlanError> {
        let group = self
            .defers
            .enter(ctx.group, directives, set, (path, path_type));
        let outer = ctx.group;
        ctx.group = group.unwrap_or(outer);
        conditions.push(only_conditions(directives));
        let inner = self.project_set(ctx, set, path, path_type, provided, conditions);
        conditions.pop();
        ctx.group = outer;
        let sent = match group.filter(|_| self.sends_defer(ctx)) {
            Some(g) => {
                self.defers.groups[g - 1].upstream = true;
                upstream_defer(directives, g)
            }
            None => without_incremental(directives).unwrap_or_else(|| directives.clone()),
        };
        Ok((inner?, sent))
    }

    /// Whether a named fragment needs no cut in this subschema (then it is sent as is).
    fn fragment_resolvable(&mut self, ctx: &StepCtx, name: &Name) -> bool {
        let key = (ctx.subschema, name.clone());
        if self.resolvable_fragments.contains(&key) {
            return true;
        }
        if self.unresolvable_fragments.contains(&key) {
            return false;
        }
        // Assume resolvable while visiting (fragments cannot be cyclic once validated).
        self.resolvable_fragments.insert(key.clone());
        let ok = self
            .input
            .document
            .fragments
            .get(name)
            .is_some_and(|f| self.set_resolvable(ctx, &f.selection_set));
        if !ok {
            self.resolvable_fragments.remove(&key);
            self.unresolvable_fragments.insert(key);
        }
        ok
    }

    fn set_resolvable(&mut self, ctx: &StepCtx, set: &SelectionSet) -> bool {
        set.selections.iter().all(|selection| {
            !has_incremental(selection) && self.selection_resolvable(ctx, set, selection)
        })
    }

    fn selection_resolvable(
        &mut self,
        ctx: &StepCtx,
        set: &SelectionSet,
        selection: &Selection,
    ) -> bool {
        match selection {
            Selection::Field(field) => {
                self.resolves(ctx, &set.ty, &field.name, &[])
                    && self
                        .input
                        .entities
                        .provides(ctx.subschema, &set.ty, &field.name)
                        .is_empty()
                    && self.set_resolvable(ctx, &field.selection_set)
            }
            Selection::InlineFragment(fragment) => {
                fragment
                    .type_condition
                    .as_ref()
                    .is_none_or(|t| self.knows_type(ctx.subschema, t))
                    && self.set_resolvable(ctx, &fragment.selection_set)
            }
            Selection::FragmentSpread(spread) => {
                self.fragment_resolvable(ctx, &spread.fragment_name)
            }
        }
    }
}

/// Whether `selected` is answered under `field`'s `_qk_` alias ([`key_alias`]), compared
/// without building the alias (this runs for every field a step selects).
fn is_key_alias_of(selected: &Field, field: &str) -> bool {
    selected
        .alias
        .as_ref()
        .and_then(|a| a.as_str().strip_prefix(KEY_ALIAS_PREFIX))
        == Some(field)
}

/// The alias under which a key or requirement field is selected.
pub(super) fn key_alias(field: &str) -> Name {
    Name::new_unchecked(&format!("{KEY_ALIAS_PREFIX}{field}"))
}

/// The `@skip` and `@include` directives of a list (others do not apply to the fields).
pub(super) fn only_conditions(directives: &DirectiveList) -> DirectiveList {
    DirectiveList(
        directives
            .iter()
            .filter(|d| d.name == "skip" || d.name == "include")
            .cloned()
            .collect(),
    )
}

/// `selection` wrapped in inline fragments carrying each non-empty list of conditions.
pub(super) fn with_conditions(
    ty: &Name,
    mut selection: Selection,
    conditions: &[DirectiveList],
) -> Selection {
    for list in conditions.iter().rev() {
        if list.is_empty() {
            continue;
        }
        let mut fragment = InlineFragment::without_type_condition(ty.clone());
        fragment.directives = list.clone();
        fragment.selection_set.push(selection);
        selection = Selection::InlineFragment(Node::new(fragment));
    }
    selection
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
