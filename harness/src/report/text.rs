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
        let _ = writeln!(out, "     statements failed: {}", f.statements.join(", "));
        if !s.not_judged.is_empty() {
            let why = if f.precondition {
                "a precondition failed before the scenario reached them"
            } else {
                "the scenario stopped at the failure above"
            };
            let _ = writeln!(out, "     not judged ({why}): {}", s.not_judged.join(", "));
        }
        if f.line > 0 {
            let _ = writeln!(
                out,
                "     at {}:{}:{} ({}): {}",
                s.path, f.line, f.column, f.step, f.message
            );
        } else {
            let _ = writeln!(out, "     {}", f.message);
        }
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
        if let Some(d) = &s.description {
            let _ = writeln!(out, "     why the scenario expects this:");
            for line in wrap(d, 88) {
                let _ = writeln!(out, "       {line}");
            }
        }
        if !s.trace.is_empty() {
            let _ = writeln!(out, "     trace:");
            trace_lines(&s.trace, out, "       ");
        }
        if let Some(cmd) = r.rerun(s) {
            let _ = writeln!(out, "     rerun: {cmd}");
        }
    }
}

/// Words of `text` in lines of at most `width` characters (longer words alone on a line).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `verbose` lists every scenario; otherwise only those that did not pass.
pub fn render(r: &Report, color: bool, verbose: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    let _ = writeln!(out, "{} against {} (seed {})", r.tool, r.target, r.seed);
    if r.rerun_template.contains("--username") {
        let _ = writeln!(
            out,
            "(rerun commands read the password from the environment variable MQTTSPEC_PASSWORD)"
        );
    }
    for s in &r.scenarios {
        if verbose || s.verdict != Verdict::Pass {
            scenario_detail(r, s, &style, &mut out);
        }
    }
    let resting: Vec<_> = r
        .scenarios
        .iter()
        .filter(|s| !s.rests_on.is_empty())
        .collect();
    if !resting.is_empty() {
        let _ = writeln!(
            out,
            "\nverdicts that rest on stated capabilities, not on the CONNACK:"
        );
        for s in resting {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                s.verdict.as_str(),
                s.path,
                s.rests_on.join("; ")
            );
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
    if let Some(d) = &r.diagnosis {
        let _ = writeln!(
            out,
            "\n{}: {d}",
            style.paint("1;35", "could not judge the broker")
        );
    }
    out
}
