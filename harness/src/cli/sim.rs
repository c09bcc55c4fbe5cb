//! `mqttspec sim`: a device fleet on a simulated network against the reference broker, in
//! virtual time, with every message accounted for.

mod target;

use super::common::{now_seed, write_output};
use crate::report::exit;
use crate::sim::workload::{DEFAULT_PATH, DEFAULT_TEXT};
use crate::sim::{Accounting, Profile, SimOptions, Workload, simulate};
use clap::{Args, ValueEnum};
use mqttspec_broker::Config;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Fleet workload (YAML); default: the built-in scenarios/sim/fleet.yaml.
    pub workload: Option<PathBuf>,
    /// Network profile of device groups that name none.
    #[arg(long, default_value = "cellular-flaky", value_parser = profile_name)]
    pub profile: String,
    /// Seed of every random choice; printed, so any run can be replayed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time the devices run, e.g. 10m or 1h.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub duration: Duration,
    /// Multiply every device group's count (e.g. to run a fleet of 1,000).
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
    /// Resolution of simulated time.
    #[arg(long, default_value = "1ms", value_parser = parse_duration)]
    pub tick: Duration,
    #[arg(long, value_enum, default_value_t = SimFormat::Text)]
    pub format: SimFormat,
    /// Write the report here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the event trace (one line per event) to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Run against this broker (mqtt://host:port) in real time instead of the reference
    /// broker in virtual time; see docs/sim.md.
    #[arg(long)]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimFormat {
    Text,
    Json,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::scenario::duration::Dur::parse(s)
        .map(|d| d.0)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a positive duration such as 10m or 1h"))
}

fn profile_name(s: &str) -> Result<String, String> {
    match Profile::named(s) {
        Some(_) => Ok(s.to_owned()),
        None => Err(format!(
            "unknown profile; known: {}",
            Profile::names().join(", ")
        )),
    }
}

/// The JSON report: a stable shape.
#[derive(Serialize)]
struct Report<'a> {
    format_version: u32,
    workload: &'a str,
    devices: u32,
    profile: &'a str,
    seed: u64,
    duration_s: f64,
    simulated_s: f64,
    wall_s: f64,
    events: usize,
    trace_hash: String,
    accounting: &'a Accounting,
    replay: String,
    /// Whether the seed reproduces the run (false against a real broker: `--target`).
    deterministic: bool,
    #[serde(flatten)]
    real: Option<target::RealReport>,
}

pub fn main(args: SimArgs) -> i32 {
    let (path, text) = match &args.workload {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => (p.display().to_string(), t),
            Err(e) => {
                eprintln!("mqttspec sim: cannot read {}: {e}", p.display());
                return exit::USAGE;
            }
        },
        None => (DEFAULT_PATH.to_owned(), DEFAULT_TEXT.to_owned()),
    };
    let mut workload = match Workload::load_str(&path, &text) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    for g in &mut workload.devices {
        g.count = g.count.saturating_mul(args.scale.max(1));
    }
    if let Some(url) = &args.target {
        return target::main(&args, url, &workload, &path);
    }
    let quiet = crate::sim::fleet::quiet_period(&workload);
    if let Err(e) = crate::sim::faults::check_run(&workload, args.duration, quiet) {
        eprintln!("mqttspec sim: {path}: {e}");
        return exit::USAGE;
    }
    let seed = args.seed.unwrap_or_else(now_seed);
    let Some(profile) = Profile::named(&args.profile) else {
        return exit::USAGE;
    };
    let replay = replay_command(&args, &path, seed);
    eprintln!(
        "mqttspec sim: {} devices of {:?}, profile {}, {} simulated, seed {seed}",
        workload.device_count(),
        workload.name,
        profile.name,
        crate::scenario::duration::Dur(args.duration)
    );
    let opts = SimOptions {
        seed,
        duration: args.duration,
        profile,
        tick: args.tick,
        broker: Config::default(),
    };
    // Wall time of the simulation itself, for the speed ratio in the report.
    let wall = std::time::Instant::now();
    let outcome = match simulate(&workload, &opts) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mqttspec sim: {e} (seed {seed}; replay: {replay})");
            return exit::HARNESS;
        }
    };
    let wall = wall.elapsed();
    if let Some(t) = &args.trace {
        let mut lines = String::new();
        for e in &outcome.history.events {
            let _ = writeln!(lines, "{e}");
        }
        if let Err(code) = write_output(Some(t), &lines) {
            return code;
        }
    }
    let report = Report {
        format_version: 1,
        workload: &workload.name,
        devices: workload.device_count(),
        profile: &args.profile,
        seed,
        duration_s: args.duration.as_secs_f64(),
        simulated_s: outcome.simulated.as_secs_f64(),
        wall_s: wall.as_secs_f64(),
        events: outcome.history.events.len(),
        trace_hash: format!("{:016x}", outcome.trace_hash),
        accounting: &outcome.accounting,
        replay,
        deterministic: true,
        real: None,
    };
    let text = match args.format {
        SimFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        SimFormat::Text => text_report(&report),
    };
    if let Err(code) = write_output(args.out.as_deref(), &text) {
        return code;
    }
    if outcome.accounting.violations.is_empty() {
        exit::OK
    } else {
        exit::TARGET_FAILED
    }
}

