//! Running entity steps: gather the objects at the step's place, send their representations
//! (each distinct one once), and merge the results and errors back at the objects' paths.

use apollo_compiler::collections::HashMap;
use futures::future::join_all;
use quilt_executor::data::Object;
use quilt_executor::{
    Context, Data, ExecutionResult, ExecutorError, GraphQLError, JsonMap, PathSegment, Request,
};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::Fetched;
use crate::entities::RuntimeArgs;
use crate::entry_point::Matching as EntryMatching;
use crate::extension::Matching;
use crate::gateway::Gateway;
use crate::plan::{EntityStep, KEY_ALIAS_PREFIX, MATCH_ALIAS, Plan};

/// The objects an entity step applies to.
#[derive(Default)]
struct Gathered {
    /// The distinct representations, in first-seen order (moved into the request where it
    /// sends them as they are: `count` keeps their number).
    representations: Vec<JsonMap>,
    /// The number of distinct representations.
    count: usize,
    /// The representations as one JSON array, written straight from the response data (for
    /// `_entities` when the executor sends variables as JSON text): then `representations` is
    /// empty.
    raw: Option<Box<RawValue>>,
    /// Every object: the list indices on its way from the root (the keys are the step's path),
    /// and the index of its representation.
    objects: Objects,
}

/// The gathered objects: each one's list indices (kept in one buffer) and representation.
#[derive(Default)]
struct Objects {
    /// Every object's list indices, one after another.
    indices: Vec<u32>,
    /// Per object: where its indices end in `indices`, and its representation.
    entries: Vec<(usize, usize)>,
}

