//! JUnit XML for CI systems: a `<failure>` is the broker's fault, an `<error>` the
//! harness's, `<skipped>` a scenario that did not apply.

use super::Report;
use crate::engine::{ScenarioResult, Verdict};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot hold.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The folder under `scenarios/` a scenario sits in: its spec area.
fn area(path: &str) -> String {
    let p = path.strip_prefix("scenarios/").unwrap_or(path);
    match p.rsplit_once('/') {
        Some((dir, _)) => dir.replace('/', "."),
        None => "scenarios".to_owned(),
    }
}

fn case(r: &Report, s: &ScenarioResult, out: &mut String) {
    let _ = writeln!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\">",
        escape(&area(&s.path)),
        escape(&format!("{} [{}]", s.name, s.statements.join(" "))),
        escape(&s.path),
        s.duration.as_secs_f64()
    );
    let mut trace = String::new();
    super::text::trace_lines(&s.trace, &mut trace, "");
    match s.verdict {
        Verdict::Pass => {}
        Verdict::Fail => {
            if let Some(f) = &s.failure {
                let detail = format!(
                    "{}:{}:{} ({}): {}\nstatements failed: {}\nnot judged: {}\nexpected: {}\nactual: {}\nwhy: {}\nrerun: {}\n\n{}",
                    s.path,
                    f.line,
                    f.column,
                    f.step,
                    f.message,
                    f.statements.join(", "),
                    if s.not_judged.is_empty() {
                        "-".to_owned()
                    } else {
                        s.not_judged.join(", ")
                    },
                    f.expected.as_deref().unwrap_or("-"),
                    f.actual.as_deref().unwrap_or("-"),
                    s.description.as_deref().unwrap_or("-"),
                    r.rerun(s).unwrap_or_default(),
                    trace
                );
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    escape(&f.message),
                    escape(&f.statements.join(" ")),
                    escape(&detail)
                );
            }
        }
        Verdict::Error => {
            let reason = s.reason.as_deref().unwrap_or("harness error");
            let _ = writeln!(
                out,
                "      <error message=\"{}\">{}</error>",
                escape(reason),
                escape(&format!(
                    "{reason}\nrerun: {}\n\n{trace}",
                    r.rerun(s).unwrap_or_default()
                ))
            );
        }
        Verdict::NotApplicable => {
            let _ = writeln!(
                out,
                "      <skipped message=\"{}\"/>",
                escape(s.reason.as_deref().unwrap_or("not applicable"))
            );
        }
    }
    out.push_str("    </testcase>\n");
}

pub fn render(r: &Report) -> String {
    let mut suites: BTreeMap<String, Vec<&ScenarioResult>> = BTreeMap::new();
    for s in &r.scenarios {
        suites.entry(area(&s.path)).or_default().push(s);
    }
    let count =
        |list: &[&ScenarioResult], v: Verdict| list.iter().filter(|s| s.verdict == v).count();
    let all: Vec<&ScenarioResult> = r.scenarios.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mqttspec\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        all.len(),
        count(&all, Verdict::Fail),
        count(&all, Verdict::Error),
        count(&all, Verdict::NotApplicable),
        r.duration.as_secs_f64()
    );
    for (name, list) in &suites {
        let time: f64 = list.iter().map(|s| s.duration.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            escape(name),
            list.len(),
            count(list, Verdict::Fail),
            count(list, Verdict::Error),
            count(list, Verdict::NotApplicable),
            time
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"target\" value=\"{}\"/><property name=\"seed\" value=\"{}\"/></properties>",
            escape(&r.target),
            r.seed
        );
        for s in list {
            case(r, s, &mut out);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{0}y\u{1b}"), "x\u{FFFD}y\u{FFFD}");
        assert_eq!(escape("tab\tnl\n"), "tab\tnl\n");
    }

    #[test]
    fn area_is_the_folder() {
        assert_eq!(area("scenarios/qos/a.yaml"), "qos");
        assert_eq!(area("scenarios/malformed/x/b.yaml"), "malformed.x");
        assert_eq!(area("other.yaml"), "scenarios");
    }
}
