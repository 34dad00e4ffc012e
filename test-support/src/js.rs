//! Launching the JavaScript reference peers (graphql-ws, subscriptions-transport-ws,
//! graphql-yoga, graphql-sse, ...) from `test-support/js`, installed by `npm ci` from the
//! committed lockfile.
//!
//! A peer is a Node script under `test-support/js/` that listens on `127.0.0.1:0` and prints
//! `LISTENING <port>` on its standard output once it is ready. The process is killed when the
//! [`JsPeer`] is dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The folder holding `package.json` and the peer scripts.
pub fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// A running JavaScript peer.
pub struct JsPeer {
    port: u16,
    _child: Child,
}

impl JsPeer {
    /// Starts `node <script> <args...>` in `test-support/js` and waits (at most 30 s) for its
    /// `LISTENING <port>` line.
    pub async fn start(script: &str, args: &[&str]) -> anyhow::Result<Self> {
        let dir = js_dir();
        if !dir.join("node_modules").is_dir() {
            bail!(
                "the JavaScript peers are not installed: run `npm ci` in {}",
                dir.display()
            );
        }
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("could not start node {script}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(port) = line.strip_prefix("LISTENING ") {
                    return Ok::<u16, anyhow::Error>(port.trim().parse()?);
                }
            }
            bail!("{script} exited before listening")
        })
        .await
        .with_context(|| format!("{script} did not start listening within 30 s"))??;
        // Keep draining stdout so the peer never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            port,
            _child: child,
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn http_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `ws://127.0.0.1:PORT{path}`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }
}

/// Runs `node <script> <args>` in `test-support/js` to its end (at most 30 s) and returns its
/// standard output's lines parsed as JSON: how the tests run the reference clients. Panics,
/// failing the test, when the script fails, runs too long or prints a line that is not JSON.
#[allow(clippy::unwrap_used)] // a test helper: a failure fails the test
pub async fn node(script: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let output = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(js_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), output)
        .await
        .unwrap_or_else(|_| panic!("node {script} did not finish within 30 s"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "node {script} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}
