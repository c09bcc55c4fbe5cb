//! A stream of bytes cut into arbitrary chunks decodes to the same packets as the whole
//! stream: framing must not depend on where reads happen to split. The input format and the
//! logic are `mqttspec::fuzz::inproc::frames`, which the stable tests replay
//! `corpus/frames` through.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mqttspec::fuzz::inproc::frames(data) {
        panic!("{violation}");
    }
});
