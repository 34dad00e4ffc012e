//! Cutting a field out of a step: the subschema and entry point that fetch it instead are
//! chosen (the nearest level whose key this step, or an earlier one, can supply), its entity
//! step is found or started, and the key and requirement fields it needs are selected in the
//! cut field's place.

use super::*;

impl<'a, 'i> Planner<'a, 'i> {
    /// Cuts `field` (on `parent_type`) out of this step: an entity step at `path` fetches it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cut(
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

    pub(super) fn unresolvable(&self, ctx: &StepCtx, type_name: &str, field: &str) -> PlanError {
        PlanError::Unresolvable {
            subschema: self.input.subschema_names[ctx.subschema].clone(),
            type_name: type_name.to_owned(),
            field: field.to_owned(),
        }
    }

    /// The key chains from this step for `type_name` (searched once per stitched schema).
    pub(super) fn reach(&mut self, ctx: &StepCtx, type_name: &Name) -> Arc<Reach> {
        let computed = ctx.computed_type.as_ref().is_some_and(|t| t == type_name);
        let key = (ctx.subschema, type_name.clone(), computed);
        self.input.reaches.get_or_search(key, || {
            Reach::search(
                self.input.schema,
                type_name,
                ctx.subschema,
                self.input.subschemas.len(),
                self.input.index,
                self.input.entities,
                |field| self.resolves(ctx, type_name, field, &[]),
            )
        })
    }

    /// The entry point of the builder already planned at this place for `subschema`, if any.
    pub(super) fn planned(
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
                    && k.group == ctx.group
                    && k.path == path
                    && k.type_name == *type_name
                    && k.field.is_none()
                    && !b.done
            })
            .map(|(_, b)| b.resolver.clone())
    }

    /// The subschemas that can fetch `type_name.field` by key for objects this step returns.
    pub(super) fn fetchers(&self, ctx: &StepCtx, type_name: &Name, field: &str) -> Vec<usize> {
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
    pub(super) fn choose(
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
    pub(super) fn cut_on(
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
    pub(super) fn builder(
        &mut self,
        ctx: &StepCtx,
        resolver: &Arc<Resolver>,
        path: &[String],
        typed: bool,
    ) -> usize {
        let key = BuilderKey {
            root: ctx.root,
            group: ctx.group,
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
            group: ctx.group,
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
    pub(super) fn require(
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
            let fragments = &self.input.document.fragments;
            let present = out.selections.iter().any(|s| match s {
                Selection::Field(f) if f.response_key() == &alias => true,
                s => selection_selects_plainly(&out.ty, s, requirement, fragments),
            });
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

/// Whether `selected`, a field of the selection being built, is `requirement` itself as the
/// step reads it: a leaf field of that name without arguments or directives under its own
/// name. The requirement is then not selected again under its `_qk_` alias (the objects'
/// representations are gathered from the plain field when the alias is absent): the client's
/// `upc` is the key `upc`, since fields of one response key on one type are one field, as
/// validation requires.
pub(in crate::plan) fn selects_plainly(selected: &Field, requirement: &Field) -> bool {
    selected.name == requirement.name
        && selected.response_key() == &requirement.name
        && selected.arguments.is_empty()
        && selected.directives.is_empty()
        && selected.selection_set.selections.is_empty()
        && requirement.arguments.is_empty()
        && requirement.selection_set.selections.is_empty()
}

/// Whether `selection`, in a selection set on `ty`, selects `requirement` plainly (see
/// [`selects_plainly`]) wherever the set applies: as a field of the set itself, or inside an
/// inline fragment or named fragment spread without directives whose type condition is the
/// set's own type (so it always applies; fragments on other types, and conditional ones, do
/// not count). Named fragments are looked up in `fragments` (the client's, which a step sends
/// as they are).
pub(in crate::plan) fn selection_selects_plainly(
    ty: &Name,
    selection: &Selection,
    requirement: &Field,
    fragments: &FragmentMap,
) -> bool {
    match selection {
        Selection::Field(field) => selects_plainly(field, requirement),
        Selection::InlineFragment(fragment) => {
            fragment.directives.is_empty()
                && fragment.type_condition.as_ref().is_none_or(|t| t == ty)
                && fragment
                    .selection_set
                    .selections
                    .iter()
                    .any(|s| selection_selects_plainly(ty, s, requirement, fragments))
        }
        Selection::FragmentSpread(spread) => {
            spread.directives.is_empty()
                && fragments.get(&spread.fragment_name).is_some_and(|f| {
                    f.type_condition() == ty
                        && f.selection_set
                            .selections
                            .iter()
                            .any(|s| selection_selects_plainly(ty, s, requirement, fragments))
                })
        }
    }
}
