//! `mqttspec fuzz`: a stateful, structure-aware network fuzzer. Each case is a valid flow
//! built with the codec ([`gen`]), changed once at the packet, stream or byte level
//! ([`mutate`]), sent on its own connection ([`net`]) and judged by oracles: what the codec
//! says the specification requires of the bytes ([`classify`]: a close, or the
//! acknowledgements of a valid flow), a liveness probe after every case, well-formed
//! replies, and the harness's own robustness. Findings are deduplicated and written as
//! replayable scenario files ([`finding`]); [`report`] sums up the run.

pub mod classify;
mod fields;
pub mod finding;
pub mod flood;
pub mod flow;
pub mod frame;
pub mod inproc;
pub mod kinds;
pub mod mutate;
pub mod net;
pub mod report;

use crate::catalogue::Catalogue;
use classify::{Expectation, classify};
use finding::{Finding, hex_chunks, known_statements};
use kinds::{Level, MutationKind, Oracle};
use mutate::Case;
use net::{Timing, Wait};
use report::FuzzReport;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use thiserror::Error;

pub use net::Timing as FuzzTiming;

/// What to fuzz and for how long.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub addr: SocketAddr,
    /// How the target is shown, e.g. `mqtt://127.0.0.1:1883` or "the embedded reference broker".
    pub target_name: String,
    /// The `--target` a replay command needs (`None`: the embedded broker, which `mqttspec
    /// run` starts by itself).
    pub replay_target: Option<String>,
    pub seed: u64,
    pub budget: Duration,
    pub max_cases: Option<u64>,
    pub timing: Timing,
    /// Where reproducers (and the caller's report) go.
    pub out: Option<PathBuf>,
    /// The protocol version of every case (`None`: 3.1.1 or 5.0, half each).
    pub version: Option<mqttspec_codec::ProtocolVersion>,
}