impl Objects {
    fn push(&mut self, indices: &[u32], representation: usize) {
        self.indices.extend_from_slice(indices);
        self.entries.push((self.indices.len(), representation));
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Object `i`: its list indices and its representation.
    fn get(&self, i: usize) -> Option<(&[u32], usize)> {
        let (end, representation) = *self.entries.get(i)?;
        let start = i.checked_sub(1).map_or(0, |before| self.entries[before].0);
        Some((&self.indices[start..end], representation))
    }

    fn iter(&self) -> impl Iterator<Item = (&[u32], usize)> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Runs the entity steps of `plan` level by level (only those of root step `root` when
/// given: a mutation field's merged fields are fetched before the next mutation runs).
pub(crate) async fn run_entity_steps(
    gateway: &Gateway,
    plan: &Plan,
    root: Option<usize>,
    variables: &JsonMap,
    context: &Context,
    fetched: &mut Fetched,
) {
    for level in &plan.entity_steps {
        let mut work = Vec::new();
        let mut local = Vec::new();
        let mut custom = Vec::new();
        for step in level.iter().filter(|s| root.is_none_or(|r| s.root == r)) {
            let raw = matches!(step.resolver.args, RuntimeArgs::Entities);
            let mut gathered = gather(step, &fetched.data, raw);
            if gathered.objects.is_empty() {
                continue;
            }
            let field_args = field_args(step, variables);
            if let RuntimeArgs::Custom(resolve) = &step.resolver.args {
                let call = crate::entry_point::EntryCall {
                    representations: gathered.representations.clone(),
                    selection: step.selection.clone(),
                    fragments: step.fragments.clone(),
                    variable_definitions: step
                        .client_variables
                        .iter()
                        .map(|(_, d)| d.clone())
                        .collect(),
                    variables: step
                        .client_variables
                        .iter()
                        .filter_map(|(n, _)| {
                            variables
                                .get(n.as_str())
                                .map(|v| (n.to_string(), v.clone()))
                        })
                        .collect(),
                    executor: gateway.executors[step.resolver.subschema].clone(),
                    context: context.clone(),
                };
                let count = gathered.representations.len();
                let call = resolve(call);
                custom.push((step, gathered, async move {
                    let outcomes = call.await;
                    if outcomes.len() == count {
                        outcomes
                    } else {
                        let message = format!(
                            "the custom entry point answered {} values for {count} objects",
                            outcomes.len()
                        );
                        vec![Err(message); count]
                    }
                }));
                continue;
            }
            if let RuntimeArgs::Local(resolve) = &step.resolver.args {
                let calls = join_all(
                    gathered
                        .representations
                        .iter()
                        .map(|r| resolve(r.clone(), field_args.clone())),
                );
                local.push((step, gathered, calls));
                continue;
            }
            let request = request(step, &mut gathered, &field_args, variables, context);
            work.push((step, gathered, request));
        }
        let locals = join_all(
            local
                .into_iter()
                .map(|(step, gathered, calls)| async move { (step, gathered, calls.await) }),
        )
        .await;
        for (step, gathered, values) in locals {
            merge_local(step, gathered, values, fetched);
        }
        let customs = join_all(
            custom
                .into_iter()
                .map(|(step, gathered, call)| async move { (step, gathered, call.await) }),
        )
        .await;
        for (step, gathered, values) in customs {
            merge_local(step, gathered, values, fetched);
        }
        if work.is_empty() {
            continue;
        }
        let results = join_all(work.iter_mut().map(|(step, _, request)| {
            let request = request.take();
            async move {
                match request {
                    Some(Ok(request)) => {
                        super::fetch(gateway, step.resolver.subschema, request).await
                    }
                    Some(Err(message)) => Ok(ExecutionResult {
                        errors: vec![GraphQLError::new(message)],
                        ..ExecutionResult::default()
                    }),
                    None => Ok(ExecutionResult::default()),
                }
            }
        }))
        .await;
        for ((step, gathered, _), result) in work.into_iter().zip(results) {
            merge(gateway, step, gathered, result, context, fetched);
        }
    }
}

/// Walks the step's path through `data` (lists included) and gathers the objects; with `raw`,
/// writes the representations as JSON text (unless a requirement is named `__typename`).
fn gather(step: &EntityStep, data: &Object, raw: bool) -> Gathered {
    // A requirement named `__typename` replaces the type's name, as inserting it into the
    // template does, and an entity without requirements has nothing to write per object:
    // only the by-value path does those.
    let raw = raw
        && !step.requirements.is_empty()
        && step.representation.len() == step.requirements.len() + 1;
    let mut walk = Walk {
        step,
        gathered: Gathered::default(),
        raw_values: raw.then(Vec::new),
        seen: HashMap::default(),
        key: Vec::new(),
        hints: vec![0; step.path.len().saturating_sub(1)],
        found: Vec::with_capacity(step.requirements.len()),
        requirement_hints: vec![0; step.requirements.len() + 1],
    };
    match step.path.split_first() {
        // A gateway-defined root field: the parent is the root object.
        None => walk.object(data, &[]),
        Some((first, rest)) => {
            if let Some(value) = data.get(first) {
                walk.value(value, rest, &mut Vec::new());
            }
        }
    }
    let mut gathered = walk.gathered;
    match walk.raw_values {
        Some(values) => {
            let width = step.requirements.len();
            gathered.count = values.len() / width;
            let written = serde_json::value::to_raw_value(&Representations {
                step,
                values: &values,
            });
            match written {
                Ok(raw) => gathered.raw = Some(raw),
                // Not reached (response data always serializes); the values then go by value.
                Err(_) => {
                    gathered.representations = values
                        .chunks(width)
                        .map(|found| representation(step, found))
                        .collect();
                }
            }
        }
        None => gathered.count = gathered.representations.len(),
    }
    gathered
}

/// The distinct representations of a step, from their requirement values (one after another,
/// `requirements.len()` per object), serialized as the by-value path would serialize them:
/// `[{"__typename": ..., "<requirement>": ..., ...}, ...]`.
struct Representations<'a> {
    step: &'a EntityStep,
    values: &'a [&'a Data],
}

impl Serialize for Representations<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let requirements = &self.step.requirements;
        let width = requirements.len().max(1);
        let mut list = serializer.serialize_seq(Some(self.values.len() / width))?;
        for found in self.values.chunks(width) {
            list.serialize_element(&Representation {
                type_name: self.step.resolver.type_name.as_str(),
                requirements,
                found,
            })?;
        }
        list.end()
    }
}

/// One representation (see [`Representations`]).
struct Representation<'a> {
    type_name: &'a str,
    requirements: &'a [apollo_compiler::Name],
    found: &'a [&'a Data],
}

