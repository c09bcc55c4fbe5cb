//! `mqttspec sim --target`: the fleet in real time against brokers over TCP on loopback.
//! Mosquitto and the reference broker both pass the smoke workload with its faults played
//! out (closes, wills, reconnects, retained state); a reference broker with a test-only
//! fault is caught; an unreachable target exits 3, a broker that freezes mid-run fails the
//! run with a reason, and a workload with a broker restart is refused (exit 2). Each run
//! takes under a minute of wall time.

mod common;

use mqttspec::sim::realtime::{self, RealError, RealOptions, RealOutcome};
use mqttspec::sim::{Profile, ViolationKind, Workload};
use mqttspec_broker::Config;
use mqttspec_broker::config::Faults;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SMOKE: &str = include_str!("../../scenarios/sim/target-smoke.yaml");
const SMOKE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../scenarios/sim/target-smoke.yaml"
);

/// Three devices with wills whose connections are dropped early: the wills are owed.
const DROPS: &str = r#"
name: drops
devices:
  - group: d
    count: 3
    clean_session: false
    keep_alive: 5s
    will: {qos: 1}
    publish: {every: 300ms, qos: 1, payload_bytes: 32}
    reconnect: {min: 200ms, max: 1s}
    profile: lan
subscribers:
  - {name: a, filter: "fleet/#", qos: 1}
faults:
  - drop: {at: 2s, group: d}
"#;

fn sim(args: &[&str]) -> std::process::Output {
    common::command::mqttspec("sim", args)
}

fn run_lib(text: &str, addr: SocketAddr, seconds: u64) -> Result<RealOutcome, RealError> {
    let workload = Workload::load_str("test.yaml", text).expect("the workload loads");
    let opts = RealOptions {
        addr,
        seed: 1,
        duration: Duration::from_secs(seconds),
        profile: Profile::named("lan").expect("profile"),
        tag: format!("t{}", std::process::id()),
    };
    realtime::run(&workload, &opts)
}

/// The reference broker in-process on a loopback port, on its own runtime.
struct RefBroker {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
}

fn reference_broker(config: Config) -> RefBroker {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let broker = runtime
        .block_on(mqttspec_broker::driver::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            config,
        ))
        .expect("the broker starts");
    let addr = broker.local_addr;
    // Stopped with the runtime when the test ends.
    std::mem::forget(broker);
    RefBroker { runtime, addr }
}

/// What a correct broker must show on the smoke workload, whatever the timing.
fn assert_smoke_accounting(json: &serde_json::Value) {
    let a = &json["accounting"];
    assert_eq!(a["violations"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["problems"], serde_json::json!([]), "{json:#}");
    assert_eq!(json["deterministic"], false);
    for q in 0..3 {
        let c = &a["qos"][q];
        assert!(c["published"].as_u64() > Some(50), "qos {q}: {c}");
        assert!(c["delivered"].as_u64() > Some(50), "qos {q}: {c}");
        assert_eq!(c["lost"], 0, "qos {q}: {c}");
    }
    assert_eq!(a["qos"][0]["duplicates"], 0);
    assert_eq!(a["qos"][2]["duplicates"], 0);
    // QoS 1 and 2 publishers got their acknowledgements, and in the end the subscribers
    // got (nearly) every message: only flows cut by a fault may stay unknown.
    let q1 = &a["qos"][1];
    assert!(q1["acked"].as_u64() >= Some(q1["published"].as_u64().unwrap_or(0) * 9 / 10));
    // The drop and the storm alone close 11 connections of devices with wills (10 if a
    // device happens to be between connections at the storm); the partition, hold and
    // stall add more when the broker notices them in time.
    let w = &a["wills"];
    assert!(w["abnormal_closes"].as_u64() >= Some(10), "{w}");
    // Each will reaches `backend` and `dashboard`.
    assert!(w["delivered"].as_u64() >= Some(20), "{w}");
    assert_eq!(w["missing"], 0);
    assert!(a["reconnects"].as_u64() >= Some(10), "{a}");
    assert_eq!(a["retained_topics_checked"], 3);
}

#[test]
fn mosquitto_passes_the_smoke_workload_in_real_time() {
    let broker = common::mosquitto::Mosquitto::start();
    let url = format!("mqtt://{}", broker.addr);
    let out = sim(&[
        SMOKE_PATH,
        "--target",
        &url,
        "--duration",
        "40s",
        "--seed",
        "7",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}): {out:?}"));
    assert_smoke_accounting(&json);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json["target"], url.as_str());
    assert!(
        json["prefix"]
            .as_str()
            .is_some_and(|p| p.starts_with("mqttspec-sim/"))
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the timing does not"));
}

#[test]
fn the_reference_broker_passes_the_smoke_workload_over_tcp() {
    let broker = reference_broker(Config::default());
    let o = run_lib(SMOKE, broker.addr, 40).expect("the run completes");
    // The same checks as for Mosquitto, on the same JSON shape.
    let json = serde_json::json!({
        "accounting": o.accounting,
        "problems": o.problems,
        "deterministic": false,
    });
    assert_smoke_accounting(&json);
    // Names on the wire were prefixed, and unprefixed in the history.
    assert!(o.prefix.starts_with("mqttspec-sim/t"));
    let trace: Vec<String> = o.history.events.iter().map(|e| e.to_string()).collect();
    assert!(trace.iter().any(|l| l.contains(" fleet/meter-1/data q1")));
    assert!(!trace.iter().any(|l| l.contains("mqttspec-sim/")));
    drop(broker.runtime);
}

#[test]
fn a_broker_that_drops_wills_is_caught_over_tcp() {
    let broker = reference_broker(Config {
        faults: Faults::only("no_will").expect("a known fault"),
        ..Config::default()
    });
    let o = run_lib(DROPS, broker.addr, 20).expect("the run completes");
    let missing = o
        .accounting
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::WillMissing)
        .count();
    assert_eq!(missing, 3, "{:#?}", o.accounting.violations);
    assert!(o.problems.is_empty(), "{:?}", o.problems);
}

