//! What running one scenario produced.

use super::trace::TraceEntry;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// The broker did not do what the statements require.
    Fail,
    /// The broker declined an optional feature the scenario needs; nothing was judged.
    NotApplicable,
    /// The harness could not do its part (target unreachable, internal problem): says
    /// nothing about the broker.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NotApplicable => "not applicable",
            Self::Error => "error",
        }
    }
}

/// Where and why a scenario failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// 1-based position of the failing step in the scenario file.
    pub line: u64,
    pub column: u64,
    /// The step's kind, e.g. `expect`.
    pub step: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The statements this failure is evidence against.
    pub statements: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub path: String,
    pub name: String,
    pub version: String,
    pub statements: Vec<String>,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Why the scenario is not applicable, or what the harness could not do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    pub trace: Vec<TraceEntry>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
