//! Markdown report, for publishing results (reports/ in the repository).

use super::{Report, StatementVerdict};
use crate::engine::Verdict;
use std::fmt::Write as _;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Conformance report: {}\n", cell(&r.target));
    let _ = writeln!(out, "- tool: {}", r.tool);
    let _ = writeln!(out, "- seed: {}", r.seed);
    if let Some(d) = &r.diagnosis {
        let _ = writeln!(out, "- **the broker could not be judged**: {}", cell(d));
    }
    if r.rerun_template.contains("--username") {
        let _ = writeln!(
            out,
            "- rerun commands read the password from the environment variable `MQTTSPEC_PASSWORD`"
        );
    }
    let c = &r.scenario_counts;
    let _ = writeln!(
        out,
        "- scenarios: {} passed, {} failed, {} not applicable, {} harness errors",
        c.pass, c.fail, c.not_applicable, c.error
    );
    let s = &r.statement_counts;
    let _ = writeln!(
        out,
        "- statements: {} passed, {} failed, {} warnings, {} not applicable, {} not judged\n",
        s.pass, s.fail, s.warn, s.not_applicable, s.not_judged
    );
    let _ = writeln!(out, "## Scenarios\n");
    let _ = writeln!(out, "| scenario | statements | verdict | detail |");
    let _ = writeln!(out, "|---|---|---|---|");
    for sc in &r.scenarios {
        let detail = match (&sc.failure, &sc.reason) {
            (Some(f), _) if f.precondition => format!(
                "line {}: {} (a precondition: charged to {}; the scenario's statements not judged)",
                f.line,
                f.message,
                f.statements.join(", ")
            ),
            (Some(f), _) => format!("line {}: {}", f.line, f.message),
            (None, Some(reason)) => reason.clone(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| `{}` {} | {} | {} | {} |",
            cell(&sc.path),
            cell(&sc.name),
            cell(&sc.statements.join(", ")),
            sc.verdict.as_str(),
            cell(&detail)
        );
    }
    let failing: Vec<_> = r
        .scenarios
        .iter()
        .filter(|s| matches!(s.verdict, Verdict::Fail | Verdict::Error))
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\n## Failures and errors\n");
        for sc in failing {
            let _ = writeln!(out, "### `{}`: {}\n", sc.path, cell(&sc.name));
            if let Some(f) = &sc.failure {
                let _ = writeln!(out, "- statements failed: {}", f.statements.join(", "));
                if !sc.not_judged.is_empty() {
                    let _ = writeln!(
                        out,
                        "- not judged{}: {}",
                        if f.precondition {
                            " (a precondition failed before the scenario reached them)"
                        } else {
                            ""
                        },
                        sc.not_judged.join(", ")
                    );
                }
                let _ = writeln!(
                    out,
                    "- at line {}, column {} (`{}`): {}",
                    f.line, f.column, f.step, f.message
                );
                if let Some(e) = &f.expected {
                    let _ = writeln!(out, "- expected: `{}`", e.replace('`', "'"));
                }
                if let Some(a) = &f.actual {
                    let _ = writeln!(out, "- actual: `{}`", a.replace('`', "'"));
                }
            }
            if let Some(d) = &sc.description {
                let _ = writeln!(out, "- why the scenario expects this: {}", cell(d));
            }
            if let Some(reason) = &sc.reason {
                let _ = writeln!(out, "- reason: {reason}");
            }
            if let Some(cmd) = r.rerun(sc) {
                let _ = writeln!(out, "- rerun: `{cmd}`");
            }
            let _ = writeln!(out);
            let mut trace = String::new();
            super::text::trace_lines(&sc.trace, &mut trace, "");
            let _ = writeln!(
                out,
                "<details><summary>packet trace</summary>\n\n```\n{trace}```\n</details>\n"
            );
        }
    }
    let resting: Vec<_> = r
        .scenarios
        .iter()
        .filter(|s| !s.rests_on.is_empty())
        .collect();
    if !resting.is_empty() {
        let _ = writeln!(out, "## Verdicts resting on stated capabilities\n");
        for s in resting {
            let _ = writeln!(
                out,
                "- `{}` ({}): {}",
                s.path,
                s.verdict.as_str(),
                cell(&s.rests_on.join("; "))
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Statements\n");
    let _ = writeln!(out, "| statement | level | verdict | scenarios |");
    let _ = writeln!(out, "|---|---|---|---|");
    for st in &r.statements {
        let level = st
            .level
            .map(|l| format!("{l:?}").to_uppercase())
            .unwrap_or_default();
        let verdict = match st.verdict {
            StatementVerdict::Fail => "**fail**",
            v => v.as_str(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            st.id,
            level,
            verdict,
            st.scenarios.len()
        );
    }
    out
}
