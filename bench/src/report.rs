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

/// The median of `values` (the mean of the two middle ones for an even count); `None` when
/// there are none.
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// One measure of a run, where it has one.
type Measure = fn(&Report) -> Option<f64>;

/// The runs of `label` in `scenario`, in the order recorded (slice 1, 2, ...).
fn slices<'r>(reports: &'r [Report], label: &str, scenario: &str) -> Vec<&'r Report> {
    reports
        .iter()
        .filter(|r| r.label == label && r.scenario == scenario)
        .collect()
}

/// What an interleaved sitting (`run.sh --slices N`) adds after the table: the medians of
/// each gateway's slices per scenario, and for each pair `(a, b)` of `pairs` the ratios `a / b`
/// slice by slice (slice `i` of `a` against slice `i` of `b`, run seconds apart) with their
/// median: answers/s, gateway CPU per answer, p99 and peak RSS.
pub fn summary(reports: &[Report], pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for r in reports {
        if !groups.contains(&(r.label.as_str(), r.scenario.as_str())) {
            groups.push((&r.label, &r.scenario));
        }
    }
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    let _ = writeln!(
        out,
        "\nmedians of the slices\n{:<18} {:<12} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "target", "scenario", "slices", "rps", "p99 ms", "gw cpu ms", "gw rss MiB", "sg cpu ms"
    );
    for (label, scenario) in &groups {
        let runs = slices(reports, label, scenario);
        let of = |f: Measure| median(runs.iter().filter_map(|r| f(r)).collect());
        let _ = writeln!(
            out,
            "{:<18} {:<12} {:>6} {:>9} {:>8} {:>9} {:>9} {:>9}",
            label,
            scenario,
            runs.len(),
            opt(of(|r| Some(r.rps)), 1),
            opt(of(|r| r.p99_ms), 2),
            opt(of(|r| r.gateway_cpu_ms), 3),
            opt(of(|r| r.gateway_peak_rss_mib), 1),
            opt(of(|r| r.subgraph_cpu_ms), 3),
        );
    }
    let measures: [(&str, Measure); 4] = [
        ("rps", |r| Some(r.rps)),
        ("gw cpu", |r| r.gateway_cpu_ms),
        ("p99", |r| r.p99_ms),
        ("peak rss", |r| r.gateway_peak_rss_mib),
    ];
    for (a, b) in pairs {
        let mut scenarios: Vec<&str> = Vec::new();
        for (label, scenario) in &groups {
            if *label == a && !scenarios.contains(scenario) {
                scenarios.push(scenario);
            }
        }
        for scenario in scenarios {
            let (runs_a, runs_b) = (slices(reports, a, scenario), slices(reports, b, scenario));
            if runs_b.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n{a} / {b}, {scenario}: slice by slice, then the median"
            );
            for (name, value) in measures {
                let ratios: Vec<Option<f64>> = runs_a
                    .iter()
                    .zip(&runs_b)
                    .map(|(x, y)| match (value(x), value(y)) {
                        (Some(x), Some(y)) if y > 0.0 => Some(x / y),
                        _ => None,
                    })
                    .collect();
                let listed: Vec<String> = ratios.iter().map(|r| opt(*r, 2)).collect();
                let _ = writeln!(
                    out,
                    "  {:<9} {}   median {}",
                    name,
                    listed.join(" "),
                    opt(median(ratios.into_iter().flatten().collect()), 2)
                );
            }
        }
    }
    out
}

/// `--pairs "a:b c:d"` as pairs of labels.
pub fn parse_pairs(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    text.split_whitespace()
        .map(|pair| {
            pair.split_once(':')
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--pairs takes A:B pairs, not `{pair}`"))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(label: &str, scenario: &str, rps: f64, cpu: f64) -> Report {
        Report {
            label: label.to_owned(),
            scenario: scenario.to_owned(),
            connections: 50,
            seconds: 8.0,
            requests: 0,
            rps,
            p50_ms: Some(1.0),
            p95_ms: Some(2.0),
            p99_ms: Some(rps / 100.0),
            errors: 0,
            mismatches: 0,
            check: "bytes".to_owned(),
            response_bytes: 1,
            gateway_cpu_ms: Some(cpu),
            gateway_peak_rss_mib: Some(10.0),
            subgraph_cpu_ms: None,
            upstream_per_request: None,
            load_cpu_ms: None,
            load_average: 0.0,
            first_error: None,
        }
    }

    #[test]
    fn medians_are_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    /// Slice i of one gateway is compared with slice i of the other, in the order recorded,
    /// whatever runs sit between them.
    #[test]
    fn pairs_are_compared_slice_by_slice() {
        let reports = vec![
            run("q", "heavy", 200.0, 0.3),
            run("h", "heavy", 100.0, 0.6),
            run("h", "heavy", 100.0, 1.0),
            run("q", "heavy", 300.0, 0.4),
            run("q", "heavy", 100.0, 0.2),
            run("h", "heavy", 50.0, 0.8),
            run("q", "large", 10.0, 5.0),
        ];
        let pairs = parse_pairs("q:h").unwrap();
        let text = summary(&reports, &pairs);
        assert!(text.contains("q / h, heavy"), "{text}");
        assert!(
            text.contains("rps       2.00 3.00 2.00   median 2.00"),
            "{text}"
        );
        assert!(
            text.contains("gw cpu    0.50 0.40 0.25   median 0.40"),
            "{text}"
        );
        // No pair for a scenario the other gateway did not run.
        assert!(!text.contains("q / h, large"), "{text}");
        let medians = text
            .lines()
            .find(|l| l.starts_with("q ") && l.contains("heavy"))
            .unwrap();
        assert!(medians.contains("200.0"), "{medians}");
        assert!(parse_pairs("q").is_err());
        assert!(parse_pairs("q:").is_err());
    }
}
