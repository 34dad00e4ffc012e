//! One listener's connections spread over servers on their own threads ([`Balancer`]): each
//! connection goes to the lane with the fewest open, the cap on open connections counts every
//! lane, and a lane whose server has stopped is passed over. Real sockets on 127.0.0.1, each
//! lane a single-threaded event loop on a thread of its own, as the gateway runs them.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::thread::JoinHandle;

use common::WAIT;
use quilt_executor::{ExecutionResult, Request, Response, from_fn};
use quilt_server::{Balancer, GraphQLServer, Lane};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// A server answering `{"lane": name}` to every query, serving `lane` on a thread of its own
/// until `stop` is cancelled.
fn serve_lane(name: &'static str, lane: Lane, stop: CancellationToken) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let executor = from_fn(move |_request: Request| async move {
                Ok(Response::Single(ExecutionResult::from_data(
                    json!({ "lane": name }),
                )))
            });
            GraphQLServer::builder(executor)
                .build()
                .serve_lane_with_shutdown(lane, async move { stop.cancelled().await })
                .await
                .unwrap();
        });
    })
}

/// Sends one query over `socket` (kept alive) and reads the whole answer: the lane that
/// served it, or the status line when it was not a 200.
async fn ask(socket: &mut TcpStream) -> String {
    let body = r#"{"query":"{ lane }"}"#;
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         accept: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let answer = tokio::time::timeout(WAIT, async {
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().unwrap())
                })
                .unwrap();
            if body.len() >= length {
                break;
            }
        }
        String::from_utf8_lossy(&received).into_owned()
    })
    .await
    .expect("an answer within the test wait");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap();
    if !status.starts_with("HTTP/1.1 200") {
        return status.to_owned();
    }
    let body: Value = serde_json::from_str(body).unwrap();
    body["data"]["lane"].as_str().unwrap().to_owned()
}

/// Opens a connection and asks one query over it; the connection stays open.
async fn open(addr: SocketAddr) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let lane = ask(&mut socket).await;
    (socket, lane)
}

fn count(lanes: &[&(TcpStream, String)], name: &str) -> usize {
    lanes.iter().filter(|(_, lane)| lane == name).count()
}

#[tokio::test]
async fn connections_go_to_the_lane_with_the_fewest_open_under_one_cap() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut balancer = Balancer::new(listener, 4);
    assert_eq!(balancer.local_addr().unwrap(), addr);
    let stop = CancellationToken::new();
    let a = serve_lane("a", balancer.lane(), stop.clone());
    let b = serve_lane("b", balancer.lane(), stop.clone());
    tokio::spawn(balancer.run(stop.clone()));

    // Four connections, opened one after another and kept open: two on each lane, whatever
    // their addresses hash to.
    let mut open_now = Vec::new();
    for _ in 0..4 {
        open_now.push(open(addr).await);
    }
    let all: Vec<_> = open_now.iter().collect();
    assert_eq!(
        (count(&all, "a"), count(&all, "b")),
        (2, 2),
        "{:?}",
        lanes(&all)
    );
    // A connection keeps its lane: more queries on each one come back from the same lane.
    for (socket, lane) in &mut open_now {
        assert_eq!(&ask(socket).await, lane);
    }

    // The cap counts both lanes: a fifth connection is refused.
    let (_refused, status) = open(addr).await;
    assert!(status.starts_with("HTTP/1.1 503"), "{status}");

    // Both of lane a's clients leave: the next two connections go to lane a, the emptier,
    // once the slots are free again (each is freed after its lane's count came down).
    open_now.retain(|(_, lane)| lane != "a");
    let mut joined = Vec::new();
    while joined.len() < 2 {
        let (socket, lane) = tokio::time::timeout(WAIT, async {
            loop {
                let (socket, lane) = open(addr).await;
                if !lane.starts_with("HTTP/1.1 503") {
                    break (socket, lane);
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("a freed slot within the test wait");
        joined.push((socket, lane));
    }
    let joined_ref: Vec<_> = joined.iter().collect();
    assert_eq!(count(&joined_ref, "a"), 2, "{:?}", lanes(&joined_ref));

    stop.cancel();
    drop((open_now, joined));
    tokio::task::spawn_blocking(move || (a.join().unwrap(), b.join().unwrap()))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lane_whose_server_stopped_is_passed_over() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut balancer = Balancer::new(listener, 100);
    let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
    let a = serve_lane("a", balancer.lane(), stop_a.clone());
    let b = serve_lane("b", balancer.lane(), stop_b.clone());
    let accepting = CancellationToken::new();
    let balancer = tokio::spawn(balancer.run(accepting.clone()));

    // Lane b's server shuts down (and drops its lane); lane a serves every new connection.
    stop_b.cancel();
    tokio::task::spawn_blocking(move || b.join().unwrap())
        .await
        .unwrap();
    let mut open_now = Vec::new();
    for _ in 0..3 {
        open_now.push(open(addr).await);
    }
    let all: Vec<_> = open_now.iter().collect();
    assert_eq!(count(&all, "a"), 3, "{:?}", lanes(&all));

    // Once the balancer stops, nothing more is accepted; lane a still serves what it has.
    accepting.cancel();
    tokio::time::timeout(WAIT, balancer)
        .await
        .expect("the balancer stopped")
        .unwrap();
    let refused = tokio::time::timeout(WAIT, TcpStream::connect(addr)).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "the port is closed once the balancer stopped"
    );
    for (socket, lane) in &mut open_now {
        assert_eq!(&ask(socket).await, lane);
    }
    stop_a.cancel();
    drop(open_now);
    tokio::task::spawn_blocking(move || a.join().unwrap())
        .await
        .unwrap();
}

fn lanes(connections: &[&(TcpStream, String)]) -> Vec<String> {
    connections.iter().map(|(_, lane)| lane.clone()).collect()
}