impl Serialize for Representation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.requirements.len() + 1))?;
        map.serialize_entry("__typename", self.type_name)?;
        for (requirement, value) in self.requirements.iter().zip(self.found) {
            map.serialize_entry(requirement.as_str(), value)?;
        }
        map.end()
    }
}

struct Walk<'w> {
    step: &'w EntityStep,
    gathered: Gathered,
    /// With JSON text representations: each distinct one's requirement values, one after
    /// another (written out once the walk is done).
    raw_values: Option<Vec<&'w Data>>,
    seen: HashMap<Vec<u8>, usize>,
    /// A reused buffer for the deduplication key.
    key: Vec<u8>,
    /// For each key of the path after the first, where it was found last: the objects of one
    /// list mostly hold their members in one order.
    hints: Vec<usize>,
    /// A reused buffer for an object's requirement values.
    found: Vec<&'w Data>,
    /// Where `__typename` and each requirement were found last.
    requirement_hints: Vec<usize>,
}

impl<'w> Walk<'w> {
    fn value(&mut self, value: &'w Data, keys: &[String], indices: &mut Vec<u32>) {
        match value {
            Data::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    indices.push(i as u32);
                    self.value(item, keys, indices);
                    indices.pop();
                }
            }
            Data::Object(map) => match keys.split_first() {
                Some((key, rest)) => {
                    let depth = self.hints.len() - keys.len();
                    if let Some(i) = map.position_from(key, self.hints[depth]) {
                        self.hints[depth] = i;
                        if let Some((_, child)) = map.get_index(i) {
                            self.value(child, rest, indices);
                        }
                    }
                }
                None => self.object(map, indices),
            },
            _ => {}
        }
    }

    /// The member `key` of `object`, looked for where hint `slot` says first.
    fn find(&mut self, object: &'w Object, slot: usize, key: &str) -> Option<&'w Data> {
        let i = object.position_from(key, self.requirement_hints[slot])?;
        self.requirement_hints[slot] = i;
        object.get_index(i).map(|(_, value)| value)
    }

    /// An object at the step's place: skipped when it is of another type or lacks a key field
    /// (its key came back null); else its representation is found or added.
    fn object(&mut self, map: &'w Object, indices: &[u32]) {
        let step = self.step;
        if step.type_condition.is_some()
            && self.find(map, 0, "__typename").and_then(Data::as_str)
                != Some(step.resolver.type_name.as_str())
        {
            return;
        }
        self.found.clear();
        for (i, alias) in step.aliases.iter().enumerate() {
            match self.find(map, i + 1, alias) {
                Some(value) => self.found.push(value),
                None => return,
            }
        }
        dedup_key(&self.found, &mut self.key);
        let next = self.seen.len();
        let index = match self.seen.get(self.key.as_slice()) {
            Some(index) => *index,
            None => {
                self.seen.insert(self.key.clone(), next);
                match &mut self.raw_values {
                    Some(values) => values.extend_from_slice(&self.found),
                    None => {
                        let representation = representation(step, &self.found);
                        self.gathered.representations.push(representation);
                    }
                }
                next
            }
        };
        self.gathered.objects.push(indices, index);
    }
}

/// Writes requirement values into `key`: strings as they are, anything else as JSON, each
/// behind a tag and followed by a separator.
fn dedup_key(values: &[&Data], key: &mut Vec<u8>) {
    key.clear();
    for value in values {
        match value {
            Data::String(s) => {
                key.push(b's');
                key.extend_from_slice(s.as_bytes());
            }
            value => {
                key.push(b'v');
                value.write_json(key);
            }
        }
        key.push(0);
    }
}

/// The client path of the object reached by `indices` (the step's keys, list indices where
/// the data has lists).
fn client_path(step: &EntityStep, data: &Object, indices: &[u32]) -> Vec<PathSegment> {
    let mut path = Vec::with_capacity(step.path.len() + indices.len());
    let Some((first, rest)) = step.path.split_first() else {
        return path;
    };
    path.push(PathSegment::Key(first.clone()));
    let mut value = data.get(first);
    let (mut keys, mut indices) = (rest, indices);
    while let Some(current) = value {
        match current {
            Data::List(items) => {
                let Some((i, more)) = indices.split_first() else {
                    break;
                };
                path.push(PathSegment::Index(*i as usize));
                value = items.get(*i as usize);
                indices = more;
            }
            Data::Object(map) => {
                let Some((key, more)) = keys.split_first() else {
                    break;
                };
                path.push(PathSegment::Key(key.clone()));
                value = map.get(key);
                keys = more;
            }
            _ => break,
        }
    }
    path
}

