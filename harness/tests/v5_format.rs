//! The 5.0 scenario format against a real MQTT 5.0 broker (Mosquitto): properties sent and
//! checked (user properties in order, absent ones), subscription options, reason codes,
//! capabilities from the CONNACK. Each check is also shown failing when the expectation is
//! wrong, so a pass means the property was really compared.

mod common;

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::{RunOptions, ScenarioResult, Verdict, run_scenario};
use mqttspec::scenario::LoadedScenario;
use mqttspec::scenario::load::load_str;

fn scenario(name: &str, text: &str) -> LoadedScenario {
    let catalogue = Catalogue::builtin().expect("catalogue");
    load_str(&format!("{name}.yaml"), text, &catalogue)
        .unwrap_or_else(|e| panic!("{name} loads: {e}"))
}

async fn run(s: &LoadedScenario, addr: std::net::SocketAddr, index: usize) -> ScenarioResult {
    run_scenario(s, index, &RunOptions::new(addr, 17)).await
}

const PROPERTIES: &str = r#"
name: Properties of a PUBLISH are forwarded unchanged, user properties in order
statements: [5.0/MQTT-3.3.2-17]
version: "5.0"
broken_by: [no_will]
steps:
  - connect: {client: sub, properties: {session_expiry_interval: 0}, connack: {code: 0, properties: {absent: [assigned_client_identifier]}}}
  - send: {client: sub, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/p", qos: 1}]}}}
  - expect: {client: sub, packet: {suback: {packet_id: 1, codes: [1]}}}
  - connect: {client: pub}
  - send:
      client: pub
      packet:
        publish:
          topic: "${topic}/p"
          qos: 1
          payload: hi
          properties: {content_type: text/plain, response_topic: "${topic}/r", correlation_data_hex: "00 ff", user_properties: [[b, "2"], [a, "1"], [b, "3"]]}
  - expect: {client: pub, packet: {puback: {reason: 0}}}
  - expect:
      client: sub
      packet:
        publish:
          payload: hi
          properties: EXPECTED
"#;

/// What the subscriber must see: what was sent, and no topic alias.
const EXPECTED: &str = r#"{content_type: text/plain, response_topic: "${topic}/r", correlation_data_hex: "00 ff", user_properties: [[b, "2"], [a, "1"], [b, "3"]], absent: [topic_alias]}"#;

const NO_LOCAL: &str = r#"
name: No Local keeps a client's own messages from it
statements: [5.0/MQTT-3.8.3-3]
version: "5.0"
requires: {wildcard_subscriptions: true}
broken_by: [no_will]
steps:
  - connect: {client: a}
  - send: {client: a, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/#", qos: 0, no_local: true}]}}}
  - expect: {client: a, packet: {suback: {packet_id: 1, codes: [0]}}}
  - send: {client: a, packet: {publish: {topic: "${topic}/own", qos: 0, payload: mine}}}
  - send: {client: a, packet: pingreq}
  - expect: {client: a, packet: pingresp}
  - expect_nothing: {client: a, for: 300ms}
"#;

const MIXED: &str = r#"
name: A 5.0 publisher's message reaches a 3.1.1 subscriber, and the reverse
statements: [5.0/MQTT-3.3.2-17]
version: "5.0"
broken_by: [no_will]
steps:
  - connect: {client: old, version: "3.1.1"}
  - send: {client: old, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/m", qos: 1}]}}}
  - expect: {client: old, packet: {suback: {packet_id: 1, codes: [1]}}}
  - connect: {client: new}
  - send: {client: new, packet: {subscribe: {packet_id: 1, filters: [{filter: "${topic}/back", qos: 1}]}}}
  - expect: {client: new, packet: {suback: {packet_id: 1, codes: [1]}}}
  - send: {client: new, packet: {publish: {topic: "${topic}/m", qos: 1, payload: down, properties: {user_properties: [[k, v]]}}}}
  - expect: {client: new, packet: {puback: {}}}
  - expect: {client: old, packet: {publish: {topic: "${topic}/m", payload: down, qos: 1}}}
  - send: {client: old, packet: {publish: {topic: "${topic}/back", qos: 1, payload: up}}}
  - expect: {client: old, packet: {puback: {}}}
  - expect: {client: new, packet: {publish: {topic: "${topic}/back", payload: up, properties: {user_properties: []}}}}
"#;

const DECLINED: &str = r#"
name: A scenario that needs a feature the broker declines
statements: [5.0/MQTT-3.3.2-17]
version: "5.0"
requires: {topic_alias_maximum: 65535}
broken_by: [no_will]
steps:
  - connect: {client: a}
  - expect_nothing: {client: a, for: 100ms}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_point_zero_scenarios_against_mosquitto() {
    let broker = common::mosquitto::Mosquitto::start();
    let addr = broker.addr;
    let with = |expected: &str| PROPERTIES.replace("EXPECTED", expected);
    let r = run(&scenario("props", &with(EXPECTED)), addr, 0).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    // The same with the user properties out of order, a property that is there declared
    // absent, or another value: each fails, so the pass above compared them.
    for (what, wrong) in [
        (
            "order",
            EXPECTED.replace(r#"[a, "1"], [b, "3"]"#, r#"[b, "3"], [a, "1"]"#),
        ),
        (
            "absent",
            EXPECTED.replace("absent: [topic_alias]", "absent: [content_type]"),
        ),
        ("value", EXPECTED.replace("text/plain", "text/html")),
        ("binary", EXPECTED.replace("00 ff", "00 fe")),
    ] {
        assert_ne!(wrong, EXPECTED, "{what}: the mutation applies");
        let r = run(&scenario(what, &with(&wrong)), addr, 1).await;
        assert_eq!(
            r.verdict,
            Verdict::Fail,
            "{what}: {}",
            common::verdicts::describe(&r)
        );
    }
    let r = run(&scenario("no-local", NO_LOCAL), addr, 2).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    let r = run(
        &scenario(
            "local",
            &NO_LOCAL.replace("no_local: true", "no_local: false"),
        ),
        addr,
        3,
    )
    .await;
    assert_eq!(
        r.verdict,
        Verdict::Fail,
        "{}",
        common::verdicts::describe(&r)
    );
    let r = run(&scenario("mixed", MIXED), addr, 5).await;
    assert_eq!(
        r.verdict,
        Verdict::Pass,
        "{}",
        common::verdicts::describe(&r)
    );
    assert!(
        r.trace
            .iter()
            .any(|e| e.client == "old" && e.decoded.starts_with("CONNECT v3.1.1")),
        "the old client spoke 3.1.1"
    );
    let r = run(&scenario("declined", DECLINED), addr, 4).await;
    assert_eq!(
        r.verdict,
        Verdict::NotApplicable,
        "{}",
        common::verdicts::describe(&r)
    );
    let reason = r.reason.unwrap_or_default();
    assert!(reason.contains("Topic Alias Maximum"), "{reason}");
}

#[test]
fn five_point_zero_fields_are_refused_in_a_3_1_1_scenario() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let text = NO_LOCAL
        .replace("version: \"5.0\"", "version: \"3.1.1\"")
        .replace("5.0/MQTT-3.8.3-3", "3.1.1/MQTT-3.8.4-1")
        .replace("requires: {wildcard_subscriptions: true}\n", "");
    let err = load_str("x.yaml", &text, &catalogue).expect_err("no_local is 5.0 only");
    assert!(err.message.contains("exists only in MQTT 5.0"), "{err}");
    assert_eq!(err.line, 8);
}
