//! Quilt's end-to-end suite, one test executable: the `gateway-example` binary started as a
//! process (configuration, signals, logs, threads, hostile clients, the demo services over
//! Redis and the brokers) and the gateway against the JavaScript reference peers. Telemetry has
//! an executable of its own (`tests/telemetry/main.rs`): its metrics recorder is process-global.
//! The binary is built on first use (`quilt_test_support::process::gateway_binary`).
//!
//! Run: `cargo test -p quilt-tests` (the npm peers first: `npm ci --prefix test-support/js`;
//! `scripts/test.sh` does both).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

#[path = "../../gateway-example/tests/common/mod.rs"]
mod common;

mod callback;
mod config;
mod hostile;
mod interop;
mod lifecycle;
mod masking;
mod merged;
mod process;
mod pubsub_demo;
mod redis_demo;
mod security;
mod threads;
