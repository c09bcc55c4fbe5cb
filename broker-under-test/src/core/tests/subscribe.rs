//! SUBSCRIBE, UNSUBSCRIBE and topic matching.

use super::*;
use mqttspec_codec::{PubAck, PubRec, PubRel, UnsubAck, Unsubscribe};

fn unsubscribe(id: u16, filters: &[&str]) -> Unsubscribe {
    Unsubscribe {
        packet_id: id,
        filters: filters.iter().map(|f| (*f).into()).collect(),
        ..Unsubscribe::default()
    }
}

/// Which of `topics` reach a subscriber of `filter`.
fn delivered(filter: &str, topics: &[&'static str]) -> Vec<String> {
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, filter, QoS::AtMostOnce);
    let p = b.connect("p", true);
    for t in topics {
        b.send(p, publish(t, QoS::AtMostOnce, 0, "x"));
    }
    b.publishes(s).iter().map(|p| p.topic.to_string()).collect()
}

#[test]
fn wildcards_match_by_level() {
    let topics = ["a", "a/b", "a/b/c", "a//c", "b/b", "a/"];
    assert_eq!(delivered("a/+", &topics), ["a/b", "a/"]);
    assert_eq!(
        delivered("a/#", &topics),
        ["a", "a/b", "a/b/c", "a//c", "a/"]
    );
    assert_eq!(delivered("+/b", &topics), ["a/b", "b/b"]);
    assert_eq!(delivered("a/+/c", &topics), ["a/b/c", "a//c"]);
    assert_eq!(delivered("#", &topics).len(), topics.len());
    assert_eq!(
        delivered("A/b", &topics),
        Vec::<String>::new(),
        "case sensitive"
    );
}

#[test]
fn dollar_topics_are_not_matched_by_leading_wildcards() {
    // 3.1.1/MQTT-4.7.2-1
    let topics = ["$SYS/x", "$x/y", "x/y"];
    assert_eq!(delivered("#", &topics), ["x/y"]);
    assert_eq!(delivered("+/y", &topics), ["x/y"]);
    assert_eq!(delivered("$x/+", &topics), ["$x/y"]);
    assert_eq!(delivered("$SYS/#", &topics), ["$SYS/x"]);
}

#[test]
fn overlapping_subscriptions_deliver_one_copy_at_the_highest_qos() {
    // 3.1.1/MQTT-3.3.5-1
    let mut b = bench();
    let s = b.connect("s", true);
    b.send(
        s,
        subscribe(
            1,
            &[
                ("o/#", QoS::AtMostOnce),
                ("o/+", QoS::ExactlyOnce),
                ("o/x", QoS::AtLeastOnce),
            ],
        ),
    );
    b.recv(s);
    let p = b.connect("p", true);
    b.send(p, publish("o/x", QoS::ExactlyOnce, 1, "x"));
    let got = b.publishes(s);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].qos, QoS::ExactlyOnce);
}

#[test]
fn suback_has_the_id_and_one_code_per_filter_in_order() {
    // 3.1.1/MQTT-3.8.4-1, -2, -4, -5, 3.1.1/MQTT-3.9.3-1
    let mut b = bench();
    let s = b.connect("s", true);
    b.send(
        s,
        subscribe(
            0x1234,
            &[
                ("a", QoS::ExactlyOnce),
                ("b", QoS::AtMostOnce),
                ("c", QoS::AtLeastOnce),
            ],
        ),
    );
    assert_eq!(
        b.recv_one(s),
        Packet::SubAck(SubAck {
            packet_id: 0x1234,
            return_codes: vec![ReasonCode(2), ReasonCode(0), ReasonCode(1)],
            ..SubAck::default()
        })
    );
}

#[test]
fn invalid_subscribe_packets_close() {
    // Caught by the codec: 3.1.1/MQTT-4.7.1-2, -3 (misplaced wildcards), 3.1.1/MQTT-3.8.3-3
    // (no filter), 3.1.1/MQTT-2.3.1-1 (id 0), 3.1.1/MQTT-3.8.3-4 (QoS 3).
    for bytes in [
        &[0x82, 5, 0, 1, 0, 0, 0][..],
        &[0x82, 6, 0, 1, 0, 1, b'#', 3],
        &[0x82, 2, 0, 1],
        &[0x82, 6, 0, 0, 0, 1, b'a', 0],
        &[0x82, 8, 0, 1, 0, 3, b'a', b'/', b'#', 3],
        &[0x82, 7, 0, 1, 0, 2, b'a', b'#', 0],
        &[0x80, 6, 0, 1, 0, 1, b'a', 0],
    ] {
        let mut b = bench();
        let s = b.connect("s", true);
        b.send_raw(s, bytes);
        assert!(b.closed(s), "{bytes:02x?}");
        assert!(b.recv(s).is_empty());
    }
}

#[test]
fn unsubscribe_is_exact_and_always_acknowledged() {
    // 3.1.1/MQTT-3.10.4-1, -4, -5, -6
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "u/+", QoS::AtMostOnce);
    b.subscribe(s, "u/x", QoS::AtMostOnce);
    b.send(s, unsubscribe(9, &["u/y", "nothing"]));
    assert_eq!(b.recv_one(s), Packet::UnsubAck(UnsubAck::new(9)));
    let p = b.connect("p", true);
    b.send(p, publish("u/y", QoS::AtMostOnce, 0, "still"));
    assert_eq!(
        payloads(&b.publishes(s)),
        ["still"],
        "u/+ was not removed by u/y"
    );
    b.send(s, unsubscribe(10, &["u/+", "u/x"]));
    assert_eq!(b.recv_one(s), Packet::UnsubAck(UnsubAck::new(10)));
    // 3.1.1/MQTT-3.10.4-2: no new messages.
    b.send(p, publish("u/x", QoS::AtMostOnce, 0, "gone"));
    assert!(b.recv(s).is_empty());
}

#[test]
fn unsubscribe_lets_flows_in_flight_complete() {
    // 3.1.1/MQTT-3.10.4-3
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "f", QoS::ExactlyOnce);
    let p = b.connect("p", true);
    b.send(p, publish("f", QoS::ExactlyOnce, 1, "x"));
    let id = b.publishes(s)[0].packet_id;
    b.send(s, unsubscribe(2, &["f"]));
    b.recv(s);
    b.send(s, PubRec::new(id));
    assert_eq!(b.recv_one(s), Packet::PubRel(PubRel::new(id)));
}

#[test]
fn wildcard_in_topic_name_closes() {
    // 3.1.1/MQTT-3.3.2-2, 3.1.1/MQTT-4.7.1-1 (a decode error)
    let mut b = bench();
    let p = b.connect("p", true);
    b.send(p, publish("a/+", QoS::AtMostOnce, 0, "x"));
    assert!(b.closed(p));
}

#[test]
fn acknowledging_the_subscriber_does_not_duplicate() {
    // QoS 1 to a subscriber, acknowledged: nothing more arrives.
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    let p = b.connect("p", true);
    b.send(p, publish("t", QoS::AtLeastOnce, 1, "x"));
    let got = b.publishes(s);
    b.send(s, PubAck::new(got[0].packet_id));
    assert!(b.recv(s).is_empty());
}
