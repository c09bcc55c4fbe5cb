//! End-to-end checks with `rumqttc` (an independent MQTT 3.1.1 client), each run against a
//! private Mosquitto and against our broker.

// Tests and benches run outside the sans-IO core, where wall-clock time is what they measure.
#![allow(clippy::disallowed_methods)]

#[macro_use]
mod common;

use common::Target;
use common::rumqtt::{Client, options};
use rumqttc::{LastWill, Publish, QoS};
use std::time::Duration;

both!(
    qos_levels_delivered,
    retained_lifecycle,
    will_on_abrupt_drop,
    no_will_after_disconnect,
    persistent_session_queues_offline_messages,
);

/// How long a check waits before concluding that a message was NOT sent.
const QUIET: Duration = Duration::from_millis(300);

fn payload_for(qos: u8) -> Vec<u8> {
    // Non-UTF-8 bytes too: the payload is binary and must arrive unchanged.
    let mut p = format!("qos{qos}-").into_bytes();
    p.extend([0x00, 0xFF, 0x80, qos]);
    p
}

fn qos_of(n: u8) -> QoS {
    match n {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Collects `n` deliveries, ordered by topic (order across QoS levels is not guaranteed).
async fn collect(client: &mut Client, n: usize) -> Vec<Publish> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(client.next_publish().await);
    }
    got.sort_by(|a, b| a.topic.cmp(&b.topic));
    got
}

/// QoS 0/1/2 publications reach a QoS 2 subscriber unchanged and at their own QoS, and a
/// QoS 0 subscriber at QoS 0 (delivered QoS = min(published, granted), 3.1.1/MQTT-3.8.4-6
/// and section 3.3.5).
async fn qos_levels_delivered(t: Target) {
    let mut sub2 = Client::connect(options(t.addr, &t.client_id("sub2"))).await;
    sub2.subscribe("e2e/qos/#", QoS::ExactlyOnce).await;
    let mut sub0 = Client::connect(options(t.addr, &t.client_id("sub0"))).await;
    sub0.subscribe("e2e/qos/#", QoS::AtMostOnce).await;
    let mut publisher = Client::connect(options(t.addr, &t.client_id("pub"))).await;
    for n in 0..=2u8 {
        let topic = format!("e2e/qos/{n}");
        publisher
            .publish(&topic, qos_of(n), false, &payload_for(n))
            .await;
    }
    let got2 = collect(&mut sub2, 3).await;
    let got0 = collect(&mut sub0, 3).await;
    for n in 0..=2u8 {
        let (p2, p0) = (&got2[usize::from(n)], &got0[usize::from(n)]);
        let topic = format!("e2e/qos/{n}");
        assert_eq!(
            (p2.topic.as_str(), p2.qos, p2.retain, &p2.payload[..]),
            (topic.as_str(), qos_of(n), false, &payload_for(n)[..]),
            "QoS 2 subscriber, message published at QoS {n}"
        );
        assert_eq!(
            (p0.topic.as_str(), p0.qos, &p0.payload[..]),
            (topic.as_str(), QoS::AtMostOnce, &payload_for(n)[..]),
            "QoS 0 subscriber, message published at QoS {n}"
        );
    }
    assert!(
        sub2.publish_within(QUIET).await.is_none(),
        "duplicate delivery"
    );
}

/// Retained message: stored and sent with RETAIN=1 to new subscriptions (3.1.1/MQTT-3.3.1-5,
/// -6, -8), sent with RETAIN=0 to existing ones (-9), replaced by a newer retained message,
/// untouched by a non-retained one (-12), cleared by an empty retained payload which is
/// still forwarded (-10, -11).
async fn retained_lifecycle(t: Target) {
    const TOPIC: &str = "e2e/retained/t";
    let mut publisher = Client::connect(options(t.addr, &t.client_id("pub"))).await;
    publisher
        .publish(TOPIC, QoS::AtLeastOnce, true, b"v1")
        .await;

    let mut s1 = Client::connect(options(t.addr, &t.client_id("s1"))).await;
    s1.subscribe("e2e/retained/#", QoS::AtLeastOnce).await;
    let p = s1.next_publish().await;
    assert_eq!(
        (p.topic.as_str(), &p.payload[..], p.retain),
        (TOPIC, &b"v1"[..], true),
        "retained v1 to a new subscription"
    );

    publisher
        .publish(TOPIC, QoS::AtLeastOnce, true, b"v2")
        .await;
    let p = s1.next_publish().await;
    assert_eq!(
        (&p.payload[..], p.retain),
        (&b"v2"[..], false),
        "retained v2 to an existing subscription: RETAIN must be 0"
    );
    publisher
        .publish(TOPIC, QoS::AtLeastOnce, false, b"live")
        .await;
    let p = s1.next_publish().await;
    assert_eq!((&p.payload[..], p.retain), (&b"live"[..], false));

    let mut s2 = Client::connect(options(t.addr, &t.client_id("s2"))).await;
    s2.subscribe(TOPIC, QoS::AtLeastOnce).await;
    let p = s2.next_publish().await;
    assert_eq!(
        (&p.payload[..], p.retain),
        (&b"v2"[..], true),
        "v2 replaced v1 and a non-retained publish left it alone"
    );
    assert!(
        s2.publish_within(QUIET).await.is_none(),
        "only the latest retained message is sent"
    );

    publisher.publish(TOPIC, QoS::AtLeastOnce, true, b"").await;
    for (name, s) in [("s1", &mut s1), ("s2", &mut s2)] {
        let p = s.next_publish().await;
        assert_eq!(
            (&p.payload[..], p.retain),
            (&b""[..], false),
            "{name}: the empty retained message is forwarded like any other"
        );
    }

    let mut s3 = Client::connect(options(t.addr, &t.client_id("s3"))).await;
    s3.subscribe(TOPIC, QoS::AtLeastOnce).await;
    publisher
        .publish(TOPIC, QoS::AtLeastOnce, false, b"sentinel")
        .await;
    let p = s3.next_publish().await;
    assert_eq!(
        (&p.payload[..], p.retain),
        (&b"sentinel"[..], false),
        "the retained message was cleared: a new subscriber gets only live traffic"
    );
}

