//! The type-merging option tests' services and reference: the parity services
//! (test-support/js/parity-subgraph.mjs: `left`, `right`, `lists`), Quilt over some of them with
//! given options, and the graphql-tools gateway over the same with the same options
//! (test-support/js/parity-gateway.mjs), which reports whether building failed and what it
//! warned.

use std::collections::BTreeSet;

use quilt_stitch::{StitchError, StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::JsPeer;
use quilt_test_support::js::js_dir;
use serde_json::Value;

use super::differential::{client, post};

/// The parity services, running.
pub struct Services {
    peers: Vec<(&'static str, JsPeer)>,
}

impl Services {
    /// Starts `left`, `right` and `lists`.
    pub async fn start() -> Self {
        Self::start_these(&["left", "right", "lists"]).await
    }

    /// Starts the services `names`.
    pub async fn start_these(names: &[&'static str]) -> Self {
        let mut peers = Vec::new();
        for &name in names {
            peers.push((
                name,
                JsPeer::start("parity-subgraph.mjs", &[name]).await.unwrap(),
            ));
        }
        Self { peers }
    }

    /// The URL of the service `name`.
    pub fn url(&self, name: &str) -> String {
        let (_, peer) = self.peers.iter().find(|(n, _)| *n == name).unwrap();
        peer.http_url("/graphql")
    }

    /// The bodies of the GraphQL requests the service `name` received, in order.
    pub async fn log(&self, name: &str) -> Vec<Value> {
        let (_, peer) = self.peers.iter().find(|(n, _)| *n == name).unwrap();
        let bodies: Vec<String> = client()
            .get(peer.http_url("/log"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }

    /// Quilt over the services `names` (in that order), with the stitcher's options set by
    /// `configure`.
    pub fn quilt(
        &self,
        names: &[&str],
        configure: impl FnOnce(Stitcher) -> Stitcher,
    ) -> Result<StitchedSchema, StitchError> {
        self.quilt_with(names, |s| s, configure)
    }

    /// Like [`Services::quilt`], each subschema's config first changed by `subschema`.
    pub fn quilt_with(
        &self,
        names: &[&str],
        subschema: impl Fn(SubschemaConfig) -> SubschemaConfig,
        configure: impl FnOnce(Stitcher) -> Stitcher,
    ) -> Result<StitchedSchema, StitchError> {
        let mut stitcher = Stitcher::new();
        for name in names {
            let sdl =
                std::fs::read_to_string(js_dir().join(format!("parity/{name}.graphql"))).unwrap();
            stitcher = stitcher.subschema(subschema(
                SubschemaConfig::from_sdl(*name, &sdl, super::http(self.url(name))).unwrap(),
            ));
        }
        configure(stitcher).build()
    }

    /// The graphql-tools gateway over the services `names` with `options` (JSON, as
    /// parity-gateway.mjs reads them).
    pub async fn reference(&self, names: &[&str], options: Value) -> Reference {
        let mut args = vec![options.to_string()];
        args.extend(names.iter().map(|n| format!("{n}={}", self.url(n))));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let peer = JsPeer::start("parity-gateway.mjs", &args).await.unwrap();
        let build: Value = client()
            .get(peer.http_url("/build"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Reference { peer, build }
    }
}

/// The graphql-tools gateway and what building it reported.
pub struct Reference {
    peer: JsPeer,
    build: Value,
}

impl Reference {
    /// The message building threw, if it failed.
    pub fn error(&self) -> Option<&str> {
        self.build["error"].as_str()
    }

    /// The coordinates its build warnings name (the first quoted `"Type.field"` of each).
    pub fn warned(&self) -> BTreeSet<String> {
        self.build["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| quoted(w.as_str().unwrap()))
            .collect()
    }

    /// Its answer to `query`.
    pub async fn run(&self, query: &str) -> Value {
        post(
            &client(),
            &self.peer.http_url("/graphql"),
            query,
            &serde_json::json!({}),
        )
        .await
    }
}

/// The first `"..."` of a message.
pub fn quoted(message: &str) -> Option<String> {
    let (_, rest) = message.split_once('"')?;
    let (inside, _) = rest.split_once('"')?;
    Some(inside.to_owned())
}

/// The coordinates Quilt's build warnings name.
pub fn warned(gateway: &StitchedSchema) -> BTreeSet<String> {
    gateway
        .build_warnings()
        .iter()
        .map(|w| w.coordinate.clone())
        .collect()
}

/// Data compared as text (key order counts) and error paths, sorted.
pub fn same_answer(expected: &Value, actual: &Value) -> bool {
    serde_json::to_string(&expected["data"]).unwrap()
        == serde_json::to_string(&actual["data"]).unwrap()
        && super::differential::error_paths(expected) == super::differential::error_paths(actual)
}
