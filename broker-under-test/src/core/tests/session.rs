//! Sessions: CleanSession 0/1, Session Present, offline queue, redelivery on reconnect.

use super::*;
use mqttspec_codec::{Disconnect, PubAck, PubComp, PubRec, PubRel};

#[test]
fn session_present_follows_stored_state() {
    let mut b = bench();
    // 3.1.1/MQTT-3.2.2-3: CleanSession 0 without stored state.
    let (c, ack) = b.connect_with(connect("p", false));
    assert!(!ack.session_present);
    b.send(c, Disconnect::default());
    // 3.1.1/MQTT-3.2.2-2: CleanSession 0 with stored state.
    let (c, ack) = b.connect_with(connect("p", false));
    assert!(ack.session_present);
    b.send(c, Disconnect::default());
    // 3.1.1/MQTT-3.2.2-1: CleanSession 1 discards it (3.1.1/MQTT-3.1.2-6).
    let (c, ack) = b.connect_with(connect("p", true));
    assert!(!ack.session_present);
    b.send(c, Disconnect::default());
    let (_, ack) = b.connect_with(connect("p", false));
    assert!(
        !ack.session_present,
        "the CleanSession 1 session was not kept"
    );
}

#[test]
fn subscriptions_survive_reconnect() {
    // 3.1.1/MQTT-3.1.2-4
    let mut b = bench();
    let s = b.connect("sub", false);
    b.subscribe(s, "keep/#", QoS::AtLeastOnce);
    b.drop_conn(s);
    let s = b.connect("sub", false);
    let p = b.connect("pub", true);
    b.send(p, publish("keep/x", QoS::AtMostOnce, 0, "hello"));
    assert_eq!(payloads(&b.publishes(s)), ["hello"]);
}

#[test]
fn clean_session_1_discards_and_is_discarded() {
    // 3.1.1/MQTT-3.1.2-6
    let mut b = bench();
    let s = b.connect("c", false);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    b.drop_conn(s);
    let s = b.connect("c", true);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtLeastOnce, 1, "x"));
    assert!(b.recv(s).is_empty(), "old subscription gone");
    b.subscribe(s, "t", QoS::AtLeastOnce);
    b.drop_conn(s);
    assert_eq!(b.broker.stats().sessions, 1, "only the publisher's");
    b.send(p, publish("t", QoS::AtLeastOnce, 2, "y"));
    let (s, ack) = b.connect_with(connect("c", false));
    assert!(!ack.session_present);
    assert!(
        b.recv(s).is_empty(),
        "nothing was queued for a CleanSession 1 session"
    );
}

#[test]
fn offline_messages_are_queued_in_order() {
    // 3.1.1/MQTT-3.1.2-5: QoS 1 and 2 are queued while offline; QoS 0 is not.
    let mut b = bench();
    let s = b.connect("s", false);
    b.subscribe(s, "q/#", QoS::ExactlyOnce);
    b.send(s, Disconnect::default());
    let p = b.connect("p", true);
    b.send(p, publish("q/a", QoS::AtLeastOnce, 1, "one"));
    b.send(p, publish("q/b", QoS::AtMostOnce, 0, "zero"));
    b.send(p, publish("q/a", QoS::ExactlyOnce, 2, "two"));
    b.send(p, publish("q/a", QoS::AtLeastOnce, 3, "three"));
    let (s, ack) = b.connect_with(connect("s", false));
    assert!(ack.session_present);
    let got = b.publishes(s);
    assert_eq!(payloads(&got), ["one", "two", "three"]);
    assert_eq!(
        got.iter().map(|p| (p.qos, p.dup)).collect::<Vec<_>>(),
        [
            (QoS::AtLeastOnce, false),
            (QoS::ExactlyOnce, false),
            (QoS::AtLeastOnce, false)
        ]
    );
}

