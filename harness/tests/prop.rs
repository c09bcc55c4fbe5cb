//! `mqttspec prop` against the reference broker: no violation on the correct broker (over
//! TCP and in the simulator), and each stateful fault found, shrunk and reproduced.

mod common;
mod prop_support;

use common::command::mqttspec as cli;
use mqttspec::prop::driver::{PropTarget, run};
use mqttspec_broker::config::Faults;
use mqttspec_broker::{Config, driver};
use prop_support::{
    case_config, check_fault, describe, execute_in_sim, run_sim, run_tcp, settings,
};
use std::net::SocketAddr;
use std::time::Duration;

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
/// will).
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
    "keep_clean_session_state",
    "will_retain_ignored",
    // Stateful faults added for prop (the fixed suite passes them).
    "offline_queue_drops_topic_change",
    "queue_lost_on_second_resume",
    "retained_not_replaced_on_empty_level",
    // Found through the generator's in-flight-unsubscribe pattern.
    "unsubscribe_drops_inflight",
];

/// More faults of the reference broker's list that concern QoS, retained, session or will
/// semantics of 3.1.1 and that prop finds; checked in a second test (run in parallel with
/// the first).
const FOUND_MORE: &[&str] = &[
    "qos0_dup_set",
    "new_delivery_dup_set",
    "retain0_clears_retained",
    "no_pubcomp",
    "wrong_puback_packet_id",
    "session_present_always_set",
    "no_takeover",
    "forget_session_on_disconnect",
    "clean_session_ignored",
    "retained_tied_to_session",
    "session_shared_across_client_ids",
    "will_qos_ignored",
    "will_always_retained",
    "will_kept_across_connections",
    "leak_retained_on_subscribe",
    "resubscribe_skips_retained",
    "resubscribe_keeps_old_subscription",
    "unsubscribe_matches_wildcards",
    "unsubscribe_first_filter_only",
    "lossy_transport",
    "qos2_id_kept_after_pubcomp",
];

/// Faults prop reaches through the broker's packet identifiers and QoS 2 stages
/// (model/flows.rs), the PUBCOMP-holding connections, a QoS 2 PUBLISH sent twice, the
/// order against the CONNACK, idle time and keep-alive silence; and those whose reproducer
/// needed the failing CONNECT or SUBSCRIBE as a step, or a copy count. A third test.
const FOUND_FLOWS: &[&str] = &[
    "reuse_packet_id",
    "redelivery_new_packet_id",
    "no_pubrel_resend_on_reconnect",
    "dup_qos2_delivery",
    "queued_before_connack",
    "session_dropped_while_connected",
    "no_will_on_keepalive_timeout",
    "reject_duplicate_client_id",
    "subscribe_first_filter_only",
    "resubscribe_adds_duplicate",
];

/// The faults added for prop: the built-in suite does not notice them.
const NEW_STATEFUL: &[&str] = &[
    "offline_queue_drops_topic_change",
    "queue_lost_on_second_resume",
    "retained_not_replaced_on_empty_level",
];

#[test]
fn the_fixed_suite_passes_the_new_stateful_faults() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let catalogue = mqttspec::catalogue::Catalogue::builtin().expect("catalogue");
    let scenarios: Vec<std::sync::Arc<_>> = mqttspec::scenario::suite::load_embedded(&catalogue)
        .expect("the suite")
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
    for fault in NEW_STATEFUL {
        let failed = rt.block_on(async {
            let config = Config {
                faults: Faults::only(fault).expect("a fault"),
                ..mqttspec::embedded::config()
            };
            let stated = mqttspec::embedded::capabilities(&config);
            let broker = driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .expect("start");
            let mut failed = Vec::new();
            let mut tasks = tokio::task::JoinSet::new();
            let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
            for (i, s) in scenarios.iter().enumerate() {
                if s.scenario.needs_sim() {
                    continue;
                }
                let s = s.clone();
                let mut opts = mqttspec::engine::RunOptions::new(broker.local_addr, 3);
                opts.stated = Some(stated.clone());
                let sem = sem.clone();
                tasks.spawn(async move {
                    let _p = sem.acquire_owned().await;
                    let r = mqttspec::engine::run_scenario(&s, i, &opts).await;
                    (s.path.clone(), r.verdict)
                });
            }
            while let Some(r) = tasks.join_next().await {
                let (path, verdict) = r.expect("a scenario run");
                if verdict == mqttspec::engine::Verdict::Fail
                    || verdict == mqttspec::engine::Verdict::Error
                {
                    failed.push(format!("{path}: {verdict:?}"));
                }
            }
            broker.shutdown().await;
            failed
        });
        assert!(
            failed.is_empty(),
            "{fault}: the fixed suite fails: {failed:#?}"
        );
        eprintln!("{fault}: the fixed suite passes");
    }
}

