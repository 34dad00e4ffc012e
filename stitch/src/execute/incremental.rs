//! Incremental delivery (`@defer`, `@stream`): the initial payload's steps run first and it is
//! delivered; then every deferred group whose parent has been delivered runs its own steps
//! (several at once) and is delivered when they are done, one entry per object it applies to;
//! streamed lists deliver their remaining items right after the payload that cut them.
//!
//! Payloads follow the incremental delivery RFC as graphql-js 17 and graphql-yoga deliver it:
//! `{data, errors, hasNext: true}`, then `{incremental: [{data, path, label, errors} |
//! {items, path, label, errors}], hasNext}`. An error inside a deferred fragment stays in that
//! fragment's entry (a null it propagates stops at the fragment: the entry's `data` is null).

use std::sync::{Mutex, PoisonError};

use apollo_compiler::Name;
use apollo_compiler::ast::OperationType;
use futures::channel::mpsc;
use futures::future::{BoxFuture, Shared, join_all};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::{FutureExt, SinkExt};
use quilt_executor::data::{Data, Object};
use quilt_executor::{
    ExecutionResult, ExecutorError, GraphQLError, IncrementalPayload, PathSegment, ResultData,
    ResultStream,
};
use serde_json::Value;

use super::entities::{Which, lock, overlay_value, placing, run_entity_steps};
use super::{Execution, Fetched, root_type_name};
use crate::plan::{DeferGroup, FetchStep};
use crate::shape::{Part, Streamed, parse_written, shape_fragment, shape_initial, shape_item};

/// Where results go: the payloads, in order.
pub(crate) type Payloads = mpsc::Sender<ExecutionResult>;

/// What starting deferred groups reads: each group's effective group, the fetched data, and
/// the reading of the subschemas' later payloads (what groups sent with `@defer` wait for).
#[derive(Clone)]
struct Start<'s> {
    effective: &'s [usize],
    shared: &'s Mutex<Fetched>,
    upstream: Shared<BoxFuture<'s, ()>>,
}

/// One object a deferred group applies to: its path and its type.
struct Target {
    path: Vec<PathSegment>,
    type_name: Name,
}