/// `__typename` and the requirement fields of an object, from its requirement values: a copy
/// of the step's template (its keys' hashes copied, not computed) with the values put in.
fn representation(step: &EntityStep, values: &[&Data]) -> JsonMap {
    let mut representation = step.representation.clone();
    if representation.len() == step.requirements.len() + 1 {
        // `__typename` first, then the requirements in their order.
        for (slot, value) in representation.values_mut().skip(1).zip(values) {
            *slot = Value::from(*value);
        }
    } else {
        // A requirement named like another key (`__typename`): insert one by one.
        for (requirement, value) in step.requirements.iter().zip(values) {
            representation.insert(requirement.as_str().to_owned(), Value::from(*value));
        }
    }
    representation
}

/// The upstream request for the gathered objects.
fn request(
    step: &EntityStep,
    gathered: &mut Gathered,
    field_args: &JsonMap,
    variables: &JsonMap,
    context: &Context,
) -> Option<Result<Request, String>> {
    let mut calls: Vec<Vec<String>> = Vec::new();
    let mut upstream = JsonMap::new();
    let mut add_call = |i: usize, args: JsonMap, calls: &mut Vec<Vec<String>>| {
        let mut names = Vec::with_capacity(args.len());
        for (name, value) in args {
            upstream.insert(format!("_qv{i}_{name}"), value);
            names.push(name);
        }
        calls.push(names);
    };
    match &step.resolver.args {
        RuntimeArgs::Batched {
            key,
            args_from_keys,
        } => {
            let keys = gathered.representations.iter().map(|r| key(r)).collect();
            add_call(0, args_from_keys(keys), &mut calls);
        }
        RuntimeArgs::Entities if gathered.raw.is_some() => {
            calls.push(vec!["representations".to_owned()]);
        }
        RuntimeArgs::Entities => {
            let representations = std::mem::take(&mut gathered.representations)
                .into_iter()
                .map(Value::Object)
                .collect();
            let args =
                JsonMap::from_iter([("representations".to_owned(), Value::Array(representations))]);
            add_call(0, args, &mut calls);
        }
        RuntimeArgs::Single(args) => {
            for (i, representation) in gathered.representations.iter().enumerate() {
                add_call(i, args(representation), &mut calls);
            }
        }
        RuntimeArgs::Delegate(args) => {
            for (i, representation) in gathered.representations.iter().enumerate() {
                add_call(i, args(representation, field_args), &mut calls);
            }
        }
        RuntimeArgs::BatchDelegate {
            key,
            args_from_keys,
            ..
        } => {
            let keys = gathered.representations.iter().map(|r| key(r)).collect();
            add_call(0, args_from_keys(keys, field_args), &mut calls);
        }
        RuntimeArgs::Local(_) | RuntimeArgs::Custom(_) => return None,
    }
    let document = match step.document(&calls) {
        Ok(document) => document,
        Err(message) => return Some(Err(message)),
    };
    for (name, _) in &step.client_variables {
        if let Some(value) = variables.get(name.as_str()) {
            upstream.insert(name.to_string(), value.clone());
        }
    }
    let mut request = Request::from_document(document);
    request.variables = upstream;
    if let Some(raw) = gathered.raw.take() {
        request
            .raw_variables
            .push(("_qv0_representations".to_owned(), raw));
    }
    request.operation_name = step.operation_name.clone();
    request.context = context.clone();
    Some(Ok(request))
}

