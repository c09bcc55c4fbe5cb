//! `mqttspec sim`: a device fleet on a simulated network against the reference broker, in
//! virtual time, with every message accounted for.

mod target;

use super::common::{now_seed, progress_bar, write_output};
use crate::report::exit;
use crate::sim::history::History;
use crate::sim::spread::Figures;
use crate::sim::workload::{DEFAULT_PATH, DEFAULT_TEXT};
use crate::sim::{Accounting, Profile, SimOptions, Workload, simulate_with_progress};
use clap::{Args, ValueEnum};
use mqttspec_broker::Config;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
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
    /// How long the devices run, e.g. 10m or 1h: simulated time (default 10m), or wall-clock
    /// time with --target (default 60s).
    #[arg(long = "duration", value_name = "DURATION", value_parser = parse_duration)]
    pub duration_arg: Option<Duration>,
    /// `--duration`, or its default for the kind of run.
    #[arg(skip)]
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
    /// Run N seeds, from --seed on, each drawing its device groups' profile figures within
    /// the named profiles' ranges (docs/sim.md); `--swarm 1 --seed S` replays one of them.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "target")]
    pub swarm: Option<u32>,
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
    /// Whether the groups' profiles were drawn from their ranges (`--swarm`).
    drawn_profiles: bool,
    /// The figures each device group ran on.
    profiles: BTreeMap<String, Figures>,
    accounting: Accounting,
    replay: String,
    /// Whether the seed reproduces the run (false against a real broker: `--target`).
    deterministic: bool,
    #[serde(flatten)]
    real: Option<target::RealReport>,
}

/// The JSON report of `--swarm`.
#[derive(Serialize)]
struct SwarmReport<'a> {
    format_version: u32,
    runs: &'a [Report<'a>],
    failed_seeds: Vec<u64>,
}

pub fn main(mut args: SimArgs) -> i32 {
    args.duration = args.duration_arg.unwrap_or(if args.target.is_some() {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(600)
    });
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
    if args.swarm.is_some() && args.trace.is_some() {
        eprintln!(
            "mqttspec sim: --trace writes one run's trace; replay one seed of the swarm with --swarm 1 --seed S"
        );
        return exit::USAGE;
    }
    eprintln!(
        "mqttspec sim: {} devices of {:?}, profile {}, {} simulated, seed {seed}{}",
        workload.device_count(),
        workload.name,
        profile.name,
        crate::scenario::duration::Dur(args.duration),
        match args.swarm {
            Some(n) => format!(", swarm of {n} seeds with drawn profiles"),
            None => String::new(),
        }
    );
    let Some(n) = args.swarm else {
        let report = match run_one(&args, &workload, &path, seed, &profile, false) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let text = match args.format {
            SimFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
            SimFormat::Text => text_report(&report),
        };
        if let Err(code) = write_output(args.out.as_deref(), &text) {
            return code;
        }
        return verdict(std::slice::from_ref(&report));
    };
    let runs = match run_swarm(&args, &workload, &path, seed, &profile, n) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let failed_seeds: Vec<u64> = runs
        .iter()
        .filter(|r| !r.accounting.violations.is_empty())
        .map(|r| r.seed)
        .collect();
    let text = match args.format {
        SimFormat::Json => {
            let r = SwarmReport {
                format_version: 1,
                runs: &runs,
                failed_seeds: failed_seeds.clone(),
            };
            serde_json::to_string_pretty(&r).unwrap_or_default() + "\n"
        }
        SimFormat::Text => swarm_text(&runs, &failed_seeds),
    };
    if let Err(code) = write_output(args.out.as_deref(), &text) {
        return code;
    }
    verdict(&runs)
}

