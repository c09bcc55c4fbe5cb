//! Finding scenario files: the paths a user gives, or the suite compiled into the binary.

use super::load::{LoadError, LoadedScenario, load_str};
use crate::catalogue::Catalogue;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_suite.rs"));

/// The suite shipped with the tool: `(path relative to the repository, text)`, sorted.
pub fn embedded() -> &'static [(&'static str, &'static str)] {
    EMBEDDED_SUITE
}

/// The name a built-in scenario is run by from anywhere: its path without `scenarios/`
/// and `.yaml` (`retain/retained-sent-on-subscribe`).
pub fn builtin_name(path: &str) -> &str {
    let p = path.strip_prefix("scenarios/").unwrap_or(path);
    p.strip_suffix(".yaml").unwrap_or(p)
}

/// The built-in scenarios a name selects: one scenario (`retain/x`, `retain/x.yaml`,
/// `scenarios/retain/x.yaml`) or a folder of them (`retain`, `scenarios/retain/`).
pub fn builtin_matches(name: &str) -> Vec<(&'static str, &'static str)> {
    let name = name.trim_end_matches('/');
    let name = builtin_name(name);
    embedded()
        .iter()
        .filter(|(path, _)| {
            let own = builtin_name(path);
            own == name || own.starts_with(&format!("{name}/"))
        })
        .copied()
        .collect()
}

/// What a user named on the command line: files on disk, or built-in scenarios.
#[derive(Debug, Default)]
pub struct Selection {
    pub files: Vec<PathBuf>,
    pub builtin: Vec<(&'static str, &'static str)>,
}

/// Every `.yaml`/`.yml` file under the given paths (files taken as they are), sorted; a
/// name that is not on disk is looked up among the built-in scenarios.
pub fn discover(paths: &[PathBuf]) -> Result<Selection, String> {
    let mut out = Selection::default();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out.files).map_err(|e| format!("{}: {e}", p.display()))?;
        } else if p.is_file() {
            out.files.push(p.clone());
        } else {
            let found = builtin_matches(&p.to_string_lossy());
            if found.is_empty() {
                return Err(format!(
                    "{}: no such file or directory, and no built-in scenario of that name (`mqttspec coverage` lists them)",
                    p.display()
                ));
            }
            out.builtin.extend(found);
        }
    }
    out.files.sort();
    out.files.dedup();
    out.builtin.sort();
    out.builtin.dedup();
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
                Ok(mut s) => {
                    s.reference = std::fs::canonicalize(p)
                        .map(|a| a.display().to_string())
                        .unwrap_or(shown);
                    loaded.push(s)
                }
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
    load_builtin(embedded(), catalogue)
}

/// Loads some of the built-in scenarios.
pub fn load_builtin(
    which: &[(&str, &str)],
    catalogue: &Catalogue,
) -> Result<Vec<LoadedScenario>, Vec<LoadError>> {
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in which {
        match load_str(path, text, catalogue) {
            Ok(mut s) => {
                s.reference = builtin_name(path).to_owned();
                loaded.push(s)
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(errors)
    }
}
