//! Running entity steps: gather the objects at the step's place, send their representations
//! (each distinct one once), and merge the results and errors back at the objects' paths.

use futures::future::join_all;
use quilt_executor::{
    Context, ExecutionResult, ExecutorError, GraphQLError, JsonMap, PathSegment, Request,
};
use serde_json::Value;

use super::Fetched;
use crate::entities::RuntimeArgs;
use crate::gateway::Gateway;
use crate::plan::{EntityStep, KEY_ALIAS_PREFIX, Plan};

/// The objects an entity step applies to.
#[derive(Default)]
struct Gathered {
    /// The distinct representations, in first-seen order.
    representations: Vec<JsonMap>,
    /// Every object: its response path and the index of its representation.
    objects: Vec<(Vec<PathSegment>, usize)>,
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
        for step in level.iter().filter(|s| root.is_none_or(|r| s.root == r)) {
            let gathered = gather(step, &fetched.data);
            if gathered.objects.is_empty() {
                continue;
            }
            let request = request(step, &gathered, variables, context);
            work.push((step, gathered, request));
        }
        if work.is_empty() {
            continue;
        }
        let results = join_all(work.iter_mut().map(|(step, _, request)| {
            let request = request.take();
            async move {
                match request {
                    Some(Ok(request)) => {
                        let executor = &gateway.executors[step.resolver.subschema];
                        match executor.execute(request).await {
                            Ok(response) => response.into_single().await,
                            Err(error) => Err(error),
                        }
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
            merge(gateway, step, gathered, result, fetched);
        }
    }
}

/// Walks the step's path through `data` (lists included) and gathers the objects.
fn gather(step: &EntityStep, data: &JsonMap) -> Gathered {
    let mut gathered = Gathered::default();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut path = Vec::new();
    let Some((first, rest)) = step.path.split_first() else {
        return gathered;
    };
    if let Some(value) = data.get(first) {
        path.push(PathSegment::Key(first.clone()));
        walk(step, value, rest, &mut path, &mut gathered, &mut seen);
    }
    gathered
}

fn walk(
    step: &EntityStep,
    value: &Value,
    keys: &[String],
    path: &mut Vec<PathSegment>,
    gathered: &mut Gathered,
    seen: &mut std::collections::HashMap<String, usize>,
) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(PathSegment::Index(i));
                walk(step, item, keys, path, gathered, seen);
                path.pop();
            }
        }
        Value::Object(map) => match keys.split_first() {
            Some((key, rest)) => {
                if let Some(child) = map.get(key) {
                    path.push(PathSegment::Key(key.clone()));
                    walk(step, child, rest, path, gathered, seen);
                    path.pop();
                }
            }
            None => {
                if let Some(representation) = representation(step, map) {
                    let text = Value::Object(representation.clone()).to_string();
                    let next = gathered.representations.len();
                    let index = *seen.entry(text).or_insert(next);
                    if index == next {
                        gathered.representations.push(representation);
                    }
                    gathered.objects.push((path.clone(), index));
                }
            }
        },
        _ => {}
    }
}

/// `__typename` and the requirement fields of an object, or `None` when the object is of
/// another type or lacks a key field (its key came back null).
fn representation(step: &EntityStep, object: &JsonMap) -> Option<JsonMap> {
    let type_name = step.resolver.type_name.as_str();
    if step.type_condition.is_some()
        && object.get("__typename").and_then(Value::as_str) != Some(type_name)
    {
        return None;
    }
    let mut representation = JsonMap::with_capacity(step.requirements.len() + 1);
    representation.insert("__typename".into(), Value::String(type_name.to_owned()));
    let mut alias = String::with_capacity(KEY_ALIAS_PREFIX.len() + 16);
    for requirement in &step.requirements {
        alias.clear();
        alias.push_str(KEY_ALIAS_PREFIX);
        alias.push_str(requirement);
        match object.get(&alias) {
            Some(value) => {
                representation.insert(requirement.to_string(), value.clone());
            }
            None => return None,
        }
    }
    Some(representation)
}

