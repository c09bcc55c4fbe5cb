//! Assertions for negative tests: a fixture is refused with one exact error naming one
//! statement, and its corrected twin is accepted, so removing the check fails the test.

use super::decode_exact;
use mqttspec_codec::{DecodeErrorKind, Packet, ProtocolVersion};

/// `bytes` is refused by the strict decoder with exactly `kind`, and the error names
/// `statement` (namespaced, e.g. `3.1.1/MQTT-2.2.2-1`).
#[track_caller]
pub fn refused(v: ProtocolVersion, bytes: &[u8], kind: DecodeErrorKind, statement: &str) {
    let err = match decode_exact(v, bytes) {
        Err(e) => e,
        other => panic!("{v}: expected {kind:?}, got {other:?}"),
    };
    assert_eq!(err.kind, kind, "{v}");
    let ids = err.statements();
    assert!(
        ids.iter().any(|id| id == statement),
        "{v}: {kind:?} names {ids:?}, not {statement}"
    );
}

/// `bytes` decodes with the strict decoder, to exactly one packet.
#[track_caller]
pub fn accepted(v: ProtocolVersion, bytes: &[u8]) -> Packet {
    match decode_exact(v, bytes) {
        Ok(Some(p)) => p,
        other => panic!("{v}: expected a packet, got {other:?}"),
    }
}

/// A copy of `bytes` with the byte at `at` replaced: the corrected twin of a fixture.
pub fn with_byte(bytes: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] = value;
    out
}

// Fixtures shared by several negative tests.

/// The smallest 3.1.1 CONNECT; its flags are byte 9.
pub const CONNECT_V311: &[u8] = &[
    0x10, 0x0D, // CONNECT, remaining length 13
    0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, // "MQTT" level 4
    0x02, // flags: clean session
    0x00, 0x3C, // keep alive 60
    0x00, 0x01, b'c', // client id "c"
];

/// The smallest 5.0 CONNECT; its flags are byte 9.
pub const CONNECT_V5: &[u8] = &[
    0x10, 0x0E, // CONNECT, remaining length 14
    0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, // "MQTT" level 5
    0x02, // flags: clean start
    0x00, 0x3C, // keep alive 60
    0x00, // property length 0
    0x00, 0x01, b'c', // client id "c"
];

/// A 3.1.1 SUBSCRIBE for one filter with QoS 0.
pub fn subscribe_v311(filter: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82, (2 + 2 + filter.len() + 1) as u8, 0x00, 0x01];
    out.extend_from_slice(&[0x00, filter.len() as u8]);
    out.extend_from_slice(filter);
    out.push(0x00);
    out
}

/// A 5.0 SUBSCRIBE for one filter with the given options and no properties.
pub fn subscribe_v5(filter: &[u8], options: u8) -> Vec<u8> {
    let mut out = vec![0x82, (2 + 1 + 2 + filter.len() + 1) as u8, 0x00, 0x01, 0x00];
    out.extend_from_slice(&[0x00, filter.len() as u8]);
    out.extend_from_slice(filter);
    out.push(options);
    out
}