/// The Will is published when the connection ends without DISCONNECT (3.1.1/MQTT-3.1.2-8).
async fn will_on_abrupt_drop(t: Target) {
    let mut watcher = Client::connect(options(t.addr, &t.client_id("watcher"))).await;
    watcher.subscribe("e2e/will/#", QoS::AtLeastOnce).await;
    let mut opts = options(t.addr, &t.client_id("victim"));
    opts.set_last_will(LastWill::new(
        "e2e/will/victim",
        b"gone".to_vec(),
        QoS::AtLeastOnce,
        false,
    ));
    let victim = Client::connect(opts).await;
    victim.drop_abruptly().await;
    let p = watcher.next_publish().await;
    assert_eq!(
        (p.topic.as_str(), &p.payload[..], p.qos, p.retain),
        ("e2e/will/victim", &b"gone"[..], QoS::AtLeastOnce, false)
    );
}

/// DISCONNECT discards the Will (3.1.1/MQTT-3.1.2-10, MQTT-3.14.4-3).
async fn no_will_after_disconnect(t: Target) {
    let mut watcher = Client::connect(options(t.addr, &t.client_id("watcher"))).await;
    watcher.subscribe("e2e/will/#", QoS::AtLeastOnce).await;
    let mut opts = options(t.addr, &t.client_id("polite"));
    opts.set_last_will(LastWill::new(
        "e2e/will/polite",
        b"must not be sent".to_vec(),
        QoS::AtLeastOnce,
        false,
    ));
    let polite = Client::connect(opts).await;
    // Returns once the broker closed the connection, i.e. handled the DISCONNECT.
    polite.disconnect().await;
    let mut publisher = Client::connect(options(t.addr, &t.client_id("pub"))).await;
    publisher
        .publish("e2e/will/sentinel", QoS::AtLeastOnce, false, b"sentinel")
        .await;
    let p = watcher.next_publish().await;
    assert_eq!(
        (p.topic.as_str(), &p.payload[..]),
        ("e2e/will/sentinel", &b"sentinel"[..]),
        "the Will was published after a clean DISCONNECT"
    );
    let late = watcher.publish_within(QUIET).await;
    assert!(late.is_none(), "late Will after DISCONNECT: {late:?}");
}

/// CleanSession=0: the subscription survives the disconnect, QoS 1 messages published
/// meanwhile are queued and delivered on reconnect with Session Present=1
/// (3.1.1/MQTT-3.1.2-4, -5, MQTT-3.2.2-2); CleanSession=1 then discards it (-6, MQTT-3.2.2-1).
async fn persistent_session_queues_offline_messages(t: Target) {
    const TOPIC: &str = "e2e/persist/t";
    let id = t.client_id("persist");
    let mut opts = options(t.addr, &id);
    opts.set_clean_session(false);
    let mut first = Client::connect(opts.clone()).await;
    assert!(!first.session_present, "no session existed yet");
    first.subscribe(TOPIC, QoS::AtLeastOnce).await;
    first.disconnect().await;

    let mut publisher = Client::connect(options(t.addr, &t.client_id("pub"))).await;
    let sent: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("offline-{i}").into_bytes())
        .collect();
    for payload in &sent {
        publisher
            .publish(TOPIC, QoS::AtLeastOnce, false, payload)
            .await;
    }

    let mut again = Client::connect(opts).await;
    assert!(
        again.session_present,
        "CONNACK Session Present after resume"
    );
    for expected in &sent {
        let p = again.next_publish().await;
        assert_eq!(
            (p.topic.as_str(), &p.payload[..], p.qos),
            (TOPIC, &expected[..], QoS::AtLeastOnce),
            "offline messages arrive in order at QoS 1"
        );
    }
    let extra = again.publish_within(QUIET).await;
    assert!(extra.is_none(), "unexpected extra delivery: {extra:?}");
    again.disconnect().await;

    let clean = Client::connect(options(t.addr, &id)).await;
    assert!(
        !clean.session_present,
        "CleanSession=1 discards the session"
    );
    clean.disconnect().await;
}
