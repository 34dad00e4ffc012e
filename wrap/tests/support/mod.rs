//! Helpers shared by the integration tests of quilt-wrap.
#![allow(dead_code)]

pub mod compare;
pub mod http;

use std::path::PathBuf;

/// The folder of the `@octokit/graphql-schema` npm package.
pub fn octokit_dir() -> PathBuf {
    quilt_test_support::js::js_dir().join("node_modules/@octokit/graphql-schema")
}
