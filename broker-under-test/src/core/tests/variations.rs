//! Each legal variation does what it says (and the default broker does not): the
//! conformance suite's test harness/tests/legal_variations.rs relies on them.

use super::*;
use crate::core::faults::variations::Variations;
use mqttspec_codec::{PubRec, PubRel};

fn with(name: &str) -> Bench {
    Bench::new(Config {
        variations: Variations::only(name).unwrap(),
        ..Config::default()
    })
}

fn suback_codes(p: &Packet) -> Vec<u8> {
    match p {
        Packet::SubAck(s) => s.return_codes.iter().map(|c| c.0).collect(),
        other => panic!("expected SUBACK, got {other:?}"),
    }
}

#[test]
fn retained_before_suback() {
    for (name, first_is_suback) in [("retained_before_suback", false), ("", true)] {
        let mut b = if name.is_empty() { bench() } else { with(name) };
        let p = b.connect("p", true);
        b.send(p, retained("r", QoS::AtMostOnce, 0, "kept"));
        let s = b.connect("s", true);
        b.send(s, subscribe(1, &[("r", QoS::AtMostOnce)]));
        let got = b.recv(s);
        assert_eq!(got.len(), 2);
        assert_eq!(matches!(got[0], Packet::SubAck(_)), first_is_suback);
    }
}

#[test]
fn grants_are_capped() {
    for (name, cap) in [("grant_at_most_qos1", 1u8), ("grant_qos0_only", 0)] {
        let mut b = with(name);
        let s = b.connect("s", true);
        b.send(
            s,
            subscribe(1, &[("t", QoS::ExactlyOnce), ("u", QoS::AtMostOnce)]),
        );
        assert_eq!(suback_codes(&b.recv_one(s)), [cap, 0]);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::ExactlyOnce, 1, "x"));
        assert_eq!(b.publishes(s)[0].qos.as_u8(), cap);
    }
}

#[test]
fn refuse_keepalive_zero_closes_without_connack() {
    let mut b = with("refuse_keepalive_zero");
    let c = b.open();
    b.send(c, connect("c", true));
    assert!(b.recv(c).is_empty());
    assert!(b.closed(c));
    let mut ok = connect("d", true);
    ok.keep_alive = 10;
    assert_eq!(b.connect_with(ok).1.code, v311::ACCEPTED);
}

#[test]
fn refuse_empty_client_id_with_0x02() {
    let mut b = with("refuse_empty_client_id");
    let (c, ack) = b.connect_with(connect("", true));
    assert_eq!(ack.code, v311::IDENTIFIER_REJECTED);
    assert!(b.closed(c));
}

#[test]
fn keepalive_close_at_1x() {
    for (name, closed_at_10s) in [("keepalive_close_at_1x", true), ("", false)] {
        let mut b = if name.is_empty() { bench() } else { with(name) };
        let mut c = connect("c", true);
        c.keep_alive = 10;
        let (conn, _) = b.connect_with(c);
        b.advance(Duration::from_secs(10));
        assert_eq!(b.closed(conn), closed_at_10s, "{name}");
        b.advance(Duration::from_secs(5));
        assert!(b.closed(conn));
    }
}

#[test]
fn keepalive_zero_closed_when_idle() {
    let mut b = with("keepalive_zero_closed_when_idle");
    let c = b.connect("c", true);
    b.advance(Duration::from_secs(2));
    assert!(b.closed(c));
    let mut d = bench();
    let c = d.connect("c", true);
    d.advance(Duration::from_secs(60));
    assert!(!d.closed(c));
}

#[test]
fn copy_per_subscription() {
    let mut b = with("copy_per_subscription");
    let s = b.connect("s", true);
    b.send(
        s,
        subscribe(1, &[("a/+", QoS::AtMostOnce), ("a/#", QoS::AtLeastOnce)]),
    );
    assert_eq!(suback_codes(&b.recv_one(s)), [0, 1]);
    let p = b.connect("p", true);
    b.send(p, publish("a/b", QoS::ExactlyOnce, 1, "x"));
    let mut qos: Vec<u8> = b.publishes(s).iter().map(|p| p.qos.as_u8()).collect();
    qos.sort_unstable();
    assert_eq!(qos, [0, 1]);
}

