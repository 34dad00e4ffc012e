//! A gateway-defined field delegated for all parents in one call (graphql-tools'
//! `batchDelegateToSchema`): `_e: chirpsByAuthorIds(ids: $_qv0_ids)`, results one per key in
//! order, or a flat list grouped back by a field (`group_by`) or matched by it (`find_by`).

use quilt_executor::data::Object;
use quilt_executor::{Data, GraphQLError, JsonMap};

use super::{BATCH_ALIAS, Calls, KEY_ALIAS_PREFIX, Resolver, by_position};
use crate::extension::{KeysArgsFn, Matching, ParentKeyFn};

/// A batched delegation's functions.
#[derive(Clone)]
pub(crate) struct BatchDelegate {
    /// The key of one parent.
    pub key: ParentKeyFn,
    /// The arguments for all keys and the field's arguments.
    pub args_from_keys: KeysArgsFn,
    /// How results go back to the parents.
    pub matching: Matching,
}

impl BatchDelegate {
    /// The field the results are grouped or matched by.
    pub(super) fn group_field(&self) -> Option<&str> {
        match &self.matching {
            Matching::GroupBy(by) | Matching::FindBy(by) => Some(by),
            Matching::Position => None,
        }
    }

    /// The one call.
    pub(super) fn calls(
        &self,
        representations: &[JsonMap],
        field_args: &JsonMap,
        calls: &mut Calls,
    ) {
        let keys = representations.iter().map(|r| (self.key)(r)).collect();
        calls.add(0, (self.args_from_keys)(keys, field_args));
    }

    /// The results given back to the parents.
    pub(super) fn match_results(
        &self,
        resolver: &Resolver,
        service: &str,
        mut data: Object,
        representations: &[JsonMap],
        results: &mut [Option<Data>],
        errors: &mut Vec<GraphQLError>,
    ) {
        let (by, group) = match &self.matching {
            Matching::Position => return by_position(resolver, service, data, results, errors),
            Matching::GroupBy(by) => (by, true),
            Matching::FindBy(by) => (by, false),
        };
        let items = match data.remove(BATCH_ALIAS) {
            Some(Data::List(items)) => items,
            _ => Box::default(),
        };
        let alias = format!("{KEY_ALIAS_PREFIX}{by}");
        for (slot, representation) in results.iter_mut().zip(representations) {
            let wanted = (self.key)(representation);
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
    }
}
