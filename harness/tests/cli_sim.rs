//! `mqttspec sim` as a command: a short run prints its seed and trace hash and exits 0; a
//! workload mistake exits 2 naming file:line:column; JSON output has the accounting.

use std::process::Command;

fn sim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .arg("sim")
        .args(args)
        .output()
        .expect("run mqttspec sim")
}

#[test]
fn a_short_run_reports_and_replays() {
    let out = sim(&["--duration", "1m", "--seed", "4", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(json["seed"], 4);
    assert!(json["accounting"]["qos"][1]["delivered"].as_u64() > Some(0));
    assert!(
        json["replay"]
            .as_str()
            .is_some_and(|r| r.contains("--seed 4"))
    );
    let again = sim(&["--duration", "1m", "--seed", "4", "--format", "json"]);
    let json2: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON report");
    assert_eq!(json["trace_hash"], json2["trace_hash"]);
}

#[test]
fn a_workload_mistake_names_the_place() {
    let dir = std::env::temp_dir().join(format!("mqttspec-cli-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "name: bad\ndevices:\n  - group: g\n    count: 1\n    publish: {every: 10s, qos: 1}\n    colour: red\n",
    )
    .expect("write");
    let out = sim(&[path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:6:"), "{stderr}");
    let out = sim(&["--profile", "dialup"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
