//! GraphiQL from the gateway in headless Chromium: the page loads (its scripts from a static
//! route serving the npm packages of `test-support/js`, as `--graphiql-assets` allows), a query
//! typed into the editor runs through the gateway, and its result shows on the page.
//!
//! Needs the Debian `chromium` package (`scripts/test.sh` installs it). Without it the test is
//! skipped with a notice on the terminal (written past the test harness's capture), except
//! under `CI=true`, where a missing browser is a failure.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

mod common;

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use common::{settings, start, start_with};
use http::{StatusCode, header};
use quilt_test_support::js::js_dir;

const CHROMIUM: &str = "/usr/bin/chromium";

/// `/assets/{package@version}/{file}` → `test-support/js/node_modules/{package}/{file}`: the
/// layout of the npm CDNs, so the page's asset base can point here.
fn npm_assets() -> Router {
    Router::new().route("/assets/{package}/{*file}", get(asset))
}

async fn asset(UrlPath((package, file)): UrlPath<(String, String)>) -> Response {
    let name = package.split('@').next().unwrap_or_default();
    let relative = PathBuf::from(name).join(&file);
    let safe = relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    if name.is_empty() || !safe {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let path = js_dir().join("node_modules").join(relative);
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&path))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[tokio::test]
async fn graphiql_runs_a_query_through_the_gateway_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{CHROMIUM} is missing; scripts/test.sh installs the Debian chromium package"
        );
        // Straight to the terminal: `eprintln!` is captured, and a passing test's capture is
        // never shown.
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED graphiql_runs_a_query_through_the_gateway_in_headless_chromium: \
             {CHROMIUM} is missing (scripts/test.sh installs it; apt-get install chromium)"
        );
        return;
    }
    let mut settings = settings(Vec::new());
    settings.graphiql_assets = Some("/assets".into());
    let gateway = start_with(settings, npm_assets()).await;

    let run = |query: &'static str, expected: &'static str, wait_ms: u32| {
        let mut command = tokio::process::Command::new("node");
        command
            .env("WAIT_MS", wait_ms.to_string())
            .arg("graphiql-check.mjs")
            .args([gateway.url.as_str(), query, expected, CHROMIUM])
            .current_dir(js_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        async move {
            let output = tokio::time::timeout(Duration::from_secs(120), command.output())
                .await
                .expect("the browser check did not finish in 120 s")
                .unwrap();
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).into_owned()
                    + &String::from_utf8_lossy(&output.stderr),
            )
        }
    };

    let (ok, output) = run(
        r#"{ me { username } openSeats(venueId: "hall-1") { status } }"#,
        "@ada",
        30_000,
    )
    .await;
    assert!(ok, "GraphiQL did not show the result:\n{output}");
    assert!(output.contains("OPEN"), "{output}");

    // The check fails when the expected text never shows.
    let (ok, output) = run("{ me { username } }", "not-in-the-result", 3_000).await;
    assert!(
        !ok,
        "the check passed without the text on the page:\n{output}"
    );
}

#[tokio::test]
async fn the_graphiql_page_loads_its_assets_from_the_configured_base() {
    let mut custom = settings(Vec::new());
    custom.graphiql_assets = Some("https://mirror.example/npm/".into());
    let gateway = start(custom).await;
    let page = |url: String| async move {
        reqwest::Client::new()
            .get(url)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let html = page(gateway.url.clone()).await;
    assert!(
        html.contains(r#"src="https://mirror.example/npm/graphiql@3.8.3/graphiql.min.js""#),
        "{html}"
    );
    assert!(!html.contains("unpkg.com"));

    let default = start(settings(Vec::new())).await;
    let html = page(default.url.clone()).await;
    assert!(html.contains(r#"src="https://unpkg.com/react@18.3.1/umd/react.production.min.js""#));
}
