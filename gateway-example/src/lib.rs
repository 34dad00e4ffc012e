//! # gateway-example
//!
//! A runnable Quilt gateway. With no arguments it starts embedded demo services (a shop of
//! three services whose types are merged, and the Seat-Saver venue with subscriptions) on
//! loopback ports, stitches them and serves the gateway on `127.0.0.1:4000`. With
//! `--subschema NAME=URL` flags or a `--config` TOML file it stitches remote services instead.
//!
//! | module | holds |
//! |---|---|
//! | [`allocator`] | mimalloc's purge delay (freed memory kept a second for the next answer) |
//! | [`config`] | the command line, the TOML file, the resulting [`Settings`](config::Settings) |
//! | [`sections`] | the file's `[limits]`, `[timeouts]`, `[subscriptions]`, `[errors]`, `[introspection]`, `[cors]`, `[csrf]`, `[persisted_queries]` |
//! | [`env_expand`] | `${NAME}` in the file, from the environment |
//! | [`spec`] | [`SubschemaSpec`](spec::SubschemaSpec): one subschema's URL, WebSocket, headers, timeout, transforms |
//! | [`remote`] | a subschema's executors (batched HTTP + WebSocket) and how its schema is loaded |
//! | [`gateway`] | the stitched schema behind a swappable executor; reloads |
//! | [`run`] | serving it all: [`run::serve`] |
//! | [`demo`] | the embedded demo services |
//! | [`telemetry`] | metrics, traces and logs: the `[telemetry]` section and the setup |

pub mod allocator;
pub mod config;
pub mod demo;
pub mod env_expand;
pub mod gateway;
pub mod remote;
pub mod run;
pub mod sections;
pub mod spec;
pub mod telemetry;
