//! Measurements outside the client (broker CPU time from /proc) and table formatting.

use crate::client::Outcome;
use std::fmt::Write as _;
use std::time::Duration;

/// Linux reports process CPU times in USER_HZ ticks, 100 per second on every architecture.
const TICK: Duration = Duration::from_millis(10);

/// Sums utime + stime of /proc/<stat> files.
fn cpu_of(stat_files: impl Iterator<Item = std::path::PathBuf>) -> Duration {
    let mut ticks = 0u64;
    for path in stat_files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // Fields after the parenthesised command name; utime and stime are fields 14, 15.
        let Some((_, rest)) = text.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    TICK * ticks as u32
}

/// CPU time of this process's threads named `name` (our broker's runtime).
pub fn threads_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let stats = tasks.flatten().filter_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim_end() == name).then(|| t.path().join("stat"))
    });
    cpu_of(stats)
}

pub fn process_cpu(pid: u32) -> Duration {
    cpu_of(std::iter::once(format!("/proc/{pid}/stat").into()))
}

pub fn fmt_rate(r: f64) -> String {
    if r >= 10_000.0 {
        format!("{:.0}k", r / 1000.0)
    } else {
        format!("{r:.0}")
    }
}

fn fmt_latency(d: Duration) -> String {
    if d >= Duration::from_millis(10) {
        format!("{:.0} ms", d.as_secs_f64() * 1e3)
    } else if d >= Duration::from_millis(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    }
}

pub fn fmt_cell(o: Option<&Outcome>) -> (String, String, String, String) {
    let Some(o) = o else {
        return ("—".into(), "—".into(), "—".into(), "—".into());
    };
    let cpu_per_msg = o.broker_cpu.as_secs_f64() * 1e6 / (o.unique.max(1) as f64);
    let mut check = if o.lost() == 0 && o.duplicates == 0 {
        "ok".to_string()
    } else {
        format!("lost {} dup {}", o.lost(), o.duplicates)
    };
    if o.reordered > 0 {
        let _ = write!(check, ", reordered {}", o.reordered);
    }
    if !o.errors.is_empty() {
        let _ = write!(check, ", {} error(s)", o.errors.len());
    }
    (
        fmt_rate(o.rate()),
        format!(
            "{} / {}",
            fmt_latency(o.percentile(0.5)),
            fmt_latency(o.percentile(0.99))
        ),
        format!("{cpu_per_msg:.2}"),
        check,
    )
}
