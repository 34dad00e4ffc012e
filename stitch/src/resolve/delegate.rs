//! A gateway-defined field delegated to a root field of a subschema, once per distinct parent:
//! aliased calls as for a [single-key entry point](super::single), arguments built from the
//! parent's required fields and the field's own arguments.

use quilt_executor::JsonMap;

use super::Calls;
use crate::extension::DelegateArgsFn;

/// One call per parent.
pub(super) fn calls(
    args: &DelegateArgsFn,
    representations: &[JsonMap],
    field_args: &JsonMap,
    calls: &mut Calls,
) {
    for (i, representation) in representations.iter().enumerate() {
        calls.add(i, args(representation, field_args));
    }
}
