//! Apollo Federation's `_entities(representations:)`: one call with the representations as
//! they are, results in their order, each under `... on Type`.

use quilt_executor::JsonMap;
use serde_json::Value;

use super::Calls;

/// The variable the representations go in when sent as JSON text.
pub(crate) const RAW_REPRESENTATIONS: &str = "_qv0_representations";

/// The one call; with `raw` the representations are written by the caller as JSON text (in
/// [`RAW_REPRESENTATIONS`]), else they are moved into the variables.
pub(super) fn calls(representations: &mut Vec<JsonMap>, raw: bool, calls: &mut Calls) {
    if raw {
        calls.names.push(vec!["representations".to_owned()]);
        return;
    }
    let representations = std::mem::take(representations)
        .into_iter()
        .map(Value::Object)
        .collect();
    let args = JsonMap::from_iter([("representations".to_owned(), Value::Array(representations))]);
    calls.add(0, args);
}
