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
    /// The statements this failure is evidence against: the failing step's own, or those
    /// its acknowledgement rests on, or the scenario's (see `engine::attribution`).
    pub statements: Vec<String>,
    /// The failing step only set the stage: none of the scenario's own statements was
    /// reached, so they are not judged.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub precondition: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub path: String,
    /// What `mqttspec run` takes to run the scenario again from any directory.
    pub reference: String,
    pub name: String,
    /// The scenario's reasoning and tolerances, from its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub version: String,
    pub statements: Vec<String>,
    /// The scenario's statements left unjudged because a precondition failed before the
    /// scenario reached them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_judged: Vec<String>,
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
    /// PUBLISH packets the broker sent this scenario's clients on topics they never
    /// subscribed to; the run reports them together (see `report::isolation`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ForeignDelivery>,
    /// Capabilities stated outside the broker's CONNACK that the verdict rests on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rests_on: Vec<String>,
}

/// A message delivered to a client that had no subscription matching its topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignDelivery {
    /// The scenario's client that received it.
    pub client: String,
    pub topic: String,
    /// Since the scenario started.
    pub at_ms: u64,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
