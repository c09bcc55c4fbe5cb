//! Any bytes, both versions, strict and lenient: decoding never panics, never consumes
//! input when it asks for more, and whatever decodes strictly re-encodes to the same frame.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqttspec_codec::{DecodeOptions, Decoder, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for strict in [true, false] {
            let options = DecodeOptions { strict, ..DecodeOptions::default() };
            let decoder = Decoder::with_options(version, options);
            let mut buf = BytesMut::from(data);
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(None) => assert_eq!(buf.len(), before),
                Ok(Some(packet)) if strict => {
                    let frame = &data[..before - buf.len()];
                    // A CONNECT is written for the version it announced.
                    let encoded = packet.to_bytes(version).expect("a decoded packet encodes");
                    assert_eq!(&encoded[..], frame, "{packet:?}");
                }
                Ok(Some(_)) | Err(_) => {}
            }
        }
    }
});
