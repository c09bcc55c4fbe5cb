//! QoS 0, 1 and 2 in both directions, packet identifiers, the in-flight window, ordering.

use super::*;
use mqttspec_codec::{PubAck, PubComp, PubRec, PubRel};

#[test]
fn inbound_acknowledgements_follow_the_qos() {
    // 3.1.1/MQTT-3.3.4-1, 3.1.1/MQTT-2.3.1-6
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtMostOnce, 0, "x"));
    assert!(b.recv(p).is_empty());
    b.send(p, publish("t", QoS::AtLeastOnce, 7, "x"));
    assert_eq!(b.recv(p), [Packet::PubAck(PubAck::new(7))]);
    b.send(p, publish("t", QoS::ExactlyOnce, 8, "x"));
    assert_eq!(b.recv(p), [Packet::PubRec(PubRec::new(8))]);
    b.send(p, PubRel::new(8));
    assert_eq!(b.recv(p), [Packet::PubComp(PubComp::new(8))]);
}

#[test]
fn qos2_is_delivered_exactly_once() {
    // 3.1.1/MQTT-4.3.3-2: a resent PUBLISH (DUP 1, same id) before PUBREL gets PUBREC
    // again but is not delivered again.
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::ExactlyOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::ExactlyOnce, 3, "only"));
    b.send(
        p,
        Publish {
            dup: true,
            ..publish("t", QoS::ExactlyOnce, 3, "only")
        },
    );
    assert_eq!(
        b.recv(p),
        [
            Packet::PubRec(PubRec::new(3)),
            Packet::PubRec(PubRec::new(3))
        ]
    );
    b.send(p, PubRel::new(3));
    assert_eq!(b.recv_one(p), Packet::PubComp(PubComp::new(3)));
    assert_eq!(payloads(&b.publishes(s)), ["only"]);
}

#[test]
fn qos1_repeated_id_is_a_new_message() {
    // 3.1.1/MQTT-4.3.2-2
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtLeastOnce, 3, "one"));
    b.send(
        p,
        Publish {
            dup: true,
            ..publish("t", QoS::AtLeastOnce, 3, "two")
        },
    );
    let got = b.publishes(s);
    assert_eq!(payloads(&got), ["one", "two"]);
    // 3.1.1/MQTT-3.3.1-3: the publisher's DUP is not copied.
    assert!(!got[1].dup);
}

#[test]
fn pubrel_for_an_unknown_id_gets_pubcomp() {
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, PubRel::new(42));
    assert_eq!(b.recv_one(p), Packet::PubComp(PubComp::new(42)));
    assert!(!b.closed(p));
}

#[test]
fn unknown_acknowledgements_are_ignored() {
    let mut b = bench();
    let c = b.connect("c", true);
    b.send(c, PubAck::new(5));
    b.send(c, PubRec::new(6));
    b.send(c, PubComp::new(7));
    assert!(b.recv(c).is_empty());
    assert!(!b.closed(c));
}

#[test]
fn delivered_qos_is_the_lower_of_published_and_granted() {
    // 3.1.1/MQTT-3.8.4-6
    for granted in QOS {
        for published in QOS {
            let mut b = bench();
            let s = b.connect("s", true);
            b.subscribe(s, "t", granted);
            let p = b.connect("p", true);
            b.send(p, publish("t", published, 1, "x"));
            let got = b.publishes(s);
            assert_eq!(got.len(), 1);
            assert_eq!(
                got[0].qos,
                granted.min(published),
                "{granted:?} {published:?}"
            );
            assert!(!got[0].dup && !got[0].retain);
            assert_eq!(got[0].packet_id != 0, got[0].qos != QoS::AtMostOnce);
        }
    }
}

#[test]
fn outbound_qos1_and_qos2_flows() {
    // 3.1.1/MQTT-4.3.2-1, 3.1.1/MQTT-4.3.3-1
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::ExactlyOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtLeastOnce, 1, "q1"));
    b.send(p, publish("t", QoS::ExactlyOnce, 2, "q2"));
    let got = b.publishes(s);
    let (id1, id2) = (got[0].packet_id, got[1].packet_id);
    // 3.1.1/MQTT-2.3.1-4: distinct identifiers while both are in flight.
    assert_ne!(id1, id2);
    b.send(s, PubAck::new(id1));
    assert!(b.recv(s).is_empty());
    b.send(s, PubRec::new(id2));
    assert_eq!(b.recv_one(s), Packet::PubRel(PubRel::new(id2)));
    // A repeated PUBREC gets the PUBREL again.
    b.send(s, PubRec::new(id2));
    assert_eq!(b.recv_one(s), Packet::PubRel(PubRel::new(id2)));
    b.send(s, PubComp::new(id2));
    assert!(b.recv(s).is_empty());
    // A late PUBCOMP is ignored.
    b.send(s, PubComp::new(id2));
    assert!(b.recv(s).is_empty() && !b.closed(s));
}

#[test]
fn packet_ids_are_not_reused_while_in_flight() {
    // 3.1.1/MQTT-2.3.1-4: one message stays unacknowledged while more than 65,535 others
    // pass; its identifier is never handed out again, nor is 0.
    let mut b = Bench::new(Config {
        max_inflight: 2,
        ..Config::default()
    });
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtLeastOnce, 1, "held"));
    let held = b.publishes(s)[0].packet_id;
    for _ in 0..66_000u32 {
        b.send(p, publish("t", QoS::AtLeastOnce, 1, "x"));
        let got = b.publishes(s);
        assert_eq!(got.len(), 1);
        let id = got[0].packet_id;
        assert!(id != held && id != 0, "{id}");
        b.send(s, PubAck::new(id));
    }
    b.recv(p);
}

#[test]
fn window_full_messages_wait_in_order() {
    // In-flight window `max_inflight`; the rest queued in order (3.1.1/MQTT-4.6.0-6).
    let mut b = Bench::new(Config {
        max_inflight: 2,
        ..Config::default()
    });
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    let p = b.connect("p", true);
    for (i, payload) in ["1", "2", "3", "4", "5"].into_iter().enumerate() {
        b.send(p, publish("t", QoS::AtLeastOnce, i as u16 + 1, payload));
    }
    let first = b.publishes(s);
    assert_eq!(payloads(&first), ["1", "2"]);
    // QoS 0 is not held back by the window.
    b.send(p, publish("t", QoS::AtMostOnce, 0, "zero"));
    assert_eq!(payloads(&b.publishes(s)), ["zero"]);
    b.send(s, PubAck::new(first[1].packet_id));
    let next = b.publishes(s);
    assert_eq!(payloads(&next), ["3"]);
    b.send(s, PubAck::new(first[0].packet_id));
    b.send(s, PubAck::new(next[0].packet_id));
    assert_eq!(payloads(&b.publishes(s)), ["4", "5"]);
}

#[test]
fn per_publisher_order_is_kept() {
    // 3.1.1/MQTT-4.6.0-6: same topic, same QoS, in the order published.
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "o/#", QoS::ExactlyOnce);
    let p = b.connect("p", true);
    let texts = ["a", "b", "c", "d", "e", "f"];
    for (i, t) in texts.iter().enumerate() {
        b.send(p, publish("o/t", QoS::ExactlyOnce, i as u16 + 1, t));
    }
    let got = b.publishes(s);
    assert_eq!(payloads(&got), texts);
}
