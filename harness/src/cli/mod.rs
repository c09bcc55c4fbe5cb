//! The subcommands of the `mqttspec` binary, one module each.

pub mod broker;
pub mod common;
pub mod coverage;
pub mod fuzz;
pub mod prop;
pub mod run;
pub mod sim;

use crate::report::exit;
use clap::{Parser, Subcommand};

/// Conformance testing for MQTT brokers, statement by statement of MQTT 3.1.1 and 5.0.
#[derive(Debug, Parser)]
#[command(name = "mqttspec", version, about, long_about = None)]
pub struct Cli {
    /// Log more (repeat for more detail); RUST_LOG overrides.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub log: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run conformance scenarios against a broker (default: the embedded reference broker).
    Run(run::RunArgs),
    /// Show which specification statements the scenarios check.
    Coverage(coverage::CoverageArgs),
    /// Run the reference broker (MQTT 3.1.1 and 5.0 on one port) until SIGINT or SIGTERM.
    Broker(broker::BrokerArgs),
    /// Simulate a device fleet on a flaky network against the reference broker (virtual time),
    /// or against a real broker in real time (--target).
    Sim(sim::SimArgs),
    /// Model-based property tests: generated operation sequences of 3.1.1 and 5.0 clients
    /// judged by an executable model of a broker; a violation is shrunk to a scenario file
    /// (docs/prop.md).
    Prop(prop::PropArgs),
    /// Fuzz a broker over the network (default: the embedded reference broker): mutated
    /// flows judged by liveness, close-on-malformed and valid-flow oracles; findings are
    /// written as replayable scenario files.
    Fuzz(fuzz::FuzzArgs),
    /// Print a users-file line for the reference broker; the password is read from stdin.
    Passwd(broker::PasswdArgs),
}

/// Parses the command line, runs the subcommand and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                crate::report::exit::USAGE
            } else {
                0
            };
            let _ = e.print();
            return code;
        }
    };
    // The broker is a server: its connection log is what an operator expects to see.
    let quiet = !matches!(cli.command, Command::Broker(_));
    init_logging(cli.log + u8::from(!quiet));
    // turmoil builds its own runtimes: the simulator must not run inside ours.
    let cli = match cli.command {
        Command::Sim(args) => return sim::main(args),
        Command::Prop(args) => return prop::main(args),
        other => other,
    };
    // The reference broker's core is one state machine behind one lock: a single worker
    // thread serves it best (no wake-ups across threads; measured in docs/bench-broker.md).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli, Command::Broker(_)) {
        builder.worker_threads(1);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqttspec: cannot start the async runtime: {e}");
            return crate::report::exit::HARNESS;
        }
    };
    runtime.block_on(async move {
        match cli {
            Command::Run(args) => run::main(args).await,
            Command::Coverage(args) => coverage::main(args),
            Command::Fuzz(args) => fuzz::main(args).await,
            Command::Broker(args) => broker::main(args).await,
            Command::Passwd(args) => broker::passwd(args),
            Command::Sim(_) | Command::Prop(_) => exit::HARNESS, // handled above
        }
    })
}

fn init_logging(verbosity: u8) {
    let default = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
