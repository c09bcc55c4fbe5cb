//! A broker that accepts connections and never answers must fail every scenario, quickly,
//! and never hang the run; the JUnit report of that run is well-formed XML.

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::Verdict;
use mqttspec::report::{Report, junit};
use mqttspec::run::{RunSettings, run_against};
use mqttspec::scenario::suite;
use std::time::Duration;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_broker_fails_every_scenario_without_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accept and hold connections, reading nothing and writing nothing.
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let catalogue = Catalogue::builtin().expect("catalogue");
    // Network fault scenarios are not applicable over TCP (run_sim.rs checks that).
    let scenarios: Vec<_> = suite::load_embedded(&catalogue)
        .expect("the built-in suite loads")
        .into_iter()
        .filter(|s| !s.scenario.needs_sim())
        .collect();
    assert!(!scenarios.is_empty());
    let count = scenarios.len();
    let settings = RunSettings {
        jobs: 16,
        seed: 7,
        expect_timeout: Duration::from_millis(300),
        credentials: None,
        // Stated as the reference broker's, so that no scenario is left out for want of a
        // capability (SCRAM-SHA-256): every one meets the silence.
        stated: Some(mqttspec::embedded::capabilities(
            &mqttspec::embedded::config(),
        )),
    };
    let results = tokio::time::timeout(
        Duration::from_secs(120),
        run_against(addr, scenarios, &settings, |_| {}),
    )
    .await
    .expect("the run finished: a silent broker must not hang it");
    server.abort();
    assert_eq!(results.len(), count);
    for r in &results {
        assert_eq!(
            r.verdict,
            Verdict::Fail,
            "{} should fail against a silent broker: {:?}",
            r.path,
            r.reason
        );
    }
    let report = Report::new(
        results,
        &catalogue,
        format!("mqtt://{addr}"),
        7,
        Duration::ZERO,
        "mqttspec run {path}".into(),
    );
    assert_eq!(report.exit_code, mqttspec::report::exit::TARGET_FAILED);
    let xml = junit::render(&report);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit output is well-formed XML");
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!(failures, count);
}