/// The upstream request for the gathered objects.
fn request(
    step: &EntityStep,
    gathered: &Gathered,
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
        RuntimeArgs::Entities => {
            let representations = gathered
                .representations
                .iter()
                .map(|r| Value::Object(r.clone()))
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
    fetched: &mut Fetched,
) {
    let service = &gateway.names[step.resolver.subschema];
    let result = match result {
        Ok(result) => result,
        Err(error) => {
            tracing::debug!(subschema = %service, %error, "entity step failed");
            let mut error = error.to_graphql_error();
            error
                .extensions
                .get_or_insert_with(JsonMap::new)
                .insert("serviceName".into(), Value::String(service.clone()));
            for (path, _) in &gathered.objects {
                on_fields(step, path, &error, fetched);
            }
            return;
        }
    };
    let count = gathered.representations.len();
    let mut results: Vec<Option<Value>> = vec![None; count];
    let mut errors = result.errors;
    if let Some(Value::Object(mut data)) = result.data {
        if step.resolver.batched() {
            match data.remove("_e") {
                Some(Value::Array(items)) if items.len() == count => {
                    for (slot, item) in results.iter_mut().zip(items) {
                        *slot = Some(item);
                    }
                }
                Some(Value::Array(items)) => errors.push(GraphQLError::new(format!(
                    "`{}` of subschema `{service}` returned {} results for {count} keys",
                    step.resolver.field_name,
                    items.len()
                ))),
                _ => {}
            }
        } else {
            for (i, slot) in results.iter_mut().enumerate() {
                *slot = data.remove(&format!("_{i}"));
            }
        }
    }
    for error in errors {
        let target = error.path.as_deref().and_then(|path| match path {
            [PathSegment::Key(alias), PathSegment::Index(i), rest @ ..] if alias == "_e" => {
                Some((*i, rest))
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
                for (path, _) in gathered.objects.iter().filter(|(_, u)| *u == index) {
                    if rest.is_empty() {
                        on_fields(step, path, &error, fetched);
                    } else {
                        let mut located = error.clone();
                        let mut full = path.clone();
                        full.extend(rest.iter().cloned());
                        located.path = Some(full);
                        fetched.errors.push(located);
                    }
                }
            }
            None => {
                for (path, _) in &gathered.objects {
                    on_fields(step, path, &error, fetched);
                }
            }
        }
    }
    // The last object of each representation takes the result; the others get copies.
    let mut last = vec![usize::MAX; count];
    for (i, (_, u)) in gathered.objects.iter().enumerate() {
        last[*u] = i;
    }
    for (i, (path, u)) in gathered.objects.iter().enumerate() {
        let value = if last[*u] == i {
            results[*u].take()
        } else {
            results[*u].clone()
        };
        let Some(Value::Object(source)) = value else {
            continue;
        };
        if let Some(Value::Object(target)) = value_at_mut(&mut fetched.data, path) {
            deep_merge(target, source);
        }
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

fn value_at_mut<'v>(data: &'v mut JsonMap, path: &[PathSegment]) -> Option<&'v mut Value> {
    let (first, rest) = path.split_first()?;
    let PathSegment::Key(first) = first else {
        return None;
    };
    let mut value = data.get_mut(first)?;
    for segment in rest {
        value = match segment {
            PathSegment::Key(key) => value.as_object_mut()?.get_mut(key)?,
            PathSegment::Index(i) => value.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(value)
}

/// Merges `source` into `target`: objects key by key, lists of the same length item by item.
fn deep_merge(target: &mut JsonMap, source: JsonMap) {
    for (key, value) in source {
        match (target.get_mut(&key), value) {
            (Some(Value::Object(t)), Value::Object(s)) => deep_merge(t, s),
            (Some(Value::Array(t)), Value::Array(s)) if t.len() == s.len() => {
                for (t, s) in t.iter_mut().zip(s) {
                    match (t, s) {
                        (Value::Object(t), Value::Object(s)) => deep_merge(t, s),
                        (t, s) => *t = s,
                    }
                }
            }
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}
