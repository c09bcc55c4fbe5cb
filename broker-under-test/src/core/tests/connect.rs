//! CONNECT handling: validation, CONNACK codes, client identifiers, takeover, timeout.

use super::*;
use mqttspec_codec::Disconnect;

/// A CONNECT written byte by byte: protocol `name`, `level`, connect `flags`, keep alive 60,
/// client id, and `tail` (the rest of the payload, e.g. a will).
pub(super) fn raw_connect(
    name: &[u8],
    level: u8,
    flags: u8,
    client_id: &str,
    tail: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name);
    body.extend_from_slice(&[level, flags, 0, 60]);
    body.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    body.extend_from_slice(tail);
    let mut frame = vec![0x10, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

#[test]
fn valid_connect_is_accepted() {
    let mut b = bench();
    let (conn, ack) = b.connect_with(connect("c1", true));
    // 3.1.1/MQTT-3.1.4-4, 3.1.1/MQTT-3.2.2-1
    assert_eq!(ack, ConnAck::new(false, v311::ACCEPTED));
    assert!(!b.closed(conn));
    b.send(conn, Packet::PingReq);
    assert_eq!(b.recv_one(conn), Packet::PingResp);
}

#[test]
fn first_packet_must_be_connect() {
    // 3.1.1/MQTT-3.1.0-1
    let mut b = bench();
    let conn = b.open();
    b.send(conn, Packet::PingReq);
    assert!(b.closed(conn));
    assert!(b.recv(conn).is_empty());
    let conn = b.open();
    b.send(conn, publish("t", QoS::AtMostOnce, 0, "x"));
    assert!(b.closed(conn) && b.recv(conn).is_empty());
}

#[test]
fn second_connect_is_a_protocol_violation() {
    // 3.1.1/MQTT-3.1.0-2: closed, and its will published (not a DISCONNECT).
    let mut b = bench();
    let watcher = b.connect("w", true);
    b.subscribe(watcher, "will/#", QoS::AtMostOnce);
    let (conn, _) = b.connect_with(with_will(
        connect("c", true),
        "will/c",
        QoS::AtMostOnce,
        false,
    ));
    b.send(conn, connect("c", true));
    assert!(b.closed(conn));
    assert!(b.recv(conn).is_empty(), "no second CONNACK");
    assert_eq!(payloads(&b.publishes(watcher)), ["gone"]);
}

#[test]
fn unsupported_protocol_levels_get_0x01_and_close() {
    // 3.1.1/MQTT-3.1.2-2, 3.1.1/MQTT-3.2.2-5
    for bytes in [
        raw_connect(b"MQTT", 9, 0x02, "nine", &[]),
        raw_connect(b"MQIsdp", 3, 0x02, "three", &[]),
    ] {
        let mut b = bench();
        let conn = b.open();
        b.send_raw(conn, &bytes);
        assert_eq!(
            b.recv(conn),
            [Packet::ConnAck(ConnAck::new(
                false,
                v311::UNACCEPTABLE_PROTOCOL_VERSION
            ))],
            "{bytes:02x?}"
        );
        assert!(b.closed(conn));
        assert_eq!(b.broker.stats().sessions, 0);
    }
}

#[test]
fn level_5_is_spoken_and_a_malformed_5_0_connect_closes() {
    // A 3.1.1 body that announces level 5 lacks the property block: malformed 5.0
    // (5.0/MQTT-3.1.4-1), closed without CONNACK.
    let mut v5_odd = Packet::from(connect("odd", true))
        .to_bytes(ProtocolVersion::V311)
        .unwrap()
        .to_vec();
    v5_odd[8] = 5;
    let mut b = bench();
    let conn = b.open();
    b.send_raw(conn, &v5_odd);
    assert!(b.recv(conn).is_empty());
    assert!(b.closed(conn));
    let v5 = Connect {
        version: ProtocolVersion::V5,
        ..connect("five", true)
    };
    let (conn, ack) = b.connect_with(v5);
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    assert!(!b.closed(conn));
}

#[test]
fn malformed_connect_closes_without_connack() {
    // 3.1.1/MQTT-3.1.4-1: wrong protocol name (3.1.1/MQTT-3.1.2-1), reserved flag
    // (3.1.1/MQTT-3.1.2-3), will QoS 3 (3.1.1/MQTT-3.1.2-14), will QoS / retain without the
    // will flag (3.1.1/MQTT-3.1.2-13, -15), password without user name (3.1.1/MQTT-3.1.2-22).
    let will = [0, 1, b't', 0, 1, b'x'];
    for bytes in [
        raw_connect(b"MQTX", 4, 0x02, "c", &[]),
        raw_connect(b"MQTT", 4, 0x03, "c", &[]),
        raw_connect(b"MQTT", 4, 0x02 | 0x04 | 0x18, "c", &will),
        raw_connect(b"MQTT", 4, 0x02 | 0x08, "c", &[]),
        raw_connect(b"MQTT", 4, 0x02 | 0x20, "c", &[]),
        raw_connect(b"MQTT", 4, 0x02 | 0x40, "c", &[0, 1, b'p']),
    ] {
        let mut b = bench();
        let conn = b.open();
        b.send_raw(conn, &bytes);
        assert!(b.closed(conn), "{bytes:02x?}");
        assert!(b.recv(conn).is_empty(), "{bytes:02x?}");
    }
}

#[test]
fn nothing_after_a_refused_connect_is_processed() {
    // 3.1.1/MQTT-3.1.4-5: the retained PUBLISH in the same bytes is not stored.
    let mut b = bench();
    let conn = b.open();
    let mut bytes = raw_connect(b"MQTT", 9, 0x02, "late", &[]);
    let p = Packet::from(retained("late/t", QoS::AtMostOnce, 0, "no"));
    bytes.extend_from_slice(&p.to_bytes(ProtocolVersion::V311).unwrap());
    b.send_raw(conn, &bytes);
    assert_eq!(b.recv(conn).len(), 1);
    assert!(b.closed(conn));
    // Bytes the driver still delivers after the close are ignored too.
    b.send(conn, retained("late/u", QoS::AtMostOnce, 0, "no"));
    assert_eq!(b.broker.stats().retained, 0);
    let sub = b.connect("s", true);
    b.subscribe(sub, "late/#", QoS::AtMostOnce);
    assert!(b.recv(sub).is_empty());
}

#[test]
fn empty_client_id_needs_clean_session() {
    // 3.1.1/MQTT-3.1.3-8
    let mut b = bench();
    let (conn, ack) = b.connect_with(connect("", false));
    assert_eq!(ack, ConnAck::new(false, v311::IDENTIFIER_REJECTED));
    assert!(b.closed(conn));
}

#[test]
fn empty_client_ids_are_given_unique_ids() {
    // 3.1.1/MQTT-3.1.3-6: two anonymous-id clients do not take each other over.
    let mut b = bench();
    let first = b.connect("", true);
    let second = b.connect("", true);
    assert!(!b.closed(first) && !b.closed(second));
    assert_eq!(b.broker.stats().sessions, 2);
    b.subscribe(first, "e/1", QoS::AtMostOnce);
    b.subscribe(second, "e/2", QoS::AtMostOnce);
    b.send(first, publish("e/2", QoS::AtMostOnce, 0, "to second"));
    assert!(b.recv(first).is_empty());
    assert_eq!(payloads(&b.publishes(second)), ["to second"]);
}

#[test]
fn client_id_lengths() {
    // 3.1.1/MQTT-3.1.3-5: 23 alphanumerics are accepted; longer ones are too (allowed).
    let mut b = bench();
    b.connect("abcdefghijklmnopqrstuvw", true);
    b.connect("a-much-longer-client-identifier/with:punctuation", true);
}

#[test]
fn connect_timeout() {
    let mut b = bench();
    let conn = b.open();
    assert_eq!(
        b.broker.poll_timeout(),
        Some(b.now + Duration::from_secs(10))
    );
    b.advance(Duration::from_millis(9_999));
    assert!(!b.closed(conn));
    b.advance(Duration::from_millis(1));
    assert!(b.closed(conn));
    assert!(b.recv(conn).is_empty());
    assert_eq!(b.broker.poll_timeout(), None);
}

#[test]
fn connect_timeout_is_configurable_and_stops_at_connect() {
    let mut b = Bench::new(Config {
        connect_timeout: Duration::from_secs(2),
        ..Config::default()
    });
    let slow = b.open();
    let quick = b.open();
    b.send(quick, connect("q", true));
    b.advance(Duration::from_secs(2));
    assert!(b.closed(slow));
    assert!(!b.closed(quick), "keep alive 0: no deadline after CONNECT");
}

#[test]
fn takeover_closes_the_existing_connection() {
    // 3.1.1/MQTT-3.1.4-2
    let mut b = bench();
    let old = b.connect("same", false);
    let new = b.connect("same", false);
    assert!(b.closed(old));
    assert!(!b.closed(new));
    b.send(new, Packet::PingReq);
    assert_eq!(b.recv_one(new), Packet::PingResp);
    // The old connection's own Closed, delivered late, changes nothing.
    b.drop_conn(old);
    b.send(new, Packet::PingReq);
    assert_eq!(b.recv_one(new), Packet::PingResp);
}

#[test]
fn disconnect_closes_the_connection() {
    // 3.1.1/MQTT-3.14.4-1 is the client's duty; the server closes on DISCONNECT.
    let mut b = bench();
    let conn = b.connect("d", true);
    b.send(conn, Disconnect::default());
    assert!(b.closed(conn));
    assert_eq!(b.broker.stats().connections, 0);
    assert_eq!(b.broker.stats().sessions, 0, "CleanSession 1 session ends");
}

#[test]
fn server_only_packets_from_a_client_close() {
    // 3.1.1/MQTT-4.8.0-1
    for packet in [
        Packet::ConnAck(ConnAck::new(false, v311::ACCEPTED)),
        Packet::SubAck(SubAck {
            packet_id: 1,
            return_codes: vec![ReasonCode(0)],
            ..SubAck::default()
        }),
        Packet::UnsubAck(mqttspec_codec::UnsubAck::new(1)),
        Packet::PingResp,
    ] {
        let mut b = bench();
        let conn = b.connect("c", true);
        b.send(conn, packet.clone());
        assert!(b.closed(conn), "{packet:?}");
    }
}
