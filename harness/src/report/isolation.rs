//! Messages the broker delivered to clients that never subscribed to their topics. The
//! engine sets such a PUBLISH aside wherever it arrives (it would otherwise fail whatever
//! step happened to be waiting, in scenarios that have nothing to do with it); the run
//! reports them here, once, as one failure of the rule that a delivered message's topic
//! matches the subscription it was sent for.

use crate::engine::{Failure, ScenarioResult, Verdict};
use std::time::Duration;

/// Where the run's own entry appears in reports and `--filter` never selects it.
pub const PATH: &str = "(run)/isolation";

/// At most this many deliveries are listed in the entry's message.
const SHOWN: usize = 5;

/// One failing entry per protocol version in which foreign deliveries were seen.
pub fn entries(results: &[ScenarioResult]) -> Vec<ScenarioResult> {
    let mut out = Vec::new();
    for version in ["3.1.1", "5.0"] {
        let seen: Vec<(usize, &ScenarioResult)> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.version == version && !r.foreign.is_empty())
            .collect();
        if seen.is_empty() {
            continue;
        }
        let total: usize = seen.iter().map(|(_, r)| r.foreign.len()).sum();
        let examples: Vec<String> = seen
            .iter()
            .flat_map(|(_, r)| r.foreign.iter().map(move |f| (r, f)))
            .take(SHOWN)
            .map(|(r, f)| {
                let owner = owner(&f.topic, results)
                    .map(|p| format!(", a topic of {p}"))
                    .unwrap_or_default();
                format!(
                    "client `{}` of {} got a PUBLISH on {:?}{owner}",
                    f.client, r.path, f.topic
                )
            })
            .collect();
        let statement = format!("{version}/MQTT-3.3.2-3");
        out.push(ScenarioResult {
            path: PATH.to_owned(),
            reference: PATH.to_owned(),
            name: "The broker delivered messages to clients that never subscribed to their topics"
                .to_owned(),
            description: Some(
                "A server sends a client a PUBLISH only for a subscription whose filter matches \
                 its topic (3.3.2, 4.7). Every scenario subscribes only under its own topic \
                 prefix; a message on another topic that none of the receiving scenario's \
                 filters matches was sent without a subscription. The engine set these \
                 messages aside where they arrived, so the scenarios themselves were judged \
                 without them."
                    .to_owned(),
            ),
            version: version.to_owned(),
            statements: vec![statement.clone()],
            not_judged: Vec::new(),
            tags: vec!["isolation".to_owned()],
            verdict: Verdict::Fail,
            failure: Some(Failure {
                line: 0,
                column: 0,
                step: "run".to_owned(),
                message: format!(
                    "{total} message(s) in {} scenario(s) arrived on topics no subscription of the receiving client matches: {}{}",
                    seen.len(),
                    examples.join("; "),
                    if total > SHOWN { "; …" } else { "" }
                ),
                expected: Some("only messages whose topic matches a subscription of the client".into()),
                actual: Some(format!("{total} message(s) without a matching subscription")),
                statements: vec![statement],
                precondition: false,
            }),
            reason: None,
            duration: Duration::ZERO,
            trace: Vec::new(),
            foreign: Vec::new(),
            rests_on: Vec::new(),
        });
    }
    out
}

/// The scenario whose topic prefix (`mqttspec/<run>/<index>`) a topic holds, by the index
/// the engine gave it (its place in the run).
fn owner<'r>(topic: &str, results: &'r [ScenarioResult]) -> Option<&'r str> {
    let levels: Vec<&str> = topic.split('/').collect();
    let at = levels.iter().position(|l| *l == "mqttspec")?;
    let index = usize::from_str_radix(levels.get(at + 2)?, 36).ok()?;
    results.get(index).map(|r| r.path.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ForeignDelivery;

    fn result(path: &str, foreign: Vec<ForeignDelivery>) -> ScenarioResult {
        ScenarioResult {
            path: path.into(),
            reference: path.into(),
            name: path.into(),
            description: None,
            version: "3.1.1".into(),
            statements: vec!["3.1.1/MQTT-3.3.1-6".into()],
            not_judged: Vec::new(),
            tags: Vec::new(),
            verdict: Verdict::Pass,
            failure: None,
            reason: None,
            duration: Duration::ZERO,
            trace: Vec::new(),
            foreign,
            rests_on: Vec::new(),
        }
    }

    #[test]
    fn one_entry_names_the_receiver_and_the_owner() {
        let leak = ForeignDelivery {
            client: "sub".into(),
            topic: "mqttspec/abc123/1/r".into(),
            at_ms: 5,
        };
        let results = vec![
            result("a.yaml", vec![leak.clone(), leak]),
            result("b.yaml", vec![]),
        ];
        let e = entries(&results);
        assert_eq!(e.len(), 1);
        let f = e[0].failure.as_ref().unwrap();
        assert_eq!(f.statements, ["3.1.1/MQTT-3.3.2-3"]);
        assert!(
            f.message.starts_with("2 message(s) in 1 scenario(s)"),
            "{}",
            f.message
        );
        assert!(f.message.contains("a topic of b.yaml"), "{}", f.message);
        assert!(entries(&results[1..]).is_empty());
    }
}
