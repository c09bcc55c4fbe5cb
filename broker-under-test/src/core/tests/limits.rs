//! Configured limits and what happens when they are hit.

use super::*;
use mqttspec_codec::{Disconnect, PubAck};

#[test]
fn oversized_packet_closes_and_publishes_the_will() {
    let mut b = Bench::new(Config {
        max_packet_size: 64,
        ..Config::default()
    });
    let watcher = b.connect("w", true);
    b.subscribe(watcher, "will", QoS::AtMostOnce);
    let (c, _) = b.connect_with(with_will(
        connect("c", true),
        "will",
        QoS::AtMostOnce,
        false,
    ));
    // 64 bytes exactly is fine.
    b.send(
        c,
        publish(
            "t",
            QoS::AtMostOnce,
            0,
            "01234567890123456789012345678901234567890123456789012345678",
        ),
    );
    assert!(!b.closed(c));
    // The fixed header alone announces too much: closed before the body arrives.
    b.send_raw(c, &[0x30, 0x80, 0x01]);
    assert!(b.closed(c));
    assert_eq!(payloads(&b.publishes(watcher)), ["gone"]);
}

#[test]
fn queue_limit_drops_the_newest_and_counts() {
    let mut b = Bench::new(Config {
        max_inflight: 1,
        max_queued: 2,
        ..Config::default()
    });
    let s = b.connect("s", false);
    b.subscribe(s, "t", QoS::AtLeastOnce);
    b.send(s, Disconnect::default());
    let p = b.connect("p", true);
    for (i, text) in ["1", "2", "3", "4"].into_iter().enumerate() {
        b.send(p, publish("t", QoS::AtLeastOnce, i as u16 + 1, text));
    }
    assert_eq!(b.broker.stats().dropped_queue_full, 2);
    let s = b.connect("s", false);
    let first = b.publishes(s);
    assert_eq!(payloads(&first), ["1"], "window of one");
    b.send(s, PubAck::new(first[0].packet_id));
    let second = b.publishes(s);
    assert_eq!(payloads(&second), ["2"]);
    b.send(s, PubAck::new(second[0].packet_id));
    assert!(b.recv(s).is_empty(), "3 and 4 were dropped");
    // Online, the window counts against the queue too: in flight 1, queued 2, then drops.
    let s2 = b.connect("s2", true);
    b.subscribe(s2, "u", QoS::AtLeastOnce);
    for (i, text) in ["a", "b", "c", "d"].into_iter().enumerate() {
        b.send(p, publish("u", QoS::AtLeastOnce, i as u16 + 10, text));
    }
    assert_eq!(b.broker.stats().dropped_queue_full, 3);
    assert_eq!(payloads(&b.publishes(s2)), ["a"]);
}

#[test]
fn connection_limit_closes_the_new_connection_at_once() {
    let mut b = Bench::new(Config {
        max_connections: 2,
        ..Config::default()
    });
    let a = b.connect("a", true);
    let c = b.open();
    let refused = b.open();
    assert!(b.closed(refused));
    assert_eq!(b.broker.stats().refused_connections, 1);
    assert_eq!(b.broker.stats().connections, 2);
    // The driver may still report bytes and the close: both are ignored.
    b.send(refused, connect("r", true));
    b.drop_conn(refused);
    assert!(b.recv(refused).is_empty());
    // A slot frees when a connection ends.
    b.drop_conn(c);
    let d = b.connect("d", true);
    assert!(!b.closed(d) && !b.closed(a));
}

#[test]
fn bytes_split_anywhere_decode_the_same() {
    let mut b = bench();
    let s = b.connect("s", true);
    b.subscribe(s, "t", QoS::AtMostOnce);
    let conn = b.open();
    let mut bytes = Packet::from(connect("p", true))
        .to_bytes(ProtocolVersion::V311)
        .unwrap()
        .to_vec();
    for text in ["one", "two"] {
        let p = Packet::from(Publish::new("t", QoS::AtMostOnce, text));
        bytes.extend_from_slice(&p.to_bytes(ProtocolVersion::V311).unwrap());
    }
    for byte in bytes {
        b.send_raw(conn, &[byte]);
    }
    assert!(matches!(b.recv(conn).as_slice(), [Packet::ConnAck(_)]));
    assert_eq!(payloads(&b.publishes(s)), ["one", "two"]);
}
