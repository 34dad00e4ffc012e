//! The `gateway-example` binary as a process, for the end-to-end tests: found beside the test
//! executable (built once per test binary with `cargo build -p gateway-example`, so a test never
//! runs a stale gateway), started on `127.0.0.1:0`, killed on drop.

#![allow(clippy::unwrap_used)] // a test helper: a failure fails the test

use std::path::PathBuf;
use std::sync::OnceLock;

use quilt_executor::{Executor, HttpExecutor, Request};
use serde_json::Value;

use crate::WAIT;
use crate::wait::within;

/// The path of the debug `gateway-example` binary of this build, built (or brought up to date)
/// the first time it is asked for.
///
/// A test executable lives in `<target>/debug/deps/`; the binary is `<target>/debug/
/// gateway-example`. Cargo gives a package's tests only its own binaries (`CARGO_BIN_EXE_*`),
/// so the cross-crate tests build it themselves: `cargo build -p gateway-example` with the same
/// target directory, which returns at once when the binary is up to date.
pub fn gateway_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("the test executable is in <target>/<profile>/deps")
                .to_path_buf();
            let target_dir = profile_dir
                .parent()
                .expect("the profile directory is in the target directory")
                .to_path_buf();
            let binary =
                profile_dir.join(format!("gateway-example{}", std::env::consts::EXE_SUFFIX));
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "gateway-example",
                    "--bin",
                    "gateway-example",
                ])
                .env("CARGO_TARGET_DIR", &target_dir)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(
                status.success(),
                "`cargo build -p gateway-example` failed; the end-to-end tests need the binary"
            );
            assert!(
                binary.exists(),
                "no gateway-example at {}",
                binary.display()
            );
            binary
        })
        .clone()
}

/// The `gateway-example` binary running as a process; killed on drop.
pub struct GatewayProcess {
    /// The GraphQL URL it printed.
    pub url: String,
    child: tokio::process::Child,
}

impl GatewayProcess {
    /// Starts the binary with `args` (plus `--listen 127.0.0.1:0`) and waits, at most 60 s,
    /// for the URL it prints.
    pub async fn start(args: &[String]) -> Self {
        Self::start_with_env(args, &[]).await
    }

    /// [`GatewayProcess::start`] with `env` added to the environment. `REDIS_URL` is removed
    /// unless `env` sets it: the environment running the tests must not make the demo venues
    /// of unrelated tests share one Redis hash.
    pub async fn start_with_env(args: &[String], env: &[(&str, &str)]) -> Self {
        Self::spawn(args, env, std::process::Stdio::inherit()).await
    }

    async fn spawn(args: &[String], env: &[(&str, &str)], stderr: std::process::Stdio) -> Self {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut command = tokio::process::Command::new(gateway_binary());
        command.env_remove("REDIS_URL");
        command.envs(env.iter().copied());
        let mut child = command
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("Quilt gateway listening on ") {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
            }
            panic!("gateway-example exited before printing its URL")
        })
        .await
        .expect("gateway-example did not print its URL within 60 s");
        // Keep reading so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { url, child }
    }

    /// [`GatewayProcess::start`] with its standard error (the log) collected as it is written.
    pub async fn start_logged(args: &[String]) -> (Self, std::sync::Arc<std::sync::Mutex<String>>) {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut process = Self::spawn(args, &[], std::process::Stdio::piped()).await;
        let stderr = process.child.stderr.take().unwrap();
        let sink = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        (process, log)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Sends the process a signal (`TERM`, `INT`) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits (at most `limit`) for the process to exit; its status.
    pub async fn exit_status(&mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .expect("the process exited in time")
            .unwrap()
    }

    /// The whole JSON result of a query over HTTP.
    pub async fn query(&self, query: &str) -> Value {
        let client = HttpExecutor::builder(self.url.as_str())
            .timeout(WAIT)
            .build()
            .unwrap();
        let request = Request::new(query).unwrap();
        let result = within(async { client.execute(request).await?.into_single().await })
            .await
            .unwrap();
        serde_json::to_value(result).unwrap()
    }
}
