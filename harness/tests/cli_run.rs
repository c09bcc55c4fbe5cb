//! `mqttspec run` as a user meets it against brokers that cannot be judged (credentials
//! needed, another protocol version), and the reports of a failure: the rerun command works
//! from any directory with the same target and user, the password never appears (not in
//! decoded packets, not in hex), the scenario's reasoning is shown, and the trace is in
//! causal order.

use mqttspec_broker::auth::Users;
use mqttspec_broker::config::{Anonymous, Faults};
use mqttspec_broker::{Config, driver};
use std::net::SocketAddr;
use std::process::{Command, Output};

const SCENARIO: &str = "ping/pingreq-gets-pingresp";
const PASSWORD: &str = "s3cr3t-pw";

fn mqttspec(args: &[&str], dir: Option<&std::path::Path>, password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mqttspec"));
    cmd.args(args).env_remove("MQTTSPEC_PASSWORD");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    if let Some(p) = password {
        cmd.env("MQTTSPEC_PASSWORD", p);
    }
    cmd.output().expect("run mqttspec")
}

async fn broker(config: Config) -> driver::RunningBroker {
    driver::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("the reference broker starts")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `mqttspec run` off the async runtime's threads.
async fn run(args: Vec<String>, dir: Option<std::path::PathBuf>, pw: Option<&str>) -> Output {
    let pw = pw.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        mqttspec(&refs, dir.as_deref(), pw.as_deref())
    })
    .await
    .expect("the command ran")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_wants_credentials_is_told_once() {
    let b = broker(Config {
        allow_anonymous: Anonymous::Never,
        ..Config::default()
    })
    .await;
    let target = format!("mqtt://{}", b.local_addr);
    let o = run(
        args(&["run", "--target", &target, "--seed", "1"]),
        None,
        None,
    )
    .await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}\n{err}");
    assert!(err.contains("--username"), "{err}");
    assert!(err.contains("MQTTSPEC_PASSWORD"), "{err}");
    assert!(out.is_empty(), "no report of 120 identical failures: {out}");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_from_the_environment_is_used_and_a_wrong_one_explained() {
    let line = mqttspec_broker::auth::password::hash_line("bob", PASSWORD.as_bytes(), b"salt", 10)
        .expect("a users-file line");
    let b = broker(Config {
        allow_anonymous: Anonymous::Never,
        users: Some(Users::parse(&line).expect("users")),
        ..Config::default()
    })
    .await;
    let target = format!("mqtt://{}", b.local_addr);
    let ok = args(&[
        "run",
        "--target",
        &target,
        "--username",
        "bob",
        "--filter",
        "ping",
        "--seed",
        "1",
    ]);
    let o = run(ok.clone(), None, Some(PASSWORD)).await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let o = run(ok, None, Some("wrong")).await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}\n{err}");
    assert!(err.contains("user name or password"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password is never printed: {err}"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_does_not_answer_3_1_1_is_named() {
    // Accepts TCP and reads, never answers: what a 5.0-only broker does to a 3.1.1 CONNECT.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let target = format!("mqtt://{addr}");
    let o = run(
        args(&[
            "run",
            "--target",
            &target,
            "--seed",
            "1",
            "--timeout",
            "500ms",
        ]),
        None,
        None,
    )
    .await;
    server.abort();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}\n{err}");
    assert!(err.contains("does not answer MQTT 3.1.1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_report_reruns_from_anywhere_and_hides_the_password() {
    let b = broker(Config {
        faults: Faults::only("no_pingresp").expect("fault"),
        ..Config::default()
    })
    .await;
    let target = format!("mqtt://{}", b.local_addr);
    let base = args(&[
        "run",
        SCENARIO,
        "--target",
        &target,
        "--username",
        "bob",
        "--seed",
        "9",
    ]);
    let o = run(base.clone(), None, Some(PASSWORD)).await;
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    // The rerun command: the built-in name, the target, the user, the seed; no password.
    let rerun_line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("rerun: "))
        .unwrap_or_else(|| panic!("a rerun line in {out}"))
        .to_owned();
    assert_eq!(
        rerun_line,
        format!("mqttspec run {SCENARIO} --target {target} --username bob --seed 9")
    );
    assert!(out.contains("MQTTSPEC_PASSWORD"), "{out}");
    // The scenario's reasoning is in the report.
    assert!(out.contains("why the scenario expects this:"), "{out}");
    assert!(out.contains("PINGREQ"), "{out}");
    // From another directory, the rerun command fails the same way.
    let elsewhere = std::env::temp_dir();
    let words: Vec<String> = rerun_line
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect();
    let o = run(words, Some(elsewhere), Some(PASSWORD)).await;
    let (again, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{again}\n{err}");
    assert!(again.contains(SCENARIO), "{again}");
    // The JSON report: no password in any form, the CONNECT's password bytes masked.
    let mut json_args = base;
    json_args.extend(args(&["--format", "json"]));
    let o = run(json_args, None, Some(PASSWORD)).await;
    let (json, _) = text(&o);
    let hex: Vec<String> = PASSWORD.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!json.contains(PASSWORD), "{json}");
    assert!(
        !json.contains(&hex.join(" ")),
        "password bytes in a hex dump: {json}"
    );
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let scenario = &report["scenarios"][0];
    assert!(
        scenario["description"]
            .as_str()
            .is_some_and(|d| d.contains("PINGRESP"))
    );
    let trace = scenario["trace"].as_array().expect("a trace");
    let connect = trace
        .iter()
        .find(|e| {
            e["decoded"]
                .as_str()
                .is_some_and(|d| d.starts_with("CONNECT"))
        })
        .expect("the CONNECT in the trace");
    let masked = vec!["**"; PASSWORD.len()].join(" ");
    assert!(
        connect["hex"]
            .as_str()
            .is_some_and(|h| h.ends_with(&masked)),
        "{connect}"
    );
    assert!(
        connect["decoded"]
            .as_str()
            .is_some_and(|d| d.contains("username=\"bob\"") && d.contains("password=…")),
        "{connect}"
    );
    // Causal order: each client's CONNECT is listed before the CONNACK that answers it.
    let position = |what: &str, dir: &str| {
        trace
            .iter()
            .position(|e| {
                e["direction"] == dir && e["decoded"].as_str().is_some_and(|d| d.starts_with(what))
            })
            .unwrap_or_else(|| panic!("{what} {dir} in the trace"))
    };
    assert!(position("CONNECT", "sent") < position("CONNACK", "received"));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_name_alone_is_sent_without_a_password() {
    let b = broker(Config {
        faults: Faults::only("no_pingresp").expect("fault"),
        ..Config::default()
    })
    .await;
    let target = format!("mqtt://{}", b.local_addr);
    let o = run(
        args(&[
            "run",
            SCENARIO,
            "--target",
            &target,
            "--username",
            "solo",
            "--seed",
            "2",
            "--format",
            "json",
        ]),
        None,
        None,
    )
    .await;
    let (json, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{json}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let connect = report["scenarios"][0]["trace"]
        .as_array()
        .expect("a trace")
        .iter()
        .find(|e| {
            e["decoded"]
                .as_str()
                .is_some_and(|d| d.starts_with("CONNECT"))
        })
        .expect("a CONNECT")
        .clone();
    let decoded = connect["decoded"].as_str().unwrap_or_default();
    assert!(decoded.contains("username=\"solo\""), "{decoded}");
    assert!(!decoded.contains("password"), "{decoded}");
    b.shutdown().await;
}
