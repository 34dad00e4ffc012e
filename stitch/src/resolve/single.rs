//! A single-key entry point (`user(id:)`): one aliased call per distinct object,
//! `_<i>: user(id: $_qv<i>_id)`, each answer matched back by its alias.

use quilt_executor::data::Object;
use quilt_executor::{Data, JsonMap};

use super::Calls;
use crate::entry_point::ArgsFn;

/// One call per representation, arguments built by `args`.
pub(super) fn calls(args: &ArgsFn, representations: &[JsonMap], calls: &mut Calls) {
    for (i, representation) in representations.iter().enumerate() {
        calls.add(i, args(representation));
    }
}

/// Each `_<i>` answer to representation `i`.
pub(super) fn match_aliased(data: Object, results: &mut [Option<Data>]) {
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
