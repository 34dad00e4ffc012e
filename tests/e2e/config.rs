//! The configuration surface of `gateway-example`: the TOML file's sections, the flags over
//! them, `${NAME}` from the environment, `--check-config`, and settings that reach a running
//! gateway.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{GatewayProcess, TempDir, js_shop};
use clap::Parser;
use gateway_example::config::{Cli, Settings};
use serde_json::json;

fn settings(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Settings> {
    let cli = Cli::try_parse_from(std::iter::once("gateway-example").chain(args.iter().copied()))?;
    cli.settings_with_env(|name| {
        env.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
}

/// Runs the binary with `args` to completion (at most 60 s): its exit code and standard
/// output and error.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(quilt_test_support::process::gateway_binary())
        .args(args)
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn example_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway-example/gateway.example.toml")
}

#[test]
fn the_example_file_sets_every_section() {
    let path = example_file();
    let settings = settings(
        &["--config", path.to_str().unwrap()],
        &[("ACCOUNTS_API_KEY", "from-env")],
    )
    .unwrap();
    assert_eq!(settings.limits.max_depth, Some(32));
    assert_eq!(settings.limits.max_selections, Some(5000));
    assert_eq!(
        settings.limits.request_timeout,
        Some(Duration::from_secs(30))
    );
    assert_eq!(settings.streaming.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(settings.shutdown_delay, Duration::from_secs(5));
    assert_eq!(settings.streaming.shutdown_delay, Duration::from_secs(5));
    assert_eq!(settings.subscriptions.max_opened_subscriptions, None);
    assert_eq!(settings.stitch_limits.max_document_bytes, 262_144);
    assert_eq!(settings.stitch_limits.plan_cache_capacity, 1024);
    assert_eq!(
        settings.streaming.multipart_heartbeat,
        Duration::from_secs(5)
    );
    assert_eq!(settings.streaming.incremental_heartbeat, None);
    assert_eq!(
        settings.streaming.sse_reservation_timeout,
        Duration::from_secs(30)
    );
    assert!(settings.graphiql);
    assert!(!settings.expose_upstream_details);
    assert!(settings.introspection);
    assert_eq!(
        settings.cors.origins.as_deref(),
        Some(&["https://app.example.com".to_owned()][..])
    );
    assert_eq!(settings.persisted_queries.store.as_deref(), Some("memory"));
    let accounts = &settings.subschemas[0];
    assert_eq!(accounts.timeout, Some(5.0), "its own timeout wins");
    match &accounts.headers {
        gateway_example::spec::HeadersSpec::Static(headers) => {
            assert_eq!(headers["x-api-key"], "from-env")
        }
        other => panic!("fixed headers expected: {other:?}"),
    }
    assert_eq!(
        settings.subschemas[1].timeout,
        Some(10.0),
        "[timeouts] upstream is the default"
    );
    assert!(settings.subschemas[1].errors.redact);
    assert!(settings.telemetry.metrics.enabled);
    assert_eq!(settings.telemetry.tracing.sampling_ratio, 0.1);
    assert_eq!(
        settings.telemetry.logs.format,
        gateway_example::telemetry::LogFormat::Json
    );
}

#[test]
fn the_readme_shows_the_example_file_as_it_is() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../gateway-example/gateway.example.toml");
    assert!(
        readme.contains(&format!("```toml\n{example}```")),
        "README's complete example differs from gateway-example/gateway.example.toml"
    );
}

#[test]
fn the_readme_shows_the_compiled_gateway_example_as_it_is() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../examples/readme_gateway.rs");
    let begin = example.find("// README begins\n").unwrap() + "// README begins\n".len();
    let end = example.find("    // README ends").unwrap();
    let shown: String = example[begin..end]
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        readme.contains(&format!("```rust,ignore\n{shown}```")),
        "README's \"A gateway in code\" differs from tests/examples/readme_gateway.rs"
    );
}

#[test]
fn flags_override_the_file() {
    let dir = TempDir::new("config-flags");
    let file = dir.file(
        "gateway.toml",
        "[limits]\nmax_depth = 7\nmax_aliases = false\n[introspection]\nenabled = true\n\
         [cors]\norigins = [\"https://a.example\"]\n",
    );
    let settings = settings(
        &[
            "--config",
            &file,
            "--max-depth",
            "3",
            "--max-tokens",
            "500",
            "--no-introspection",
            "--cors-origin",
            "https://b.example",
            "--expose-upstream-details",
            "--no-graphiql",
        ],
        &[],
    )
    .unwrap();
    assert!(!settings.graphiql);
    assert_eq!(
        settings.stitch_limits.max_depth, 64,
        "the stitched schema's depth limit is never below the server's"
    );
    assert_eq!(settings.limits.max_depth, Some(3));
    assert_eq!(
        settings.limits.max_aliases, None,
        "false switches a limit off"
    );
    assert_eq!(settings.limits.max_tokens, Some(500));
    assert!(!settings.introspection);
    assert!(settings.expose_upstream_details);
    assert_eq!(
        settings.cors.origins.unwrap(),
        ["https://a.example", "https://b.example"]
    );
}

