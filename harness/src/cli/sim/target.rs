//! `mqttspec sim --target mqtt://host:port`: the fleet against a real broker in real time
//! (see `crate::sim::realtime`). A child of `sim.rs`, whose report it fills in.

use super::{Report, SimArgs, SimFormat, figures, replay_command, text_report, write_trace};
use crate::cli::common::{now_seed, write_output};
use crate::report::exit;
use crate::run::Target;
use crate::sim::realtime::{self, RealError, RealOptions};
use crate::sim::{Profile, Workload};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::ToSocketAddrs;

/// What the JSON report adds for a real-time run.
#[derive(Serialize)]
pub struct RealReport {
    /// The broker as given on the command line.
    pub target: String,
    /// Put before every topic on the wire (client ids get `<tag>-`).
    pub prefix: String,
    /// Why the run could not complete normally; each one fails it.
    pub problems: Vec<String>,
}

pub(super) fn main(args: &SimArgs, url: &str, workload: &Workload, path: &str) -> i32 {
    let (host, port) = match Target::parse(url) {
        Ok(Target::Remote { host, port, .. }) => (host, port),
        Ok(Target::Embedded | Target::Simulated) => return exit::USAGE,
        Err(e) => {
            eprintln!("mqttspec sim: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = realtime::check_workload(workload, args.duration) {
        eprintln!("mqttspec sim: {path}: {e}");
        return exit::USAGE;
    }
    let addr = match (host.as_str(), port)
        .to_socket_addrs()
        .map(|mut a| a.next())
    {
        Ok(Some(a)) => a,
        Ok(None) | Err(_) => {
            eprintln!("mqttspec sim: cannot resolve {host}:{port}");
            return exit::HARNESS;
        }
    };
    let Some(profile) = Profile::named(&args.profile) else {
        return exit::USAGE;
    };
    let seed = args.seed.unwrap_or_else(now_seed);
    let tag = run_tag(seed);
    let replay = format!("{} --target {url}", replay_command(args, path, seed, false));
    eprintln!(
        "mqttspec sim: {} devices of {:?} against {url} in real time, {}, profile {}, seed {seed} \
         (the fault schedule follows the seed; the timing does not)",
        workload.device_count(),
        workload.name,
        crate::scenario::duration::Dur(args.duration),
        profile.name,
    );
    let opts = RealOptions {
        addr,
        seed,
        duration: args.duration,
        profile,
        tag,
    };
    let outcome = match realtime::run(workload, &opts) {
        Ok(o) => o,
        Err(e @ RealError::Refused(_)) => {
            eprintln!("mqttspec sim: {path}: {e}");
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("mqttspec sim: {e}");
            return exit::HARNESS;
        }
    };
    if let Err(code) = write_trace(args, &outcome.history) {
        return code;
    }
    let failed = !outcome.accounting.violations.is_empty() || !outcome.problems.is_empty();
    let report = Report {
        format_version: 1,
        workload: &workload.name,
        devices: workload.device_count(),
        profile: &args.profile,
        seed,
        duration_s: args.duration.as_secs_f64(),
        simulated_s: outcome.elapsed.as_secs_f64(),
        wall_s: outcome.elapsed.as_secs_f64(),
        events: outcome.history.events.len(),
        trace_hash: format!("{:016x}", outcome.trace_hash),
        drawn_profiles: false,
        profiles: figures(&outcome.profiles),
        accounting: outcome.accounting,
        replay,
        deterministic: false,
        real: Some(RealReport {
            target: url.to_owned(),
            prefix: outcome.prefix,
            problems: outcome.problems,
        }),
    };
    let text = match args.format {
        SimFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
        SimFormat::Text => text_report(&report),
    };
    if let Err(code) = write_output(args.out.as_deref(), &text) {
        return code;
    }
    if failed {
        exit::TARGET_FAILED
    } else {
        exit::OK
    }
}

/// A short tag of this run for names on the broker: from the seed and the clock, so that
/// two runs of one seed do not share sessions or retained messages.
fn run_tag(seed: u64) -> String {
    let mut x = seed ^ now_seed().rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 29;
    format!("{:08x}", x as u32)
}

/// The first line of the text report of a real-time run.
pub(super) fn headline(r: &Report<'_>, real: &RealReport) -> String {
    format!(
        "workload {:?}: {} devices, profile {}, seed {}, against {} in real time: {:.1} s \
         (names under {})\n",
        r.workload, r.devices, r.profile, r.seed, real.target, r.wall_s, real.prefix
    )
}

/// The problems of a real-time run, one line each.
pub(super) fn problems(real: &RealReport) -> String {
    let mut s = String::new();
    for p in &real.problems {
        let _ = writeln!(s, "problem: {p}");
    }
    s
}