/// Puts each result into its objects and each error at its objects' paths.
fn merge(
    gateway: &Gateway,
    step: &EntityStep,
    gathered: Gathered,
    result: Result<ExecutionResult, ExecutorError>,
    context: &Context,
    fetched: &mut Fetched,
) {
    let service = &gateway.names[step.resolver.subschema];
    let mut result = match result {
        Ok(result) => result,
        Err(error) => {
            let error = gateway.errors.transport_error(service, &error, context);
            for (indices, _) in gathered.objects.iter() {
                let path = client_path(step, &fetched.data, indices);
                on_fields(step, &path, &error, fetched);
            }
            return;
        }
    };
    let count = gathered.count;
    let mut results: Vec<Option<Data>> = vec![None; count];
    // For results matched by key: the representation each returned item went to.
    let mut item_slots: Vec<Option<usize>> = Vec::new();
    let data = result.take_data_tree();
    let mut errors = result.errors;
    gateway
        .errors
        .clean(step.resolver.subschema, service, &mut errors, context);
    if errors.is_empty() && !matches!(data, Some(Data::Object(_))) {
        errors.push(super::no_data_error(service));
    }
    if let Some(Data::Object(mut data)) = data {
        if let RuntimeArgs::BatchDelegate {
            key,
            matching: Matching::GroupBy(by) | Matching::FindBy(by),
            ..
        } = &step.resolver.args
        {
            let items = match data.remove("_e") {
                Some(Data::List(items)) => items,
                _ => Box::default(),
            };
            let alias = format!("{KEY_ALIAS_PREFIX}{by}");
            let group = matches!(
                &step.resolver.args,
                RuntimeArgs::BatchDelegate {
                    matching: Matching::GroupBy(_),
                    ..
                }
            );
            for (slot, representation) in results.iter_mut().zip(&gathered.representations) {
                let wanted = key(representation);
                let mut matched = items
                    .iter()
                    .filter(|item| item.get(&alias).is_some_and(|found| *found == wanted))
                    .cloned();
                *slot = Some(if group {
                    Data::List(matched.collect())
                } else {
                    matched.next().unwrap_or(Data::Null)
                });
            }
        } else if step.resolver.batched() {
            match (
                data.remove("_e"),
                &step.resolver.matching,
                &step.resolver.args,
            ) {
                (
                    Some(Data::List(items)),
                    EntryMatching::By(_),
                    RuntimeArgs::Batched { key, .. },
                ) => {
                    let keys: Vec<Value> =
                        gathered.representations.iter().map(|r| key(r)).collect();
                    item_slots = match_by_key(&items, &keys);
                    for (i, item) in items.into_vec().into_iter().enumerate() {
                        if let Some(u) = item_slots.get(i).copied().flatten() {
                            results[u] = Some(item);
                        }
                    }
                }
                (
                    Some(Data::List(items)),
                    EntryMatching::Values(values),
                    RuntimeArgs::Batched { key, .. },
                ) => {
                    let keys: Vec<Value> =
                        gathered.representations.iter().map(|r| key(r)).collect();
                    let items: Vec<Value> = items.into_vec().into_iter().map(Value::from).collect();
                    let values = values(items.clone(), &keys);
                    if values.len() == count {
                        // An upstream error at an item goes where that item went.
                        item_slots = items
                            .iter()
                            .map(|item| {
                                (!item.is_null())
                                    .then(|| values.iter().position(|v| v == item))
                                    .flatten()
                            })
                            .collect();
                        for (slot, value) in results.iter_mut().zip(values) {
                            *slot = Some(Data::from(value));
                        }
                    } else {
                        errors.push(GraphQLError::new(format!(
                            "the values from the results of `{}` of subschema `{service}` are {} \
                             for {count} keys",
                            step.resolver.field_name,
                            values.len()
                        )));
                    }
                }
                (Some(Data::List(items)), _, _) if items.len() == count => {
                    for (slot, item) in results.iter_mut().zip(items) {
                        *slot = Some(item);
                    }
                }
                (Some(Data::List(items)), _, _) => errors.push(GraphQLError::new(format!(
                    "`{}` of subschema `{service}` returned {} results for {count} keys",
                    step.resolver.field_name,
                    items.len()
                ))),
                _ => {}
            }
        } else {
            // One call per object, aliased `_{i}`.
            for (key, value) in data {
                let slot = key
                    .strip_prefix('_')
                    // Exactly the aliases written: no sign, no leading zero.
                    .filter(|i| i.bytes().all(|b| b.is_ascii_digit()))
                    .filter(|i| *i == "0" || !i.starts_with('0'))
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| results.get_mut(i));
                if let Some(slot) = slot {
                    *slot = Some(value);
                }
            }
        }
    }
    for error in errors {
        let error = match &step.resolver.on_located_error {
            Some(map) => map(error),
            None => error,
        };
        let target = error.path.as_deref().and_then(|path| match path {
            [PathSegment::Key(alias), PathSegment::Index(i), rest @ ..] if alias == "_e" => {
                if matches!(step.resolver.matching, EntryMatching::Position) {
                    Some((*i, rest))
                } else {
                    item_slots.get(*i).copied().flatten().map(|u| (u, rest))
                }
            }
            [PathSegment::Key(alias), rest @ ..] => alias
                .strip_prefix('_')
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|_| !step.resolver.batched())
                .map(|i| (i, rest)),
            _ => None,
        });
        match target {
            Some((index, rest)) => {
                for (indices, _) in gathered.objects.iter().filter(|(_, u)| *u == index) {
                    let path = client_path(step, &fetched.data, indices);
                    if rest.is_empty() && step.placement.is_none() {
                        on_fields(step, &path, &error, fetched);
                    } else {
                        let mut located = error.clone();
                        let mut full = path;
                        if let Some(key) = &step.placement {
                            full.push(PathSegment::Key(key.clone()));
                        }
                        full.extend(rest.iter().cloned());
                        located.path = Some(full);
                        fetched.errors.push(located);
                    }
                }
            }
            None => {
                for (indices, _) in gathered.objects.iter() {
                    let path = client_path(step, &fetched.data, indices);
                    on_fields(step, &path, &error, fetched);
                }
            }
        }
    }
    // The last object of each representation takes the result; the others get copies.
    let mut last = vec![usize::MAX; count];
    for (i, (_, u)) in gathered.objects.iter().enumerate() {
        last[u] = i;
    }
    place_all(step, &gathered.objects, &mut fetched.data, |i, u| {
        if last[u] == i {
            results[u].take()
        } else {
            results[u].clone()
        }
    });
}

