//! The faults `mqttspec fuzz` must find (crash, hang, stop accepting, keep a connection open
//! after a malformed packet), each with a script whose course it changes.

use super::*;
use crate::core::faults::Faults;

pub(super) const COVERED: &[&str] = &[
    "panic_on_invalid_utf8",
    "hang_after_second_connect",
    "stop_accepting_after_server_packet",
    "reserved_flags_keep_connection",
];

fn faulty(name: &str) -> Bench {
    Bench::new(Config {
        faults: Faults::only(name).unwrap(),
        ..Config::default()
    })
}

/// A QoS 0 PUBLISH whose topic is one byte 0xFF: ill-formed UTF-8.
const BAD_UTF8_PUBLISH: &[u8] = &[0x30, 0x03, 0x00, 0x01, 0xFF];

#[test]
fn panic_on_invalid_utf8() {
    let mut b = bench();
    let c = b.connect("a", true);
    b.send_raw(c, BAD_UTF8_PUBLISH);
    assert!(b.closed(c));

    let mut b = faulty("panic_on_invalid_utf8");
    let c = b.connect("a", true);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        b.send_raw(c, BAD_UTF8_PUBLISH);
    }));
    assert!(panicked.is_err());
}

#[test]
fn hang_after_second_connect() {
    let run = |mut b: Bench| {
        let c = b.connect("a", true);
        b.send(c, connect("a", true));
        let d = b.open();
        b.send(d, connect("b", true));
        (b.closed(c), b.recv(d))
    };
    let (closed, got) = run(bench());
    assert!(closed);
    assert!(matches!(got.first(), Some(Packet::ConnAck(_))));
    let (closed, got) = run(faulty("hang_after_second_connect"));
    assert!(!closed);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn stop_accepting_after_server_packet() {
    let run = |mut b: Bench| {
        let c = b.connect("a", true);
        b.send_raw(c, &[0x20, 0x02, 0x00, 0x00]);
        (b.closed(c), b.broker.fault_stop_accepting())
    };
    assert_eq!(run(bench()), (true, false));
    assert_eq!(
        run(faulty("stop_accepting_after_server_packet")),
        (true, true)
    );
}

#[test]
fn reserved_flags_keep_connection() {
    let run = |mut b: Bench| {
        let c = b.connect("a", true);
        // PINGREQ with flags 0001.
        b.send_raw(c, &[0xC1, 0x00]);
        let closed = b.closed(c);
        b.send(c, Packet::PingReq);
        (closed, b.recv(c))
    };
    assert_eq!(run(bench()), (true, vec![]));
    assert_eq!(
        run(faulty("reserved_flags_keep_connection")),
        (false, vec![Packet::PingResp])
    );
}
