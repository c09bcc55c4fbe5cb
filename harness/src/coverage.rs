//! Which statements of the catalogue the scenarios check: the coverage report.

use crate::catalogue::{Catalogue, Statement};
use crate::scenario::LoadedScenario;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize)]
pub struct Row<'a> {
    #[serde(flatten)]
    pub statement: &'a Statement,
    pub scenarios: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub version: String,
    pub statements: usize,
    pub broker_testable: usize,
    pub broker_testable_covered: usize,
    pub percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Coverage<'a> {
    pub totals: Vec<Totals>,
    pub rows: Vec<Row<'a>>,
}

pub fn compute<'a>(
    catalogue: &'a Catalogue,
    scenarios: &[LoadedScenario],
    versions: &[&str],
) -> Coverage<'a> {
    let mut cited: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in scenarios {
        let mut ids: Vec<&str> = s
            .scenario
            .statements
            .iter()
            .map(|i| i.value.as_str())
            .collect();
        for step in &s.scenario.steps {
            collect_step_ids(&step.value, &mut ids);
        }
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            cited.entry(id).or_default().push(s.path.clone());
        }
    }
    let rows: Vec<Row<'a>> = catalogue
        .iter()
        .filter(|st| versions.contains(&st.version()))
        .map(|st| Row {
            statement: st,
            scenarios: cited.get(st.id.as_str()).cloned().unwrap_or_default(),
        })
        .collect();
    let totals = versions
        .iter()
        .map(|v| {
            let mine: Vec<&Row<'_>> = rows
                .iter()
                .filter(|r| r.statement.version() == *v)
                .collect();
            let testable: Vec<&&Row<'_>> = mine
                .iter()
                .filter(|r| r.statement.broker_testable())
                .collect();
            let covered = testable.iter().filter(|r| !r.scenarios.is_empty()).count();
            Totals {
                version: (*v).to_owned(),
                statements: mine.len(),
                broker_testable: testable.len(),
                broker_testable_covered: covered,
                percent: if testable.is_empty() {
                    0.0
                } else {
                    100.0 * covered as f64 / testable.len() as f64
                },
            }
        })
        .collect();
    Coverage { totals, rows }
}

fn collect_step_ids<'s>(step: &'s crate::scenario::model::Step, ids: &mut Vec<&'s str>) {
    use crate::scenario::model::Step;
    match step {
        Step::Expect(e) => ids.extend(e.statements.iter().map(|s| s.value.as_str())),
        Step::ExpectNothing(e) => ids.extend(e.statements.iter().map(|s| s.value.as_str())),
        Step::ExpectClose(e) => ids.extend(e.statements.iter().map(|s| s.value.as_str())),
        Step::Connect(c) => ids.extend(c.statements.iter().map(|s| s.value.as_str())),
        Step::Repeat(r) => {
            for s in &r.steps {
                collect_step_ids(&s.value, ids);
            }
        }
        _ => {}
    }
}

pub fn text(c: &Coverage<'_>, all: bool) -> String {
    let mut out = String::new();
    for row in &c.rows {
        let st = row.statement;
        if !all && (!row.scenarios.is_empty() || !st.broker_testable()) {
            continue;
        }
        let mark = if !row.scenarios.is_empty() {
            "covered"
        } else if st.broker_testable() {
            "MISSING"
        } else {
            "untestable"
        };
        let _ = writeln!(
            out,
            "{:<8} {:<22} {:<7} {:<7} {}{}",
            mark,
            st.id,
            format!("{:?}", st.testable).to_lowercase(),
            format!("{:?}", st.level).to_uppercase(),
            st.summary,
            if row.scenarios.is_empty() {
                String::new()
            } else {
                format!("  [{}]", row.scenarios.join(", "))
            }
        );
    }
    for t in &c.totals {
        let _ = writeln!(
            out,
            "{}: {} of {} broker-testable statements covered ({:.1}%); {} statements in all",
            t.version, t.broker_testable_covered, t.broker_testable, t.percent, t.statements
        );
    }
    out
}

pub fn markdown(c: &Coverage<'_>) -> String {
    let mut out = String::from(
        "# Statement coverage\n\n| version | covered | broker-testable | % |\n|---|---|---|---|\n",
    );
    for t in &c.totals {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} |",
            t.version, t.broker_testable_covered, t.broker_testable, t.percent
        );
    }
    out.push_str(
        "\n| statement | testable | level | summary | scenarios |\n|---|---|---|---|---|\n",
    );
    for row in &c.rows {
        let st = row.statement;
        let _ = writeln!(
            out,
            "| {} | {:?} | {:?} | {} | {} |",
            st.id,
            st.testable,
            st.level,
            st.summary.replace('|', "\\|"),
            row.scenarios
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    out
}
