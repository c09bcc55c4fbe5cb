//! Every scenario can fail: each one names the reference-broker faults (`broken_by`) that
//! break what it checks, and this test runs it against a broker with each fault on and
//! requires a failing verdict. A scenario that passed there would be one that cannot fail.
//! It does so over TCP (scenarios with network fault steps aside: they need the
//! simulator) and again inside the network simulator (`run --sim`), every scenario.

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::{RunOptions, Verdict, run_scenario};
use mqttspec::run::RunSettings;
use mqttspec::scenario::suite;
use mqttspec::sim::scenarios::{SimBroker, simulate_scenario};
use mqttspec_broker::config::Faults;
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[test]
fn every_scenario_names_known_faults() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let mut problems = Vec::new();
    for s in &scenarios {
        if s.scenario.broken_by.is_empty() {
            problems.push(format!("{}: `broken_by` is empty", s.path));
        }
        for f in &s.scenario.broken_by {
            if Faults::describe(f).is_none() {
                problems.push(format!("{}: unknown fault {f:?}", s.path));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_fails_under_each_of_its_faults() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let permits = Arc::new(Semaphore::new(8));
    let mut tasks = Vec::new();
    for (index, scenario) in scenarios.into_iter().enumerate() {
        let scenario = Arc::new(scenario);
        if scenario.scenario.needs_sim() {
            continue;
        }
        for fault in scenario.scenario.broken_by.clone() {
            let Ok(faults) = Faults::only(&fault) else {
                continue;
            };
            let scenario = scenario.clone();
            let permits = permits.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let config = Config {
                    faults,
                    ..mqttspec::embedded::config()
                };
                let stated = mqttspec::embedded::capabilities(&config);
                let broker = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                    .await
                    .expect("start the reference broker");
                let mut opts = RunOptions::new(broker.local_addr, 11);
                opts.stated = Some(stated);
                let result = run_scenario(&scenario, index, &opts).await;
                broker.shutdown().await;
                (scenario.path.clone(), fault, result.verdict, result.reason)
            }));
        }
    }
    let mut survived = Vec::new();
    let mut count = 0;
    for t in tasks {
        let (path, fault, verdict, reason) = t.await.expect("a fault run completes");
        count += 1;
        if verdict != Verdict::Fail {
            survived.push(format!("{path} under {fault}: {verdict:?} {reason:?}"));
        }
    }
    assert!(count > 0);
    assert!(
        survived.is_empty(),
        "scenarios that did not fail under their fault: {survived:#?}"
    );
}

#[test]
fn every_scenario_fails_under_each_of_its_faults_in_the_simulator() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios = suite::load_embedded(&catalogue).expect("the built-in suite loads");
    let settings = RunSettings {
        jobs: 1,
        seed: 11,
        expect_timeout: std::time::Duration::from_secs(2),
        credentials: None,
        stated: Some(mqttspec::embedded::capabilities(
            &mqttspec::embedded::config(),
        )),
    };
    let mut cases = Vec::new();
    for (index, scenario) in scenarios.into_iter().enumerate() {
        let scenario = Arc::new(scenario);
        for fault in scenario.scenario.broken_by.clone() {
            if let Ok(faults) = Faults::only(&fault) {
                cases.push((index, scenario.clone(), fault, faults));
            }
        }
    }
    let count = cases.len();
    assert!(count > 0);
    let cases = std::sync::Mutex::new(cases);
    let survived = std::sync::Mutex::new(Vec::new());
    // A simulation is single-threaded: two at a time, one per core.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let case = cases.lock().expect("the case list").pop();
                    let Some((index, scenario, fault, faults)) = case else {
                        return;
                    };
                    let config = Config {
                        faults,
                        ..mqttspec::embedded::config()
                    };
                    let broker = SimBroker::Reference(Box::new(config));
                    let result = simulate_scenario(scenario.clone(), index, &settings, &broker);
                    if result.verdict != Verdict::Fail {
                        survived.lock().expect("the survivors").push(format!(
                            "{} under {fault}: {:?} {:?}",
                            scenario.path, result.verdict, result.reason
                        ));
                    }
                }
            });
        }
    });
    let survived = survived.into_inner().expect("the survivors");
    assert!(
        survived.is_empty(),
        "scenarios that did not fail under their fault in the simulator: {survived:#?}"
    );
}
