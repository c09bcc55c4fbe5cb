//! Verdicts a broker author cannot argue with: a failure is charged to the statements the
//! failing step checks (a failed precondition leaves the scenario's own statements not
//! judged), not-applicable rules, sessions left by earlier runs, messages delivered to
//! clients that never subscribed to them, and the evidence a report carries.

mod common;

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::{RunOptions, ScenarioResult, Verdict, run_scenario};
use mqttspec::report::{Report, StatementVerdict};
use mqttspec::scenario::load::load_str;
use mqttspec::scenario::{LoadedScenario, suite};
use mqttspec_broker::config::Faults;
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::time::Duration;

fn scenario(name: &str, text: &str) -> LoadedScenario {
    let catalogue = Catalogue::builtin().expect("catalogue");
    load_str(&format!("{name}.yaml"), text, &catalogue)
        .unwrap_or_else(|e| panic!("{name} loads: {e}"))
}

async fn broker(fault: Option<&str>) -> driver::RunningBroker {
    let mut config = Config::default();
    if let Some(f) = fault {
        config.faults = Faults::only(f).expect("a known fault");
    }
    driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("the reference broker starts")
}

async fn run_one(s: &LoadedScenario, fault: Option<&str>, seed: u64) -> ScenarioResult {
    let b = broker(fault).await;
    let result = run_scenario(s, 0, &RunOptions::new(b.local_addr, seed)).await;
    b.shutdown().await;
    result
}

fn report(results: Vec<ScenarioResult>) -> Report {
    let catalogue = Catalogue::builtin().expect("catalogue");
    Report::new(
        results,
        &catalogue,
        "test".into(),
        1,
        Duration::ZERO,
        "mqttspec run {scenario} --seed 1".into(),
    )
}

