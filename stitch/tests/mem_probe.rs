#![allow(clippy::unwrap_used)]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

use quilt_executor::{ExecutorError, from_fn};
use quilt_stitch::{Stitcher, SubschemaConfig};

fn live() -> usize {
    dhat::HeapStats::get().curr_bytes
}

#[test]
fn probe() {
    let _p = dhat::Profiler::builder().testing().build();
    use async_graphql::SDLExportOptions;
    use quilt_test_support::federation;
    let options = || SDLExportOptions::new().federation();
    let subgraphs = [
        (
            "accounts",
            federation::accounts::schema().sdl_with_options(options()),
        ),
        (
            "inventory",
            federation::inventory::schema().sdl_with_options(options()),
        ),
        (
            "products",
            federation::products::schema().sdl_with_options(options()),
        ),
        (
            "reviews",
            federation::reviews::schema().sdl_with_options(options()),
        ),
    ];
    let mut stitcher = Stitcher::new();
    for (name, sdl) in subgraphs {
        let schema = quilt_wrap::schema_from_federation_sdl(&sdl).unwrap();
        stitcher = stitcher.subschema(SubschemaConfig::new(
            name,
            schema,
            from_fn(|_| async { Err(ExecutorError::other("x")) }),
        ));
    }
    let gateway = stitcher.build().unwrap();
    let q = |i: usize| {
        federation::HEAVY_QUERY.replacen(
            "query TestQuery {",
            &format!("query TestQuery{i} {{ v{i}: __typename"),
            1,
        )
    };
    gateway.explain(&q(0), None).unwrap();
    let before = live();
    for i in 1..=100 {
        gateway.explain(&q(i), None).unwrap();
    }
    eprintln!(
        "per prepared: {} bytes; text {}",
        (live() - before) / 100,
        q(1).len()
    );
    let b = live();
    let doc = quilt_executor::Document::parse(q(1)).unwrap();
    eprintln!("per parsed client doc: {}", live() - b);
    let b = live();
    let e = doc.ast().to_executable_validate(gateway.schema()).ok();
    eprintln!("executable: {}", live() - b);
    drop((doc, e));
}
