//! `mqttspec run --sim`: the whole suite passes against the reference broker inside the
//! network simulator (network fault scenarios included), in virtual time; the same seed
//! gives the same traces; the reproducer names `--sim`; `--sim` with `--target` is a usage
//! error; and over real TCP the network fault scenarios are not applicable, never judged.

mod common;

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::{ScenarioResult, Verdict};
use mqttspec::run::{RunSettings, Target, run};
use mqttspec::scenario::{LoadedScenario, suite};
use mqttspec::sim::scenarios::{SimBroker, run_scenarios};
use std::time::Duration;

fn settings(seed: u64) -> RunSettings {
    RunSettings {
        jobs: 4,
        seed,
        expect_timeout: Duration::from_secs(2),
        credentials: None,
        stated: None,
    }
}

fn needs_sim(s: &LoadedScenario) -> bool {
    s.scenario.needs_sim()
}

fn describe_bad(results: &[ScenarioResult], want: Verdict) -> Vec<String> {
    results
        .iter()
        .filter(|s| s.verdict != want)
        .map(common::verdicts::describe)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_suite_passes_in_the_simulator() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let count = scenarios.len();
    let with_faults = scenarios.iter().filter(|s| needs_sim(s)).count();
    assert!(with_faults >= 3, "the suite has network fault scenarios");
    let report = run(
        &Target::Simulated,
        scenarios,
        &settings(3),
        &catalogue,
        |_| {},
    )
    .await
    .expect("a simulated run starts");
    assert_eq!(report.scenarios.len(), count);
    let bad = describe_bad(&report.scenarios, Verdict::Pass);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(report.exit_code, mqttspec::report::exit::OK);
    let first = &report.scenarios[0];
    assert_eq!(
        report.rerun(first),
        Some(format!(
            "mqttspec run {} --sim --seed 3",
            first
                .path
                .trim_start_matches("scenarios/")
                .trim_end_matches(".yaml")
        ))
    );
}

#[test]
fn same_seed_same_results_and_traces() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let pick = || -> Vec<LoadedScenario> {
        suite::load_embedded(&catalogue)
            .expect("the built-in suite loads")
            .into_iter()
            .filter(|s| needs_sim(s) || s.path.contains("keepalive") || s.path.contains("will"))
            .collect()
    };
    let first = run_scenarios(
        pick(),
        &settings(21),
        &SimBroker::Reference(Box::default()),
        &|_| {},
    );
    let second = run_scenarios(
        pick(),
        &settings(21),
        &SimBroker::Reference(Box::default()),
        &|_| {},
    );
    assert!(first.len() > 5);
    let show = |rs: &[ScenarioResult]| serde_json::to_string(rs).expect("results serialise");
    assert_eq!(show(&first), show(&second));
    // The reproducer runs one scenario alone: it must see the same run.
    let last = pick().pop().expect("a scenario");
    let alone = run_scenarios(
        vec![last],
        &settings(21),
        &SimBroker::Reference(Box::default()),
        &|_| {},
    );
    assert_eq!(show(&alone), show(&first[first.len() - 1..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_fault_scenarios_are_not_applicable_over_tcp() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios: Vec<_> = suite::load_embedded(&catalogue)
        .expect("the built-in suite loads")
        .into_iter()
        .filter(needs_sim)
        .collect();
    assert!(!scenarios.is_empty());
    let report = run(
        &Target::Embedded,
        scenarios,
        &settings(5),
        &catalogue,
        |_| {},
    )
    .await
    .expect("the embedded broker starts");
    let bad = describe_bad(&report.scenarios, Verdict::NotApplicable);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    for s in &report.scenarios {
        let reason = s.reason.as_deref().unwrap_or("");
        assert!(reason.contains("needs --sim"), "{}: {reason}", s.path);
        assert!(s.trace.is_empty(), "{}: nothing was sent", s.path);
    }
}

#[test]
fn sim_with_target_is_a_usage_error() {
    let out = common::command::mqttspec("run", &["--sim", "--target", "mqtt://127.0.0.1:1883"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--sim") && err.contains("--target"), "{err}");
}

#[test]
fn a_simulated_failure_prints_a_reproducer_with_sim() {
    // A scenario that fails on any broker: the CONNACK it wants never comes.
    let dir = std::env::temp_dir().join(format!("mqttspec-run-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join("wants-refusal.yaml");
    std::fs::write(
        &path,
        "name: wants a refusal\nstatements: [3.1.1/MQTT-3.2.2-1]\nversion: \"3.1.1\"\n\
         broken_by: [no_will]\nsteps:\n  - connect: {client: a, connack: {code: 5}}\n",
    )
    .expect("write the scenario");
    let file = path.to_str().expect("a UTF-8 path");
    let out = common::command::mqttspec("run", &["--sim", "--seed", "9", file]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("rerun: mqttspec run {file} --sim --seed 9")),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seed 9"), "{err}");
}

#[test]
fn a_silent_simulated_broker_fails_every_scenario_without_hanging() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let count = scenarios.len();
    let mut quick = settings(8);
    quick.expect_timeout = Duration::from_millis(300);
    // Stated as the reference broker would be, so that no scenario is left out for want of
    // a capability (SCRAM-SHA-256) and every one meets the silence.
    quick.stated = Some(mqttspec::embedded::capabilities(
        &mqttspec::embedded::config(),
    ));
    let results = run_scenarios(scenarios, &quick, &SimBroker::Silent, &|_| {});
    assert_eq!(results.len(), count);
    let bad = describe_bad(&results, Verdict::Fail);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The fault steps act: a scenario that holds only if bytes really wait passes, and the
/// PINGRESP to a PINGREQ sent into a 3 s partition arrives no sooner than 3 s later.
#[test]
fn partition_and_hold_delay_bytes_both_ways() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let text = "name: n\nstatements: [3.1.1/MQTT-3.12.4-1]\nversion: \"3.1.1\"\nsteps:\n\
        - connect: {client: a}\n\
        - hold: a\n\
        - send: {client: a, packet: pingreq}\n\
        - expect_nothing: {client: a, for: 2s}\n\
        - release: a\n\
        - expect: {client: a, packet: pingresp}\n\
        - partition: {client: a, for: 3s}\n\
        - send: {client: a, packet: pingreq}\n\
        - expect: {client: a, within: 5s, packet: pingresp}\n";
    let scenario = mqttspec::scenario::load_str("scenarios/x.yaml", text, &catalogue)
        .expect("the scenario loads");
    assert!(scenario.scenario.needs_sim());
    let results = run_scenarios(
        vec![scenario],
        &settings(4),
        &SimBroker::Reference(Box::default()),
        &|_| {},
    );
    let bad = describe_bad(&results, Verdict::Pass);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let trace = &results[0].trace;
    let at = |what: &str, nth: usize| {
        trace
            .iter()
            .filter(|e| e.decoded.starts_with(what))
            .nth(nth)
            .map(|e| e.at)
            .unwrap_or_else(|| panic!("no {what} #{nth} in {trace:#?}"))
    };
    // The first PINGRESP came only after the 2 s hold; the second after the partition.
    assert!(at("PINGRESP", 0) >= Duration::from_secs(2), "{trace:#?}");
    assert!(
        at("PINGRESP", 1) >= at("partitioned", 0) + Duration::from_secs(3),
        "{trace:#?}"
    );
}