impl Execution<'_> {
    /// Runs the operation and sends its payloads to `out`, the last with `hasNext: false`.
    /// Dropping the future cancels the fetches still running.
    pub async fn deliver(&self, fetched: Fetched, mut out: Payloads) {
        let plan = &self.prepared.plan;
        let Ok(operation) = self
            .prepared
            .document
            .operations
            .get(self.prepared.operation_name.as_deref())
        else {
            let _ = out
                .send(ExecutionResult::from_error(GraphQLError::new(
                    "the prepared operation is missing",
                )))
                .await;
            return;
        };
        // Each group's effective group: itself when on, else its parent's.
        let mut effective = vec![0; plan.defers.len() + 1];
        for (i, group) in plan.defers.iter().enumerate() {
            let on = group
                .if_variable
                .as_ref()
                .is_none_or(|v| matches!(self.variables.get(v.as_str()), Some(Value::Bool(true))));
            effective[i + 1] = if on { i + 1 } else { effective[group.parent] };
        }
        let shared = Mutex::new(fetched);
        let rests = self.run_initial(&effective, &shared).await;
        // The later payloads of subschemas sent `@defer`, read once the first group that
        // waits for them is started.
        let upstream_errors = Mutex::new(Vec::new());
        let upstream: Shared<BoxFuture<'_, ()>> = {
            let (shared, upstream_errors) = (&shared, &upstream_errors);
            join_all(
                rests
                    .into_iter()
                    .map(|(step, rest)| self.consume(step, rest, shared, upstream_errors)),
            )
            .map(|_| ())
            .boxed()
            .shared()
        };

        let inputs = (&**self.schema, self.prepared, self.variables);
        let root_type = root_type_name(operation.operation_type);
        let on = |g: usize| effective[g] == g;
        let initial = {
            let mut fetched = lock(&shared);
            let errors = std::mem::take(&mut fetched.errors);
            let deferred = |path: &[PathSegment]| {
                plan.defers
                    .iter()
                    .enumerate()
                    .any(|(i, g)| on(i + 1) && under(path, &g.path))
            };
            shape_initial(
                inputs,
                (root_type, &operation.selection_set),
                &fetched.data,
                errors,
                &deferred,
            )
        };
        let Part {
            json,
            mut errors,
            held,
            streams,
        } = initial;
        let mut pool = held;
        let mut delivered = parse_written(json, &mut errors);
        let initial_data = delivered.clone();
        let mut entries = Vec::new();
        {
            let fetched = lock(&shared);
            stream_entries(inputs, &streams, &fetched.data, &mut pool, &mut entries);
        }
        apply(&mut delivered, &entries);

        let mut running: FuturesUnordered<BoxFuture<'_, (usize, Vec<GraphQLError>)>> =
            FuturesUnordered::new();
        let mut targets: Vec<Vec<Target>> = (0..=plan.defers.len()).map(|_| Vec::new()).collect();
        let start = Start {
            effective: &effective,
            shared: &shared,
            upstream,
        };
        self.start_children(0, start.clone(), &delivered, &mut targets, &mut running);

        let has_next = !entries.is_empty() || !running.is_empty();
        let first = ExecutionResult {
            data: Some(ResultData::Value(initial_data)),
            errors,
            has_next: Some(has_next),
            ..ExecutionResult::default()
        };
        if out.send(first).await.is_err() || !has_next {
            return;
        }
        if !entries.is_empty() {
            let last = running.is_empty();
            if last {
                attach_leftovers(&mut entries, &mut pool);
            }
            if send(&mut out, std::mem::take(&mut entries), !last)
                .await
                .is_err()
                || last
            {
                return;
            }
        }
        while let Some((g, group_errors)) = running.next().await {
            pool.extend(group_errors);
            pool.append(
                &mut upstream_errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            let mut entries = Vec::new();
            {
                let fetched = lock(&shared);
                let group = &plan.defers[g - 1];
                for target in &targets[g] {
                    let Some(object) = object_at(&fetched.data, &target.path) else {
                        continue;
                    };
                    let part = shape_fragment(
                        inputs,
                        &target.path,
                        &target.type_name,
                        &group.selection,
                        object,
                        std::mem::take(&mut pool),
                    );
                    let Part {
                        json,
                        mut errors,
                        held,
                        streams,
                    } = part;
                    pool = held;
                    let data = parse_written(json, &mut errors);
                    entries.push(IncrementalPayload {
                        data: Some(data),
                        path: target.path.clone(),
                        label: group.label.clone(),
                        errors,
                        ..IncrementalPayload::default()
                    });
                    stream_entries(inputs, &streams, &fetched.data, &mut pool, &mut entries);
                }
            }
            apply(&mut delivered, &entries);
            self.start_children(g, start.clone(), &delivered, &mut targets, &mut running);
            let last = running.is_empty();
            if entries.is_empty() && !last {
                continue;
            }
            if last {
                attach_leftovers(&mut entries, &mut pool);
            }
            if send(&mut out, entries, !last).await.is_err() || last {
                return;
            }
        }
    }

    /// The initial payload's steps: the root steps and entity steps of group 0 (and of the
    /// groups turned off, which belong to it). A mutation runs all its root fields here, in
    /// order, each followed by its merged fields.
    async fn run_initial(
        &self,
        effective: &[usize],
        shared: &Mutex<Fetched>,
    ) -> Vec<(&FetchStep, ResultStream)> {
        let plan = &self.prepared.plan;
        let mut rests = Vec::new();
        if plan.operation_type == OperationType::Mutation {
            for (i, step) in plan.steps.iter().enumerate() {
                let result = self.run_step(step).await;
                self.place_root(step, result, &mut lock(shared));
                let which = Which {
                    root: Some(i),
                    group: Some((0, effective)),
                };
                run_entity_steps(self, which, shared, None).await;
            }
            return rests;
        }
        let steps: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| effective.get(s.group) == Some(&0))
            .collect();
        // A subschema sent `@defer` answers its first payload now, the rest later.
        let results = join_all(steps.iter().map(|step| async move {
            if !step.sends_defer {
                return (self.run_step(step).await, None);
            }
            let request = super::step_request(step, self.variables, self.context);
            match self
                .upstreams
                .fetch_parts(step.subschema, request, false)
                .await
            {
                Ok((first, rest)) => (Ok(first), rest),
                Err(error) => (Err(error), None),
            }
        }))
        .await;
        for (step, (result, rest)) in steps.into_iter().zip(results) {
            self.place_root(step, result, &mut lock(shared));
            if let Some(rest) = rest {
                rests.push((step, rest));
            }
        }
        let which = Which {
            root: None,
            group: Some((0, effective)),
        };
        run_entity_steps(self, which, shared, None).await;
        rests
    }

    /// Reads a subschema's later payloads (the fragments sent to it with `@defer`) into the
    /// fetched data, their errors into `errors`, within the request's deadline.
    async fn consume(
        &self,
        step: &FetchStep,
        mut rest: ResultStream,
        shared: &Mutex<Fetched>,
        errors: &Mutex<Vec<GraphQLError>>,
    ) {
        let upstreams = self.upstreams;
        let name = &upstreams.names[step.subschema];
        let read = async {
            while let Some(payload) = rest.next().await {
                let mut found = Vec::new();
                let failed = match payload {
                    Ok(payload) => {
                        found.extend(payload.errors);
                        let mut fetched = lock(shared);
                        for entry in payload.incremental.into_iter().flatten() {
                            apply_entry(&mut fetched.data, entry, &mut found);
                        }
                        None
                    }
                    Err(error) => Some(error),
                };
                upstreams
                    .errors
                    .clean(step.subschema, name, &mut found, self.context);
                if let Some(error) = &failed {
                    found.push(upstreams.errors.transport_error(name, error, self.context));
                }
                errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .append(&mut found);
                if failed.is_some() {
                    return;
                }
            }
        };
        let deadline = self.context.get::<quilt_executor::Deadline>().copied();
        match deadline {
            None => read.await,
            Some(deadline) => {
                if tokio::time::timeout_at(deadline.at, read).await.is_err() {
                    let error = ExecutorError::Timeout {
                        endpoint: format!("subschema `{name}`"),
                        after: deadline.budget,
                    };
                    errors
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(upstreams.errors.transport_error(name, &error, self.context));
                }
            }
        }
    }

    /// Starts the groups delivered after `parent` that apply to some object delivered so far.
    fn start_children<'s>(
        &'s self,
        parent: usize,
        start: Start<'s>,
        delivered: &Value,
        targets: &mut [Vec<Target>],
        running: &mut FuturesUnordered<BoxFuture<'s, (usize, Vec<GraphQLError>)>>,
    ) {
        let plan = &self.prepared.plan;
        let Start {
            effective,
            shared,
            upstream,
        } = start;
        for (i, group) in plan.defers.iter().enumerate() {
            let g = i + 1;
            if effective[g] != g || effective[group.parent] != parent {
                continue;
            }
            let found = {
                let fetched = lock(shared);
                self.targets(group, delivered, &fetched.data)
            };
            if found.is_empty() {
                continue;
            }
            targets[g] = found;
            if group.upstream {
                let upstream = upstream.clone();
                running.push(
                    async move {
                        upstream.await;
                        self.run_group(g, effective, shared).await
                    }
                    .boxed(),
                );
            } else {
                running.push(self.run_group(g, effective, shared).boxed());
            }
        }
    }

    /// The objects a group applies to: those at its path in what was delivered (not nulled),
    /// of a type its fragment applies to.
    fn targets(&self, group: &DeferGroup, delivered: &Value, data: &Object) -> Vec<Target> {
        let mut found = Vec::new();
        let mut path = Vec::new();
        walk(delivered, &group.path, &mut path, &mut |path| {
            let type_name = match data_at(data, path) {
                Some(Data::Object(object)) => match object.get("__typename").and_then(Data::as_str)
                {
                    Some(name) => self
                        .schema
                        .types
                        .get_key_value(name)
                        .map(|(n, _)| n.clone()),
                    None => Some(group.path_type.clone()),
                },
                // The root: the operation's root type.
                _ if path.is_empty() => Some(group.path_type.clone()),
                _ => None,
            };
            let Some(type_name) = type_name else {
                return;
            };
            let applies = group.type_condition.as_ref().is_none_or(|condition| {
                *condition == type_name || self.schema.is_subtype(condition, &type_name)
            });
            if applies && self.schema.get_object(&type_name).is_some() {
                found.push(Target {
                    path: path.to_vec(),
                    type_name,
                });
            }
        });
        found
    }

    /// A deferred group's own steps: its root fields, then its merged fields level by level.
    /// Answers the errors they placed.
    async fn run_group(
        &self,
        group: usize,
        effective: &[usize],
        shared: &Mutex<Fetched>,
    ) -> (usize, Vec<GraphQLError>) {
        let plan = &self.prepared.plan;
        let mut errors = Vec::new();
        if plan.operation_type != OperationType::Mutation {
            let steps: Vec<_> = plan
                .steps
                .iter()
                .filter(|s| effective.get(s.group) == Some(&group))
                .collect();
            let results = join_all(steps.iter().map(|step| self.run_step(step))).await;
            for (step, result) in steps.into_iter().zip(results) {
                placing(shared, Some(&mut errors), |fetched| {
                    self.place_root(step, result, fetched)
                });
            }
        }
        let which = Which {
            root: None,
            group: Some((group, effective)),
        };
        run_entity_steps(self, which, shared, Some(&mut errors)).await;
        (group, errors)
    }
}

