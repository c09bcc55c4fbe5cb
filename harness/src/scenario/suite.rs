//! Finding scenario files: the paths a user gives, or the suite compiled into the binary.

use super::load::{LoadError, LoadedScenario, load_str};
use crate::catalogue::Catalogue;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_suite.rs"));

/// The suite shipped with the tool: `(path relative to the repository, text)`, sorted.
pub fn embedded() -> &'static [(&'static str, &'static str)] {
    EMBEDDED_SUITE
}

/// Every `.yaml`/`.yml` file under the given paths (files taken as they are), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| format!("{}: {e}", p.display()))?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n == "sim") {
            // scenarios/sim holds fleet workloads for `mqttspec sim`, not scenarios.
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads every file; collects every error rather than stopping at the first.
pub fn load_files(
    paths: &[PathBuf],
    catalogue: &Catalogue,
) -> Result<Vec<LoadedScenario>, Vec<LoadError>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let shown = p.display().to_string();
        match std::fs::read_to_string(p) {
            Ok(text) => match load_str(&shown, &text, catalogue) {
                Ok(s) => loaded.push(s),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(LoadError {
                path: shown,
                line: 0,
                column: 0,
                message: format!("cannot read the file: {e}"),
                source_line: None,
            }),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}

/// Loads the embedded suite.
pub fn load_embedded(catalogue: &Catalogue) -> Result<Vec<LoadedScenario>, Vec<LoadError>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in embedded() {
        match load_str(path, text, catalogue) {
            Ok(s) => loaded.push(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}