/// With partitions (network faults on by default in the simulator).
#[test]
fn reference_broker_passes_in_the_simulator() {
    let s = settings(7, 300);
    assert!(s.network_faults);
    let summary = run_sim(Faults::default(), &s);
    assert!(summary.finding.is_none(), "{}", describe(&summary));
    assert_eq!(summary.cases_run, 300);
    eprintln!(
        "sim: {} cases, {} ops in {:?}",
        summary.cases_run, summary.ops_run, summary.elapsed
    );
}

#[test]
fn finds_stateful_faults() {
    check_faults(FOUND);
}

#[test]
fn finds_more_stateful_faults() {
    check_faults(FOUND_MORE);
}

#[test]
fn finds_flow_and_time_faults() {
    check_faults(FOUND_FLOWS);
}

/// `PROP_FAULT=a,b` checks only those.
fn check_faults(list: &[&str]) {
    let only = std::env::var("PROP_FAULT").ok();
    let mut problems = Vec::new();
    for fault in list {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|x| x == *fault))
        {
            continue;
        }
        match check_fault(fault, 1, 2000) {
            Ok(line) => eprintln!("{line}"),
            Err(e) => {
                eprintln!("{e}");
                problems.push(e);
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn held_message_is_redelivered() {
    use mqttspec::prop::ops::{Case, Hold, Op, Size};
    let case = Case {
        clients: 2,
        v5: 0,
        ops: vec![
            Op::Connect {
                c: 0,
                clean: false,
                will: None,
                hold: Hold::All,
                keep_alive: 60,
            },
            Op::Subscribe {
                c: 0,
                filters: vec![(0, 1)],
            },
            Op::Publish {
                c: 1,
                topic: 0,
                qos: 1,
                retain: false,
                size: Size::Small,
                count: 1,
            },
            Op::Publish {
                c: 1,
                topic: 0,
                qos: 1,
                retain: false,
                size: Size::Small,
                count: 1,
            },
            Op::Drop { c: 0 },
            Op::Publish {
                c: 1,
                topic: 0,
                qos: 1,
                retain: false,
                size: Size::Small,
                count: 1,
            },
            Op::Publish {
                c: 1,
                topic: 0,
                qos: 1,
                retain: false,
                size: Size::Small,
                count: 1,
            },
            Op::Connect {
                c: 0,
                clean: false,
                will: None,
                hold: Hold::No,
                keep_alive: 60,
            },
        ],
    };
    for fault in ["", "no_redelivery_on_reconnect", "queue_lifo"] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("rt");
        let faults = if fault.is_empty() {
            Faults::default()
        } else {
            Faults::only(fault).expect("fault")
        };
        let config = Config {
            faults,
            ..mqttspec::embedded::config()
        };
        let broker = rt
            .block_on(driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config))
            .expect("start");
        let cfg = case_config(
            mqttspec::engine::Endpoint::Tcp(broker.local_addr),
            &format!("x{}", fault.len()),
            true,
        );
        let out = mqttspec::prop::driver::execute(
            &PropTarget::Tcp(broker.local_addr),
            &case,
            cfg.clone(),
            Some(&rt),
        );
        let faults = if fault.is_empty() {
            Faults::default()
        } else {
            Faults::only(fault).expect("fault")
        };
        let sim = mqttspec::prop::driver::execute(
            &PropTarget::Sim(Box::new(Config {
                faults,
                ..mqttspec::embedded::config()
            })),
            &case,
            cfg,
            None,
        );
        eprintln!(
            "{fault}: TCP {:?}\nSIM {:?}",
            out.violation.map(|v| v.summary),
            sim.violation.map(|v| v.summary)
        );
        if fault == "queue_lifo" {
            eprintln!("{}", sim.trace.join("\n"));
        }
        rt.block_on(broker.shutdown());
    }
}

