//! Helpers shared by the harness's end-to-end tests.

// Each test file uses only some of these.
#[allow(dead_code)]
pub mod command;
#[allow(dead_code)]
pub mod mosquitto;
#[allow(dead_code)]
pub mod verdicts;
