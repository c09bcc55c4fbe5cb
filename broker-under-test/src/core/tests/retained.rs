//! Retained messages.

use super::*;

#[test]
fn set_replace_clear() {
    let mut b = bench();
    let p = b.connect("p", true);
    // 3.1.1/MQTT-3.3.1-5, 3.1.1/MQTT-3.3.1-7: stored, then replaced (by QoS 0 too).
    b.send(p, retained("r", QoS::AtLeastOnce, 1, "one"));
    b.send(p, retained("r", QoS::AtMostOnce, 0, "two"));
    let s = b.connect("s", true);
    b.subscribe(s, "r", QoS::AtLeastOnce);
    let got = b.publishes(s);
    assert_eq!(payloads(&got), ["two"]);
    assert_eq!(got[0].qos, QoS::AtMostOnce);
    // 3.1.1/MQTT-3.3.1-10: the empty retained message reaches current subscribers...
    b.send(p, retained("r", QoS::AtMostOnce, 0, ""));
    let got = b.publishes(s);
    assert_eq!(got.len(), 1);
    assert!(got[0].payload.is_empty() && !got[0].retain);
    // 3.1.1/MQTT-3.3.1-11: ...and clears the topic without being stored.
    assert_eq!(b.broker.stats().retained, 0);
    let late = b.connect("late", true);
    b.subscribe(late, "r", QoS::AtLeastOnce);
    assert!(b.recv(late).is_empty());
}

#[test]
fn non_retained_publish_leaves_the_retained_message() {
    // 3.1.1/MQTT-3.3.1-12
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, retained("r", QoS::AtMostOnce, 0, "kept"));
    b.send(p, publish("r", QoS::AtMostOnce, 0, "passing"));
    b.send(p, publish("r", QoS::AtMostOnce, 0, ""));
    let s = b.connect("s", true);
    b.subscribe(s, "r", QoS::AtMostOnce);
    assert_eq!(payloads(&b.publishes(s)), ["kept"]);
}

#[test]
fn retain_flag_on_subscribe_and_live() {
    // 3.1.1/MQTT-3.3.1-6, 3.1.1/MQTT-3.3.1-8: sent on SUBSCRIBE with RETAIN 1, after the
    // SUBACK; 3.1.1/MQTT-3.3.1-9: forwarded live with RETAIN 0.
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, retained("a/1", QoS::AtMostOnce, 0, "old"));
    let s = b.connect("s", true);
    b.send(s, subscribe(4, &[("a/+", QoS::AtMostOnce)]));
    let got = b.recv(s);
    assert!(matches!(&got[0], Packet::SubAck(a) if a.packet_id == 4));
    assert!(matches!(&got[1], Packet::Publish(p) if p.retain && &p.payload[..] == b"old"));
    assert_eq!(got.len(), 2);
    b.send(p, retained("a/1", QoS::AtMostOnce, 0, "new"));
    let live = b.publishes(s);
    assert_eq!(payloads(&live), ["new"]);
    assert!(!live[0].retain);
}

#[test]
fn retained_qos_is_capped_by_the_grant() {
    // 3.1.1/MQTT-3.8.4-6 for retained messages.
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, retained("q/2", QoS::ExactlyOnce, 1, "two"));
    b.send(p, retained("q/0", QoS::AtMostOnce, 0, "zero"));
    let s = b.connect("s", true);
    b.send(
        s,
        subscribe(1, &[("q/2", QoS::AtLeastOnce), ("q/0", QoS::ExactlyOnce)]),
    );
    let got: Vec<_> = b.recv(s).into_iter().skip(1).collect();
    let qos: Vec<QoS> = got
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => p.qos,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(qos, [QoS::AtLeastOnce, QoS::AtMostOnce]);
}

#[test]
fn wildcard_subscription_gets_every_match_but_no_dollar_topics() {
    let mut b = bench();
    let p = b.connect("p", true);
    for t in ["w/a", "w/b/c", "w", "x/a", "$w/a"] {
        b.send(p, retained(t, QoS::AtMostOnce, 0, "r"));
    }
    let s = b.connect("s", true);
    b.subscribe(s, "w/#", QoS::AtMostOnce);
    let topics: Vec<String> = b.publishes(s).iter().map(|p| p.topic.to_string()).collect();
    assert_eq!(topics, ["w", "w/a", "w/b/c"]);
    b.subscribe(s, "#", QoS::AtMostOnce);
    assert_eq!(b.publishes(s).len(), 4, "not $w/a (3.1.1/MQTT-4.7.2-1)");
}

#[test]
fn resubscribing_resends_retained_and_replaces_the_qos() {
    // 3.1.1/MQTT-3.8.4-3
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, retained("rs", QoS::ExactlyOnce, 1, "r"));
    let s = b.connect("s", true);
    b.subscribe(s, "rs", QoS::ExactlyOnce);
    assert_eq!(b.publishes(s)[0].qos, QoS::ExactlyOnce);
    b.subscribe(s, "rs", QoS::AtMostOnce);
    let again = b.publishes(s);
    assert_eq!(again.len(), 1, "retained sent again");
    assert_eq!(again[0].qos, QoS::AtMostOnce);
    b.send(p, publish("rs", QoS::ExactlyOnce, 2, "live"));
    let live = b.publishes(s);
    assert_eq!(live.len(), 1, "one subscription, not two");
    assert_eq!(live[0].qos, QoS::AtMostOnce, "the new QoS is in force");
}
