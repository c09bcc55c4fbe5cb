//! The `mqttspec` command line. Exit codes: 0 every MUST statement checked passed, 1 the
//! target failed one, 2 usage or scenario-file error, 3 the harness could not do its work.

fn main() {
    std::process::exit(mqttspec::cli::main());
}
