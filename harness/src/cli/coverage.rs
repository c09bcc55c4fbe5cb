//! `mqttspec coverage`: which catalogue statements the scenarios check.

use super::common::{Format, load_scenarios, write_output};
use crate::catalogue::Catalogue;
use crate::coverage;
use crate::report::exit;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Scenario files or folders. Default: the suite built into mqttspec.
    pub paths: Vec<PathBuf>,
    /// Which specification: 3.1.1, 5.0 or all (each with its own totals).
    #[arg(long = "spec", alias = "version", default_value = "all", value_parser = ["3.1.1", "5.0", "all"])]
    pub spec: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// List every statement, not only the broker-testable ones no scenario covers.
    #[arg(long)]
    pub all: bool,
    /// Exit 1 when coverage of broker-testable statements is below this percentage.
    #[arg(long)]
    pub min: Option<f64>,
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn main(args: CoverageArgs) -> i32 {
    let catalogue = match Catalogue::builtin() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqttspec: {e}");
            return exit::HARNESS;
        }
    };
    let scenarios = match load_scenarios(&args.paths, &catalogue) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let versions: Vec<&str> = match args.spec.as_str() {
        "all" => vec!["3.1.1", "5.0"],
        v => vec![v],
    };
    let cov = coverage::compute(&catalogue, &scenarios, &versions);
    let rendered = match args.format {
        Format::Text => coverage::text(&cov, args.all),
        Format::Json => serde_json::to_string_pretty(&cov).unwrap_or_default(),
        Format::Md => coverage::markdown(&cov),
        Format::Junit => {
            eprintln!("mqttspec: coverage has no JUnit form; use text, json or md");
            return exit::USAGE;
        }
    };
    if let Err(code) = write_output(args.out.as_deref(), &rendered) {
        return code;
    }
    match args.min {
        Some(min) if cov.totals.iter().any(|t| t.percent < min) => exit::TARGET_FAILED,
        _ => exit::OK,
    }
}
