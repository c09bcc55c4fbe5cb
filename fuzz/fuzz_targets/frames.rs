//! A stream of bytes cut into arbitrary chunks decodes to the same packets as the whole
//! stream: framing must not depend on where reads happen to split.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqttspec_codec::{Decoder, Packet, ProtocolVersion};

#[derive(Debug, Arbitrary)]
struct Input {
    v5: bool,
    stream: Vec<u8>,
    cuts: Vec<u16>,
}

fn decode_all(decoder: &Decoder, chunks: &[&[u8]]) -> (Vec<Packet>, bool) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(p)) => out.push(p),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|input: Input| {
    let version = if input.v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
    let decoder = Decoder::new(version);
    let whole = decode_all(&decoder, &[&input.stream]);
    let mut chunks = Vec::new();
    let mut rest = &input.stream[..];
    for cut in input.cuts {
        if rest.is_empty() {
            break;
        }
        let at = usize::from(cut) % (rest.len() + 1);
        let (a, b) = rest.split_at(at);
        chunks.push(a);
        rest = b;
    }
    chunks.push(rest);
    assert_eq!(decode_all(&decoder, &chunks), whole);
});
