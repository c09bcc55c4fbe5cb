//! The whole suite passes on the reference broker: it is the oracle every scenario is
//! written against, so a failure here is a bug in the broker or in the scenario. Over TCP
//! the scenarios with network fault steps are not applicable (they need `--sim`; see
//! run_sim.rs, which runs the whole suite in the simulator).

mod common;

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::Verdict;
use mqttspec::run::{RunSettings, Target, run};
use mqttspec::scenario::suite;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_suite_passes_on_the_reference_broker() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let count = scenarios.len();
    let settings = RunSettings {
        jobs: 8,
        seed: 3,
        expect_timeout: Duration::from_secs(2),
        credentials: None,
        stated: None,
    };
    let report = run(&Target::Embedded, scenarios, &settings, &catalogue, |_| {})
        .await
        .expect("the embedded broker starts");
    assert_eq!(report.scenarios.len(), count);
    let bad: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| {
            let needs_sim = s
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("needs --sim"));
            s.verdict != Verdict::Pass && !(s.verdict == Verdict::NotApplicable && needs_sim)
        })
        .map(common::verdicts::describe)
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(report.exit_code, mqttspec::report::exit::OK);
}