/// For each returned item, the key (by index) its match field equals: the first one not yet
/// taken, so that equal keys sent once each get one item.
fn match_by_key(items: &[Data], keys: &[Value]) -> Vec<Option<usize>> {
    let mut taken = vec![false; keys.len()];
    items
        .iter()
        .map(|item| {
            let found = item.get(MATCH_ALIAS)?;
            let u = keys
                .iter()
                .enumerate()
                .position(|(u, key)| !taken[u] && *found == *key)?;
            taken[u] = true;
            Some(u)
        })
        .collect()
}

/// Puts each gathered object's result in place, in one walk down the step's path (the walk
/// `gather` took, so the objects come in the same order): `result(i, u)` gives the value for
/// object `i` of representation `u`. An object no longer at its place (a value merged since
/// replaced it) is skipped.
fn place_all(
    step: &EntityStep,
    objects: &Objects,
    data: &mut Object,
    result: impl FnMut(usize, usize) -> Option<Data>,
) {
    let mut placer = Placer {
        step,
        objects,
        next: 0,
        result,
        hints: vec![0; step.path.len().saturating_sub(1)],
    };
    let Some((first, rest)) = step.path.split_first() else {
        // A gateway-defined root field: the parent is the root object.
        placer.object(data, &[]);
        return;
    };
    if let Some(value) = data.get_mut(first) {
        placer.value(value, rest, &mut Vec::new());
    }
}

struct Placer<'p, F> {
    step: &'p EntityStep,
    objects: &'p Objects,
    /// The next object to place.
    next: usize,
    result: F,
    /// For each key of the path after the first, where it was found last (see `Walk`).
    hints: Vec<usize>,
}

impl<F: FnMut(usize, usize) -> Option<Data>> Placer<'_, F> {
    fn value(&mut self, value: &mut Data, keys: &[String], indices: &mut Vec<u32>) {
        if self.next >= self.objects.len() {
            return;
        }
        match value {
            Data::List(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    indices.push(i as u32);
                    self.value(item, keys, indices);
                    indices.pop();
                }
            }
            Data::Object(map) => match keys.split_first() {
                Some((key, rest)) => {
                    let depth = self.hints.len() - keys.len();
                    if let Some(i) = map.position_from(key, self.hints[depth]) {
                        self.hints[depth] = i;
                        if let Some(child) = map.get_index_mut(i) {
                            self.value(child, rest, indices);
                        }
                    }
                }
                None => self.object(map, indices),
            },
            _ => {}
        }
    }

    fn object(&mut self, map: &mut Object, indices: &[u32]) {
        // Objects the walk went past without reaching are gone: skip them.
        while self
            .objects
            .get(self.next)
            .is_some_and(|(at, _)| at < indices)
        {
            self.next += 1;
        }
        let Some((at, u)) = self.objects.get(self.next) else {
            return;
        };
        if at != indices {
            return;
        }
        let value = (self.result)(self.next, u);
        self.next += 1;
        put(self.step, map, value);
    }
}