fn verdict(runs: &[Report<'_>]) -> i32 {
    if runs.iter().all(|r| r.accounting.violations.is_empty()) {
        exit::OK
    } else {
        exit::TARGET_FAILED
    }
}

/// The seeds of a swarm, side by side on every core (each run is single-threaded and
/// independent, so this changes no trace), in seed order; `Err` is the exit code of the
/// first seed that could not run.
fn run_swarm<'a>(
    args: &SimArgs,
    workload: &'a Workload,
    path: &str,
    seed: u64,
    profile: &Profile,
    n: u32,
) -> Result<Vec<Report<'a>>, i32> {
    let jobs = std::thread::available_parallelism()
        .map_or(1, |j| j.get())
        .min(n as usize);
    let next = AtomicU32::new(0);
    let done = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let seed = seed.wrapping_add(u64::from(i));
                    let r = run_one(args, workload, path, seed, profile, true);
                    if let Ok(report) = &r {
                        eprintln!("{}", swarm_line(report));
                    }
                    if let Ok(mut d) = done.lock() {
                        d.push((i, r));
                    }
                }
            });
        }
    });
    let mut done = done.into_inner().map_err(|_| exit::HARNESS)?;
    if done.len() != n as usize {
        eprintln!("mqttspec sim: a run of the swarm ended abnormally");
        return Err(exit::HARNESS);
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// One simulation, as its report; `Err` is the exit code when it could not run.
fn run_one<'a>(
    args: &SimArgs,
    workload: &'a Workload,
    path: &str,
    seed: u64,
    profile: &Profile,
    draw_profiles: bool,
) -> Result<Report<'a>, i32> {
    let replay = replay_command(args, path, seed, draw_profiles);
    let opts = SimOptions {
        seed,
        duration: args.duration,
        profile: profile.clone(),
        tick: args.tick,
        broker: Config::default(),
        draw_profiles,
    };
    // Wall time of the simulation itself, for the speed ratio in the report.
    let wall = std::time::Instant::now();
    // A swarm runs seeds side by side and prints a line per seed instead.
    let bar = if draw_profiles {
        indicatif::ProgressBar::hidden()
    } else {
        progress_bar(opts.duration.as_secs(), "{pos}/{len} s simulated")
    };
    let outcome = simulate_with_progress(workload, &opts, &mut |at, total| {
        bar.set_length(total.as_secs());
        bar.set_position(at.as_secs());
    });
    bar.finish_and_clear();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mqttspec sim: {e} (seed {seed}; replay: {replay})");
            return Err(exit::HARNESS);
        }
    };
    let wall = wall.elapsed();
    write_trace(args, &outcome.history)?;
    Ok(Report {
        format_version: 1,
        workload: &workload.name,
        devices: workload.device_count(),
        profile: profile.name,
        seed,
        duration_s: args.duration.as_secs_f64(),
        simulated_s: outcome.simulated.as_secs_f64(),
        wall_s: wall.as_secs_f64(),
        events: outcome.history.events.len(),
        trace_hash: format!("{:016x}", outcome.trace_hash),
        drawn_profiles: draw_profiles,
        profiles: figures(&outcome.profiles),
        accounting: outcome.accounting,
        replay,
        deterministic: true,
        real: None,
    })
}

/// The figures of each group's profile, as the report shows them.
fn figures(profiles: &BTreeMap<String, Profile>) -> BTreeMap<String, Figures> {
    profiles
        .iter()
        .map(|(g, p)| (g.clone(), Figures::from(p)))
        .collect()
}

/// Writes the event trace to `--trace`, if given; `Err` is the exit code.
fn write_trace(args: &SimArgs, history: &History) -> Result<(), i32> {
    let Some(t) = &args.trace else {
        return Ok(());
    };
    let mut lines = String::new();
    for e in &history.events {
        let _ = writeln!(lines, "{e}");
    }
    write_output(Some(t), &lines)
}

/// One seed of a swarm, in a line.
fn swarm_line(r: &Report<'_>) -> String {
    let v = r.accounting.violations.len();
    format!(
        "seed {}: {}, trace hash {}, {:.1} s",
        r.seed,
        if v == 0 {
            "no violations".to_owned()
        } else {
            format!("{v} violations")
        },
        r.trace_hash,
        r.wall_s
    )
}

fn swarm_text(runs: &[Report<'_>], failed: &[u64]) -> String {
    let mut s = String::new();
    for r in runs {
        let _ = writeln!(s, "{}", swarm_line(r));
        for (g, f) in &r.profiles {
            let _ = writeln!(s, "  group {g}: {f}");
        }
        if !r.accounting.violations.is_empty() {
            s.push_str(&text_report(r));
        }
    }
    let _ = writeln!(
        s,
        "swarm: {} seeds, {} with violations{}",
        runs.len(),
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                " (seeds {})",
                failed
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    s
}

fn replay_command(args: &SimArgs, path: &str, seed: u64, drawn: bool) -> String {
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
    if drawn {
        cmd.push_str(" --swarm 1");
    }
    cmd
}

fn text_report(r: &Report<'_>) -> String {
    let a = &r.accounting;
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
        if r.drawn_profiles {
            for (g, f) in &r.profiles {
                let _ = writeln!(s, "  drawn profile of group {g}: {f}");
            }
        }
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
