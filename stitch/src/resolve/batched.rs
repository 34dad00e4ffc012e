//! A list entry point (`users(ids:)`): one call with every distinct key,
//! `_e: users(ids: $_qv0_ids)`, its results matched to the keys by position, by a field
//! selected for the purpose (`_qm`), or by a function of the results and the keys
//! (graphql-tools' `valuesFromResults`).

use std::borrow::Cow;

use quilt_executor::data::Object;
use quilt_executor::{Data, GraphQLError, JsonMap};
use serde_json::Value;

use super::{BATCH_ALIAS, Calls, MATCH_ALIAS, Matched, Resolver, by_position, with_fields};
use crate::entry_point::{ArgsFromKeysFn, KeyFn, Matching};

/// A list entry point's functions.
#[derive(Clone)]
pub(crate) struct Batched {
    /// The key of one object.
    pub key: KeyFn,
    /// The arguments for all keys.
    pub args_from_keys: ArgsFromKeysFn,
    /// How results are matched to the keys.
    pub matching: Matching,
}

impl Batched {
    /// Results matched by position.
    pub fn new(key: KeyFn, args_from_keys: ArgsFromKeysFn) -> Self {
        Self {
            key,
            args_from_keys,
            matching: Matching::Position,
        }
    }

    /// Whether the results come one per key, in key order.
    pub(super) fn by_position(&self) -> bool {
        matches!(self.matching, Matching::Position)
    }

    /// The client's selection with what matching reads.
    pub(super) fn selection<'s>(&self, resolver: &Resolver, selection: &'s str) -> Cow<'s, str> {
        match &self.matching {
            Matching::Position => Cow::Borrowed(selection),
            Matching::By(field) => {
                Cow::Owned(with_fields(selection, &format!("{MATCH_ALIAS}: {field}")))
            }
            Matching::Values(_) => {
                let key: Vec<String> = resolver.key.iter().map(|f| f.to_string()).collect();
                Cow::Owned(with_fields(selection, &key.join(" ")))
            }
        }
    }

    /// The one call.
    pub(super) fn calls(&self, representations: &[JsonMap], calls: &mut Calls) {
        let keys = representations.iter().map(|r| (self.key)(r)).collect();
        calls.add(0, (self.args_from_keys)(keys));
    }

    /// The results matched to the keys.
    pub(super) fn match_results(
        &self,
        resolver: &Resolver,
        service: &str,
        mut data: Object,
        representations: &[JsonMap],
        matched: &mut Matched,
        errors: &mut Vec<GraphQLError>,
    ) {
        let by = match &self.matching {
            Matching::Position => {
                return by_position(resolver, service, data, &mut matched.results, errors);
            }
            by => by,
        };
        let Some(Data::List(items)) = data.remove(BATCH_ALIAS) else {
            return;
        };
        let keys: Vec<Value> = representations.iter().map(|r| (self.key)(r)).collect();
        let count = matched.results.len();
        match by {
            Matching::By(_) => {
                let slots = match_by_key(&items, &keys);
                for (i, item) in items.into_vec().into_iter().enumerate() {
                    if let Some(u) = slots.get(i).copied().flatten() {
                        matched.results[u] = Some(item);
                    }
                }
                matched.items = Some(slots);
            }
            Matching::Values(values) => {
                let items: Vec<Value> = items.into_vec().into_iter().map(Value::from).collect();
                let values = values(items.clone(), &keys);
                if values.len() == count {
                    // An upstream error at an item goes where that item went.
                    matched.items = Some(
                        items
                            .iter()
                            .map(|item| {
                                (!item.is_null())
                                    .then(|| values.iter().position(|v| v == item))
                                    .flatten()
                            })
                            .collect(),
                    );
                    for (slot, value) in matched.results.iter_mut().zip(values) {
                        *slot = Some(Data::from(value));
                    }
                } else {
                    errors.push(GraphQLError::new(format!(
                        "the values from the results of `{}` of subschema `{service}` are {} \
                         for {count} keys",
                        resolver.field_name,
                        values.len()
                    )));
                }
            }
            Matching::Position => {}
        }
    }
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
