//! The project's catalogue of normative statements (`catalogue/*.tsv` at the repository
//! root, compiled in): the denominator of coverage and the source of each statement's
//! strength (MUST fails a run; SHOULD and MAY only warn).

use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

const V311: &str = include_str!("../../catalogue/mqtt-3.1.1.tsv");
const V5: &str = include_str!("../../catalogue/mqtt-5.0.tsv");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Subject {
    Server,
    Client,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Testable {
    Yes,
    Partial,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Must,
    Should,
    May,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Namespaced, e.g. `3.1.1/MQTT-3.1.2-24`.
    pub id: String,
    pub section: String,
    pub subject: Subject,
    pub testable: Testable,
    pub level: Level,
    pub area: String,
    pub summary: String,
}

impl Statement {
    /// `3.1.1` or `5.0`.
    pub fn version(&self) -> &str {
        self.id.split('/').next().unwrap_or("")
    }

    /// Whether a broker can be judged on it over the wire, fully or in part. Client-only
    /// statements are testable only where breaking them obliges the broker to react.
    pub fn broker_testable(&self) -> bool {
        self.testable != Testable::No
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("catalogue {file} line {line}: {message}")]
pub struct CatalogueError {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    statements: Vec<Statement>,
    index: BTreeMap<String, usize>,
}

impl Catalogue {
    /// The catalogue compiled into the binary.
    pub fn builtin() -> Result<Self, CatalogueError> {
        let mut c = Self::default();
        c.add_tsv("catalogue/mqtt-3.1.1.tsv", V311)?;
        c.add_tsv("catalogue/mqtt-5.0.tsv", V5)?;
        Ok(c)
    }

    fn add_tsv(&mut self, file: &'static str, text: &str) -> Result<(), CatalogueError> {
        for (i, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let err = |message: String| CatalogueError {
                file,
                line: i + 1,
                message,
            };
            let cols: Vec<&str> = line.split('\t').collect();
            let [id, section, subject, testable, level, area, summary] = cols[..] else {
                return Err(err(format!(
                    "expected 7 tab-separated columns, got {}",
                    cols.len()
                )));
            };
            let subject = match subject {
                "Server" => Subject::Server,
                "Client" => Subject::Client,
                "Both" => Subject::Both,
                other => return Err(err(format!("unknown subject {other:?}"))),
            };
            let testable = match testable {
                "yes" => Testable::Yes,
                "partial" => Testable::Partial,
                "no" => Testable::No,
                other => return Err(err(format!("unknown testable {other:?}"))),
            };
            let level = match level {
                "MUST" => Level::Must,
                "SHOULD" => Level::Should,
                "MAY" => Level::May,
                other => return Err(err(format!("unknown level {other:?}"))),
            };
            if self.index.contains_key(id) {
                return Err(err(format!("duplicate id {id}")));
            }
            self.index.insert(id.to_owned(), self.statements.len());
            self.statements.push(Statement {
                id: id.to_owned(),
                section: section.to_owned(),
                subject,
                testable,
                level,
                area: area.to_owned(),
                summary: summary.to_owned(),
            });
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Statement> {
        self.index.get(id).map(|i| &self.statements[*i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Statement> {
        self.statements.iter()
    }

    pub fn for_version<'a>(&'a self, version: &'a str) -> impl Iterator<Item = &'a Statement> {
        self.statements
            .iter()
            .filter(move |s| s.version() == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_has_every_statement() {
        let c = Catalogue::builtin().unwrap();
        assert_eq!(c.for_version("3.1.1").count(), 141);
        assert_eq!(c.for_version("5.0").count(), 251);
        // Figures from the shared catalogue's README: testable yes/partial/no.
        let count = |v, t| c.for_version(v).filter(|s| s.testable == t).count();
        assert_eq!(
            (
                count("3.1.1", Testable::Yes),
                count("3.1.1", Testable::Partial),
                count("3.1.1", Testable::No)
            ),
            (82, 23, 36)
        );
        assert_eq!(
            (
                count("5.0", Testable::Yes),
                count("5.0", Testable::Partial),
                count("5.0", Testable::No)
            ),
            (167, 44, 40)
        );
        let s = c.get("3.1.1/MQTT-3.1.2-24").unwrap();
        assert_eq!(s.subject, Subject::Server);
        assert!(s.broker_testable());
        assert!(c.get("MQTT-3.1.2-24").is_none(), "ids are namespaced");
    }

    #[test]
    fn malformed_rows_are_reported_with_their_line() {
        let mut c = Catalogue::default();
        let e = c
            .add_tsv("t.tsv", "header\n3.1.1/MQTT-1\tx\tServer\n")
            .unwrap_err();
        assert_eq!(e.line, 2);
        let e = c
            .add_tsv(
                "t.tsv",
                "header\n3.1.1/MQTT-1\t1\tRobot\tyes\tMUST\tother\tsummary\n",
            )
            .unwrap_err();
        assert!(e.message.contains("Robot"));
    }
}
