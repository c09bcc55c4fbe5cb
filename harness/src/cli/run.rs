//! `mqttspec run`: the conformance suite against a broker.

use super::common::{Format, load_scenarios, now_seed, progress_bar, write_output};
use crate::catalogue::Catalogue;
use crate::engine::capabilities::Stated;
use crate::engine::runner::Credentials;
use crate::report::{self, exit};
use crate::run::{RunSettings, Target, run, selected};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or folders. Default: the whole suite built into mqttspec.
    pub paths: Vec<PathBuf>,
    /// The broker to test, mqtt://host:port. Default: start the embedded reference broker.
    #[arg(long)]
    pub target: Option<String>,
    /// Run against the reference broker inside the deterministic network simulator
    /// (turmoil): every wait in virtual time, seeded by --seed; needed by the network fault
    /// steps (partition, hold, release, restart_broker).
    #[arg(long, conflicts_with = "target")]
    pub sim: bool,
    /// User name for every CONNECT that does not set its own (3.1.1 allows a user name
    /// without a password).
    #[arg(long)]
    pub username: Option<String>,
    /// Password sent with --username (ignored without it). Prefer the environment
    /// variable, which stays out of the process list and of the rerun commands the report
    /// prints; the password is never printed, in decoded packets or in hex dumps.
    #[arg(long, env = "MQTTSPEC_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Run only the scenarios of one protocol version (default: both).
    #[arg(long, value_parser = ["3.1.1", "5.0"])]
    pub version: Option<String>,
    /// Capabilities of the broker that its CONNACK cannot announce (enhanced
    /// authentication methods, response information), as YAML: e.g.
    /// `auth_methods: [SCRAM-SHA-256]`. Verdicts that rest on it say so.
    #[arg(long, value_name = "FILE")]
    pub capabilities: Option<PathBuf>,
    /// Run only scenarios matching a statement ID (or ID prefix), a tag or a path part.
    /// Repeatable; a scenario runs if it matches any.
    #[arg(long = "filter", value_name = "ID|TAG|PATH")]
    pub filters: Vec<String>,
    /// Scenarios run at the same time.
    #[arg(long, default_value_t = 8)]
    pub jobs: usize,
    /// Seed of every choice the run makes (topic and client-id prefixes). Default: random,
    /// printed.
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to this file instead of standard output. Repeatable; the format
    /// follows the extension (.json, .xml, .md, .txt), else `--format`.
    #[arg(long)]
    pub out: Vec<PathBuf>,
    /// Default wait for an expected packet, e.g. 2s or 500ms.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// List every scenario in the text report, not only those that did not pass.
    #[arg(long)]
    pub show_passed: bool,
}

/// Reads a capabilities file: the `Features` of the scenario format, as YAML; a mistake is
/// reported at its line and column.
fn load_capabilities(path: &std::path::Path) -> Result<Stated, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("mqttspec: cannot read the capabilities file {shown}: {e}"))?;
    let features: crate::scenario::model::Features =
        serde_saphyr::from_str(&text).map_err(|e| {
            let loc = e.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
            crate::scenario::LoadError::at(
                &shown,
                &text,
                loc,
                crate::scenario::load::first_line(&e.to_string()),
            )
            .to_string()
        })?;
    Ok(Stated {
        features,
        source: format!("the capabilities file {shown}"),
        file: std::fs::canonicalize(path).ok(),
        auth_user: None,
    })
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::scenario::duration::Dur::parse(s)
        .map(|d| d.0)
        .ok_or_else(|| format!("{s:?} is not a duration such as 2s or 500ms"))
}

pub async fn main(args: RunArgs) -> i32 {
    let catalogue = match Catalogue::builtin() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqttspec: {e}");
            return exit::HARNESS;
        }
    };
    let target = match args.target.as_deref().map(Target::parse).transpose() {
        Ok(_) if args.sim => Target::Simulated,
        Ok(t) => t.unwrap_or(Target::Embedded),
        Err(e) => {
            eprintln!("mqttspec: {e}");
            return exit::USAGE;
        }
    };
    let scenarios = match load_scenarios(&args.paths, &catalogue) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let stated = match &args.capabilities {
        None => None,
        Some(path) => match load_capabilities(path) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("{e}");
                return exit::USAGE;
            }
        },
    };
    let chosen: Vec<_> = scenarios
        .into_iter()
        .filter(|s| selected(s, &args.filters))
        .filter(|s| {
            args.version
                .as_deref()
                .is_none_or(|v| match s.scenario.version {
                    crate::scenario::model::VersionSpec::V311 => v == "3.1.1",
                    crate::scenario::model::VersionSpec::V5 => v == "5.0",
                })
        })
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "mqttspec: no scenario matches the filters {:?}",
            args.filters
        );
        return exit::USAGE;
    }
    let seed = args.seed.unwrap_or_else(now_seed);
    let settings = RunSettings {
        jobs: args.jobs,
        seed,
        expect_timeout: args.timeout,
        credentials: args.username.clone().map(|username| Credentials {
            username,
            password: args.password.clone(),
        }),
        stated,
    };
    let shown = match &target {
        Target::Embedded => "the embedded reference broker".to_owned(),
        Target::Simulated => "the reference broker in the network simulator".to_owned(),
        Target::Remote { url, .. } => url.clone(),
    };
    eprintln!(
        "mqttspec: {} scenarios against {shown}, seed {seed}",
        chosen.len()
    );
    let bar = progress_bar(chosen.len() as u64, "{pos}/{len}");
    let tick = bar.clone();
    let result = run(&target, chosen, &settings, &catalogue, move |r| {
        tick.set_message(r.path.clone());
        tick.inc(1);
    })
    .await;
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(crate::run::TargetError::Unusable(why)) => {
            // One sentence instead of a failure per scenario; the files asked for still
            // get a report that says it.
            eprintln!("mqttspec: {why} (seed {seed})");
            if args.out.is_empty() {
                return exit::HARNESS;
            }
            crate::report::Report::unusable(&catalogue, shown, seed, Duration::ZERO, why)
        }
        Err(e) => {
            eprintln!("mqttspec: {e} (seed {seed})");
            return exit::HARNESS;
        }
    };
    let render = |format: Format, color: bool| match format {
        Format::Text => report::text::render(&report, color, args.show_passed),
        Format::Json => report.json(),
        Format::Junit => report::junit::render(&report),
        Format::Md => report::markdown::render(&report),
    };
    if args.out.is_empty() {
        let color = std::io::stdout().is_terminal();
        if let Err(code) = write_output(None, &render(args.format, color)) {
            return code;
        }
    }
    for path in &args.out {
        let format = Format::from_extension(path).unwrap_or(args.format);
        if let Err(code) = write_output(Some(path), &render(format, false)) {
            return code;
        }
    }
    if let Some(d) = &report.diagnosis
        && (!args.out.is_empty() || args.format != Format::Text)
    {
        eprintln!("mqttspec: could not judge the broker: {d}");
    }
    if !args.out.is_empty() || args.format != Format::Text {
        let c = &report.scenario_counts;
        eprintln!(
            "mqttspec: {} passed, {} failed, {} not applicable, {} errors (seed {seed})",
            c.pass, c.fail, c.not_applicable, c.error
        );
    }
    report.exit_code
}