#[derive(Debug, Error)]
pub enum FuzzError {
    #[error("the broker at {addr} fails the liveness probe before any case: {why}")]
    Unusable { addr: SocketAddr, why: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What an oracle saw: the oracle, a few words, the details, the statements broken and, for
/// a valid flow, the acknowledgement patterns due.
type Found = (Oracle, String, String, Vec<String>, Vec<String>);

/// Bound on one case, beyond which the harness itself counts as hung.
const CASE_BOUND: Duration = Duration::from_secs(30);

fn run_id(seed: u64) -> String {
    format!("{:x}", seed % 0xFF_FFFF)
}

fn ack_patterns(acks: &BTreeMap<mqttspec_codec::PacketType, usize>) -> Vec<String> {
    let mut out = vec!["{connack: {code: 0}}".to_owned()];
    for (t, n) in acks {
        let name = t.name().to_lowercase();
        let pattern = if *t == mqttspec_codec::PacketType::PingResp {
            name
        } else {
            format!("{{{name}: {{}}}}")
        };
        out.extend(std::iter::repeat_n(pattern, *n));
    }
    out
}

/// For a must-close finding: the DISCONNECT the broker sent without closing, if any.
fn disconnect_note(obs: &net::Observation) -> String {
    obs.server_disconnect
        .map(|code| format!(" (after the broker's DISCONNECT 0x{code:02X})"))
        .unwrap_or_default()
}

/// A 5.0 broker that sent DISCONNECT and left the connection open also broke
/// 5.0/MQTT-3.14.4-2 (the sender of DISCONNECT closes the connection).
fn with_disconnect_statement(statements: &[String], obs: &net::Observation) -> Vec<String> {
    let mut out = statements.to_vec();
    if obs.server_disconnect.is_some() {
        out.push("5.0/MQTT-3.14.4-2".to_owned());
    }
    out
}

/// Runs cases until the budget or the case cap is spent, or the broker dies. `progress` is
/// told each case's number.
pub async fn fuzz(
    opts: &FuzzOptions,
    catalogue: &Catalogue,
    mut progress: impl FnMut(u64),
) -> Result<FuzzReport, FuzzError> {
    let run = run_id(opts.seed);
    let live_topic = format!("mqttspec-fuzz/{run}/live");
    if let Err(dead) = net::liveness(
        opts.addr,
        &format!("fz{run}start"),
        &live_topic,
        opts.timing.reply,
    )
    .await
    {
        return Err(FuzzError::Unusable {
            addr: opts.addr,
            why: dead.0,
        });
    }
    if let Some(dir) = &opts.out {
        std::fs::create_dir_all(dir.join("findings")).map_err(|source| FuzzError::Write {
            path: dir.join("findings").display().to_string(),
            source,
        })?;
    }
    let start = Instant::now();
    let mut coverage: BTreeMap<String, BTreeMap<MutationKind, u64>> = BTreeMap::new();
    let mut checks: BTreeMap<String, u64> = BTreeMap::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut stopped_early = None;
    let mut cases = 0;
    for index in 0.. {
        if start.elapsed() >= opts.budget || opts.max_cases.is_some_and(|m| index >= m) {
            break;
        }
        progress(index);
        cases = index + 1;
        let ids = flow::CaseIds {
            client_id: format!("fz{run}c{index}"),
            topic: format!("mqttspec-fuzz/{run}/{index}"),
            version: opts.version,
        };
        let case = mutate::build(opts.seed, index, &ids);
        let stream = case.stream();
        let expectation = classify(&stream, case.version);
        let level = case.mutation.level();
        let wait = match &expectation {
            Expectation::MustClose { .. } if !case.half_close => Wait::Close,
            // A valid flow written differently must be answered; one using a Topic Alias
            // (whatever the mutation) must be closed if the CONNACK allows fewer aliases.
            Expectation::Valid {
                acks,
                disconnect: false,
                topic_alias,
                ..
            } if (matches!(level, Level::None | Level::Stream) || *topic_alias > 0)
                && !case.half_close =>
            {
                Wait::Acks {
                    acks: acks.clone(),
                    topic_alias: *topic_alias,
                }
            }
            _ => Wait::Settle,
        };
        *coverage
            .entry(case.target_name().to_owned())
            .or_default()
            .entry(case.mutation)
            .or_default() += 1;
        let mut found: Vec<Found> = Vec::new();
        // The harness's own oracle: the case runs in a task with a bound.
        let task = {
            let (addr, case2, wait2, timing) = (opts.addr, case.clone(), wait.clone(), opts.timing);
            tokio::spawn(async move { net::run_case(addr, &case2, &wait2, &timing).await })
        };
        let observed = match tokio::time::timeout(CASE_BOUND, task).await {
            Ok(Ok(r)) => Some(r),
            Ok(Err(e)) => {
                found.push((
                    Oracle::Harness,
                    "the harness panicked".into(),
                    format!("the case's task failed: {e}"),
                    Vec::new(),
                    Vec::new(),
                ));
                None
            }
            Err(_) => {
                found.push((
                    Oracle::Harness,
                    "the harness hung".into(),
                    format!("the case did not end within {CASE_BOUND:?}"),
                    Vec::new(),
                    Vec::new(),
                ));
                None
            }
        };
        match observed {
            Some(Err(why)) => found.push((
                Oracle::Liveness,
                "the broker accepts no connection".into(),
                format!("opening the case's connection failed: {why}"),
                Vec::new(),
                Vec::new(),
            )),
            Some(Ok(obs)) => {
                match (&wait, &expectation) {
                    (
                        Wait::Close,
                        Expectation::MustClose {
                            why, statements, ..
                        },
                    ) => {
                        *checks.entry("must-close".into()).or_default() += 1;
                        if !obs.closed {
                            found.push((
                                Oracle::MustClose,
                                "a malformed packet or protocol error".into(),
                                format!(
                                    "{why}; the connection was still open {:?} later{}, where the specification requires the broker to close it",
                                    opts.timing.close,
                                    disconnect_note(&obs)
                                ),
                                with_disconnect_statement(statements, &obs),
                                Vec::new(),
                            ));
                        }
                    }
                    (Wait::Acks { topic_alias, .. }, _)
                        if net::alias_over_maximum(&obs, *topic_alias) =>
                    {
                        *checks.entry("must-close".into()).or_default() += 1;
                        if !obs.closed {
                            found.push((
                                Oracle::MustClose,
                                "a Topic Alias above the maximum".into(),
                                format!(
                                    "a PUBLISH used Topic Alias {topic_alias}, above the Topic Alias Maximum of {} in the broker's CONNACK (a protocol error, 5.0 section 3.3.2.3.4); the connection was still open {:?} later{}",
                                    obs.connack_alias_max.unwrap_or(0),
                                    opts.timing.reply,
                                    disconnect_note(&obs)
                                ),
                                with_disconnect_statement(
                                    &["5.0/MQTT-4.13.1-1".to_owned()],
                                    &obs,
                                ),
                                Vec::new(),
                            ));
                        }
                    }
                    (Wait::Acks { acks, .. }, _)
                        if matches!(level, Level::None | Level::Stream) =>
                    {
                        *checks.entry("valid-flow".into()).or_default() += 1;
                        let missing: Vec<String> = acks
                            .iter()
                            .filter(|(t, n)| obs.replies.get(t).copied().unwrap_or(0) < **n)
                            .map(|(t, n)| format!("{n} {}", t.name()))
                            .collect();
                        let refused = obs.connack_code.is_some_and(|c| c != 0);
                        // A close is never charged: a broker may close a valid flow it
                        // declines (5.0 Maximum QoS, Retain Available, a 3.1.1 ACL: 3.3.5-2);
                        // left open without the replies due, it answered nothing at all.
                        if !refused
                            && !obs.closed
                            && (obs.connack_code.is_none() || !missing.is_empty())
                        {
                            let got: Vec<String> = obs
                                .replies
                                .iter()
                                .map(|(t, n)| format!("{n} {}", t.name()))
                                .collect();
                            found.push((
                                Oracle::ValidFlow,
                                "a valid flow".into(),
                                format!(
                                    "a valid flow sent {} got [{}] within {:?} and the connection stayed open; due: CONNACK and [{}]",
                                    case.mutation.name(),
                                    got.join(", "),
                                    opts.timing.reply,
                                    acks.iter().map(|(t, n)| format!("{n} {}", t.name())).collect::<Vec<_>>().join(", "),
                                ),
                                vec![match case.version {
                                    mqttspec_codec::ProtocolVersion::V311 => "3.1.1/MQTT-3.3.4-1".to_owned(),
                                    mqttspec_codec::ProtocolVersion::V5 => "5.0/MQTT-3.3.4-1".to_owned(),
                                }],
                                ack_patterns(acks),
                            ));
                        }
                    }
                    _ => {}
                }
                if let Some(t) = obs.after_disconnect {
                    found.push((
                        Oracle::AfterDisconnect,
                        "a packet after the broker's DISCONNECT".into(),
                        format!(
                            "the broker sent DISCONNECT 0x{:02X}, then {}",
                            obs.server_disconnect.unwrap_or(0),
                            t.name()
                        ),
                        vec!["5.0/MQTT-3.14.4-1".to_owned()],
                        Vec::new(),
                    ));
                }
                if let Some(why) = obs.malformed_reply {
                    found.push((
                        Oracle::MalformedReply,
                        "bytes that are no packet".into(),
                        format!("the broker sent bytes our codec refuses in both versions: {why}"),
                        Vec::new(),
                        Vec::new(),
                    ));
                }
            }
            None => {}
        }
        // Liveness after every case.
        *checks.entry("liveness".into()).or_default() += 1;
        if let Err(dead) = net::liveness(
            opts.addr,
            &format!("fz{run}l{index}"),
            &live_topic,
            opts.timing.reply,
        )
        .await
        {
            let statements = match &expectation {
                Expectation::MustClose { statements, .. } => statements.clone(),
                _ => Vec::new(),
            };
            let mut statements = statements;
            statements.push(format!("{}/MQTT-3.3.4-1", case.version.namespace()));
            found.push((
                Oracle::Liveness,
                "the broker stops serving".into(),
                format!(
                    "after this case a fresh client could not complete a QoS 1 round trip: {}",
                    dead.0
                ),
                statements,
                Vec::new(),
            ));
            stopped_early = Some(format!("the broker died after case {index}: {}", dead.0));
        }
        for (oracle, summary, detail, statements, acks) in found {
            // A close the codec asked for is charged to the packet it found wrong (a lying
            // length or an inserted byte may make the next frame the malformed one).
            let packet = match (oracle, &expectation) {
                (
                    Oracle::MustClose,
                    Expectation::MustClose {
                        packet: Some(p), ..
                    },
                ) => p.name().to_owned(),
                _ => case.target_name().to_owned(),
            };
            record(
                opts,
                &case,
                &mut findings,
                Finding {
                    oracle,
                    packet,
                    mutation: case.mutation,
                    statements: known_statements(&statements, case.version, catalogue),
                    case: index,
                    count: 1,
                    summary,
                    detail,
                    acks,
                    hex: hex_chunks(&case),
                    reproducer: None,
                    replay: None,
                },
            )?;
        }
        if stopped_early.is_some() {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    Ok(FuzzReport {
        target: opts.target_name.clone(),
        seed: opts.seed,
        budget_secs: opts.budget.as_secs_f64(),
        max_cases: opts.max_cases,
        cases,
        elapsed_secs: elapsed,
        cases_per_sec: if elapsed > 0.0 {
            cases as f64 / elapsed
        } else {
            0.0
        },
        stopped_early,
        coverage,
        checks,
        findings,
    })
}

/// Adds a finding, or counts it against the one with the same key; a new one gets its
/// reproducer written.
fn record(
    opts: &FuzzOptions,
    case: &Case,
    findings: &mut Vec<Finding>,
    mut finding: Finding,
) -> Result<(), FuzzError> {
    if let Some(old) = findings.iter_mut().find(|f| f.key() == finding.key()) {
        old.count += 1;
        return Ok(());
    }
    if let Some(dir) = &opts.out
        && let Some(yaml) = finding::scenario(&finding, case, opts.seed)
    {
        let name = format!(
            "{:02}-{}-{}-{}.yaml",
            findings.len() + 1,
            finding.oracle.name(),
            finding.packet.to_lowercase(),
            finding.mutation.name()
        );
        let path = dir.join("findings").join(name);
        std::fs::write(&path, yaml).map_err(|source| FuzzError::Write {
            path: path.display().to_string(),
            source,
        })?;
        let shown = path.display().to_string();
        finding.replay = Some(match &opts.replay_target {
            Some(url) => format!("mqttspec run --target {url} {shown}"),
            None => format!("mqttspec run {shown}"),
        });
        finding.reproducer = Some(shown);
    }
    findings.push(finding);
    Ok(())
}
