//! The fuzz report: what ran, how fast, what it covered and what it found; as text and JSON.

use super::finding::Finding;
use super::kinds::MutationKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct FuzzReport {
    pub target: String,
    pub seed: u64,
    pub budget_secs: f64,
    pub max_cases: Option<u64>,
    pub cases: u64,
    pub elapsed_secs: f64,
    pub cases_per_sec: f64,
    /// Why the run ended before its budget, if it did (the broker died).
    pub stopped_early: Option<String>,
    /// Cases per packet type and mutation kind.
    pub coverage: BTreeMap<String, BTreeMap<MutationKind, u64>>,
    /// How many cases each oracle judged.
    pub checks: BTreeMap<String, u64>,
    pub findings: Vec<Finding>,
}

impl FuzzReport {
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn text(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "mqttspec fuzz against {} (seed {})",
            self.target, self.seed
        );
        let _ = writeln!(
            t,
            "{} cases in {:.1}s: {:.1} cases/s",
            self.cases, self.elapsed_secs, self.cases_per_sec
        );
        if let Some(why) = &self.stopped_early {
            let _ = writeln!(t, "stopped early: {why}");
        }
        let checks: Vec<String> = self
            .checks
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(t, "oracle checks: {}", checks.join(", "));
        let _ = writeln!(t, "\ncoverage (cases per packet type and mutation kind):");
        let kinds: Vec<MutationKind> = MutationKind::ALL
            .iter()
            .copied()
            .filter(|k| self.coverage.values().any(|m| m.contains_key(k)))
            .collect();
        for (packet, by_kind) in &self.coverage {
            let cells: Vec<String> = kinds
                .iter()
                .filter_map(|k| by_kind.get(k).map(|n| format!("{} {n}", k.name())))
                .collect();
            let _ = writeln!(t, "  {packet:<12} {}", cells.join(", "));
        }
        if self.findings.is_empty() {
            let _ = writeln!(t, "\nno findings");
        } else {
            let _ = writeln!(t, "\n{} finding(s):", self.findings.len());
        }
        for (i, f) in self.findings.iter().enumerate() {
            let _ = writeln!(
                t,
                "\n{}. [{}] {} on {} ({}), first at case {}, {} case(s)",
                i + 1,
                f.oracle.name(),
                f.summary,
                f.packet,
                f.mutation.name(),
                f.case,
                f.count
            );
            let _ = writeln!(t, "   statements: {}", f.statements.join(", "));
            let _ = writeln!(t, "   {}", f.detail);
            match (&f.reproducer, &f.replay) {
                (Some(path), Some(cmd)) => {
                    let _ = writeln!(t, "   reproducer: {path}\n   replay: {cmd}");
                }
                _ => {
                    let shown: Vec<&str> = f.hex.iter().take(4).map(String::as_str).collect();
                    let _ = writeln!(t, "   bytes: {}", shown.join(" | "));
                }
            }
        }
        t
    }
}
