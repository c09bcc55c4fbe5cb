//! Arbitrary text into the simulator's workload loader: errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mqttspec::fuzz::inproc::workload_loader(data));
