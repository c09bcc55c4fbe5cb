//! Findings, deduplicated by (oracle, packet type, mutation kind), and their reproducers:
//! scenario files with the case's bytes as hex `send` steps, which `mqttspec run` replays
//! and which fail on the broker that produced the finding.

use super::kinds::{MutationKind, Oracle};
use super::mutate::Case;
use crate::catalogue::Catalogue;
use mqttspec_codec::ProtocolVersion;
use serde::Serialize;
use std::fmt::Write as _;

/// One deduplicated finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub oracle: Oracle,
    pub packet: String,
    pub mutation: MutationKind,
    pub statements: Vec<String>,
    /// The first case that showed it.
    pub case: u64,
    /// How many cases showed it.
    pub count: u64,
    /// A few words on what happened.
    pub summary: String,
    pub detail: String,
    /// For a valid flow: the acknowledgement patterns due, as scenario patterns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<String>,
    /// The case's writes, in hex.
    pub hex: Vec<String>,
    pub reproducer: Option<String>,
    pub replay: Option<String>,
}

impl Finding {
    pub fn key(&self) -> (Oracle, String, MutationKind) {
        (self.oracle, self.packet.clone(), self.mutation)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The case's writes for a scenario: each chunk one `send`, merged into one when there are
/// more than `MAX_SENDS` (timing is not what a reproducer replays).
const MAX_SENDS: usize = 64;

pub fn hex_chunks(case: &Case) -> Vec<String> {
    if case.chunks.len() > MAX_SENDS {
        return vec![hex(&case.stream())];
    }
    case.chunks.iter().map(|c| hex(&c.bytes)).collect()
}

/// The statements a reproducer cites: those the catalogue knows for the case's version, else
/// the version's catch-all for malformed packets and protocol errors.
pub fn known_statements(
    statements: &[String],
    version: ProtocolVersion,
    catalogue: &Catalogue,
) -> Vec<String> {
    let ns = format!("{}/", version.namespace());
    let mut out: Vec<String> = statements
        .iter()
        .filter(|s| s.starts_with(&ns) && catalogue.get(s).is_some())
        .cloned()
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(match version {
            ProtocolVersion::V311 => "3.1.1/MQTT-4.8.0-1".to_owned(),
            ProtocolVersion::V5 => "5.0/MQTT-4.13.1-1".to_owned(),
        });
    }
    out
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The scenario file that replays `finding` (made from `case`), or `None` for findings that
/// are the harness's own.
pub fn scenario(finding: &Finding, case: &Case, seed: u64) -> Option<String> {
    let version = match case.version {
        ProtocolVersion::V311 => "3.1.1",
        ProtocolVersion::V5 => "5.0",
    };
    let what = match finding.oracle {
        Oracle::Liveness => "the broker stops serving other clients",
        Oracle::MustClose => "the broker leaves the connection open",
        Oracle::ValidFlow => "a valid flow written differently is not answered",
        Oracle::MalformedReply => "the broker answers with a malformed packet",
        Oracle::AfterDisconnect => "the broker sends a packet after its DISCONNECT",
        Oracle::Harness => return None,
    };
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Found by `mqttspec fuzz --seed {seed}`, case {}.",
        finding.case
    );
    let _ = writeln!(
        y,
        "name: {}",
        quote(&format!(
            "fuzz: {what} after {} ({} on {})",
            finding.summary,
            finding.mutation.name(),
            finding.packet
        ))
    );
    let _ = writeln!(y, "description: {}", quote(&finding.detail));
    let _ = writeln!(y, "statements: [{}]", finding.statements.join(", "));
    let _ = writeln!(y, "version: \"{version}\"");
    let _ = writeln!(y, "tags: [fuzz, {}]", finding.oracle.name());
    let _ = writeln!(y, "steps:");
    if finding.oracle == Oracle::Liveness {
        // Connected before the case, so that a crash or a hang fails its next step (a
        // fresh connection after a crash is refused, which is an error, not a failure).
        let _ = writeln!(y, "  - connect: {{client: probe}}");
    }
    let _ = writeln!(y, "  - open: {{client: f}}");
    for h in &finding.hex {
        let _ = writeln!(y, "  - send: {{client: f, hex: \"{h}\"}}");
    }
    match finding.oracle {
        Oracle::MustClose => {
            let _ = writeln!(
                y,
                "  - expect_close: {{client: f, within: 2s, allow: [any]}}"
            );
        }
        Oracle::MalformedReply => {
            let _ = writeln!(
                y,
                "  - expect_nothing: {{client: f, for: 1s, ignore: [any]}}"
            );
        }
        Oracle::AfterDisconnect => {
            // Whatever comes before the broker's DISCONNECT is passed over; after it, only
            // the close (5.0/MQTT-3.14.4-1, -2).
            let _ = writeln!(
                y,
                "  - expect: {{client: f, within: 2s, or_close: true, packet: {{disconnect: {{}}}}, ignore: [{{connack: {{}}}}, {{publish: {{}}}}, {{puback: {{}}}}, {{pubrec: {{}}}}, {{pubrel: {{}}}}, {{pubcomp: {{}}}}, {{suback: {{}}}}, {{unsuback: {{}}}}, pingresp, {{auth: {{}}}}]}}"
            );
            let _ = writeln!(y, "  - expect_close: {{client: f, within: 2s}}");
        }
        Oracle::ValidFlow => {
            let acks = finding.acks.join(", ");
            let _ = writeln!(
                y,
                "  - expect: {{client: f, within: 2s, all_of: [{acks}], ignore: [{{publish: {{}}}}]}}"
            );
        }
        Oracle::Liveness => {
            let _ = writeln!(y, "  - sleep: 300ms");
            let _ = writeln!(
                y,
                "  - send: {{client: probe, packet: {{subscribe: {{filters: [{{filter: \"${{topic}}/live\", qos: 1}}]}}}}}}"
            );
            let _ = writeln!(y, "  - expect: {{client: probe, packet: {{suback: {{}}}}}}");
            let _ = writeln!(
                y,
                "  - send: {{client: probe, packet: {{publish: {{topic: \"${{topic}}/live\", qos: 1, payload: alive}}}}}}"
            );
            let _ = writeln!(
                y,
                "  - expect: {{client: probe, all_of: [{{puback: {{}}}}, {{publish: {{topic: \"${{topic}}/live\"}}}}]}}"
            );
            // A broker that stops accepting still serves the connections it has.
            let _ = writeln!(y, "  - connect: {{client: fresh}}");
        }
        Oracle::Harness => {}
    }
    Some(y)
}