#[test]
fn unacknowledged_flows_are_resent_on_reconnect_in_order() {
    // 3.1.1/MQTT-4.4.0-1, 3.1.1/MQTT-3.3.1-1, 3.1.1/MQTT-4.6.0-1: PUBLISH with DUP 1 and the
    // same identifiers, PUBREL for a PUBREC'd QoS 2 message, in the original order.
    let mut b = bench();
    let s = b.connect("s", false);
    b.subscribe(s, "r/#", QoS::ExactlyOnce);
    let p = b.connect("p", true);
    b.send(p, publish("r/1", QoS::AtLeastOnce, 1, "a"));
    b.send(p, publish("r/2", QoS::ExactlyOnce, 2, "b"));
    b.send(p, publish("r/3", QoS::ExactlyOnce, 3, "c"));
    b.recv(p);
    let first = b.publishes(s);
    let ids: Vec<u16> = first.iter().map(|p| p.packet_id).collect();
    assert_eq!(payloads(&first), ["a", "b", "c"]);
    // The client received "b" (PUBREC) but the PUBCOMP exchange is unfinished.
    b.send(s, PubRec::new(ids[1]));
    assert_eq!(b.recv_one(s), Packet::PubRel(PubRel::new(ids[1])));
    b.drop_conn(s);
    let (s, ack) = b.connect_with(connect("s", false));
    assert!(ack.session_present);
    let again = b.recv(s);
    let expected = [
        Packet::Publish(Publish {
            dup: true,
            ..first[0].clone()
        }),
        Packet::PubRel(PubRel::new(ids[1])),
        Packet::Publish(Publish {
            dup: true,
            ..first[2].clone()
        }),
    ];
    assert_eq!(again, expected);
    // The flows finish on the new connection.
    b.send(s, PubAck::new(ids[0]));
    b.send(s, PubComp::new(ids[1]));
    b.send(s, PubRec::new(ids[2]));
    assert_eq!(b.recv_one(s), Packet::PubRel(PubRel::new(ids[2])));
    b.send(s, PubComp::new(ids[2]));
    b.drop_conn(s);
    let s = b.connect("s", false);
    assert!(b.recv(s).is_empty(), "nothing left to resend");
}

#[test]
fn inbound_qos2_state_survives_reconnect() {
    // 4.3.3 method B: the identifier stays in the session until PUBREL, so a PUBLISH resent
    // after a reconnect is not delivered twice (3.1.1/MQTT-4.3.3-2).
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "x", QoS::AtMostOnce);
    let p = b.connect("p", false);
    b.send(p, publish("x", QoS::ExactlyOnce, 9, "once"));
    assert_eq!(b.recv_one(p), Packet::PubRec(PubRec::new(9)));
    b.drop_conn(p);
    let p = b.connect("p", false);
    b.send(
        p,
        Publish {
            dup: true,
            ..publish("x", QoS::ExactlyOnce, 9, "once")
        },
    );
    assert_eq!(b.recv_one(p), Packet::PubRec(PubRec::new(9)));
    b.send(p, PubRel::new(9));
    assert_eq!(b.recv_one(p), Packet::PubComp(PubComp::new(9)));
    assert_eq!(payloads(&b.publishes(s)), ["once"]);
    // After PUBREL the identifier is free: the same id is a new message.
    b.send(p, publish("x", QoS::ExactlyOnce, 9, "again"));
    assert_eq!(payloads(&b.publishes(s)), ["again"]);
}

#[test]
fn takeover_keeps_a_persistent_session() {
    // 3.1.1/MQTT-3.1.4-2 with CleanSession 0 on both sides: the session carries over.
    let mut b = bench();
    let old = b.connect("t", false);
    b.subscribe(old, "tk", QoS::AtLeastOnce);
    let (new, ack) = b.connect_with(connect("t", false));
    assert!(b.closed(old));
    assert!(ack.session_present);
    let p = b.connect("p", true);
    b.send(p, publish("tk", QoS::AtLeastOnce, 1, "after"));
    assert_eq!(payloads(&b.publishes(new)), ["after"]);
}

#[test]
fn retained_messages_outlive_sessions() {
    // 3.1.1/MQTT-3.1.2-7
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, retained("keep", QoS::AtMostOnce, 0, "r"));
    b.send(p, Disconnect::default());
    assert_eq!(b.broker.stats().sessions, 0);
    let s = b.connect("s", true);
    b.subscribe(s, "keep", QoS::AtMostOnce);
    assert_eq!(payloads(&b.publishes(s)), ["r"]);
}
