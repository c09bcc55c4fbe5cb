//! Helpers shared by the codec's integration tests.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

pub mod malformed;
pub mod spec;
pub mod strategies;

use bytes::BytesMut;
use mqttspec_codec::{DecodeError, Decoder, Packet, ProtocolVersion};

pub const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

/// Spaced upper-case hex, sixteen bytes a line, so a snapshot reads like a packet dump.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Decodes one packet from a buffer holding exactly its bytes (strict, default options),
/// and checks that the decoder took all of them when it succeeded.
pub fn decode_exact(v: ProtocolVersion, bytes: &[u8]) -> Result<Option<Packet>, DecodeError> {
    let mut buf = BytesMut::from(bytes);
    let out = Decoder::new(v).decode(&mut buf);
    if let Ok(Some(p)) = &out {
        assert!(
            buf.is_empty(),
            "{} bytes left after {:?}",
            buf.len(),
            p.packet_type()
        );
    }
    out
}