#[test]
fn unknown_keys_and_bad_values_are_errors_naming_the_key_and_line() {
    let cases = [
        (
            "[limits]\nmax_depth = 3\nmax_dept = 4\n",
            ["max_dept", "line 3"],
        ),
        ("[timeouts]\nrequest = \"soon\"\n", ["request", "line 2"]),
        (
            "listen = \"127.0.0.1:0\"\n\n[csrf]\nenabled = 1\n",
            ["enabled", "line 4"],
        ),
        ("[limits]\nmax_depth = true\n", ["max_depth", "line 2"]),
        (
            "[subscriptions]\nqueue_size = 1\n",
            ["queue_size", "line 2"],
        ),
        (
            "[[subschemas]]\nname = \"a\"\nurl = \"${NOT_SET_ANYWHERE}\"\n",
            ["NOT_SET_ANYWHERE", "line 3"],
        ),
    ];
    for (text, mentions) in cases {
        let dir = TempDir::new("config-bad");
        let file = dir.file("gateway.toml", text);
        let error = format!("{:#}", settings(&["--config", &file], &[]).unwrap_err());
        for mention in mentions {
            assert!(error.contains(mention), "`{mention}` missing from: {error}");
        }
    }
}

#[test]
fn check_config_accepts_a_good_file_and_exits() {
    let path = example_file();
    let (code, stdout, stderr) = run(&["--config", path.to_str().unwrap(), "--check-config"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("the configuration is valid"), "{stdout}");
}

#[test]
fn explain_prints_the_plan_of_an_operation_and_exits() {
    let dir = TempDir::new("explain");
    let file = dir.file("query.graphql", "query Venues { venues { __typename } }");
    let (code, stdout, stderr) = run(&["--explain", &file]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("query\n"), "{stdout}");
    assert!(stdout.contains("  fetch "), "{stdout}");
    assert!(stdout.contains("venues"), "{stdout}");
    let bad = dir.file("bad.graphql", "{ noSuchField }");
    let (code, _, stderr) = run(&["--explain", &bad]);
    assert_eq!(code, 1);
    assert!(stderr.contains("noSuchField"), "{stderr}");
}

#[test]
fn check_config_refuses_a_bad_file_naming_the_key_and_line() {
    let dir = TempDir::new("config-check");
    let file = dir.file(
        "gateway.toml",
        "[limits]\nmax_depth = 3\n\n[cors]\norigin = [\"x\"]\n",
    );
    let (code, _, stderr) = run(&["--config", &file, "--check-config"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("origin") && stderr.contains("line 5"),
        "{stderr}"
    );
    let dir = TempDir::new("config-check-url");
    let file = dir.file(
        "gateway.toml",
        "[[subschemas]]\nname = \"a\"\nurl = \"not a url\"\n",
    );
    let (code, _, stderr) = run(&["--config", &file, "--check-config"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("subschema `a`"), "{stderr}");
}

#[tokio::test]
async fn limits_from_the_file_and_flags_reach_the_running_gateway() {
    let (_peers, mut flags) = js_shop().await;
    let dir = TempDir::new("config-running");
    let file = dir.file(
        "gateway.toml",
        "[limits]\nmax_depth = 2\n[timeouts]\nrequest = 5\n",
    );
    flags.extend([
        "--config".into(),
        file.clone(),
        "--max-aliases".into(),
        "1".into(),
    ]);
    let gateway = GatewayProcess::start(&flags).await;
    assert_eq!(
        gateway.query("{ me { name } }").await,
        json!({"data": {"me": {"name": "Ada"}}})
    );
    let deep = gateway.query("{ me { reviews { body } } }").await;
    assert_eq!(
        deep["errors"][0]["extensions"]["code"], "MAX_DEPTH_EXCEEDED",
        "{deep}"
    );
    let aliased = gateway.query("{ a: me { name } b: me { name } }").await;
    assert_eq!(
        aliased["errors"][0]["extensions"]["code"], "MAX_ALIASES_EXCEEDED",
        "{aliased}"
    );
}
