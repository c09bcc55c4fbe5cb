//! What the `prop` test files share: settings, running against the reference broker over
//! TCP and in the simulator, and checking that a fault is found and its reproducer replays.
#![allow(dead_code)]

use mqttspec::prop::driver::{PropTarget, Settings, Summary, run};
use mqttspec::prop::ops_v5::Version;
use mqttspec_broker::config::Faults;
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::time::Duration;

pub fn settings(seed: u64, cases: u32) -> Settings {
    let mut s = Settings::new(seed);
    s.cases = cases;
    s.quiet = Duration::from_millis(40);
    s.must_wait = Duration::from_millis(1500);
    s.ack_wait = Duration::from_millis(1500);
    s.budget = Duration::from_secs(120);
    s
}

pub fn describe(summary: &Summary) -> String {
    match &summary.finding {
        None => format!("no finding in {} cases", summary.cases_run),
        Some(f) => {
            let ops: Vec<String> = f
                .outcome
                .done
                .iter()
                .map(|(op, _)| op.to_string())
                .collect();
            format!(
                "case {}: {:?}\nexpected: {}\ngot: {}\nops:\n  {}\ntrace:\n  {}",
                f.case_number,
                f.outcome.violation.as_ref().map(ToString::to_string),
                f.outcome
                    .violation
                    .as_ref()
                    .map(|v| v.expected.clone())
                    .unwrap_or_default(),
                f.outcome
                    .violation
                    .as_ref()
                    .map(|v| v.got.clone())
                    .unwrap_or_default(),
                ops.join("\n  "),
                f.outcome.trace.join("\n  ")
            )
        }
    }
}

pub fn run_tcp(faults: Faults, settings: &Settings) -> Summary {
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
    let summary = run(
        &PropTarget::Tcp(broker.local_addr),
        settings,
        Some(&rt),
        &|_| {},
    );
    rt.block_on(broker.shutdown());
    summary
}

pub async fn replay(text: &str, faults: Faults) -> (mqttspec::engine::Verdict, Option<String>) {
    let catalogue = mqttspec::catalogue::Catalogue::builtin().expect("catalogue");
    let loaded = mqttspec::scenario::load::load_str("repro.yaml", text, &catalogue)
        .unwrap_or_else(|e| panic!("the reproducer loads: {e}\n{text}"));
    let config = Config {
        faults,
        ..mqttspec::embedded::config()
    };
    let broker = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("start the reference broker");
    let opts = mqttspec::engine::RunOptions::new(broker.local_addr, 5);
    let r = mqttspec::engine::run_scenario(&loaded, 0, &opts).await;
    broker.shutdown().await;
    let why = r
        .failure
        .as_ref()
        .map(|f| format!("{f:?}"))
        .or(r.reason.clone());
    (r.verdict, why)
}

pub fn run_sim(faults: Faults, settings: &Settings) -> Summary {
    let config = Config {
        faults,
        ..mqttspec::embedded::config()
    };
    run(&PropTarget::Sim(Box::new(config)), settings, None, &|_| {})
}

/// Finds the fault in the simulator (virtual time: fast, also while shrinking), then
/// replays the reproducer over TCP against the faulty and the correct broker.
pub fn check_fault(fault: &str, seed: u64, cases: u32) -> Result<String, String> {
    check_fault_v(fault, seed, cases, Version::V311)
}

pub fn check_fault_v(
    fault: &str,
    seed: u64,
    cases: u32,
    version: Version,
) -> Result<String, String> {
    let mut s = settings(seed, cases);
    s.version = version;
    s.clients = 3;
    s.max_ops = 16;
    // The figures in docs/prop.md were taken without partitions.
    s.network_faults = false;
    let summary = run_sim(Faults::only(fault).expect("a fault"), &s);
    let Some(f) = &summary.finding else {
        return Err(format!("{fault}: not found in {} cases", summary.cases_run));
    };
    let Some(v) = &f.outcome.violation else {
        return Err(format!("{fault}: a finding without violation"));
    };
    let text = mqttspec::prop::repro::scenario(&f.outcome.done, &f.outcome.model, v, "test");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (on_faulty, why_faulty) = rt.block_on(replay(&text, Faults::only(fault).expect("fault")));
    let (on_correct, why_correct) = rt.block_on(replay(&text, Faults::default()));
    let line = format!(
        "{fault}: case {} shrunk {} -> {} steps in {:?}: {v}; reproducer: faulty {on_faulty:?}, correct {on_correct:?}",
        f.case_number,
        f.original_ops,
        f.outcome.done.len(),
        summary.elapsed,
    );
    // `PROP_SHOW=1`: the reproducer and why it failed on the faulty broker.
    if std::env::var("PROP_SHOW").is_ok() {
        eprintln!("{text}\nfaulty: {why_faulty:?}");
    }
    if on_faulty != mqttspec::engine::Verdict::Fail || on_correct != mqttspec::engine::Verdict::Pass
    {
        return Err(format!(
            "{line}\n{text}\nfaulty: {why_faulty:?}\ncorrect: {why_correct:?}"
        ));
    }
    Ok(line)
}

/// The configuration of a hand-written case (the waits of [`settings`]): topics under
/// `t/{name}`, client ids starting with `name`.
pub fn case_config(
    endpoint: mqttspec::engine::Endpoint,
    name: &str,
    cleanup: bool,
) -> mqttspec::prop::exec::CaseConfig {
    let s = settings(1, 1);
    mqttspec::prop::exec::CaseConfig {
        endpoint,
        topic_prefix: format!("t/{name}"),
        client_prefix: name.to_owned(),
        ack_wait: s.ack_wait,
        must_wait: s.must_wait,
        quiet: s.quiet,
        username: None,
        password: None,
        cleanup,
        broker_control: None,
    }
}

/// Runs a hand-written case in the simulator against the reference broker with `fault`
/// (none when empty).
pub fn execute_in_sim(
    case: &mqttspec::prop::ops::Case,
    fault: &str,
    name: &str,
) -> mqttspec::prop::exec::CaseOutcome {
    let faults = if fault.is_empty() {
        Faults::default()
    } else {
        Faults::only(fault).expect("a fault")
    };
    let endpoint = mqttspec::engine::Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)));
    let target = PropTarget::Sim(Box::new(Config {
        faults,
        ..mqttspec::embedded::config()
    }));
    mqttspec::prop::driver::execute(&target, case, case_config(endpoint, name, false), None)
}
