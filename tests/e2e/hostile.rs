#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing
//! Hostile clients against a real gateway over its real (demo) services: documents that cost
//! the attacker a kilobyte but expand to millions of selections, aliases multiplied by
//! fragments, deeply nested inline fragments. Each gets a clear error, and while the attack
//! runs on the gateway's serving thread (the test's single-threaded runtime) a normal query is
//! still answered, and the process's resident memory stays within a bound.

use std::time::Duration;

use crate::common::{TestGateway, settings, start};
use quilt_test_support::WAIT;
use serde_json::{Value, json};

/// How much resident memory an attack may add to the test process (gateway, services and
/// clients), in KiB: far below what expanding any of the attacks would take.
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// How long a normal query may take while the attack runs: what a healthy debug build needs,
/// with room. An attack that held the thread (as an unmemoised walk over a fragment bomb
/// does, for minutes at these sizes) misses it.
const PROMPT: Duration = Duration::from_secs(5);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn post(client: &reqwest::Client, url: &str, query: &str) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(json!({ "query": query }).to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// The resident set of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Sends `attack` eight times at once, again and again, while a normal query is asked once;
/// asserts every attack is refused with status 400 and `code`, the normal query is answered
/// within [`PROMPT`], and memory stays within [`RSS_BOUND_KIB`].
async fn refused_while_others_are_served(gateway: &TestGateway, attack: &str, expected: &str) {
    let client = client();
    let url = gateway.url.clone();
    // Warm up (connections, plans), so that memory growth measures the attack.
    let (status, body) = post(&client, &url, "{ me { name } }").await;
    assert_eq!(
        (status, &body),
        (200, &json!({"data": {"me": {"name": "Ada"}}}))
    );
    let before = rss_kib();

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut attackers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (client, url, attack, mut stop) = (
            client.clone(),
            url.clone(),
            attack.to_owned(),
            stop_rx.clone(),
        );
        attackers.spawn(async move {
            let mut sent = 0u32;
            while !*stop.borrow_and_update() {
                let (status, body) = post(&client, &url, &attack).await;
                assert_eq!(status, 400, "{body}");
                assert!(body.get("data").is_none(), "{body}");
                sent += 1;
                // Let the normal query's request in between.
                tokio::task::yield_now().await;
                if sent >= 50 {
                    break;
                }
            }
            (sent, body_of_last(&client, &url, &attack).await)
        });
    }
    let normal = tokio::time::timeout(
        PROMPT,
        post(
            &client,
            &url,
            "{ me { name reviews { body product { name } } } }",
        ),
    )
    .await
    .expect("a normal query was not answered promptly while the attack ran");
    assert_eq!(normal.0, 200, "{}", normal.1);
    assert_eq!(normal.1["data"]["me"]["name"], "Ada", "{}", normal.1);
    stop_tx.send(true).unwrap();
    while let Some(joined) = attackers.join_next().await {
        let (sent, last) = joined.unwrap();
        assert!(sent > 0);
        assert_eq!(code(&last), expected, "{last}");
        let message = last["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("limit"), "{last}");
    }
    let grown = rss_kib().saturating_sub(before);
    assert!(
        grown < RSS_BOUND_KIB,
        "the attack added {grown} KiB of resident memory"
    );
}

async fn body_of_last(client: &reqwest::Client, url: &str, attack: &str) -> Value {
    post(client, url, attack).await.1
}

/// `{ me { ...F0 } }` where each of `levels` fragments spreads the next one twice: about 45
/// bytes a level, 2^levels selections once expanded.
fn fragment_bomb(levels: usize) -> String {
    let mut query = String::from("{ me { ...F0 } }");
    for i in 0..levels {
        query.push_str(&format!(
            " fragment F{i} on User {{ ...F{n} ...F{n} }}",
            n = i + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on User {{ name }}"));
    query
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_any_work() {
    let gateway = start(settings(Vec::new())).await;
    let attack = fragment_bomb(30);
    assert!(attack.len() < 1500);
    refused_while_others_are_served(&gateway, &attack, "MAX_SELECTIONS_EXCEEDED").await;
}

#[tokio::test]
async fn nested_fragments_on_lists_are_refused() {
    // Each level goes through two lists (reviews, then a product's reviews) and spreads the
    // next level twice: within the depth limit, thousands of selections once expanded.
    let levels = 12;
    let mut query = String::from("{ topProducts { ...P0 } }");
    for i in 0..levels {
        query.push_str(&format!(
            " fragment P{i} on Product {{ name reviews {{ product {{ ...P{n} }} }} ...P{n} }}",
            n = i + 1
        ));
    }
    query.push_str(&format!(" fragment P{levels} on Product {{ upc }}"));
    let gateway = start(settings(Vec::new())).await;
    refused_while_others_are_served(&gateway, &query, "MAX_SELECTIONS_EXCEEDED").await;
}

#[tokio::test]
async fn aliases_multiplied_by_a_fragment_are_refused() {
    // 50 aliased roots spreading a fragment of 10 aliases: 60 aliases in the text, 550 once
    // expanded.
    let roots: String = (0..50).map(|i| format!("a{i}: me {{ ...F }} ")).collect();
    let fields: String = (0..10).map(|i| format!("n{i}: name ")).collect();
    let query = format!("{{ {roots}}} fragment F on User {{ {fields}}}");
    let gateway = start(settings(Vec::new())).await;
    refused_while_others_are_served(&gateway, &query, "MAX_ALIASES_EXCEEDED").await;
}

#[tokio::test]
async fn deeply_nested_inline_fragments_get_a_clear_error() {
    // Inline fragments add no depth, so only the parser's nesting limit stops them.
    let levels = 2_000;
    let query = format!(
        "{{ me {{ {}name{} }} }}",
        "... on User { ".repeat(levels),
        " }".repeat(levels)
    );
    let gateway = start(settings(Vec::new())).await;
    let client = client();
    let (status, body) = post(&client, &gateway.url, &query).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
    // A few levels are answered as the fields they hold.
    let levels = 20;
    let query = format!(
        "{{ me {{ {}name{} }} }}",
        "... on User { ".repeat(levels),
        " }".repeat(levels)
    );
    let (status, body) = post(&client, &gateway.url, &query).await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"me": {"name": "Ada"}}}))
    );
}