/// Sends `{incremental, hasNext}`.
async fn send(
    out: &mut Payloads,
    incremental: Vec<IncrementalPayload>,
    has_next: bool,
) -> Result<(), mpsc::SendError> {
    out.send(ExecutionResult {
        incremental: (!incremental.is_empty()).then_some(incremental),
        has_next: Some(has_next),
        ..ExecutionResult::default()
    })
    .await
}

/// Upstream errors no payload reached (under objects no fragment was delivered for): they go
/// with the last payload's first entry rather than nowhere.
fn attach_leftovers(entries: &mut [IncrementalPayload], pool: &mut Vec<GraphQLError>) {
    if let Some(first) = entries.first_mut() {
        first.errors.append(pool);
    } else if !pool.is_empty() {
        tracing::debug!(
            count = pool.len(),
            "upstream errors under objects no deferred payload was delivered for were dropped"
        );
    }
}

/// The remaining items of each streamed list, one entry each.
fn stream_entries(
    inputs: (
        &apollo_compiler::Schema,
        &crate::plan::Prepared,
        &quilt_executor::JsonMap,
    ),
    streams: &[Streamed],
    data: &Object,
    pool: &mut Vec<GraphQLError>,
    entries: &mut Vec<IncrementalPayload>,
) {
    for streamed in streams {
        let Some(Data::List(items)) = data_at(data, &streamed.path) else {
            continue;
        };
        for (index, item) in items.iter().enumerate().skip(streamed.start) {
            let Part {
                json,
                mut errors,
                held,
                streams: inner,
            } = shape_item(inputs, streamed, index, item, std::mem::take(pool));
            *pool = held;
            let items = match parse_written(json, &mut errors) {
                Value::Array(items) => Some(items),
                _ => None,
            };
            let mut path = streamed.path.clone();
            path.push(PathSegment::Index(index));
            entries.push(IncrementalPayload {
                data: None,
                // A null that propagated to the item: no items, the errors say why.
                items,
                path,
                label: streamed.label.clone(),
                errors,
                ..IncrementalPayload::default()
            });
            stream_entries(inputs, &inner, data, pool, entries);
        }
    }
}

