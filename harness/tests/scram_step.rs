//! The `scram` step against the reference broker: the exchange passes with the account the
//! broker knows, fails with a wrong password (so a pass means the proof was really
//! checked), and without an account the scenario is not applicable.

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::runner::Credentials;
use mqttspec::engine::{RunOptions, ScenarioResult, Verdict, run_scenario};
use mqttspec::scenario::load::load_str;
use mqttspec_broker::driver;
use std::net::SocketAddr;

const EXCHANGE: &str = r#"
name: SCRAM exchange
statements: [5.0/MQTT-4.12.0-2]
version: "5.0"
requires: {auth_methods: [SCRAM-SHA-256]}
broken_by: [auth_method_missing]
steps:
  - scram: {client: a, send: connect}
  - expect: {client: a, packet: {auth: {reason: 0x18}}}
  - scram: {client: a, send: final}
  - expect: {client: a, packet: {connack: {code: 0}}}
  - scram: {client: a, verify: true}
"#;

async fn run(change: impl FnOnce(&mut RunOptions)) -> ScenarioResult {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenario = load_str("scram.yaml", EXCHANGE, &catalogue).expect("the scenario loads");
    let config = mqttspec::embedded::config();
    let stated = mqttspec::embedded::capabilities(&config);
    let broker = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("start the reference broker");
    let mut opts = RunOptions::new(broker.local_addr, 5);
    opts.stated = Some(stated);
    change(&mut opts);
    let result = run_scenario(&scenario, 0, &opts).await;
    broker.shutdown().await;
    result
}

#[tokio::test]
async fn the_exchange_passes_with_the_brokers_account() {
    let r = run(|_| {}).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?} {:?}", r.failure, r.reason);
}

#[tokio::test]
async fn a_wrong_password_fails_at_the_connack() {
    let r = run(|opts| {
        if let Some(user) = opts.stated.as_mut().and_then(|s| s.auth_user.as_mut()) {
            user.password = Some("not-the-password".into());
        }
    })
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    let failure = r.failure.expect("a failure");
    assert!(failure.actual.unwrap_or_default().contains("CONNACK"));
    // The password is nowhere in the trace.
    assert!(!format!("{:?}", r.trace).contains("not-the-password"));
}

#[tokio::test]
async fn the_run_account_serves_when_none_is_stated() {
    let r = run(|opts| {
        let user = opts.stated.as_mut().and_then(|s| s.auth_user.take());
        opts.credentials = user;
    })
    .await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?} {:?}", r.failure, r.reason);
}

#[tokio::test]
async fn without_an_account_the_scenario_is_not_applicable() {
    let r = run(|opts| {
        if let Some(s) = opts.stated.as_mut() {
            s.auth_user = None;
        }
        opts.credentials = Some(Credentials {
            username: "someone".into(),
            password: None,
        });
    })
    .await;
    assert_eq!(r.verdict, Verdict::NotApplicable);
    assert!(r.reason.unwrap_or_default().contains("--username"));
    assert!(r.trace.is_empty(), "nothing was sent");
}