/// Median generated cases until each fault is found, over ten seeds, in the simulator
/// (docs/prop.md). Slow: `cargo test -p mqttspec --test prop -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark, minutes"]
fn bench_cases_to_find() {
    for fault in FOUND.iter().chain(FOUND_MORE).chain(FOUND_FLOWS) {
        let mut found: Vec<u32> = Vec::new();
        for seed in 1..=10 {
            let mut s = settings(seed, 2000);
            s.clients = 3;
            s.max_ops = 16;
            s.network_faults = false;
            let summary = run_sim(Faults::only(fault).expect("a fault"), &s);
            if let Some(f) = summary.finding {
                found.push(f.case_number);
            }
        }
        found.sort_unstable();
        let median = found.get(found.len() / 2).copied();
        eprintln!(
            "| `{fault}` | {}/10 | {} |",
            found.len(),
            median.map_or("-".to_owned(), |m| m.to_string())
        );
    }
}

#[test]
fn cli_prints_the_seed_and_exits_by_outcome() {
    let dir = std::env::temp_dir().join(format!("mqttspec-prop-cli-{}", std::process::id()));
    let dir_s = dir.display().to_string();
    // The simulator: no violation, exit 0, the seed printed.
    let out = cli(
        "prop",
        &[
            "--sim",
            "--cases",
            "20",
            "--seed",
            "9",
            "--reproducers",
            &dir_s,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("seed 9") && stdout.contains("seed 9"),
        "{stdout}\n{stderr}"
    );
    let out = cli(
        "prop",
        &["--sim", "--cases", "5", "--seed", "9", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["seed"], 9);
    assert!(v["finding"].is_null());
    // 5.0 clients, and an unknown version is a usage error.
    let out = cli(
        "prop",
        &["--sim", "--cases", "10", "--seed", "9", "--version", "5.0"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli("prop", &["--sim", "--cases", "1", "--version", "4"]);
    assert_eq!(out.status.code(), Some(2));
    // Unreachable: exit 3; bad usage: exit 2.
    let out = cli("prop", &["--target", "mqtt://127.0.0.1:1", "--cases", "1"]);
    assert_eq!(out.status.code(), Some(3));
    let out = cli("prop", &["--clients", "9"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_silent_broker_gives_a_finding_not_a_hang() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    rt.spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut s = settings(3, 5);
    s.ack_wait = Duration::from_millis(300);
    let summary = run(&PropTarget::Tcp(addr), &s, Some(&rt), &|_| {});
    let f = summary.finding.expect("a finding");
    let v = f.outcome.violation.expect("a violation");
    assert!(v.summary.contains("CONNACK"), "{v}");
}

/// `unsubscribe_drops_inflight`, given the sequence (the generator's in-flight-unsubscribe
/// pattern makes it; see docs/prop.md): deliveries begun go on after an UNSUBSCRIBE
/// (3.1.1/MQTT-3.10.4-3).
#[test]
fn unsubscribe_keeps_inflight_deliveries() {
    use mqttspec::prop::ops::{Case, Hold, Op, Size};
    let case = Case {
        clients: 2,
        v5: 0,
        ops: vec![
            Op::Connect {
                c: 0,
                clean: false,
                will: None,
                hold: Hold::All,
                keep_alive: 60,
            },
            Op::Subscribe {
                c: 0,
                filters: vec![(0, 1)],
            },
            Op::Publish {
                c: 1,
                topic: 0,
                qos: 1,
                retain: false,
                size: Size::Small,
                count: 1,
            },
            Op::Unsubscribe {
                c: 0,
                filters: vec![0],
            },
            Op::Drop { c: 0 },
            Op::Connect {
                c: 0,
                clean: false,
                will: None,
                hold: Hold::No,
                keep_alive: 60,
            },
        ],
    };
    for (fault, expect_violation) in [("", false), ("unsubscribe_drops_inflight", true)] {
        let out = execute_in_sim(&case, fault, "u");
        assert_eq!(
            out.violation.is_some(),
            expect_violation,
            "{fault}: {:?}",
            out.violation
        );
    }
}
