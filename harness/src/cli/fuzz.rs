//! `mqttspec fuzz`: the network fuzzer against a broker (default: the embedded reference
//! broker). Exit codes as `run`: 0 nothing found, 1 findings, 2 usage, 3 the harness could
//! not work (the broker failed the liveness probe before any case).

use super::common::{now_seed, progress_bar, write_output};
use crate::catalogue::Catalogue;
use crate::fuzz::{FuzzOptions, FuzzTiming, fuzz};
use crate::report::exit;
use crate::run::Target;
use clap::Args;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FuzzFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// The broker to fuzz, mqtt://host:port. Default: start the embedded reference broker.
    #[arg(long)]
    pub target: Option<String>,
    /// How long to fuzz, e.g. 10m, 30s.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub budget: Duration,
    /// Stop after this many cases (even with budget left).
    #[arg(long)]
    pub cases: Option<u64>,
    /// Seed of every case; the same seed gives the same cases. Default: random, printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Folder for the report (report.json, report.txt) and the findings' reproducers
    /// (findings/*.yaml, replayable with `mqttspec run`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = FuzzFormat::Text)]
    pub format: FuzzFormat,
    /// How long a connection that must be closed may stay open, e.g. 1s.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub close_within: Duration,
    /// The protocol version of the cases: 3.1.1 or 5.0 (default: both, half each).
    #[arg(long, value_parser = parse_version)]
    pub version: Option<mqttspec_codec::ProtocolVersion>,
    /// Hostile load instead of fuzz cases: slowloris, a 256 MiB remaining length, a
    /// connection storm and a subscriber that does not read, with a healthy client checked
    /// throughout.
    #[arg(long)]
    pub flood: bool,
    /// With --flood: the process id of the broker, whose resident memory is sampled
    /// (default: this process, for the embedded broker).
    #[arg(long, requires = "flood")]
    pub broker_pid: Option<u32>,
    /// With --flood: how long each phase lasts.
    #[arg(long, default_value = "5s", value_parser = parse_duration, requires = "flood")]
    pub phase: Duration,
}

fn parse_version(s: &str) -> Result<mqttspec_codec::ProtocolVersion, String> {
    match s {
        "3.1.1" | "311" | "4" => Ok(mqttspec_codec::ProtocolVersion::V311),
        "5.0" | "5" => Ok(mqttspec_codec::ProtocolVersion::V5),
        _ => Err(format!("{s:?} is not a protocol version: 3.1.1 or 5.0")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::scenario::duration::Dur::parse(s)
        .map(|d| d.0)
        .ok_or_else(|| format!("{s:?} is not a duration such as 10m, 30s or 500ms"))
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port} resolves to no address"))
}

pub async fn main(args: FuzzArgs) -> i32 {
    let catalogue = match Catalogue::builtin() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqttspec: {e}");
            return exit::HARNESS;
        }
    };
    let target = match args.target.as_deref().map(Target::parse).transpose() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mqttspec: {e}");
            return exit::USAGE;
        }
    };
    let seed = args.seed.unwrap_or_else(now_seed);
    // The embedded broker lives as long as this function.
    let mut embedded = None;
    let (addr, target_name, replay_target) = match target {
        Some(Target::Remote { url, host, port }) => match resolve(&host, port) {
            Ok(addr) => (addr, url.clone(), Some(url)),
            Err(e) => {
                eprintln!("mqttspec: {e}");
                return exit::HARNESS;
            }
        },
        _ => {
            let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
            match mqttspec_broker::driver::start(loopback, crate::embedded::config()).await {
                Ok(b) => {
                    let addr = b.local_addr;
                    embedded = Some(b);
                    (addr, "the embedded reference broker".to_owned(), None)
                }
                Err(e) => {
                    eprintln!("mqttspec: cannot start the embedded broker: {e}");
                    return exit::HARNESS;
                }
            }
        }
    };
    if args.flood {
        let code = crate::fuzz::flood::main(
            addr,
            &target_name,
            args.broker_pid,
            args.phase,
            args.format,
            args.out.as_deref(),
        )
        .await;
        if let Some(b) = embedded {
            b.shutdown().await;
        }
        return code;
    }
    let opts = FuzzOptions {
        addr,
        target_name: target_name.clone(),
        replay_target,
        seed,
        budget: args.budget,
        max_cases: args.cases,
        timing: FuzzTiming {
            close: args.close_within,
            ..FuzzTiming::default()
        },
        out: args.out.clone(),
        version: args.version,
    };
    eprintln!(
        "mqttspec: fuzzing {target_name} for {:?}{}, seed {seed}",
        args.budget,
        args.cases
            .map(|c| format!(" (at most {c} cases)"))
            .unwrap_or_default()
    );
    let bar = progress_bar(args.cases.unwrap_or(0), "{pos} cases");
    let tick = bar.clone();
    let result = fuzz(&opts, &catalogue, move |_| tick.inc(1)).await;
    bar.finish_and_clear();
    if let Some(b) = embedded {
        b.shutdown().await;
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqttspec: {e} (seed {seed})");
            return exit::HARNESS;
        }
    };
    let shown = match args.format {
        FuzzFormat::Text => report.text(),
        FuzzFormat::Json => report.json(),
    };
    if let Err(code) = write_output(None, &shown) {
        return code;
    }
    if let Some(dir) = &args.out {
        for (name, text) in [
            ("report.json", report.json()),
            ("report.txt", report.text()),
        ] {
            if let Err(code) = write_output(Some(&dir.join(name)), &text) {
                return code;
            }
        }
    }
    eprintln!(
        "mqttspec: {} cases, {:.1} cases/s, {} finding(s) (seed {seed})",
        report.cases,
        report.cases_per_sec,
        report.findings.len()
    );
    let harness_failed = report
        .findings
        .iter()
        .any(|f| f.oracle == crate::fuzz::kinds::Oracle::Harness);
    if harness_failed {
        // A panic or hang of our own: the broker was not judged properly.
        exit::HARNESS
    } else if report.findings.is_empty() {
        exit::OK
    } else {
        exit::TARGET_FAILED
    }
}
