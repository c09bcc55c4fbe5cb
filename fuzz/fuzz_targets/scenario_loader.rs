//! Arbitrary text into the scenario loader: errors with positions, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mqttspec::fuzz::inproc::scenario_loader(data));
