//! Plain-text report for a terminal: failures with their evidence, then totals.

use super::Report;
use crate::engine::trace::TraceEntry;
use crate::engine::{ScenarioResult, Verdict};
use std::fmt::Write as _;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn verdict(&self, v: Verdict) -> String {
        match v {
            Verdict::Pass => self.paint("32", "PASS"),
            Verdict::Fail => self.paint("1;31", "FAIL"),
            Verdict::NotApplicable => self.paint("33", "N/A "),
            Verdict::Error => self.paint("1;35", "ERR "),
        }
    }
}

pub fn trace_lines(trace: &[TraceEntry], out: &mut String, indent: &str) {
    for e in trace {
        let arrow = match e.direction {
            crate::engine::trace::Direction::Sent => "->",
            crate::engine::trace::Direction::Received => "<-",
            crate::engine::trace::Direction::Event => "..",
        };
        let _ = writeln!(
            out,
            "{indent}{:>9.1}ms {:<10} {arrow} {}",
            e.at.as_secs_f64() * 1000.0,
            e.client,
            e.decoded
        );
        if !e.hex.is_empty() {
            let _ = writeln!(out, "{indent}{:>11} {:<10}    {}", "", "", e.hex);
        }
    }
}

fn scenario_detail(r: &Report, s: &ScenarioResult, style: &Style, out: &mut String) {
    let _ = writeln!(out, "{} {}  {}", style.verdict(s.verdict), s.path, s.name);
    if let Some(f) = &s.failure {
        let _ = writeln!(out, "     statements: {}", f.statements.join(", "));
        let _ = writeln!(
            out,
            "     at {}:{}:{} ({}): {}",
            s.path, f.line, f.column, f.step, f.message
        );
        if let Some(e) = &f.expected {
            let _ = writeln!(out, "     expected: {e}");
        }
        if let Some(a) = &f.actual {
            let _ = writeln!(out, "     actual:   {a}");
        }
    }
    if let Some(reason) = &s.reason {
        let _ = writeln!(out, "     reason: {reason}");
    }
    if matches!(s.verdict, Verdict::Fail | Verdict::Error) {
        let _ = writeln!(out, "     trace:");
        trace_lines(&s.trace, out, "       ");
        let _ = writeln!(out, "     rerun: {}", r.rerun(&s.path));
    }
}

/// `verbose` lists every scenario; otherwise only those that did not pass.
pub fn render(r: &Report, color: bool, verbose: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    let _ = writeln!(out, "{} against {} (seed {})", r.tool, r.target, r.seed);
    for s in &r.scenarios {
        if verbose || s.verdict != Verdict::Pass {
            scenario_detail(r, s, &style, &mut out);
        }
    }
    let warned: Vec<_> = r
        .statements
        .iter()
        .filter(|s| s.verdict == super::StatementVerdict::Warn)
        .collect();
    if !warned.is_empty() {
        let _ = writeln!(out, "\nwarnings (SHOULD/MAY statements not followed):");
        for w in warned {
            let _ = writeln!(out, "  {} ({})", w.id, w.scenarios.join(", "));
        }
    }
    let c = &r.scenario_counts;
    let _ = writeln!(
        out,
        "\nscenarios: {} passed, {} failed, {} not applicable, {} harness errors",
        c.pass, c.fail, c.not_applicable, c.error
    );
    let s = &r.statement_counts;
    let _ = writeln!(
        out,
        "statements: {} passed, {} failed, {} warnings, {} not applicable, {} not judged",
        s.pass, s.fail, s.warn, s.not_applicable, s.not_judged
    );
    let _ = writeln!(
        out,
        "seed {}; finished in {:.1}s",
        r.seed,
        r.duration.as_secs_f64()
    );
    out
}
