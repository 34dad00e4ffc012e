#![allow(clippy::unwrap_used)]
//! The caches of planned operations and parsed documents are bounded in bytes of memory, by an
//! estimate of what each entry takes: here the estimates are held against what the allocator
//! counts (dhat's heap statistics), on the gateway benchmark's federation services.

mod common;

use std::sync::Mutex;

use quilt_executor::{Document, ExecutorError, from_fn};
use quilt_stitch::{StitchLimits, StitchedSchema, Stitcher, SubschemaConfig};
use quilt_test_support::federation;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// One heap profiler at a time: the tests take turns.
static TURN: Mutex<()> = Mutex::new(());

fn live() -> usize {
    dhat::HeapStats::get().curr_bytes
}

/// The four federation services stitched (planned only: no service is called).
fn stitched(limits: StitchLimits) -> StitchedSchema {
    let mut stitcher = Stitcher::new().limits(limits);
    for (name, sdl) in federation::sdls() {
        let schema = quilt_wrap::schema_from_federation_sdl(&sdl).unwrap();
        let unused = from_fn(|_| async { Err(ExecutorError::other("no service is called")) });
        stitcher = stitcher.subschema(SubschemaConfig::new(name, schema, unused));
    }
    stitcher.build().unwrap()
}

/// Operation `i` of a family: the heavy query, the simple one, 40 aliased root fields, each
/// made distinct by its name and a root `__typename` alias.
fn operation(family: &str, i: usize) -> String {
    let head = format!("query Q{i} {{ v{i}: __typename");
    match family {
        "heavy" => federation::HEAVY_QUERY.replacen("query TestQuery {", &head, 1),
        "simple" => federation::SIMPLE_QUERY.replacen("query SimpleQuery {", &head, 1),
        _ => {
            let fields: String = (0..40)
                .map(|n| {
                    format!(" a{n}: topProducts(first: {n}) {{ upc name reviews {{ body }} }}")
                })
                .collect();
            format!("{head}{fields} }}")
        }
    }
}

/// Each operation is executed once over the four federation subgraphs (in this process, on
/// this thread), so that what its first responses add to its prepared form is held too: the
/// documents its entity steps print, the groupings of its fields kept for the next responses.
#[test]
fn each_planned_operation_is_weighed_near_the_memory_it_takes() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(weigh_executed_operations());
}

async fn weigh_executed_operations() {
    let subgraphs = federation::start_all().await.unwrap();
    let services = subgraphs.all();
    let services: Vec<(&str, &quilt_test_support::TestServer)> = services
        .iter()
        .map(|(name, server)| (*name, *server))
        .collect();
    let gateway = common::federation_gateway_with(
        &services,
        StitchLimits {
            // Room for every operation below.
            plan_cache_bytes: 64 * 1024 * 1024,
            ..StitchLimits::default()
        },
    )
    .await;
    let _profiler = dhat::Profiler::builder().testing().build();
    for family in ["heavy", "simple", "wide"] {
        // The first one also warms what every execution shares (connections, buffers).
        for i in 0..2 {
            execute(&gateway, &operation(family, i)).await;
        }
        let (heap, weighed) = (live(), gateway.plan_cache_stats().bytes);
        for i in 2..=41 {
            execute(&gateway, &operation(family, i)).await;
        }
        let measured = (live() - heap) as f64 / 40.0;
        let estimated = (gateway.plan_cache_stats().bytes - weighed) as f64 / 40.0;
        let ratio = estimated / measured;
        eprintln!("{family}: {measured:.0} bytes held per operation, {estimated:.0} estimated");
        assert!(
            (0.7..=1.5).contains(&ratio),
            "{family}: estimated {estimated:.0} bytes against {measured:.0} held"
        );
    }
}

/// Runs `query` through `gateway`; the answer must hold data and no error.
async fn execute(gateway: &StitchedSchema, query: &str) {
    let answer = common::run(gateway, query, serde_json::json!({})).await;
    assert!(
        answer.get("errors").is_none() && answer.get("data").is_some_and(|d| !d.is_null()),
        "{answer}"
    );
}

#[test]
fn ever_new_operations_neither_grow_the_plan_cache_past_its_bytes_nor_evict_a_repeated_one() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _profiler = dhat::Profiler::builder().testing().build();
    let budget = 1024 * 1024;
    let gateway = stitched(StitchLimits {
        plan_cache_bytes: budget,
        ..StitchLimits::default()
    });
    // The operation clients repeat.
    let repeated = operation("simple", 0);
    for _ in 0..5 {
        gateway.explain(&repeated, None).unwrap();
    }
    gateway.explain(&operation("heavy", 0), None).unwrap();
    let heap = live();
    for i in 1..=300 {
        gateway.explain(&operation("heavy", i), None).unwrap();
        let stats = gateway.plan_cache_stats();
        assert!(stats.bytes <= budget as u64, "{stats:?}");
    }
    let stats = gateway.plan_cache_stats();
    assert!(stats.entries > 10 && stats.entries < 300, "{stats:?}");
    let grown = live().saturating_sub(heap);
    assert!(
        grown <= 2 * budget,
        "the heap grew {grown} bytes for a {budget}-byte cache"
    );
    // The repeated operation is still a hit after 300 new ones.
    let before = gateway.plan_cache_stats();
    gateway.explain(&repeated, None).unwrap();
    let after = gateway.plan_cache_stats();
    assert_eq!((after.hits, after.plans), (before.hits + 1, before.plans));
    // An operation heavier than a sixteenth of the budget is planned, never kept.
    let small = stitched(StitchLimits {
        plan_cache_bytes: 64 * 1024,
        ..StitchLimits::default()
    });
    small.explain(&operation("wide", 1), None).unwrap();
    small.explain(&operation("wide", 1), None).unwrap();
    assert_eq!(small.plan_cache_stats().entries, 0);
    assert_eq!(small.plan_cache_stats().plans, 2);
}

#[test]
fn a_parsed_document_takes_about_what_the_document_cache_weighs_it() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let _profiler = dhat::Profiler::builder().testing().build();
    for family in ["heavy", "simple", "wide"] {
        let texts: Vec<String> = (0..20).map(|i| operation(family, i)).collect();
        let heap = live();
        let documents: Vec<Document> = texts
            .iter()
            .map(|t| Document::parse(t.as_str()).unwrap())
            .collect();
        let measured = (live() - heap) as f64 / texts.len() as f64;
        let weighed = texts
            .iter()
            .map(|t| quilt_server::parsed_document_weight(t.len()))
            .sum::<usize>() as f64
            / texts.len() as f64;
        eprintln!("{family}: {measured:.0} bytes held per document, {weighed:.0} weighed");
        assert!(
            (0.7..=1.5).contains(&(weighed / measured)),
            "{family}: {measured:.0} bytes held per document, weighed {weighed:.0}"
        );
        drop(documents);
    }
}
