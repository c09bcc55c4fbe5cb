//! The `mqttspec` binary as a user runs it.

use std::process::{Command, Output};

/// `mqttspec SUBCOMMAND ARGS…`, waited for.
pub fn mqttspec(subcommand: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .arg(subcommand)
        .args(args)
        .output()
        .expect("run mqttspec")
}
