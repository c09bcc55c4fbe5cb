//! The report of a run: verdicts per scenario and per statement, and their renderings.

pub mod isolation;
pub mod junit;
pub mod markdown;
pub mod text;

use crate::catalogue::{Catalogue, Level};
use crate::engine::{ScenarioResult, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The exit codes of the command line, as documented in the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const TARGET_FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const HARNESS: i32 = 3;
}

/// One statement's verdict across every scenario that checks it.
#[derive(Debug, Clone, Serialize)]
pub struct StatementResult {
    pub id: String,
    pub level: Option<Level>,
    /// `fail` for MUST statements; a failed SHOULD or MAY is `warn`.
    pub verdict: StatementVerdict,
    /// Paths of the scenarios that cite it.
    pub scenarios: Vec<String>,
    /// Why it was not judged: the precondition that failed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementVerdict {
    Pass,
    Fail,
    Warn,
    NotApplicable,
    /// Every scenario citing it ended in a harness error or failed on another statement
    /// before reaching it.
    NotJudged,
}

impl StatementVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
            Self::NotApplicable => "not applicable",
            Self::NotJudged => "not judged",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub not_applicable: usize,
    pub error: usize,
    pub not_judged: usize,
}

/// Everything a run produced. Its JSON form is documented in docs/report-json.md.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Bumped when the JSON shape changes incompatibly.
    pub format_version: u32,
    pub tool: String,
    pub target: String,
    pub seed: u64,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    pub scenario_counts: Counts,
    pub statement_counts: Counts,
    pub exit_code: i32,
    /// Set when every scenario failed the same way: the harness could not judge the broker
    /// (exit code 3), and this says what went wrong, once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    pub scenarios: Vec<ScenarioResult>,
    pub statements: Vec<StatementResult>,
    /// The command that reruns one scenario, with `{scenario}` where its name goes.
    pub rerun_template: String,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Report {
    pub fn new(
        mut scenarios: Vec<ScenarioResult>,
        catalogue: &Catalogue,
        target: String,
        seed: u64,
        duration: Duration,
        rerun_template: String,
    ) -> Self {
        let extra = isolation::entries(&scenarios);
        scenarios.extend(extra);
        let mut scenario_counts = Counts::default();
        for s in &scenarios {
            match s.verdict {
                Verdict::Pass => scenario_counts.pass += 1,
                Verdict::Fail => scenario_counts.fail += 1,
                Verdict::NotApplicable => scenario_counts.not_applicable += 1,
                Verdict::Error => scenario_counts.error += 1,
            }
        }
        let statements = judge_statements(&scenarios, catalogue);
        let mut statement_counts = Counts::default();
        for s in &statements {
            match s.verdict {
                StatementVerdict::Pass => statement_counts.pass += 1,
                StatementVerdict::Fail => statement_counts.fail += 1,
                StatementVerdict::Warn => statement_counts.warn += 1,
                StatementVerdict::NotApplicable => statement_counts.not_applicable += 1,
                StatementVerdict::NotJudged => statement_counts.not_judged += 1,
            }
        }
        let diagnosis = diagnose(&scenarios);
        let exit_code = if diagnosis.is_some() {
            exit::HARNESS
        } else if statement_counts.fail > 0 {
            exit::TARGET_FAILED
        } else if scenario_counts.error > 0 {
            exit::HARNESS
        } else {
            exit::OK
        };
        Self {
            format_version: 1,
            tool: format!("mqttspec {}", env!("CARGO_PKG_VERSION")),
            target,
            seed,
            duration,
            scenario_counts,
            statement_counts,
            exit_code,
            diagnosis,
            scenarios,
            statements,
            rerun_template,
        }
    }

    /// The report of a run that could not start judging: the broker refused every
    /// connection or speaks none of the scenarios' versions (`reason` says which).
    pub fn unusable(
        catalogue: &Catalogue,
        target: String,
        seed: u64,
        duration: Duration,
        reason: String,
    ) -> Self {
        let mut r = Self::new(Vec::new(), catalogue, target, seed, duration, String::new());
        r.diagnosis = Some(reason);
        r.exit_code = exit::HARNESS;
        r
    }

    /// The command that reruns one scenario from any directory; `None` for the run's own
    /// entries, which no single scenario reproduces.
    pub fn rerun(&self, s: &ScenarioResult) -> Option<String> {
        if s.path == isolation::PATH {
            return None;
        }
        Some(
            self.rerun_template
                .replace("{scenario}", &crate::run::shell_word(&s.reference)),
        )
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// Fewer judged scenarios than this are too few to call a failure "the same for all".
const DIAGNOSIS_MIN: usize = 3;

/// When no scenario passed and every one failed (or erred) at the same kind of step with
/// the same message, the broker was never really judged: say so once, with the message.
fn diagnose(scenarios: &[ScenarioResult]) -> Option<String> {
    let judged: Vec<&ScenarioResult> = scenarios
        .iter()
        .filter(|s| s.verdict != Verdict::NotApplicable && s.path != isolation::PATH)
        .collect();
    if judged.len() < DIAGNOSIS_MIN || judged.iter().any(|s| s.verdict == Verdict::Pass) {
        return None;
    }
    let what = |s: &ScenarioResult| match (&s.failure, &s.reason) {
        (Some(f), _) => Some(format!("{} step: {}", f.step, f.message)),
        (None, Some(r)) => Some(r.clone()),
        (None, None) => None,
    };
    let first = what(judged[0])?;
    if !judged
        .iter()
        .all(|s| what(s).as_deref() == Some(first.as_str()))
    {
        return None;
    }
    let hint = if first.contains("CONNACK") {
        "; the broker does not seem to accept the harness's MQTT connections (wrong protocol          version, credentials needed, or not an MQTT broker)"
    } else {
        ""
    };
    Some(format!(
        "all {} scenarios failed the same way ({first}){hint}: the harness could not judge the broker",
        judged.len()
    ))
}

/// A statement fails when a scenario failed on it; passes when a scenario that cites it
/// passed; is not applicable when its scenarios were; otherwise it was not judged (its
/// scenarios ended in a harness error, or failed on a precondition before reaching it).
fn judge_statements(scenarios: &[ScenarioResult], catalogue: &Catalogue) -> Vec<StatementResult> {
    #[derive(Default)]
    struct Acc {
        failed: bool,
        passed: bool,
        na: bool,
        note: Option<String>,
        scenarios: Vec<String>,
    }
    let mut by_id: BTreeMap<&str, Acc> = BTreeMap::new();
    for s in scenarios {
        let failed_on: &[String] = s.failure.as_ref().map_or(&[], |f| &f.statements);
        let mut ids: Vec<&str> = s.statements.iter().map(String::as_str).collect();
        ids.extend(failed_on.iter().map(String::as_str));
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let acc = by_id.entry(id).or_default();
            acc.scenarios.push(s.path.clone());
            match s.verdict {
                Verdict::Pass => acc.passed = true,
                Verdict::Fail if failed_on.iter().any(|f| f == id) => acc.failed = true,
                Verdict::Fail => {
                    if acc.note.is_none()
                        && let Some(f) = &s.failure
                    {
                        acc.note = Some(format!(
                            "precondition failed in {} (line {}: {}; charged to {})",
                            s.path,
                            f.line,
                            f.message,
                            f.statements.join(", ")
                        ));
                    }
                }
                Verdict::NotApplicable => acc.na = true,
                Verdict::Error => {}
            }
        }
    }
    by_id
        .into_iter()
        .map(|(id, acc)| {
            let level = catalogue.get(id).map(|s| s.level);
            let verdict = if acc.failed {
                match level {
                    Some(Level::Should | Level::May) => StatementVerdict::Warn,
                    _ => StatementVerdict::Fail,
                }
            } else if acc.passed {
                StatementVerdict::Pass
            } else if acc.na {
                StatementVerdict::NotApplicable
            } else {
                StatementVerdict::NotJudged
            };
            StatementResult {
                id: id.to_owned(),
                level,
                verdict,
                scenarios: acc.scenarios,
                note: (verdict == StatementVerdict::NotJudged)
                    .then_some(acc.note)
                    .flatten(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Failure;

    fn failed(path: &str, message: &str) -> ScenarioResult {
        ScenarioResult {
            path: path.into(),
            reference: path.into(),
            name: path.into(),
            description: None,
            version: "3.1.1".into(),
            statements: vec!["3.1.1/MQTT-3.12.4-1".into()],
            not_judged: Vec::new(),
            tags: Vec::new(),
            verdict: Verdict::Fail,
            failure: Some(Failure {
                line: 3,
                column: 5,
                step: "connect".into(),
                message: message.into(),
                expected: None,
                actual: None,
                statements: vec!["3.1.1/MQTT-3.1.4-4".into()],
                precondition: true,
            }),
            reason: None,
            duration: Duration::ZERO,
            trace: Vec::new(),
            foreign: Vec::new(),
            rests_on: Vec::new(),
        }
    }

    #[test]
    fn every_scenario_failing_the_same_way_is_diagnosed_once() {
        let same: Vec<_> = (0..4)
            .map(|i| failed(&format!("s{i}"), "no CONNACK within 2s"))
            .collect();
        let d = diagnose(&same).expect("a diagnosis");
        assert!(d.starts_with("all 4 scenarios failed the same way"), "{d}");
        let mut mixed = same.clone();
        mixed.push(failed("other", "the connection ended before a CONNACK"));
        assert_eq!(diagnose(&mixed), None);
        let mut one_passed = same;
        one_passed[0].verdict = Verdict::Pass;
        one_passed[0].failure = None;
        assert_eq!(diagnose(&one_passed), None);
        assert_eq!(diagnose(&mixed[..2]), None, "too few to tell");
    }
}
