//! `mqttspec prop`: model-based property tests against a broker (docs/prop.md).

use super::common::{Format, now_seed, progress_bar, write_output};
use crate::prop::driver::{PropTarget, Settings, run};
use crate::prop::report::{self, Replay};
use crate::report::exit;
use crate::run::{Target, shell_word};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct PropArgs {
    /// The broker to test, mqtt://host:port. Default: start the embedded reference broker.
    #[arg(long)]
    pub target: Option<String>,
    /// Run every case against the reference broker inside the network simulator (turmoil),
    /// in virtual time.
    #[arg(long, conflicts_with = "target")]
    pub sim: bool,
    /// How many cases to generate.
    #[arg(long, default_value_t = 200)]
    pub cases: u32,
    /// Seed of the case generator. Default: random, printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Most operations in a case.
    #[arg(long, default_value_t = 12)]
    pub max_ops: usize,
    /// Most clients in a case (2 to 6).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(2..=6))]
    pub clients: u8,
    /// Stop generating and shrinking after this long, e.g. 5m.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub budget: Duration,
    /// Longest wait for an acknowledgement and for each delivery the model requires.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// The quiet interval before judging that nothing else arrived.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub quiet: Duration,
    /// User name for every CONNECT.
    #[arg(long)]
    pub username: Option<String>,
    /// Password sent with --username (prefer the environment variable).
    #[arg(long, env = "MQTTSPEC_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --sim: no network-fault operations (partitions).
    #[arg(long)]
    pub no_network_faults: bool,
    /// Generate no wills (to look past a known finding about wills).
    #[arg(long)]
    pub no_wills: bool,
    /// No short keep alives and no silent connections (to look past a known finding
    /// about keep-alive closes, e.g. a broker that checks them on a coarse timer).
    #[arg(long)]
    pub no_silence: bool,
    /// Protocol versions of the generated clients: 3.1.1, 5.0, or both (each client of a
    /// case one or the other, messages crossing between them).
    #[arg(long, value_enum, default_value_t = crate::prop::ops_v5::Version::Both)]
    pub version: crate::prop::ops_v5::Version,
    /// Where the reproducer of a finding is written.
    #[arg(long, default_value = "prop-findings")]
    pub reproducers: PathBuf,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::scenario::duration::Dur::parse(s)
        .map(|d| d.0)
        .ok_or_else(|| format!("{s:?} is not a duration such as 2s or 500ms"))
}

/// Runs outside any runtime (turmoil builds its own for --sim).
pub fn main(args: PropArgs) -> i32 {
    let target = match args.target.as_deref().map(Target::parse).transpose() {
        Ok(t) => t.unwrap_or(Target::Embedded),
        Err(e) => {
            eprintln!("mqttspec: {e}");
            return exit::USAGE;
        }
    };
    if args.format == Format::Md {
        eprintln!("mqttspec: prop reports as text, json or junit");
        return exit::USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqttspec: cannot start the async runtime: {e}");
            return exit::HARNESS;
        }
    };
    let seed = args.seed.unwrap_or_else(now_seed);
    let mut embedded = None;
    let (prop_target, shown, replay_target) = if args.sim {
        (
            PropTarget::Sim(Box::new(crate::embedded::config())),
            "the reference broker in the network simulator".to_owned(),
            "--sim".to_owned(),
        )
    } else {
        match &target {
            Target::Remote { url, host, port } => {
                let addr = match runtime.block_on(crate::run::resolve(host, *port)) {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("mqttspec: {e} (seed {seed})");
                        return exit::HARNESS;
                    }
                };
                let reach = runtime.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(5),
                        tokio::net::TcpStream::connect(addr),
                    )
                    .await
                });
                if !matches!(reach, Ok(Ok(_))) {
                    eprintln!("mqttspec: cannot reach {url} (seed {seed})");
                    return exit::HARNESS;
                }
                (
                    PropTarget::Tcp(addr),
                    url.clone(),
                    format!("--target {}", shell_word(url)),
                )
            }
            _ => {
                let started = runtime.block_on(mqttspec_broker::driver::start(
                    std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                    crate::embedded::config(),
                ));
                match started {
                    Ok(b) => {
                        let addr = b.local_addr;
                        embedded = Some(b);
                        (
                            PropTarget::Tcp(addr),
                            "the embedded reference broker".to_owned(),
                            String::new(),
                        )
                    }
                    Err(e) => {
                        eprintln!("mqttspec: cannot start the embedded broker: {e}");
                        return exit::HARNESS;
                    }
                }
            }
        }
    };
    eprintln!(
        "mqttspec: prop, {} cases against {shown}, seed {seed}",
        args.cases
    );
    let settings = Settings {
        cases: args.cases,
        seed,
        max_ops: args.max_ops,
        clients: args.clients,
        budget: args.budget,
        ack_wait: args.timeout,
        must_wait: args.timeout,
        quiet: args.quiet,
        username: args.username.clone(),
        password: args.username.as_ref().and(args.password.clone()),
        wills: !args.no_wills,
        network_faults: !args.no_network_faults,
        silence: !args.no_silence,
        version: args.version,
    };
    let bar = progress_bar(u64::from(args.cases), "{pos}/{len} cases");
    let tick = bar.clone();
    let summary = run(&prop_target, &settings, Some(&runtime), &move |n| {
        tick.set_position(u64::from(n));
    });
    bar.finish_and_clear();
    if let Some(b) = embedded.take() {
        runtime.block_on(b.shutdown());
    }
    let mut replay = Replay::default();
    if let Some(f) = &summary.finding
        && let Some(v) = &f.outcome.violation
    {
        let header = format!(
            "seed {seed}, case {}, against {shown}; replay with `mqttspec run {replay_target} FILE`",
            f.case_number
        );
        let text = crate::prop::repro::scenario(&f.outcome.done, &f.outcome.model, v, &header);
        let name = format!("prop-{seed}-case{}.yaml", f.case_number);
        let path = args.reproducers.join(name);
        match std::fs::create_dir_all(&args.reproducers).and_then(|()| std::fs::write(&path, text))
        {
            Ok(()) => {
                let shown_path = path.display().to_string();
                replay.command = Some(
                    format!("mqttspec run {replay_target} {}", shell_word(&shown_path))
                        .replace("  ", " "),
                );
                replay.path = Some(shown_path);
            }
            Err(e) => eprintln!(
                "mqttspec: cannot write the reproducer {}: {e}",
                path.display()
            ),
        }
    }
    let body = match args.format {
        Format::Json => report::json(&summary, &shown, &replay),
        Format::Junit => report::junit(&summary, &shown, &replay),
        _ => report::text(&summary, &shown, &replay),
    };
    if let Err(code) = write_output(args.out.as_deref(), &body) {
        return code;
    }
    eprintln!(
        "mqttspec: {} cases, {} (seed {seed})",
        summary.cases_run,
        if summary.finding.is_some() {
            "1 violation"
        } else {
            "no violation"
        }
    );
    match &summary.finding {
        None => exit::OK,
        Some(f)
            if f.outcome
                .violation
                .as_ref()
                .is_some_and(|v| v.rule.is_empty()) =>
        {
            // The harness itself failed (a simulation that could not run), not the broker.
            exit::HARNESS
        }
        Some(_) => exit::TARGET_FAILED,
    }
}