/// Whether `path`'s keys (indices skipped) begin with `prefix`.
fn under(path: &[PathSegment], prefix: &[String]) -> bool {
    let mut keys = path.iter().filter_map(|s| match s {
        PathSegment::Key(k) => Some(k),
        PathSegment::Index(_) => None,
    });
    prefix.iter().all(|p| keys.next() == Some(p))
}

/// The fetched value at a response path.
fn data_at<'d>(data: &'d Object, path: &[PathSegment]) -> Option<&'d Data> {
    let mut segments = path.iter();
    let mut current = match segments.next() {
        None => return None,
        Some(PathSegment::Key(key)) => data.get(key)?,
        Some(PathSegment::Index(_)) => return None,
    };
    for segment in segments {
        current = match (segment, current) {
            (PathSegment::Key(key), Data::Object(object)) => object.get(key)?,
            (PathSegment::Index(i), Data::List(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// The fetched object at a response path (the root for `[]`).
fn object_at<'d>(data: &'d Object, path: &[PathSegment]) -> Option<&'d Object> {
    if path.is_empty() {
        return Some(data);
    }
    match data_at(data, path) {
        Some(Data::Object(object)) => Some(object),
        _ => None,
    }
}

/// Calls `found` with the path of every object at `keys` under `value` (lists walked).
fn walk(
    value: &Value,
    keys: &[String],
    path: &mut Vec<PathSegment>,
    found: &mut dyn FnMut(&[PathSegment]),
) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                walk(item, keys, path, found);
                path.pop();
            }
        }
        Value::Object(object) => match keys.split_first() {
            None => found(path),
            Some((key, rest)) => {
                if let Some(child) = object.get(key) {
                    path.push(PathSegment::Key(key.clone()));
                    walk(child, rest, path, found);
                    path.pop();
                }
            }
        },
        _ => {}
    }
}

