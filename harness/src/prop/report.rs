//! What `mqttspec prop` prints: the seed, the counts, and for a finding the case number,
//! the shrunk sequence, expected against came (with the trace), the reproducer and the
//! command that replays it.

use super::driver::Summary;
use std::fmt::Write as _;

/// Where the report says the reproducer is and how to replay it.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub path: Option<String>,
    pub command: Option<String>,
}

fn rate(summary: &Summary) -> (f64, f64) {
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    (
        summary.ops_run as f64 / secs,
        f64::from(summary.cases_run) * 60.0 / secs,
    )
}

pub fn text(summary: &Summary, target: &str, replay: &Replay) -> String {
    let mut out = String::new();
    let (ops_s, cases_min) = rate(summary);
    let _ = writeln!(
        out,
        "mqttspec prop against {target}: seed {}, {} clients, {} cases, {} operations in {:.1}s ({ops_s:.0} ops/s, {cases_min:.0} cases/min){}",
        summary.seed,
        match summary.version {
            crate::prop::ops_v5::Version::V311 => "3.1.1",
            crate::prop::ops_v5::Version::V5 => "5.0",
            crate::prop::ops_v5::Version::Both => "3.1.1 and 5.0",
        },
        summary.cases_run,
        summary.ops_run,
        summary.elapsed.as_secs_f64(),
        if summary.out_of_budget {
            ", stopped by --budget"
        } else {
            ""
        }
    );
    let Some(f) = &summary.finding else {
        let _ = writeln!(out, "no violation");
        return out;
    };
    let Some(v) = &f.outcome.violation else {
        return out;
    };
    let _ = writeln!(out, "\nVIOLATION {v}");
    let _ = writeln!(
        out,
        "  found at case {} ({} operations), shrunk in {} runs to {} steps:",
        f.case_number,
        f.original_ops,
        f.shrink_runs,
        f.outcome.done.len()
    );
    for (i, (op, _)) in f.outcome.done.iter().enumerate() {
        let _ = writeln!(out, "    {:>2}. {op}", i + 1);
    }
    let _ = writeln!(out, "  expected: {}", v.expected);
    let _ = writeln!(out, "  came:     {}", v.got);
    let _ = writeln!(
        out,
        "  trace (last packets of the case; the cleanup left out):"
    );
    let case: Vec<&String> = f
        .outcome
        .trace
        .iter()
        .filter(|l| !l.contains(" cleanup "))
        .collect();
    let tail = case.len().saturating_sub(40);
    for line in &case[tail..] {
        let short: String = line.chars().take(220).collect();
        let _ = writeln!(out, "    {short}");
    }
    if let Some(p) = &replay.path {
        let _ = writeln!(out, "  reproducer: {p}");
    }
    if let Some(c) = &replay.command {
        let _ = writeln!(out, "  replay:     {c}");
    }
    out
}

pub fn json(summary: &Summary, target: &str, replay: &Replay) -> String {
    let (ops_s, cases_min) = rate(summary);
    let finding = summary.finding.as_ref().map(|f| {
        serde_json::json!({
            "case_number": f.case_number,
            "original_ops": f.original_ops,
            "shrink_runs": f.shrink_runs,
            "steps": f.outcome.done.iter().map(|(op, _)| op.to_string()).collect::<Vec<_>>(),
            "violation": f.outcome.violation,
            "trace": f.outcome.trace,
            "reproducer": replay.path,
            "replay": replay.command,
        })
    });
    let value = serde_json::json!({
        "target": target,
        "seed": summary.seed,
        "version": summary.version.to_string(),
        "cases": summary.cases_run,
        "operations": summary.ops_run,
        "seconds": summary.elapsed.as_secs_f64(),
        "ops_per_second": ops_s,
        "cases_per_minute": cases_min,
        "out_of_budget": summary.out_of_budget,
        "finding": finding,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn junit(summary: &Summary, target: &str, replay: &Replay) -> String {
    let failures = u32::from(summary.finding.is_some());
    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        out,
        "<testsuites><testsuite name=\"mqttspec prop\" tests=\"1\" failures=\"{failures}\" time=\"{:.3}\">",
        summary.elapsed.as_secs_f64()
    );
    let _ = write!(
        out,
        "<testcase classname=\"prop\" name=\"seed {} ({} cases)\">",
        summary.seed, summary.cases_run
    );
    if summary.finding.is_some() {
        let body = text(summary, target, replay);
        let first = body.lines().nth(2).unwrap_or("violation");
        let _ = write!(
            out,
            "<failure message=\"{}\">{}</failure>",
            xml(first),
            xml(&body)
        );
    }
    let _ = writeln!(out, "</testcase></testsuite></testsuites>");
    out
}
