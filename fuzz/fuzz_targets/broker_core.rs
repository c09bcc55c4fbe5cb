//! The broker's sans-IO core driven by a structured event sequence (connections opened,
//! raw bytes or codec-built packets, closes, time advancing), with invariants checked after
//! every event: see `mqttspec::fuzz::inproc`. The stable tests replay `corpus/broker_core`
//! through the same function.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = mqttspec::fuzz::inproc::broker_core(data) {
        panic!("invariant broken: {violation}");
    }
});