const ORDER: &str = r#"
name: Queued messages keep their order
description: Ten QoS 1 messages queued while offline arrive in order (4.6).
statements: [3.1.1/MQTT-4.6.0-6]
version: "3.1.1"
broken_by: [queue_lifo]
steps:
  - connect: {client: sub, client_id: "${client}sub", clean_session: false}
  - send: {client: sub, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/ord", qos: 1}]}}}
  - expect: {client: sub, packet: {suback: {packet_id: 1, codes: [1]}}}
  - disconnect: {client: sub}
  - connect: {client: pub}
  - repeat:
      times: 3
      steps:
        - send: {client: pub, packet: {publish: {topic: "${topic}/ord", qos: 1, payload: "m${i}"}}}
        - expect: {client: pub, packet: {puback: {}}}
  - connect: {client: sub2, client_id: "${client}sub", clean_session: false, connack: {code: 0, session_present: true}}
  - repeat:
      times: 3
      steps:
        - expect: {client: sub2, packet: {publish: {payload: "m${i}", qos: 1}}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_session_present_is_charged_to_session_present_not_to_ordering() {
    let s = scenario("order", ORDER);
    let r = run_one(&s, Some("session_present_never_set"), 1).await;
    assert_eq!(
        r.verdict,
        Verdict::Fail,
        "{}",
        common::verdicts::describe(&r)
    );
    let f = r.failure.as_ref().expect("a failure");
    assert_eq!(f.statements, ["3.1.1/MQTT-3.2.2-2"]);
    assert!(f.precondition);
    assert_eq!(r.not_judged, ["3.1.1/MQTT-4.6.0-6"]);
    let rep = report(vec![r]);
    let verdict = |id: &str| {
        rep.statements
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("{id} in the report"))
            .clone()
    };
    assert_eq!(
        verdict("3.1.1/MQTT-3.2.2-2").verdict,
        StatementVerdict::Fail
    );
    let ordering = verdict("3.1.1/MQTT-4.6.0-6");
    assert_eq!(ordering.verdict, StatementVerdict::NotJudged);
    assert!(
        ordering
            .note
            .as_deref()
            .is_some_and(|n| n.contains("precondition failed")),
        "{ordering:?}"
    );
    let text = mqttspec::report::text::render(&rep, false, false);
    assert!(
        text.contains("statements failed: 3.1.1/MQTT-3.2.2-2"),
        "{text}"
    );
    assert!(text.contains("not judged (a precondition failed"), "{text}");
    assert!(text.contains("Ten QoS 1 messages queued"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failing_check_of_the_scenario_is_charged_to_its_statements() {
    let s = scenario("order", ORDER);
    let r = run_one(&s, Some("queue_lifo"), 1).await;
    assert_eq!(
        r.verdict,
        Verdict::Fail,
        "{}",
        common::verdicts::describe(&r)
    );
    let f = r.failure.as_ref().expect("a failure");
    assert_eq!(f.statements, ["3.1.1/MQTT-4.6.0-6"]);
    assert!(!f.precondition);
    assert!(r.not_judged.is_empty());
}

const SUBACK_QOS2: &str = r#"
name: A QoS 2 subscription delivers at QoS 2
statements: [3.1.1/MQTT-3.8.4-6]
version: "3.1.1"
broken_by: [ignore_granted_qos]
steps:
  - connect: {client: sub}
  - send: {client: sub, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/q", qos: 2}]}}}
  - expect:
      client: sub
      packet: {suback: {packet_id: 1, codes: [2]}}
      not_applicable_if: [{suback: {below: [2]}}]
      reason: the broker grants less than QoS 2, which 3.8.4 allows
  - connect: {client: pub}
  - send: {client: pub, packet: {publish: {topic: "${topic}/q", qos: 2, payload: x}}}
  - expect: {client: sub, packet: {publish: {qos: 2, payload: x}}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_grant_is_not_applicable_with_its_reason() {
    let s = scenario("grant", SUBACK_QOS2);
    // The reference broker grants what is asked: the scenario runs and passes.
    assert_eq!(run_one(&s, None, 1).await.verdict, Verdict::Pass);
    // A SUBACK that matches neither the expectation nor `below` still fails.
    let b = broker(None).await;
    let lowered = scenario(
        "grant-unexpected",
        &SUBACK_QOS2.replace(
            "packet: {suback: {packet_id: 1, codes: [2]}}",
            "packet: {suback: {packet_id: 1, codes: [3]}}",
        ),
    );
    let r = run_scenario(&lowered, 0, &RunOptions::new(b.local_addr, 2)).await;
    assert_eq!(
        r.verdict,
        Verdict::Fail,
        "{}",
        common::verdicts::describe(&r)
    );
    b.shutdown().await;
    // A grant of QoS 1 for 2 (as RabbitMQ answers; here the subscription asks for 1, which
    // the reference broker grants) declines the scenario, with its reason.
    let declined = scenario(
        "grant-declined",
        &SUBACK_QOS2.replace(
            r#"filters: [{filter: "${topic}/q", qos: 2}]"#,
            r#"filters: [{filter: "${topic}/q", qos: 1}]"#,
        ),
    );
    let r = run_one(&declined, None, 3).await;
    assert_eq!(
        r.verdict,
        Verdict::NotApplicable,
        "{}",
        common::verdicts::describe(&r)
    );
    let reason = r.reason.unwrap_or_default();
    assert!(reason.contains("grants less than QoS 2"), "{reason}");
    assert!(reason.contains("SUBACK"), "{reason}");
}

const KEEPALIVE_ZERO: &str = r#"
name: Keep alive 0 is accepted and never times out
statements: [3.1.1/MQTT-3.1.2-24]
version: "3.1.1"
broken_by: [keepalive_zero_times_out]
steps:
  - connect:
      client: a
      keep_alive: 0
      not_applicable_if_refused: the broker refuses keep alive 0, which 3.2.2-6 lets it do
  - expect_nothing: {client: a, for: 200ms}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_is_not_applicable_when_the_broker_may_refuse_it() {
    let s = scenario("ka0", KEEPALIVE_ZERO);
    assert_eq!(run_one(&s, None, 1).await.verdict, Verdict::Pass);
    // A listener that closes every connection without a CONNACK, as rumqttd does for keep
    // alive 0.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 64];
            let _ = sock.read(&mut buf).await;
            drop(sock);
        }
    });
    let r = run_scenario(&s, 0, &RunOptions::new(addr, 1)).await;
    server.abort();
    assert_eq!(
        r.verdict,
        Verdict::NotApplicable,
        "{}",
        common::verdicts::describe(&r)
    );
    assert!(
        r.reason
            .as_deref()
            .is_some_and(|m| m.contains("closed the connection without a CONNACK")),
        "{:?}",
        r.reason
    );
}

/// A scenario stopped before its own cleanup steps (as a failed or interrupted one is):
/// it leaves a persistent session with a subscription and a queued message behind.
const LEAVES_A_SESSION: &str = r#"
name: A persistent subscriber that stops early
statements: [3.1.1/MQTT-3.1.2-4]
version: "3.1.1"
broken_by: [forget_session_on_disconnect]
steps:
  - connect: {client: sub, client_id: "${client}sub", clean_session: false}
  - send: {client: sub, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/s", qos: 1}]}}}
  - expect: {client: sub, packet: {suback: {packet_id: 1, codes: [1]}}}
  - drop: {client: sub}
  - connect: {client: pub}
  - send: {client: pub, packet: {publish: {topic: "${topic}/s", qos: 1, payload: queued}}}
  - expect: {client: pub, packet: {puback: {}}}
"#;

/// The same client id, expecting a new session: Session Present 0 and nothing queued.
const EXPECTS_A_NEW_SESSION: &str = r#"
name: A new persistent session starts empty
statements: [3.1.1/MQTT-3.2.2-3]
version: "3.1.1"
broken_by: [session_present_always_set]
steps:
  - connect: {client: sub, client_id: "${client}sub", clean_session: false, connack: {code: 0, session_present: false}}
  - expect_nothing: {client: sub, for: 300ms}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_with_the_same_seed_meets_no_session_of_the_first() {
    let leaves = scenario("leaves", LEAVES_A_SESSION);
    let expects = scenario("expects", EXPECTS_A_NEW_SESSION);
    let b = broker(None).await;
    let addr = b.local_addr;
    // A first run that leaves its session behind (the engine does not discard it).
    assert_eq!(run(&leaves, addr, false).await.verdict, Verdict::Pass);
    // The leftover disturbs a run that does not discard it: the proof that it matters.
    let r = run(&expects, addr, false).await;
    assert_eq!(
        r.verdict,
        Verdict::Fail,
        "{}",
        common::verdicts::describe(&r)
    );
    // The tool's way: the second run passes, whatever was left behind.
    let r = run(&expects, addr, true).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    // And a run that discards leaves nothing for the next one either.
    assert_eq!(run(&leaves, addr, true).await.verdict, Verdict::Pass);
    let r = run(&expects, addr, false).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    b.shutdown().await;
}

/// Same seed, same index: the same client ids, as in a second run of one suite.
async fn run(s: &LoadedScenario, addr: SocketAddr, discard: bool) -> ScenarioResult {
    let mut opts = RunOptions::new(addr, 42);
    opts.discard_sessions = discard;
    run_scenario(s, 0, &opts).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_scenarios_pass_twice_with_the_same_seed() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let scenarios: Vec<LoadedScenario> = suite::load_embedded(&catalogue)
        .expect("the suite loads")
        .into_iter()
        .filter(|s| s.scenario.tags.iter().any(|t| t == "session") && !s.scenario.needs_sim())
        .collect();
    assert!(
        scenarios.len() >= 5,
        "{} session scenarios",
        scenarios.len()
    );
    let b = broker(None).await;
    for _round in 0..2 {
        let mut failed = Vec::new();
        for (i, s) in scenarios.iter().enumerate() {
            let r = run_scenario(s, i, &RunOptions::new(b.local_addr, 42)).await;
            if r.verdict != Verdict::Pass {
                failed.push(r);
            }
        }
        let failed: Vec<&ScenarioResult> = failed.iter().collect();
        assert!(failed.is_empty(), "{}", describe(&failed));
    }
    b.shutdown().await;
}

fn describe(results: &[&ScenarioResult]) -> String {
    results
        .iter()
        .map(|r| common::verdicts::describe(r))
        .collect::<Vec<_>>()
        .join("\n")
}

const PLAIN_SUBSCRIBER: &str = r#"
name: A subscriber receives a message on its topic
statements: [3.1.1/MQTT-3.3.2-3]
version: "3.1.1"
broken_by: [no_will]
steps:
  - connect: {client: sub}
  - send: {client: sub, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/t", qos: 1}]}}}
  - expect: {client: sub, packet: {suback: {packet_id: 1, codes: [1]}}}
  - connect: {client: pub}
  - send: {client: pub, packet: {publish: {topic: "${topic}/t", qos: 1, payload: own}}}
  - expect: {client: pub, packet: {puback: {}}}
  - expect: {client: sub, packet: {publish: {topic: "${topic}/t", payload: own}}}
  - expect_nothing: {client: sub, for: 200ms}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_without_a_subscription_are_reported_once_for_the_run() {
    let s = scenario("plain", PLAIN_SUBSCRIBER);
    // A broker that sends every retained message to every new subscription, holding one
    // retained message of someone else's.
    let b = broker(Some("leak_retained_on_subscribe")).await;
    seed_retained(b.local_addr, "elsewhere/other/topic").await;
    let mut results = Vec::new();
    for i in 0..4 {
        results.push(run_scenario(&s, i, &RunOptions::new(b.local_addr, 5)).await);
    }
    b.shutdown().await;
    for r in &results {
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{}",
            common::verdicts::describe(r)
        );
        assert_eq!(r.foreign.len(), 1, "{:?}", r.foreign);
        assert_eq!(r.foreign[0].topic, "elsewhere/other/topic");
    }
    let rep = report(results);
    let entries: Vec<_> = rep
        .scenarios
        .iter()
        .filter(|s| s.path == mqttspec::report::isolation::PATH)
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].verdict, Verdict::Fail);
    let f = entries[0].failure.as_ref().expect("a failure");
    assert_eq!(f.statements, ["3.1.1/MQTT-3.3.2-3"]);
    assert!(
        f.message.starts_with("4 message(s) in 4 scenario(s)"),
        "{}",
        f.message
    );
    assert_eq!(rep.exit_code, mqttspec::report::exit::TARGET_FAILED);
    assert_eq!(rep.scenario_counts.fail, 1);
    // The correct broker: nothing set aside, no entry.
    let b = broker(None).await;
    seed_retained(b.local_addr, "elsewhere/other/topic").await;
    let r = run_scenario(&s, 0, &RunOptions::new(b.local_addr, 5)).await;
    b.shutdown().await;
    assert!(r.foreign.is_empty());
    assert_eq!(report(vec![r]).exit_code, mqttspec::report::exit::OK);
}

/// Publishes a retained QoS 1 message with a raw client and waits for its PUBACK.
async fn seed_retained(addr: SocketAddr, topic: &str) {
    use mqttspec::engine::client::{Client, Incoming};
    use mqttspec::engine::trace::Trace;
    use mqttspec_codec::{Connect, Packet, ProtocolVersion, Publish, QoS};
    let mut c = Client::connect(
        "seed",
        &mqttspec::engine::Endpoint::Tcp(addr),
        ProtocolVersion::V311,
        Trace::new(),
        Duration::from_secs(2),
    )
    .await
    .expect("connect");
    let connect = Packet::Connect(Connect {
        version: ProtocolVersion::V311,
        clean_start: true,
        keep_alive: 60,
        properties: Default::default(),
        client_id: "seeder".into(),
        will: None,
        username: None,
        password: None,
    });
    c.send_packet(
        &connect,
        connect.to_bytes(ProtocolVersion::V311).expect("encode"),
    );
    assert!(matches!(
        c.next(Duration::from_secs(2)).await,
        Some(Incoming::Packet(Packet::ConnAck(_)))
    ));
    let mut p = Publish::new(
        topic,
        QoS::AtLeastOnce,
        bytes::Bytes::from_static(b"not yours"),
    );
    p.retain = true;
    p.packet_id = 1;
    let p = Packet::Publish(p);
    c.send_packet(&p, p.to_bytes(ProtocolVersion::V311).expect("encode"));
    assert!(matches!(
        c.next(Duration::from_secs(2)).await,
        Some(Incoming::Packet(Packet::PubAck(_)))
    ));
    c.close().await;
}