#[test]
fn dollar_publishes_dropped_or_closed() {
    let mut b = with("drop_dollar_publishes");
    let s = b.connect("s", true);
    b.subscribe(s, "$x/t", QoS::AtMostOnce);
    let p = b.connect("p", true);
    b.send(p, publish("$x/t", QoS::AtLeastOnce, 1, "x"));
    assert!(matches!(b.recv_one(p), Packet::PubAck(_)));
    assert!(b.recv(s).is_empty());
    b.send(p, publish("x/t", QoS::AtLeastOnce, 2, "x"));
    assert!(matches!(b.recv_one(p), Packet::PubAck(_)));

    let mut b = with("close_on_dollar_publish");
    let p = b.connect("p", true);
    b.send(p, publish("$x/t", QoS::AtLeastOnce, 1, "x"));
    assert!(b.recv(p).is_empty());
    assert!(b.closed(p));

    let mut b = with("close_on_dollar_subscribe");
    let s = b.connect("s", true);
    b.subscribe(s, "x/t", QoS::AtMostOnce);
    assert!(!b.closed(s));
    b.send(s, subscribe(2, &[("$x/t", QoS::AtMostOnce)]));
    assert!(b.recv(s).is_empty());
    assert!(b.closed(s));
}

#[test]
fn pubrel_delayed() {
    let mut b = with("pubrel_delayed");
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::ExactlyOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::ExactlyOnce, 1, "x"));
    b.recv(p);
    let id = b.publishes(s)[0].packet_id;
    b.send(s, PubRec::new(id));
    assert!(b.recv(s).is_empty(), "held");
    b.advance(Duration::from_millis(50));
    assert!(b.recv(s).is_empty(), "still held");
    b.advance(Duration::from_millis(60));
    assert_eq!(b.recv_one(s), Packet::PubRel(PubRel::new(id)));
}

#[test]
fn close_on_out_of_order_puback() {
    for (name, closed) in [("close_on_out_of_order_puback", true), ("", false)] {
        let mut b = if name.is_empty() { bench() } else { with(name) };
        let s = b.connect("s", true);
        b.subscribe(s, "t", QoS::AtLeastOnce);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "a"));
        b.send(p, publish("t", QoS::AtLeastOnce, 2, "b"));
        let ids: Vec<u16> = b.publishes(s).iter().map(|p| p.packet_id).collect();
        b.send(s, mqttspec_codec::PubAck::new(ids[1]));
        assert_eq!(b.closed(s), closed, "{name}");
    }
    let mut b = with("close_on_out_of_order_puback");
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtLeastOnce, 1, "a"));
    let id = b.publishes(s)[0].packet_id;
    b.send(s, mqttspec_codec::PubAck::new(id));
    assert!(!b.closed(s), "in order");
}

#[test]
fn queue_qos0_offline() {
    for (name, kept) in [("queue_qos0_offline", 1), ("", 0)] {
        let mut b = if name.is_empty() { bench() } else { with(name) };
        let s = b.connect("s", false);
        b.subscribe(s, "t", QoS::AtMostOnce);
        b.drop_conn(s);
        let p = b.connect("p", true);
        b.send(p, publish("t", QoS::AtMostOnce, 0, "while away"));
        let s = b.connect("s", false);
        assert_eq!(b.publishes(s).len(), kept, "{name}");
    }
}

#[test]
fn topic_length_limit_1024() {
    let mut b = with("topic_length_limit_1024");
    let c = b.connect("c", true);
    b.send(c, Publish::new("x".repeat(1100), QoS::AtMostOnce, "x"));
    assert!(b.closed(c));
}

#[test]
fn every_variation_has_a_test() {
    // The tests above, by variation name; a new variation needs one.
    let tested = [
        "retained_before_suback",
        "grant_at_most_qos1",
        "grant_qos0_only",
        "refuse_keepalive_zero",
        "refuse_empty_client_id",
        "keepalive_close_at_1x",
        "keepalive_zero_closed_when_idle",
        "copy_per_subscription",
        "drop_dollar_publishes",
        "close_on_dollar_publish",
        "close_on_dollar_subscribe",
        "pubrel_delayed",
        "close_on_out_of_order_puback",
        "queue_qos0_offline",
        "topic_length_limit_1024",
    ];
    assert_eq!(Variations::NAMES, tested);
}
