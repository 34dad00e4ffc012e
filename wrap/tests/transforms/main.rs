//! Each transform against the real test subgraph: the schema change, and queries through the
//! wrapped executor whose data, error paths, variables and fragments come back mapped.

#![allow(clippy::unwrap_used)]

mod core;
mod directives;
mod fields;
mod filter;
mod inverse;
mod rename;
mod reshape;
mod support;
mod values;
