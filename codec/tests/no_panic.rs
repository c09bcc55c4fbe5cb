//! Whatever bytes arrive, the decoder returns: it never panics, `Ok(None)` leaves the buffer
//! untouched, a decoded packet consumes bytes, and a strictly decoded packet re-encodes to
//! exactly the bytes it was read from.

mod common;

use bytes::BytesMut;
use common::VERSIONS;
use common::strategies as s;
use mqttspec_codec::{DecodeOptions, Decoder, PacketType, ProtocolVersion};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Both versions, strict and lenient, and a small size limit.
fn decoders() -> Vec<Decoder> {
    let mut out = Vec::new();
    for v in VERSIONS {
        for strict in [true, false] {
            for max_packet_size in [DecodeOptions::default().max_packet_size, 16] {
                out.push(Decoder::with_options(
                    v,
                    DecodeOptions {
                        max_packet_size,
                        strict,
                    },
                ));
            }
        }
    }
    out
}

/// Decodes packets off `bytes` until the decoder asks for more or fails.
fn feed(decoder: &Decoder, bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.clone();
        match decoder.decode(&mut buf) {
            Ok(None) => {
                prop_assert!(buf == before, "Ok(None) changed the buffer");
                return Ok(());
            }
            Ok(Some(packet)) => {
                let used = before.len() - buf.len();
                prop_assert!(used > 0, "a packet decoded from no bytes");
                prop_assert!(buf[..] == before[used..], "bytes after the packet changed");
                // Encoding must not panic whatever a lenient decoder let through.
                let again = packet.to_bytes(decoder.version);
                if decoder.options.strict {
                    let again = again.map_err(|e| {
                        TestCaseError::fail(format!("{packet:?} decoded but cannot encode: {e}"))
                    })?;
                    prop_assert!(
                        again[..] == before[..used],
                        "{:?} re-encodes differently",
                        packet
                    );
                }
            }
            Err(_) => return Ok(()),
        }
    }
}

fn feed_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    for d in decoders() {
        feed(&d, bytes)?;
    }
    Ok(())
}

/// The shortest variable byte integer for `value` (at most 268,435,455).
fn varint(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            return out;
        }
    }
}

/// A first byte with the flags the type prescribes (any flags for PUBLISH and, now and
/// then, for every type).
fn first_byte() -> impl Strategy<Value = u8> {
    (0u8..16, 0u8..16, prop::bool::weighted(0.1)).prop_map(|(t, flags, any_flags)| {
        let required = PacketType::from_u8(t).and_then(PacketType::required_flags);
        let flags = match required {
            Some(f) if !any_flags => f,
            _ => flags,
        };
        (t << 4) | flags
    })
}

proptest! {
    // Each case is cheap: many of them make a small fuzzer out of the test.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_bytes(bytes in vec(any::<u8>(), 0..300)) {
        feed_all(&bytes)?;
    }

    /// A well-formed fixed header whose remaining length matches an arbitrary body, so the
    /// body parser of every packet type sees the bytes.
    #[test]
    fn arbitrary_body_after_a_valid_fixed_header(
        first in first_byte(),
        body in vec(any::<u8>(), 0..200),
        cut in any::<Index>(),
    ) {
        let mut bytes = vec![first];
        bytes.extend(varint(body.len()));
        bytes.extend_from_slice(&body);
        feed_all(&bytes)?;
        // The same frame cut short anywhere.
        feed_all(&bytes[..cut.index(bytes.len() + 1)])?;
    }

    /// Valid packets with one byte changed, or cut short: close to what a parser gets wrong.
    #[test]
    fn valid_packet_with_one_byte_changed(
        v in prop::sample::select(VERSIONS.to_vec()),
        packet in prop_oneof![s::packet(ProtocolVersion::V311), s::packet(ProtocolVersion::V5)],
        at in any::<Index>(),
        value in any::<u8>(),
        cut in any::<Index>(),
    ) {
        // A 5.0-only packet cannot be written as 3.1.1: then use its 5.0 bytes.
        let Ok(bytes) = packet.to_bytes(v).or_else(|_| packet.to_bytes(ProtocolVersion::V5))
        else {
            return Err(TestCaseError::fail("a generated packet did not encode"));
        };
        let mut bytes = bytes.to_vec();
        let i = at.index(bytes.len());
        bytes[i] = value;
        feed_all(&bytes)?;
        feed_all(&bytes[..cut.index(bytes.len() + 1)])?;
    }
}