/// Puts one object's result in place: merged into the object, or as the value of the
/// gateway-defined field.
fn put(step: &EntityStep, target: &mut Object, value: Option<Data>) {
    match (&step.placement, value) {
        (Some(key), value) => {
            target.insert(key.as_str(), value.unwrap_or(Data::Null));
        }
        (None, Some(Data::Object(source))) => deep_merge(target, source),
        (None, _) => {}
    }
}

/// Puts a local resolver's values (one per distinct parent) in place; a failure is an error
/// at the field of each of its parents.
fn merge_local(
    step: &EntityStep,
    gathered: Gathered,
    values: Vec<Result<Value, String>>,
    fetched: &mut Fetched,
) {
    let mut failed = Vec::new();
    place_all(
        step,
        &gathered.objects,
        &mut fetched.data,
        |i, u| match values.get(u) {
            Some(Ok(value)) => Some(Data::from(value)),
            Some(Err(message)) => {
                failed.push((i, message.clone()));
                None
            }
            None => None,
        },
    );
    for (i, message) in failed {
        let Some((indices, _)) = gathered.objects.get(i) else {
            continue;
        };
        let path = client_path(step, &fetched.data, indices);
        on_fields(step, &path, &GraphQLError::new(message), fetched);
    }
}

/// The client's arguments of a gateway-defined field, variables substituted.
fn field_args(step: &EntityStep, variables: &JsonMap) -> JsonMap {
    step.field_args
        .iter()
        .map(|(name, value)| (name.to_string(), json_value(value, variables)))
        .collect()
}

fn json_value(value: &apollo_compiler::ast::Value, variables: &JsonMap) -> Value {
    use apollo_compiler::ast::Value as Ast;
    match value {
        Ast::Null => Value::Null,
        Ast::Boolean(b) => Value::Bool(*b),
        Ast::Enum(e) => Value::String(e.to_string()),
        Ast::String(s) => Value::String(s.clone()),
        Ast::Int(i) => i.try_to_i32().map(Value::from).unwrap_or(Value::Null),
        Ast::Float(f) => f.try_to_f64().map(Value::from).unwrap_or(Value::Null),
        Ast::Variable(name) => variables.get(name.as_str()).cloned().unwrap_or(Value::Null),
        Ast::List(items) => Value::Array(items.iter().map(|v| json_value(v, variables)).collect()),
        Ast::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(n, v)| (n.to_string(), json_value(v, variables)))
                .collect(),
        ),
    }
}

/// `error` on each client field of the step under the object at `path`.
fn on_fields(step: &EntityStep, path: &[PathSegment], error: &GraphQLError, fetched: &mut Fetched) {
    for field in &step.fields {
        let mut located = error.clone();
        let mut full = path.to_vec();
        full.push(PathSegment::Key(field.key.clone()));
        located.path = Some(full);
        located.locations = field.location.into_iter().collect();
        fetched.errors.push(located);
    }
}

/// Merges `source` into `target`: objects key by key, lists of the same length item by item.
fn deep_merge(target: &mut Object, source: Object) {
    target.merge_members(source, merge_value);
}

/// Merges `value` into `existing` (see [`deep_merge`]).
fn merge_value(existing: &mut Data, value: Data) {
    match (existing, value) {
        (Data::Object(t), Data::Object(s)) => deep_merge(t, s),
        (Data::List(t), Data::List(s)) if t.len() == s.len() => {
            for (t, s) in t.iter_mut().zip(s) {
                match (t, s) {
                    (Data::Object(t), Data::Object(s)) => deep_merge(t, s),
                    (t, s) => *t = s,
                }
            }
        }
        (existing, value) => *existing = value,
    }
}
