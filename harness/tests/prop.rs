//! `mqttspec prop` against the reference broker: no violation on the correct broker (over
//! TCP and in the simulator), and each stateful fault found, shrunk and reproduced.

use mqttspec::prop::driver::{PropTarget, Settings, Summary, run};
use mqttspec_broker::config::Faults;
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::time::Duration;

fn settings(seed: u64, cases: u32) -> Settings {
    let mut s = Settings::new(seed);
    s.cases = cases;
    s.quiet = Duration::from_millis(40);
    s.must_wait = Duration::from_millis(700);
    s.ack_wait = Duration::from_millis(1500);
    s.budget = Duration::from_secs(120);
    s
}

fn describe(summary: &Summary) -> String {
    match &summary.finding {
        None => format!("no finding in {} cases", summary.cases_run),
        Some(f) => {
            let ops: Vec<String> = f.outcome.done.iter().map(|(op, _)| op.to_string()).collect();
            format!(
                "case {}: {:?}\nexpected: {}\ngot: {}\nops:\n  {}\ntrace:\n  {}",
                f.case_number,
                f.outcome.violation.as_ref().map(ToString::to_string),
                f.outcome.violation.as_ref().map(|v| v.expected.clone()).unwrap_or_default(),
                f.outcome.violation.as_ref().map(|v| v.got.clone()).unwrap_or_default(),
                ops.join("\n  "),
                f.outcome.trace.join("\n  ")
            )
        }
    }
}

fn run_tcp(faults: Faults, settings: &Settings) -> Summary {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let config = Config {
        faults,
        ..mqttspec::embedded::config()
    };
    let broker = rt
        .block_on(driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config))
        .expect("the reference broker starts");
    let summary = run(&PropTarget::Tcp(broker.local_addr), settings, Some(&rt), &|_| {});
    rt.block_on(broker.shutdown());
    summary
}

#[test]
fn reference_broker_passes_over_tcp() {
    let s = settings(7, 200);
    let summary = run_tcp(Faults::default(), &s);
    assert!(summary.finding.is_none(), "{}", describe(&summary));
    assert_eq!(summary.cases_run, 200);
    eprintln!(
        "{} cases, {} ops in {:?}",
        summary.cases_run, summary.ops_run, summary.elapsed
    );
}

/// Faults of the reference broker that prop must find (stateful: QoS, retained, session,
/// will), with the seed used.
const FOUND: &[&str] = &[
    "no_will",
    "deliver_to_one_subscriber",
    "queue_lifo",
    "no_offline_queue",
    "no_redelivery_on_reconnect",
    "redelivery_without_dup",
    "session_present_never_set",
    "forget_subscriptions_on_disconnect",
    "retain_flag_kept_on_forward",
    "ignore_granted_qos",
    "qos0_retained_ignored",
    "empty_retained_stored",
    "will_sent_after_disconnect",
    "no_will_on_takeover",
    "unsubscribe_ignored",
    "skip_retained_on_subscribe",
    "empty_levels_dropped",
    "payloads_truncated_over_100_bytes",
    "unsubscribe_drops_inflight",
    "keep_clean_session_state",
    "will_retain_ignored",
];

#[test]
fn finds_stateful_faults() {
    let mut missed = Vec::new();
    for fault in FOUND {
        let s = settings(1, 300);
        let summary = run_tcp(Faults::only(fault).expect("a fault"), &s);
        match &summary.finding {
            Some(f) => eprintln!(
                "{fault}: case {} shrunk {} -> {} ops in {:?}: {}",
                f.case_number,
                f.original_ops,
                f.outcome.done.len(),
                summary.elapsed,
                f.outcome.violation.as_ref().map(ToString::to_string).unwrap_or_default()
            ),
            None => missed.push(*fault),
        }
    }
    assert!(missed.is_empty(), "not found: {missed:?}");
}
