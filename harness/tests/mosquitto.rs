//! The whole 3.1.1 suite against a real Mosquitto: the run completes without harness
//! errors, and the scenarios that fail are exactly the deviations documented in
//! reports/mosquitto-2.0.json (each explained in reports/mosquitto-2.0.md).
//!
//! Scenarios tagged `timing` are left out of the comparison: Mosquitto 2.0 checks keep
//! alive on a coarse periodic timer, so whether it closes inside the window those
//! scenarios allow varies from run to run (reports/mosquitto-2.0.md explains it).

mod common;

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::Verdict;
use mqttspec::run::{RunSettings, run_against};
use mqttspec::scenario::suite;
use std::collections::BTreeSet;
use std::time::Duration;

fn documented_failures() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../reports/mosquitto-2.0.json");
    let text = std::fs::read_to_string(path).expect("reports/mosquitto-2.0.json exists");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    json["scenarios"]
        .as_array()
        .expect("a scenarios array")
        .iter()
        .filter(|s| s["verdict"] == "fail")
        .filter_map(|s| s["path"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_against_mosquitto_matches_the_published_report() {
    let broker = common::mosquitto::Mosquitto::start();
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let settings = RunSettings {
        jobs: 8,
        seed: 1,
        expect_timeout: Duration::from_secs(2),
        credentials: None,
        stated: None,
    };
    let results = run_against(broker.addr, scenarios, &settings, |_| {}).await;
    let errors: Vec<_> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Error)
        .map(|r| format!("{}: {:?}", r.path, r.reason))
        .collect();
    assert!(
        errors.is_empty(),
        "harness errors against Mosquitto: {errors:#?}"
    );
    let timing: BTreeSet<String> = results
        .iter()
        .filter(|r| r.tags.iter().any(|t| t == "timing"))
        .map(|r| r.path.clone())
        .collect();
    let failed: BTreeSet<String> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail && !timing.contains(&r.path))
        .map(|r| r.path.clone())
        .collect();
    let documented: BTreeSet<String> = documented_failures()
        .into_iter()
        .filter(|p| !timing.contains(p))
        .collect();
    assert_eq!(
        failed, documented,
        "Mosquitto's failures differ from reports/mosquitto-2.0.json: regenerate it with scripts/report-mosquitto and explain every failure in reports/mosquitto-2.0.md"
    );
}
