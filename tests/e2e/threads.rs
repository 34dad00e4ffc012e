//! The binary's serving threads (`--threads`): single-threaded event loops on one port
//! (`SO_REUSEPORT`), each with its own upstream connections, sharing inbound deduplication.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::time::Duration;

use crate::common::GatewayProcess;
use futures::future::join_all;
use serde_json::json;

/// CPU time (utime + stime, in clock ticks) of each thread of `pid` whose name starts with
/// one of `prefixes`, by thread id.
fn thread_ticks(pid: u32, prefixes: &[&str]) -> Vec<(String, String, u64)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap();
        let comm = comm.trim().to_owned();
        if !prefixes.iter().any(|p| comm.starts_with(p)) {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let tid = task.file_name().unwrap().to_string_lossy().into_owned();
        out.push((tid, comm, ticks));
    }
    out.sort();
    out
}

#[tokio::test]
async fn every_serving_thread_takes_connections_and_answers_them() {
    let gateway = GatewayProcess::start(&["--threads".into(), "3".into()]).await;
    let pid = gateway.pid();
    let serving = ["gateway-example", "quilt-serve-"];
    let before = thread_ticks(pid, &serving);
    let names: Vec<&str> = before.iter().map(|(_, name, _)| name.as_str()).collect();
    assert!(names.contains(&"quilt-serve-1"), "{names:?}");
    assert!(names.contains(&"quilt-serve-2"), "{names:?}");
    // 30 connections (a client each), 60 queries on each: the kernel spreads the connections
    // over the three listeners, so every thread does some of the work.
    let query = json!({"query": "{ me { name reviews { body product { name price } } } topProducts { name } }"});
    let expected = {
        let result = gateway
            .query("{ me { name reviews { body product { name price } } } topProducts { name } }")
            .await;
        assert!(result.get("errors").is_none(), "{result}");
        result
    };
    let clients = (0..30).map(|_| {
        let (url, query, expected) = (gateway.url.clone(), query.clone(), expected.clone());
        async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            for _ in 0..60 {
                let answer: serde_json::Value = client
                    .post(&url)
                    .json(&query)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(answer, expected);
            }
        }
    });
    join_all(clients).await;
    let after = thread_ticks(pid, &serving);
    // The main thread is the first serving thread; the demo services run on it too.
    for ((tid, name, ticks), (tid_before, _, ticks_before)) in after.iter().zip(&before) {
        assert_eq!(tid, tid_before);
        assert!(
            ticks > ticks_before,
            "{name} did no work: {before:?} {after:?}"
        );
    }
}

#[tokio::test]
async fn a_serving_thread_that_cannot_connect_stops_the_gateway() {
    let mut child = tokio::process::Command::new(quilt_test_support::process::gateway_binary())
        .args(["--threads", "2", "--listen", "127.0.0.1:0"])
        // Nothing listens on port 1: loading the schema fails at once.
        .args(["--subschema", "nowhere=http://127.0.0.1:1/graphql"])
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the gateway did not stop within 60 s")
        .unwrap();
    assert!(!status.success());
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout)
        .await
        .unwrap();
    assert!(
        !stdout.contains("listening"),
        "it never said it was listening: {stdout}"
    );
}

/// A client of its own (so a connection of its own) for one request.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_sse_stream_reserved_through_one_thread_is_served_by_any() {
    let gateway = GatewayProcess::start(&["--threads".into(), "2".into()]).await;
    let expected = gateway.query("{ me { name } }").await;
    assert!(expected.get("errors").is_none(), "{expected}");
    // Each step on a connection of its own: the connections land on either thread, so with
    // reservations kept per thread some of the eight would be unknown where they are used.
    for round in 0..8 {
        let reserve = fresh_client().put(&gateway.url).send().await.unwrap();
        assert_eq!(reserve.status(), 201);
        let token = reserve.text().await.unwrap();
        let mut stream = fresh_client()
            .get(&gateway.url)
            .header("accept", "text/event-stream")
            .header("x-graphql-event-stream-token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200, "round {round}");
        let start = fresh_client()
            .post(&gateway.url)
            .header("x-graphql-event-stream-token", &token)
            .json(&json!({"query": "{ me { name } }", "extensions": {"operationId": "q"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 202, "round {round}");
        let mut text = String::new();
        tokio::time::timeout(Duration::from_secs(30), async {
            while !text.contains("event: complete") {
                let chunk = stream.chunk().await.unwrap().expect("the stream is open");
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("the operation's events in time");
        let next = text
            .split("\n\n")
            .find(|event| event.contains("event: next"))
            .unwrap_or_else(|| panic!("no next event: {text}"));
        let data = next
            .lines()
            .find_map(|line| line.strip_prefix("data: "))
            .unwrap();
        let data: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(data, json!({"id": "q", "payload": expected}));
    }
}

#[tokio::test]
async fn the_connection_cap_counts_every_threads_connections() {
    let dir = crate::common::TempDir::new("threads-cap");
    let file = dir.file("gateway.toml", "[limits]\nmax_connections = 2\n");
    let gateway =
        GatewayProcess::start(&["--threads".into(), "2".into(), "--config".into(), file]).await;
    let addr = gateway
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let health = |addr: String| async move {
        let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(
            &mut socket,
            b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n",
        )
        .await
        .unwrap();
        let mut buffer = vec![0u8; 4096];
        let n = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::io::AsyncReadExt::read(&mut socket, &mut buffer),
        )
        .await
        .expect("an answer in time")
        .unwrap();
        (socket, String::from_utf8_lossy(&buffer[..n]).into_owned())
    };
    let mut held = Vec::new();
    for _ in 0..2 {
        let (socket, answered) = health(addr.clone()).await;
        assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
        held.push(socket);
    }
    // Two are open, on whichever threads: every further connection is refused, wherever it
    // lands (with a cap per thread, some would be served).
    for _ in 0..6 {
        let (_socket, answered) = health(addr.clone()).await;
        assert!(answered.starts_with("HTTP/1.1 503"), "{answered}");
        assert!(answered.contains("CAPACITY_EXCEEDED"), "{answered}");
    }
    drop(held);
}
