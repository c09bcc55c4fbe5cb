//! A scenario result told in full, for the message of a failing assertion.

use mqttspec::engine::ScenarioResult;

/// Path, verdict, failure, reason and the packet trace of every client.
pub fn describe(s: &ScenarioResult) -> String {
    let mut text = String::new();
    mqttspec::report::text::trace_lines(&s.trace, &mut text, "    ");
    format!(
        "{} {:?}: {:?} {:?}\n{text}",
        s.path, s.verdict, s.failure, s.reason
    )
}