#[test]
fn a_broker_that_loses_messages_is_caught_over_tcp() {
    let broker = reference_broker(Config {
        faults: Faults::only("deliver_to_one_subscriber").expect("a known fault"),
        ..Config::default()
    });
    let two_subscribers = DROPS.replace(
        "  - {name: a, filter: \"fleet/#\", qos: 1}\n",
        "  - {name: a, filter: \"fleet/#\", qos: 1}\n  - {name: b, filter: \"fleet/+/data\", qos: 1}\n",
    );
    let o = run_lib(&two_subscribers, broker.addr, 20).expect("the run completes");
    assert!(
        o.accounting
            .violations
            .iter()
            .any(|v| v.kind == ViolationKind::Lost),
        "{:#?}",
        o.accounting.violations
    );
}

#[test]
fn an_unreachable_or_silent_target_exits_3_quickly() {
    // Nothing listens on the port of a listener just closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = Instant::now();
    let out = sim(&[
        "--target",
        &format!("mqtt://127.0.0.1:{port}"),
        "--duration",
        "1m",
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not usable"));
    // A broker that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    let out = sim(&["--target", &format!("mqtt://{addr}"), "--duration", "1m"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no CONNACK"));
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(silent);
}

#[test]
fn a_workload_with_a_broker_restart_is_refused() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/sim/faults.yaml");
    let out = sim(&[path, "--target", "mqtt://127.0.0.1:1", "--duration", "30m"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("restart_broker"));
    let out = sim(&["--target", "http://example", "--duration", "1m"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// Forwards to `upstream` until `frozen`, then passes nothing either way and answers no
/// new connection, keeping every socket open: a broker that hangs.
async fn freezing_proxy(upstream: SocketAddr, frozen: Arc<AtomicBool>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((client, _)) = listener.accept().await {
            if frozen.load(Ordering::SeqCst) {
                held.push(client);
                continue;
            }
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pipe(cr, sw, frozen.clone()));
            tokio::spawn(pipe(sr, cw, frozen.clone()));
        }
    });
    addr
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if frozen.load(Ordering::SeqCst) {
            // Hold both sockets open, pass nothing.
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

#[test]
fn a_broker_that_freezes_mid_run_fails_the_run_without_hanging() {
    let broker = reference_broker(Config::default());
    let frozen = Arc::new(AtomicBool::new(false));
    let proxy = broker
        .runtime
        .block_on(freezing_proxy(broker.addr, frozen.clone()));
    let flag = frozen.clone();
    let freezer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(8));
        flag.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    let no_faults = DROPS.replace("faults:\n  - drop: {at: 2s, group: d}\n", "");
    let o = run_lib(&no_faults, proxy, 15).expect("the run completes");
    let _ = freezer.join();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(
        o.problems
            .iter()
            .any(|p| p.contains("did not finish the run connected")),
        "{:?}",
        o.problems
    );
}
