//! Keep alive: 1.5 times the period, measured from the last packet received.

use super::*;

fn client(b: &mut Bench, keep_alive: u16) -> ConnId {
    let (conn, ack) = b.connect_with(Connect {
        keep_alive,
        ..connect("k", true)
    });
    assert_eq!(ack.code, v311::ACCEPTED);
    conn
}

#[test]
fn silent_client_is_closed_at_one_and_a_half_keep_alives() {
    // 3.1.1/MQTT-3.1.2-24: not before, and at the deadline.
    let mut b = bench();
    let conn = client(&mut b, 10);
    assert_eq!(
        b.broker.poll_timeout(),
        Some(b.now + Duration::from_secs(15))
    );
    b.advance(Duration::from_millis(14_999));
    assert!(!b.closed(conn));
    b.advance(Duration::from_millis(1));
    assert!(b.closed(conn));
    assert!(b.recv(conn).is_empty(), "closed without a packet");
    assert_eq!(b.broker.poll_timeout(), None);
}

#[test]
fn every_packet_restarts_the_period() {
    let mut b = bench();
    let conn = client(&mut b, 2);
    for _ in 0..5 {
        b.advance(Duration::from_millis(2_900));
        b.send(conn, Packet::PingReq);
        // 3.1.1/MQTT-3.12.4-1
        assert_eq!(b.recv_one(conn), Packet::PingResp);
    }
    b.advance(Duration::from_millis(2_900));
    b.send(conn, publish("t", QoS::AtMostOnce, 0, "x"));
    b.advance(Duration::from_millis(2_999));
    assert!(!b.closed(conn));
    b.advance(Duration::from_millis(1));
    assert!(b.closed(conn));
}

#[test]
fn partial_packets_do_not_count() {
    // A packet counts when it is complete: half a PINGREQ does not restart the period.
    let mut b = bench();
    let conn = client(&mut b, 2);
    b.advance(Duration::from_millis(2_000));
    b.send_raw(conn, &[0xC0]);
    b.advance(Duration::from_millis(999));
    assert!(!b.closed(conn));
    b.advance(Duration::from_millis(1));
    assert!(b.closed(conn));
}

#[test]
fn keep_alive_zero_disables_the_timeout() {
    let mut b = bench();
    let conn = client(&mut b, 0);
    assert_eq!(b.broker.poll_timeout(), None);
    b.advance(Duration::from_secs(100_000));
    assert!(!b.closed(conn));
}

#[test]
fn poll_timeout_is_the_earliest_deadline() {
    let mut b = bench();
    let slow = b.connect_with(Connect {
        keep_alive: 100,
        ..connect("slow", true)
    });
    let quick = b.connect_with(Connect {
        keep_alive: 4,
        ..connect("quick", true)
    });
    let start = b.now;
    assert_eq!(
        b.broker.poll_timeout(),
        Some(start + Duration::from_secs(6))
    );
    let waiting = b.open();
    b.advance(Duration::from_secs(5));
    assert!(!b.closed(waiting) && !b.closed(quick.0));
    b.advance(Duration::from_secs(1));
    assert!(b.closed(quick.0));
    assert_eq!(
        b.broker.poll_timeout(),
        Some(start + Duration::from_secs(10))
    );
    b.advance(Duration::from_secs(4));
    assert!(b.closed(waiting), "CONNECT timeout");
    assert_eq!(
        b.broker.poll_timeout(),
        Some(start + Duration::from_secs(150))
    );
    assert!(!b.closed(slow.0));
}
