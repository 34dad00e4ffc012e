//! Projecting a selection onto one subschema: what it can resolve stays in its step (with
//! `__typename` added under abstract types and the fragments it uses); a field of a merged type
//! that it cannot resolve is cut out and handed to an entity step of a subschema that can, and
//! the key fields that step needs are selected in its place (aliased `_qk_<field>`).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{
    DirectiveList, ExecutableDocument, Field, InlineFragment, Selection, SelectionSet,
};
use apollo_compiler::schema::FieldDefinition;
use apollo_compiler::{Name, Node};
use indexmap::{IndexMap, IndexSet};
use quilt_executor::Location;

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
    typename: Node<FieldDefinition>,
    resolvable_fragments: HashSet<(usize, Name)>,
    unresolvable_fragments: HashSet<(usize, Name)>,
    /// Key chains searched so far: (subschema, type, whether its computed fields count).
    reaches: HashMap<(usize, Name, bool), Rc<Reach>>,
}

impl<'a, 'i> Planner<'a, 'i> {
    pub fn new(input: &'i PlanInput<'a>) -> Self {
        Self {
            input,
            builders: IndexMap::new(),
            typename: Node::new(FieldDefinition {
                description: None,
                name: Name::new_unchecked("__typename"),
                arguments: Vec::new(),
                ty: Type::NonNullNamed(Name::new_unchecked("String")),
                directives: Default::default(),
            }),
            resolvable_fragments: HashSet::new(),
            unresolvable_fragments: HashSet::new(),
            reaches: HashMap::new(),
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
        if field.selection_set.selections.is_empty() {
            return Ok(field.clone());
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
                    let inner = self.project_fragment(
                        ctx,
                        &fragment.directives,
                        &fragment.selection_set,
                        (path, path_type, provided),
                        conditions,
                    )?;
                    let mut copy = (**fragment).clone();
                    copy.selection_set = inner;
                    projected.push(Selection::InlineFragment(Node::new(copy)));
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
                        && self.fragment_resolvable(ctx, &spread.fragment_name)
                    {
                        ctx.fragments.insert(spread.fragment_name.clone());
                        projected.push(selection.clone());
                        continue;
                    }
                    // Inlined: the cut parts depend on where the fragment is spread.
                    let inner = self.project_fragment(
                        ctx,
                        &spread.directives,
                        &fragment.selection_set,
                        (path, path_type, provided),
                        conditions,
                    )?;
                    let mut inline =
                        InlineFragment::with_type_condition(fragment.type_condition().clone());
                    inline.directives = spread.directives.clone();
                    inline.selection_set = inner;
                    projected.push(Selection::InlineFragment(Node::new(inline)));
                }
            }
        }
        Ok(projected)
    }

    /// Projects a fragment's selection at the place it is spread, its `@skip`/`@include`
    /// carried to the fields cut out of it.
    fn project_fragment(
        &mut self,
        ctx: &mut StepCtx,
        directives: &DirectiveList,
        set: &'a SelectionSet,
        (path, path_type, provided): (&[String], &Name, &[Name]),
        conditions: &mut Vec<DirectiveList>,
    ) -> Result<SelectionSet, PlanError> {
        conditions.push(only_conditions(directives));
        let inner = self.project_set(ctx, set, path, path_type, provided, conditions);
        conditions.pop();
        inner
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
        set.selections.iter().all(|selection| match selection {
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
        })
    }

    /// Cuts `field` (on `parent_type`) out of this step: an entity step at `path` fetches it.
    #[allow(clippy::too_many_arguments)]
    fn cut(
        &mut self,
        ctx: &mut StepCtx,
        parent_type: &Name,
        field: &'a Node<Field>,
        path: &[String],
        path_type: &Name,
        conditions: &[DirectiveList],
        out: &mut SelectionSet,
    ) -> Result<(), PlanError> {
        if self.input.index.is_abstract(parent_type) {
            // An interface field this subschema lacks: per possible object type it returns.
            let objects: Vec<Name> = self
                .input
                .schema
                .types
                .iter()
                .filter(|(n, t)| {
                    t.is_object()
                        && self.input.schema.is_subtype(parent_type, n)
                        && self.knows_type(ctx.subschema, n)
                })
                .map(|(n, _)| n.clone())
                .collect();
            if objects.is_empty() {
                return Err(self.unresolvable(ctx, parent_type, &field.name));
            }
            for object in objects {
                let mut inline = InlineFragment::with_type_condition(object.clone());
                if self.resolves(ctx, &object, &field.name, &[]) {
                    let projected = self.project_field(ctx, &object, field, path)?;
                    inline.selection_set.push(Selection::Field(projected));
                } else {
                    let mut inner = SelectionSet::new(object.clone());
                    self.cut_on(ctx, &object, field, path, true, conditions, &mut inner)?;
                    inline.selection_set = inner;
                }
                out.push(Selection::InlineFragment(Node::new(inline)));
            }
            return Ok(());
        }
        let typed = parent_type != path_type;
        if typed {
            let mut inner = SelectionSet::new(parent_type.clone());
            self.cut_on(ctx, parent_type, field, path, true, conditions, &mut inner)?;
            let mut inline = InlineFragment::with_type_condition(parent_type.clone());
            inline.selection_set = inner;
            out.push(Selection::InlineFragment(Node::new(inline)));
            Ok(())
        } else {
            self.cut_on(ctx, parent_type, field, path, false, conditions, out)
        }
    }

    fn unresolvable(&self, ctx: &StepCtx, type_name: &str, field: &str) -> PlanError {
        PlanError::Unresolvable {
            subschema: self.input.subschema_names[ctx.subschema].clone(),
            type_name: type_name.to_owned(),
            field: field.to_owned(),
        }
    }

    /// The key chains from this step for `type_name` (searched once per plan).
    fn reach(&mut self, ctx: &StepCtx, type_name: &Name) -> Rc<Reach> {
        let computed = ctx.computed_type.as_ref().is_some_and(|t| t == type_name);
        let key = (ctx.subschema, type_name.clone(), computed);
        if let Some(reach) = self.reaches.get(&key) {
            return reach.clone();
        }
        let reach = Rc::new(Reach::search(
            self.input.schema,
            type_name,
            ctx.subschema,
            self.input.subschemas.len(),
            self.input.index,
            self.input.entities,
            |field| self.resolves(ctx, type_name, field, &[]),
        ));
        self.reaches.insert(key, reach.clone());
        reach
    }

    /// The entry point of the builder already planned at this place for `subschema`, if any.
    fn planned(
        &self,
        ctx: &StepCtx,
        subschema: usize,
        type_name: &Name,
        path: &[String],
    ) -> Option<Arc<Resolver>> {
        self.builders
            .iter()
            .find(|(k, b)| {
                k.subschema == subschema
                    && k.root == ctx.root
                    && k.path == path
                    && k.type_name == *type_name
                    && k.field.is_none()
                    && !b.done
            })
            .map(|(_, b)| b.resolver.clone())
    }

    /// The subschemas that can fetch `type_name.field` by key for objects this step returns.
    fn fetchers(&self, ctx: &StepCtx, type_name: &Name, field: &str) -> Vec<usize> {
        let entities = self.input.entities;
        (0..self.input.subschemas.len())
            .filter(|&s| {
                !entities.resolvers(type_name, s).is_empty()
                    && self.input.index.can_resolve(s, type_name, field)
                    && !entities.is_external(s, type_name, field)
                    && (s != ctx.subschema || entities.computed(s, type_name, field).is_some())
            })
            .collect()
    }

    /// The entry point that fetches `type_name.field` for objects this step returns: one
    /// already planned at this place if its key can be obtained, else the one whose key is
    /// obtained soonest (shortest chain; stitching order breaks ties).
    fn choose(
        &mut self,
        ctx: &StepCtx,
        type_name: &Name,
        field: &str,
        path: &[String],
    ) -> Result<Arc<Resolver>, PlanError> {
        let candidates = self.fetchers(ctx, type_name, field);
        if candidates.is_empty() {
            return Err(self.unresolvable(ctx, type_name, field));
        }
        let reach = self.reach(ctx, type_name);
        if let Some(planned) = candidates
            .iter()
            .filter_map(|&s| self.planned(ctx, s, type_name, path))
            .find(|r| reach.key_level(r).is_some())
        {
            return Ok(planned);
        }
        let mut best: Option<(usize, &Arc<Resolver>)> = None;
        let mut missing = None;
        for &s in &candidates {
            for resolver in self.input.entities.resolvers(type_name, s) {
                match reach.key_level(resolver) {
                    Some(level) if best.is_none_or(|(b, _)| level < b) => {
                        best = Some((level, resolver));
                    }
                    Some(_) => {}
                    None => {
                        missing = missing.or_else(|| {
                            reach
                                .missing_key(resolver)
                                .map(|k| (resolver.subschema, k.clone()))
                        });
                    }
                }
            }
        }
        match (best, missing) {
            (Some((_, resolver)), _) => Ok(resolver.clone()),
            (None, Some((subschema, key))) => Err(PlanError::MissingKey {
                subschema: self.input.subschema_names[subschema].clone(),
                type_name: type_name.to_string(),
                field: key.to_string(),
            }),
            (None, None) => Err(self.unresolvable(ctx, type_name, field)),
        }
    }

    /// Registers `field` with the entity step for (`type_name`, chosen subschema) at `path` and
    /// selects the key fields it needs into `out` (a selection set on `type_name`).
    #[allow(clippy::too_many_arguments)]
    fn cut_on(
        &mut self,
        ctx: &mut StepCtx,
        type_name: &Name,
        field: &'a Node<Field>,
        path: &[String],
        typed: bool,
        conditions: &[DirectiveList],
        out: &mut SelectionSet,
    ) -> Result<(), PlanError> {
        let chosen = self.choose(ctx, type_name, &field.name, path)?;
        let key = self.builder(ctx, &chosen, path, typed);
        let resolver = self.builders[key].resolver.clone();
        let mut requirements = resolver.key.clone();
        if let Some(computed) =
            self.input
                .entities
                .computed(resolver.subschema, type_name, &field.name)
        {
            requirements.extend(computed.iter().cloned());
        }
        self.builders[key].fields.push((field, conditions.to_vec()));
        let mut level = ctx.level + 1;
        for requirement in requirements {
            self.builders[key]
                .requirements
                .insert(requirement.name.clone());
            if let Some(l) = self.require(ctx, type_name, &requirement, path, typed, out)? {
                level = level.max(l + 1);
            }
        }
        let builder = &mut self.builders[key];
        builder.level = builder.level.max(level);
        Ok(())
    }

    /// The builder for (resolver's subschema, path, type), created at the next level.
    fn builder(
        &mut self,
        ctx: &StepCtx,
        resolver: &Arc<Resolver>,
        path: &[String],
        typed: bool,
    ) -> usize {
        let key = BuilderKey {
            root: ctx.root,
            subschema: resolver.subschema,
            path: path.to_vec(),
            type_name: resolver.type_name.clone(),
            field: None,
        };
        if let Some(index) = self.builders.get_index_of(&key) {
            let builder = &mut self.builders[index];
            builder.typed |= typed;
            return index;
        }
        let (index, _) = self.builders.insert_full(
            key,
            EntityBuilder::new(resolver.clone(), ctx.level + 1, typed),
        );
        index
    }

    /// A gateway-defined field: its requirements are selected here, and a step of its own at
    /// the next level resolves it for every parent at this place.
    #[allow(clippy::too_many_arguments)]
    pub fn gateway_field(
        &mut self,
        ctx: &mut StepCtx,
        resolver: &Arc<Resolver>,
        parent_type: &Name,
        field: &'a Node<Field>,
        path: &[String],
        path_type: &Name,
        out: &mut SelectionSet,
    ) -> Result<(), PlanError> {
        let typed = parent_type != path_type;
        let mut inner = SelectionSet::new(parent_type.clone());
        let mut level = ctx.level + 1;
        for requirement in &resolver.key {
            let target = if typed { &mut inner } else { &mut *out };
            if let Some(l) = self.require(ctx, parent_type, requirement, path, typed, target)? {
                level = level.max(l + 1);
            }
        }
        if typed && !inner.selections.is_empty() {
            let mut inline = InlineFragment::with_type_condition(parent_type.clone());
            inline.selection_set = inner;
            out.push(Selection::InlineFragment(Node::new(inline)));
        }
        let key = BuilderKey {
            root: ctx.root,
            subschema: resolver.subschema,
            path: path.to_vec(),
            type_name: parent_type.clone(),
            field: Some(field.response_key().to_string()),
        };
        let index = match self.builders.get_index_of(&key) {
            Some(index) => index,
            None => {
                self.builders
                    .insert_full(key, EntityBuilder::new(resolver.clone(), level, typed))
                    .0
            }
        };
        let builder = &mut self.builders[index];
        builder.level = builder.level.max(level);
        builder.typed |= typed;
        builder.fields.push((field, Vec::new()));
        for requirement in &resolver.key {
            builder.requirements.insert(requirement.name.clone());
        }
        Ok(())
    }

    /// Makes a requirement field available in the representation: selected by this step if it
    /// can, else by another entity step at the same place (whose level is returned), whose own
    /// key is required the same way. The key chains ([`Reach`]) give every provider a key
    /// obtained at a strictly lower level than the field it provides, so this ends after at
    /// most one hop per subschema.
    fn require(
        &mut self,
        ctx: &mut StepCtx,
        type_name: &Name,
        requirement: &Node<Field>,
        path: &[String],
        typed: bool,
        out: &mut SelectionSet,
    ) -> Result<Option<usize>, PlanError> {
        let alias = key_alias(&requirement.name);
        if self.resolves(ctx, type_name, &requirement.name, &[]) {
            let present = out
                .selections
                .iter()
                .any(|s| matches!(s, Selection::Field(f) if f.response_key() == &alias));
            if !present {
                let aliased = (**requirement).clone().with_alias(alias);
                out.push(Selection::Field(Node::new(aliased)));
            }
            return Ok(None);
        }
        let reach = self.reach(ctx, type_name);
        let missing = || PlanError::MissingKey {
            subschema: self.input.subschema_names[ctx.subschema].clone(),
            type_name: type_name.to_string(),
            field: requirement.name.to_string(),
        };
        let level = reach.level(&requirement.name).ok_or_else(missing)?;
        // A provider whose key comes before the field: the one planned here if it qualifies
        // (one request fewer), else the one the search found.
        let planned = self
            .fetchers(ctx, type_name, &requirement.name)
            .into_iter()
            .filter(|&s| s != ctx.subschema)
            .filter_map(|s| self.planned(ctx, s, type_name, path))
            .find(|r| {
                self.input
                    .entities
                    .computed(r.subschema, type_name, &requirement.name)
                    .is_none()
                    && reach.key_level(r).is_some_and(|l| l < level)
            });
        let provider = planned
            .or_else(|| reach.provider(&requirement.name).cloned())
            .ok_or_else(missing)?;
        let key = self.builder(ctx, &provider, path, typed);
        // The builder planned here for that subschema may use another of its entry points:
        // its key must come before the field too, or the chain could turn in a circle.
        let provider = self.builders[key].resolver.clone();
        if reach.key_level(&provider).is_none_or(|l| l >= level) {
            return Err(missing());
        }
        let builder = &mut self.builders[key];
        if !builder.extra.iter().any(|f| f.response_key() == &alias) {
            builder
                .extra
                .push(Node::new((**requirement).clone().with_alias(alias)));
        }
        let mut provider_level = builder.level;
        for k in &provider.key {
            self.builders[key].requirements.insert(k.name.clone());
            if let Some(l) = self.require(ctx, type_name, k, path, typed, out)? {
                provider_level = provider_level.max(l + 1);
            }
        }
        let builder = &mut self.builders[key];
        builder.level = builder.level.max(provider_level);
        Ok(Some(builder.level))
    }
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