/// Applies delivered entries to the delivered tree (so later groups find their objects).
fn apply(delivered: &mut Value, entries: &[IncrementalPayload]) {
    for entry in entries {
        if let Some(data) = &entry.data {
            if let Some(target) = value_at(delivered, &entry.path) {
                merge(target, data);
            }
        } else if let Some(items) = &entry.items
            && let Some((PathSegment::Index(index), list_path)) = entry.path.split_last()
            && let Some(Value::Array(list)) = value_at(delivered, list_path)
        {
            for (offset, item) in items.iter().enumerate() {
                let at = index + offset;
                if at < list.len() {
                    list[at] = item.clone();
                } else {
                    list.push(item.clone());
                }
            }
        }
    }
}

fn value_at<'v>(value: &'v mut Value, path: &[PathSegment]) -> Option<&'v mut Value> {
    let mut current = value;
    for segment in path {
        current = match (segment, current) {
            (PathSegment::Key(key), Value::Object(object)) => object.get_mut(key)?,
            (PathSegment::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Merges `patch` into `target`: objects key by key, anything else replaced.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// Merges a subschema's later payload into its first (a whole answer from a stream).
pub(super) fn merge_payload(first: &mut ExecutionResult, payload: ExecutionResult) {
    first.errors.extend(payload.errors);
    let Some(Data::Object(mut data)) = first.take_data_tree() else {
        return;
    };
    for entry in payload.incremental.into_iter().flatten() {
        apply_entry(&mut data, entry, &mut first.errors);
    }
    first.data = Some(ResultData::Tree(Data::Object(data)));
}

/// Puts a subschema's incremental entry in place: its data overlaid on the object at its
/// path, its items into the list before it, its errors into `errors`.
fn apply_entry(data: &mut Object, entry: IncrementalPayload, errors: &mut Vec<GraphQLError>) {
    errors.extend(entry.errors);
    if let Some(value) = entry.data {
        if value.is_null() {
            return;
        }
        if entry.path.is_empty() {
            let mut root = Data::Object(std::mem::take(data));
            overlay_value(&mut root, Data::from(value));
            if let Data::Object(root) = root {
                *data = root;
            }
        } else if let Some(target) = data_at_mut(data, &entry.path) {
            overlay_value(target, Data::from(value));
        }
    } else if let Some(items) = entry.items
        && let Some((PathSegment::Index(index), list_path)) = entry.path.split_last()
        && let Some(Data::List(list)) = data_at_mut(data, list_path)
    {
        let mut items_now = std::mem::take(list).into_vec();
        for (offset, item) in items.into_iter().enumerate() {
            let item = Data::from(item);
            match items_now.get_mut(index + offset) {
                Some(slot) => *slot = item,
                None => items_now.push(item),
            }
        }
        *list = items_now.into_boxed_slice();
    }
}

fn data_at_mut<'d>(data: &'d mut Object, path: &[PathSegment]) -> Option<&'d mut Data> {
    let (first, rest) = path.split_first()?;
    let PathSegment::Key(key) = first else {
        return None;
    };
    let mut current = data.get_mut(key)?;
    for segment in rest {
        current = match (segment, current) {
            (PathSegment::Key(key), Data::Object(object)) => object.get_mut(key)?,
            (PathSegment::Index(i), Data::List(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(current)
}
