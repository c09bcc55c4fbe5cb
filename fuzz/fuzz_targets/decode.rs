//! Any bytes, both versions, strict and lenient: decoding never panics, never consumes
//! input when it asks for more, and whatever decodes strictly re-encodes to the same frame.
//! The logic is `mqttspec::fuzz::inproc::decode`, which the stable tests replay
//! `corpus/decode` through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mqttspec::fuzz::inproc::decode(data) {
        panic!("{violation}");
    }
});
