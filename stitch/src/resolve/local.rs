//! A gateway-defined field computed by a Rust function: no upstream call, one value per
//! distinct parent.

use futures::FutureExt;
use futures::future::join_all;
use quilt_executor::JsonMap;

use super::Values;
use crate::extension::LocalFn;

/// The function on every parent's required fields and the field's arguments.
pub(super) fn call(resolve: &LocalFn, representations: &[JsonMap], field_args: &JsonMap) -> Values {
    join_all(
        representations
            .iter()
            .map(|r| resolve(r.clone(), field_args.clone())),
    )
    .boxed()
}
