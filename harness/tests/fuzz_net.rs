//! `mqttspec fuzz` against the reference broker: nothing found on the correct broker; each
//! fuzzing fault (crash, hang, stop accepting, keep a connection open) found with a fixed
//! seed within a bounded number of cases, and its reproducer fails when replayed against
//! the faulty broker and passes against the correct one.

use mqttspec::catalogue::Catalogue;
use mqttspec::engine::{RunOptions, Verdict, run_scenario};
use mqttspec::fuzz::kinds::Oracle;
use mqttspec::fuzz::report::FuzzReport;
use mqttspec::fuzz::{FuzzOptions, FuzzTiming, fuzz};
use mqttspec::scenario::suite;
use mqttspec_broker::config::Faults;
use mqttspec_broker::{Config, driver};
use mqttspec_codec::ProtocolVersion;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SEED: u64 = 20_261_206;

async fn broker(fault: Option<&str>) -> driver::RunningBroker {
    let faults = fault.map_or_else(Faults::default, |f| Faults::only(f).expect("a known fault"));
    let config = Config {
        faults,
        ..mqttspec::embedded::config()
    };
    driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("start the reference broker")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqttspec-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(addr: SocketAddr, cases: u64, out: Option<PathBuf>) -> FuzzOptions {
    options_for(addr, cases, out, None)
}

fn options_for(
    addr: SocketAddr,
    cases: u64,
    out: Option<PathBuf>,
    version: Option<ProtocolVersion>,
) -> FuzzOptions {
    FuzzOptions {
        addr,
        target_name: addr.to_string(),
        replay_target: Some(format!("mqtt://{addr}")),
        seed: SEED,
        budget: Duration::from_secs(60),
        max_cases: Some(cases),
        timing: FuzzTiming {
            close: Duration::from_millis(500),
            ..FuzzTiming::default()
        },
        out,
        version,
    }
}

async fn replay(path: &Path, addr: SocketAddr) -> Verdict {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let mut loaded = suite::load_files(&[path.to_path_buf()], &catalogue)
        .unwrap_or_else(|e| panic!("the reproducer loads: {e:?}"));
    let scenario = loaded.pop().expect("one scenario");
    let result = run_scenario(&scenario, 0, &RunOptions::new(addr, 5)).await;
    result.verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_broker_gives_no_findings() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let b = broker(None).await;
    let report = fuzz(&options(b.local_addr, 400, None), &catalogue, |_| {})
        .await
        .expect("the fuzzer runs");
    b.shutdown().await;
    assert_eq!(report.cases, 400);
    assert!(report.findings.is_empty(), "{}", report.text());
    assert!(report.checks.get("must-close").is_some_and(|n| *n > 100));
    assert!(report.checks.get("valid-flow").is_some_and(|n| *n > 30));
}

/// Fuzzes a broker with `fault` until the first finding of `oracle`, then replays its
/// reproducer: it must fail against a fresh faulty broker and pass against a correct one.
async fn found_and_replayed(fault: &str, oracle: Oracle, max_cases: u64) {
    found_and_replayed_in(fault, oracle, max_cases, None).await;
}

/// [`found_and_replayed`] with 5.0 cases only; the finding cites a 5.0 statement.
async fn found_and_replayed_v5(fault: &str, oracle: Oracle, max_cases: u64) -> FuzzReport {
    found_and_replayed_in(fault, oracle, max_cases, Some(ProtocolVersion::V5)).await
}

async fn found_and_replayed_in(
    fault: &str,
    oracle: Oracle,
    max_cases: u64,
    version: Option<ProtocolVersion>,
) -> FuzzReport {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let out = out_dir(fault);
    let b = broker(Some(fault)).await;
    let report = fuzz(
        &options_for(b.local_addr, max_cases, Some(out.clone()), version),
        &catalogue,
        |_| {},
    )
    .await
    .expect("the fuzzer runs");
    b.shutdown().await;
    let finding = report
        .findings
        .iter()
        .find(|f| f.oracle == oracle)
        .unwrap_or_else(|| panic!("{fault}: no {oracle:?} finding\n{}", report.text()));
    eprintln!(
        "{fault}: found at case {} ({} on {}), {} cases run, statements {:?}",
        finding.case,
        finding.mutation.name(),
        finding.packet,
        report.cases,
        finding.statements
    );
    if version == Some(ProtocolVersion::V5) {
        assert!(
            !finding.statements.is_empty()
                && finding.statements.iter().all(|s| s.starts_with("5.0/")),
            "{fault}: {:?}",
            finding.statements
        );
    }
    let path = PathBuf::from(finding.reproducer.as_deref().expect("a reproducer"));
    let faulty = broker(Some(fault)).await;
    let verdict = replay(&path, faulty.local_addr).await;
    faulty.shutdown().await;
    eprintln!("{fault}: replayed on the faulty broker: {verdict:?}");
    assert_eq!(
        verdict,
        Verdict::Fail,
        "{fault}: the reproducer does not fail on the faulty broker"
    );
    let correct = broker(None).await;
    let verdict = replay(&path, correct.local_addr).await;
    // The replay command the report prints, as a user runs it.
    let mqttspec = env!("CARGO_BIN_EXE_mqttspec");
    let status = tokio::process::Command::new(mqttspec)
        .args(["run", "--target", &format!("mqtt://{}", correct.local_addr)])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .expect("mqttspec runs");
    correct.shutdown().await;
    assert_eq!(
        status.code(),
        Some(0),
        "{fault}: `mqttspec run` of the reproducer on the correct broker"
    );
    assert_eq!(
        verdict,
        Verdict::Pass,
        "{fault}: the reproducer fails on the correct broker"
    );
    let _ = std::fs::remove_dir_all(&out);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_found_and_replays() {
    found_and_replayed("panic_on_invalid_utf8", Oracle::Liveness, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_is_found_and_replays() {
    found_and_replayed("hang_after_second_connect", Oracle::Liveness, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_stops_accepting_is_found_and_replays() {
    found_and_replayed("stop_accepting_after_server_packet", Oracle::Liveness, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_kept_open_is_found_and_replays() {
    found_and_replayed("reserved_flags_keep_connection", Oracle::MustClose, 200).await;
}

#[test]
fn the_command_line_fuzzes_the_embedded_broker() {
    let out = out_dir("cli");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .args([
            "fuzz", "--seed", "3", "--cases", "40", "--budget", "30s", "--format", "json", "--out",
        ])
        .arg(&out)
        .output()
        .expect("mqttspec runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the report is JSON");
    assert_eq!(report["cases"], 40);
    assert_eq!(report["seed"], 3);
    assert!(report["findings"].as_array().is_some_and(Vec::is_empty));
    assert!(out.join("report.json").exists() && out.join("report.txt").exists());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seed 3"), "{stderr}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .args(["fuzz", "--budget", "ten minutes"])
        .output()
        .expect("mqttspec runs");
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&out);
}

/// The reproducers published for Mosquitto (reports/mosquitto-2.0-fuzz/findings, and
/// reports/mosquitto-2.0-fuzz-5.0/findings for the 5.0 run) pass on the
/// correct reference broker: what fails there is Mosquitto's, not the files'. (Their
/// SUBSCRIBE packets are raw bytes; the engine counts them as the scenario's subscriptions.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_reproducers_pass_on_the_reference_broker() {
    let reports = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../reports");
    let mut files: Vec<PathBuf> = [
        "mosquitto-2.0-fuzz/findings",
        "mosquitto-2.0-fuzz-5.0/findings",
    ]
    .iter()
    .flat_map(|d| std::fs::read_dir(reports.join(d)).expect("a findings folder"))
    .filter_map(|e| e.ok().map(|e| e.path()))
    .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
    .collect();
    files.sort();
    assert!(!files.is_empty());
    let b = broker(None).await;
    for path in &files {
        let verdict = replay(path, b.local_addr).await;
        assert_eq!(verdict, Verdict::Pass, "{}", path.display());
    }
    b.shutdown().await;
}

/// `--flood` with short phases: the reference broker stays up and serves the healthy
/// client through slowloris, a 256 MiB remaining length, a connection storm and a
/// subscriber that does not read; its memory (this process's) is sampled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_leaves_the_reference_broker_serving() {
    let b = broker(None).await;
    let report = mqttspec::fuzz::flood::run(
        b.local_addr,
        "the embedded reference broker",
        Some(std::process::id()),
        "this process".to_owned(),
        Duration::from_secs(1),
    )
    .await;
    b.shutdown().await;
    assert!(report.passed, "{}", report.text());
    assert_eq!(report.phases.len(), 6);
    assert!(report.phases.iter().all(|p| p.peak_rss_kib.is_some()));
    let huge = &report.phases[2];
    assert!(
        huge.notes.iter().all(|n| n.contains("the broker closed")),
        "{:?}",
        huge.notes
    );
}

/// The valid-flow oracle: a broker that never answers PINGREQ (fault `no_pingresp`) leaves
/// a valid flow written differently without its PINGRESP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_reply_to_a_valid_flow_is_found_and_replays() {
    found_and_replayed("no_pingresp", Oracle::ValidFlow, 20).await;
}

/// 5.0 cases only: nothing found on the correct broker, and the 5.0 oracles (must-close,
/// valid flows with properties, aliases and reason codes) judged enough cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_broker_gives_no_findings_in_5_0() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let b = broker(None).await;
    let report = fuzz(
        &options_for(b.local_addr, 400, None, Some(ProtocolVersion::V5)),
        &catalogue,
        |_| {},
    )
    .await
    .expect("the fuzzer runs");
    b.shutdown().await;
    assert_eq!(report.cases, 400);
    assert!(report.findings.is_empty(), "{}", report.text());
    assert!(report.checks.get("must-close").is_some_and(|n| *n > 100));
    assert!(report.checks.get("valid-flow").is_some_and(|n| *n > 30));
    assert!(
        report.coverage.contains_key("AUTH"),
        "{:?}",
        report.coverage.keys()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_invalid_utf8_in_properties_kept_open_is_found_and_replays() {
    found_and_replayed_v5("accept_invalid_utf8_in_properties", Oracle::MustClose, 600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_subscription_identifier_from_client_kept_open_is_found_and_replays() {
    found_and_replayed_v5(
        "subscription_identifier_from_client_accepted",
        Oracle::MustClose,
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_wildcard_response_topic_kept_open_is_found_and_replays() {
    // The fault makes the broker's decoder lenient, so the first finding may be another
    // malformation it lets through; the wildcard Response Topic itself is among them.
    let report =
        found_and_replayed_v5("wildcard_response_topic_accepted", Oracle::MustClose, 600).await;
    assert!(
        report.findings.iter().any(|f| f.oracle == Oracle::MustClose
            && f.statements.contains(&"5.0/MQTT-3.3.2-14".to_owned())),
        "{}",
        report.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_topic_alias_over_maximum_kept_open_is_found_and_replays() {
    found_and_replayed_v5("invalid_topic_alias_accepted", Oracle::MustClose, 600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_open_after_server_disconnect_is_found_and_replays() {
    found_and_replayed_v5("no_close_after_server_disconnect", Oracle::MustClose, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_crash_is_found_and_replays() {
    found_and_replayed_v5("panic_on_invalid_utf8", Oracle::Liveness, 200).await;
}

/// `--version 5.0` fuzzes with 5.0 cases only (AUTH and 5.0 properties appear in the
/// coverage), cleanly on the reference broker; an unknown version is a usage error.
#[test]
fn the_command_line_fuzzes_in_5_0() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .args([
            "fuzz",
            "--seed",
            "42",
            "--cases",
            "150",
            "--budget",
            "60s",
            "--format",
            "json",
            "--version",
            "5.0",
        ])
        .output()
        .expect("mqttspec runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the report is JSON");
    assert_eq!(report["cases"], 150);
    assert!(report["findings"].as_array().is_some_and(Vec::is_empty));
    let coverage = report["coverage"].as_object().expect("coverage");
    let kinds: Vec<&str> = coverage
        .values()
        .filter_map(|v| v.as_object())
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    assert!(kinds.contains(&"property-edge"), "{kinds:?}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .args(["fuzz", "--version", "4.0"])
        .output()
        .expect("mqttspec runs");
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_packet_after_server_disconnect_is_found_and_replays() {
    found_and_replayed_v5(
        "packets_after_server_disconnect",
        Oracle::AfterDisconnect,
        200,
    )
    .await;
}