#[tokio::test]
async fn a_bomb_within_the_limit_is_answered() {
    // Ten levels: 1 024 selections of one field, merged into one answer.
    let gateway = start(settings(Vec::new())).await;
    let client = client();
    let (status, body) = post(&client, &gateway.url, &fragment_bomb(10)).await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"me": {"name": "Ada"}}}))
    );
}

/// The binary under `ulimit -n {limit}`, on a free port; its URL once it listens.
async fn start_with_descriptor_limit(limit: u32) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(quilt_test_support::process::gateway_binary())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Quilt gateway listening on ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("gateway-example exited before printing its URL")
    })
    .await
    .expect("gateway-example printed its URL in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// One `GET /health` on an open connection; whether it was answered 200.
async fn health_on(socket: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if socket
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buffer = vec![0u8; 1024];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await,
        Ok(Ok(n)) if buffer[..n].starts_with(b"HTTP/1.1 200")
    )
}

#[tokio::test]
async fn out_of_descriptors_the_gateway_serves_its_connections_and_recovers() {
    let (child, url) = start_with_descriptor_limit(256).await;
    let pid = child.id().unwrap();
    let rss_of = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    let before = rss_of(pid);
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .parse()
        .unwrap();
    let mut established = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(health_on(&mut established).await);
    // More connections than the process has descriptors: accepting fails (EMFILE).
    let mut flood = Vec::new();
    for _ in 0..400 {
        flood.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // The connection it has is still served.
    assert!(health_on(&mut established).await);
    // Once descriptors free up, new clients are served again.
    drop(flood);
    let recovered = tokio::time::timeout(WAIT, async {
        loop {
            let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            if health_on(&mut socket).await {
                break;
            }
        }
    })
    .await;
    assert!(recovered.is_ok(), "new clients were not served again");
    let client = client();
    let (status, body) = post(&client, &url, "{ me { name } }").await;
    assert_eq!(
        (status, body),
        (200, json!({"data": {"me": {"name": "Ada"}}}))
    );
    // The flood of connections it could not accept cost the gateway no lasting memory.
    let grown = rss_of(pid).saturating_sub(before);
    assert!(grown < RSS_BOUND_KIB, "the gateway grew by {grown} KiB");
}

#[tokio::test]
async fn a_second_gateway_on_the_same_port_fails_with_address_in_use() {
    use tokio::io::AsyncReadExt;
    let first = crate::common::GatewayProcess::start(&["--threads".into(), "2".into()]).await;
    let addr = first
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .to_owned();
    // `--listen` given twice: the last one counts.
    let mut second = tokio::process::Command::new(quilt_test_support::process::gateway_binary())
        .args(["--threads", "2", "--listen", &addr])
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    let mut pipe = second.stderr.take().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), async {
        pipe.read_to_string(&mut stderr).await.unwrap();
        second.wait().await.unwrap()
    })
    .await
    .expect("the second gateway exited");
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("address already in use")
            || stderr.to_lowercase().contains("address in use"),
        "{stderr}"
    );
    // The first one keeps every connection.
    let client = client();
    for _ in 0..20 {
        let (status, body) = post(&client, &first.url, "{ me { name } }").await;
        assert_eq!(
            (status, body),
            (200, json!({"data": {"me": {"name": "Ada"}}}))
        );
    }
}