fn replay_command(args: &SimArgs, path: &str, seed: u64) -> String {
    let mut cmd = format!(
        "mqttspec sim {path} --profile {} --seed {seed}",
        args.profile
    );
    let _ = write!(
        cmd,
        " --duration {}",
        crate::scenario::duration::Dur(args.duration)
    );
    if args.scale > 1 {
        let _ = write!(cmd, " --scale {}", args.scale);
    }
    if args.tick != Duration::from_millis(1) {
        let _ = write!(cmd, " --tick {}", crate::scenario::duration::Dur(args.tick));
    }
    cmd
}

fn text_report(r: &Report<'_>) -> String {
    let a = r.accounting;
    let mut s = String::new();
    match &r.real {
        None => {
            let _ = writeln!(
                s,
                "workload {:?}: {} devices, profile {}, seed {}, {:.0} s simulated in {:.1} s ({:.0}x)",
                r.workload,
                r.devices,
                r.profile,
                r.seed,
                r.simulated_s,
                r.wall_s,
                r.simulated_s / r.wall_s.max(1e-9)
            );
        }
        Some(real) => s.push_str(&target::headline(r, real)),
    }
    let _ = writeln!(
        s,
        "{:<5} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8} {:>9}  latency p50/p99/max ms",
        "qos", "published", "acked", "pairs", "delivered", "dups", "lost", "unknown", "recovered"
    );
    for (q, c) in a.qos.iter().enumerate() {
        let _ = writeln!(
            s,
            "{:<5} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8} {:>9}  {}/{}/{}",
            q,
            c.published,
            c.acked,
            c.expected,
            c.delivered,
            c.duplicates,
            c.lost,
            c.unknown,
            c.recovered,
            c.latency_ms[0],
            c.latency_ms[1],
            c.latency_ms[2]
        );
    }
    let _ = writeln!(
        s,
        "reconnects {}; wills: {} abnormal closes, {} delivered, {} missing, {} unexpected; retained topics checked {}",
        a.reconnects,
        a.wills.abnormal_closes,
        a.wills.delivered,
        a.wills.missing,
        a.wills.unexpected,
        a.retained_topics_checked
    );
    let restart_pairs: u64 = a.qos.iter().map(|c| c.lost_to_restart).sum();
    if restart_pairs + a.wills.lost_to_restart > 0 {
        let _ = writeln!(
            s,
            "lost to broker restarts (allowed): {restart_pairs} message pairs, {} will pairs",
            a.wills.lost_to_restart
        );
    }
    let _ = write!(s, "trace hash {} ({} events", r.trace_hash, r.events);
    let _ = writeln!(
        s,
        "{})",
        if r.deterministic {
            ""
        } else {
            "; real time: not reproducible across runs"
        }
    );
    if let Some(real) = &r.real {
        s.push_str(&target::problems(real));
    }
    if a.violations.is_empty() {
        let _ = writeln!(s, "no violations");
    } else {
        let _ = writeln!(s, "{} violations (seed {}):", a.violations.len(), r.seed);
        for v in a.violations.iter().take(50) {
            let _ = writeln!(s, "  {v}");
        }
        if a.violations.len() > 50 {
            let _ = writeln!(
                s,
                "  … and {} more (see --format json)",
                a.violations.len() - 50
            );
        }
        let label = if r.deterministic {
            "replay"
        } else {
            "rerun (same faults, other timing)"
        };
        let _ = writeln!(s, "{label}: {}", r.replay);
    }
    s
}
