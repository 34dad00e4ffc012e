//! The table of `quilt-bench report FILE`: one row per recorded run, in the order recorded.

use std::fmt::Write as _;

use crate::load::Report;

/// Formats the runs as one table.
pub fn table(reports: &[Report]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:<12} {:>4} {:>9} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>9}",
        "target",
        "scenario",
        "conn",
        "rps",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "bytes",
        "check",
        "gw cpu ms",
        "gw rss MiB",
        "sg cpu ms",
        "up/req",
        "lg cpu ms",
    );
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    for r in reports {
        let check = if r.mismatches > 0 {
            format!("MISS {}", r.mismatches)
        } else {
            r.check.clone()
        };
        let _ = writeln!(
            out,
            "{:<14} {:<12} {:>4} {:>9.1} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>9}",
            r.label,
            r.scenario,
            r.connections,
            r.rps,
            opt(r.p50_ms, 2),
            opt(r.p95_ms, 2),
            opt(r.p99_ms, 2),
            r.errors,
            r.response_bytes,
            check,
            opt(r.gateway_cpu_ms, 3),
            opt(r.gateway_peak_rss_mib, 1),
            opt(r.subgraph_cpu_ms, 3),
            opt(r.upstream_per_request, 2),
            opt(r.load_cpu_ms, 3),
        );
    }
    let loads: Vec<String> = reports
        .iter()
        .map(|r| format!("{:.2}", r.load_average))
        .collect();
    let _ = writeln!(
        out,
        "load average (1 min) before each run: {}",
        loads.join(" ")
    );
    out
}
