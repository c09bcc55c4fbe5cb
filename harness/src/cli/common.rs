//! Pieces the subcommands share: output formats, loading scenarios, writing reports.

use crate::catalogue::Catalogue;
use crate::report::exit;
use crate::scenario::{LoadedScenario, suite};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Md,
}

impl Format {
    /// The format a file name asks for, if its extension is one of ours.
    pub fn from_extension(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "json" => Some(Self::Json),
            "xml" => Some(Self::Junit),
            "md" => Some(Self::Md),
            "txt" => Some(Self::Text),
            _ => None,
        }
    }
}

/// Loads the given paths, or the built-in suite. On a mistake prints every error found
/// (file:line:column) and gives the exit code.
pub fn load_scenarios(
    paths: &[PathBuf],
    catalogue: &Catalogue,
) -> Result<Vec<LoadedScenario>, i32> {
    let loaded = if paths.is_empty() {
        suite::load_embedded(catalogue)
    } else {
        let chosen = suite::discover(paths).map_err(|e| {
            eprintln!("mqttspec: {e}");
            exit::USAGE
        })?;
        if chosen.files.is_empty() && chosen.builtin.is_empty() {
            eprintln!("mqttspec: no .yaml scenario under {paths:?}");
            return Err(exit::USAGE);
        }
        let files = suite::load_files(&chosen.files, catalogue);
        let builtin = suite::load_builtin(&chosen.builtin, catalogue);
        match (files, builtin) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
            (Err(mut a), Err(b)) => {
                a.extend(b);
                Err(a)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    };
    loaded.map_err(|errors| {
        for e in &errors {
            eprintln!("{e}\n");
        }
        eprintln!(
            "mqttspec: {} scenario file(s) have mistakes; nothing was run",
            errors.len()
        );
        exit::USAGE
    })
}

/// A seed from the clock, for runs that do not give one. Printed, so any run can be repeated.
pub fn now_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // Spread the bits so close start times give unrelated seeds.
    let mut x = nanos ^ u64::from(std::process::id()).rotate_left(32);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x % 1_000_000_000_000
}

pub fn write_output(out: Option<&Path>, text: &str) -> Result<(), i32> {
    match out {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(path) => std::fs::write(path, text).map_err(|e| {
            eprintln!("mqttspec: cannot write {}: {e}", path.display());
            exit::HARNESS
        }),
    }
}

/// A progress bar on an interactive terminal only, hidden otherwise; `counts` is the
/// indicatif template of the numbers shown after the bar.
pub fn progress_bar(len: u64, counts: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:30}}] {counts} {{wide_msg}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
