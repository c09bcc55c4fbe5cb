//! Will messages: published on every end that is not a DISCONNECT.

use super::*;
use mqttspec_codec::Disconnect;

/// A watcher subscribed to "will/#" at QoS 2, and a client "c" with a will on "will/c".
fn setup(keep_alive: u16, qos: QoS, retain: bool) -> (Bench, ConnId, ConnId) {
    let mut b = bench();
    let watcher = b.connect("watcher", true);
    b.subscribe(watcher, "will/#", QoS::ExactlyOnce);
    let mut c = with_will(connect("c", true), "will/c", qos, retain);
    c.keep_alive = keep_alive;
    let (conn, ack) = b.connect_with(c);
    assert_eq!(ack.code, v311::ACCEPTED);
    (b, watcher, conn)
}

fn will_received(b: &mut Bench, watcher: ConnId) -> bool {
    let got = b.publishes(watcher);
    assert!(got.len() <= 1, "{got:?}");
    got.first()
        .is_some_and(|p| &p.topic[..] == "will/c" && &p.payload[..] == b"gone")
}

#[test]
fn will_on_network_close() {
    // 3.1.1/MQTT-3.1.2-8
    let (mut b, watcher, conn) = setup(0, QoS::AtMostOnce, false);
    b.drop_conn(conn);
    assert!(will_received(&mut b, watcher));
}

#[test]
fn will_on_keep_alive_timeout() {
    let (mut b, watcher, conn) = setup(10, QoS::AtMostOnce, false);
    b.advance(Duration::from_secs(15));
    assert!(b.closed(conn));
    assert!(will_received(&mut b, watcher));
}

#[test]
fn will_on_malformed_packet() {
    // 3.1.1/MQTT-4.8.0-1 then 3.1.1/MQTT-3.1.2-8: a PUBLISH with QoS 3.
    let (mut b, watcher, conn) = setup(0, QoS::AtMostOnce, false);
    b.send_raw(conn, &[0x36, 5, 0, 1, b't', 0, 1]);
    assert!(b.closed(conn));
    assert!(will_received(&mut b, watcher));
}

#[test]
fn will_on_protocol_violation() {
    // A DISCONNECT with reserved flags set is malformed, not a DISCONNECT
    // (3.1.1/MQTT-3.14.1-1): the will is published.
    let (mut b, watcher, conn) = setup(0, QoS::AtMostOnce, false);
    b.send_raw(conn, &[0xE1, 0]);
    assert!(b.closed(conn));
    assert!(will_received(&mut b, watcher));
}

#[test]
fn will_on_takeover() {
    // 3.1.1/MQTT-3.1.4-2: the taken-over connection did not DISCONNECT.
    let (mut b, watcher, conn) = setup(0, QoS::AtMostOnce, false);
    b.connect("c", true);
    assert!(b.closed(conn));
    assert!(will_received(&mut b, watcher));
}

#[test]
fn no_will_after_disconnect() {
    // 3.1.1/MQTT-3.14.4-3, 3.1.1/MQTT-3.1.2-10
    let (mut b, watcher, conn) = setup(0, QoS::AtMostOnce, false);
    b.send(conn, Disconnect::default());
    assert!(b.closed(conn));
    b.drop_conn(conn);
    assert!(!will_received(&mut b, watcher));
    // The next connection of the same client, without a will, publishes none.
    let again = b.connect("c", true);
    b.drop_conn(again);
    assert!(!will_received(&mut b, watcher));
}

#[test]
fn no_will_without_will_flag() {
    // 3.1.1/MQTT-3.1.2-12
    let mut b = bench();
    let watcher = b.connect("watcher", true);
    b.subscribe(watcher, "#", QoS::AtMostOnce);
    let c = b.connect("c", true);
    b.drop_conn(c);
    assert!(b.recv(watcher).is_empty());
}

#[test]
fn will_qos_and_retain_are_honoured() {
    // 3.1.1/MQTT-3.1.2-9 (QoS), 3.1.1/MQTT-3.1.2-17 (retained), 3.1.1/MQTT-3.1.2-16 (not).
    for qos in QOS {
        for retain in [false, true] {
            let (mut b, watcher, conn) = setup(0, qos, retain);
            b.drop_conn(conn);
            let got = b.publishes(watcher);
            assert_eq!(got[0].qos, qos);
            assert!(!got[0].retain, "live delivery has RETAIN 0");
            let late = b.connect("late", true);
            b.subscribe(late, "will/#", QoS::ExactlyOnce);
            let stored = b.publishes(late);
            assert_eq!(stored.len(), usize::from(retain), "{qos:?} {retain}");
            if retain {
                assert!(stored[0].retain);
                assert_eq!(stored[0].qos, qos);
            }
        }
    }
}

#[test]
fn will_goes_to_persistent_offline_subscribers() {
    let mut b = bench();
    let s = b.connect("s", false);
    b.subscribe(s, "will/c", QoS::AtLeastOnce);
    b.drop_conn(s);
    let (c, _) = b.connect_with(with_will(
        connect("c", true),
        "will/c",
        QoS::AtLeastOnce,
        false,
    ));
    b.drop_conn(c);
    let s = b.connect("s", false);
    assert_eq!(payloads(&b.publishes(s)), ["gone"]);
}
