//! An entry point written in code ([`EntryPoint::resolve`](crate::EntryPoint::resolve)): it is
//! given the representations and the selection and fetches the objects itself.

use futures::FutureExt;

use super::Values;
use crate::entry_point::{EntryCall, ResolveFn};

/// Calls the entry point; an answer of the wrong length fails every object.
pub(super) fn call(resolve: &ResolveFn, call: EntryCall) -> Values {
    let count = call.representations.len();
    let call = resolve(call);
    async move {
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
    }
    .boxed()
}
