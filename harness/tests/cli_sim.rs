//! `mqttspec sim` as a command: a short run prints its seed and trace hash and exits 0; a
//! workload mistake exits 2 naming file:line:column; JSON output has the accounting.

mod common;

fn sim(args: &[&str]) -> std::process::Output {
    common::command::mqttspec("sim", args)
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

/// `--swarm`: each seed draws its own figures within the profile's ranges, and the replay
/// command of one seed gives that seed's run again, figures and trace alike.
#[test]
fn a_swarm_draws_per_seed_and_each_seed_replays() {
    let common = ["--duration", "2m", "--tick", "10ms", "--format", "json"];
    let out = sim(&[&common[..], &["--seed", "30", "--swarm", "2"]].concat());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let runs = json["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["seed"].as_u64(), runs[1]["seed"].as_u64()),
        (Some(30), Some(31))
    );
    assert_ne!(
        runs[0]["profiles"], runs[1]["profiles"],
        "each seed draws its figures"
    );
    assert_ne!(runs[0]["trace_hash"], runs[1]["trace_hash"]);
    let meter = &runs[1]["profiles"]["meter"];
    assert_eq!(meter["name"], "cellular-flaky");
    assert_ne!(
        meter["delay_ms"].as_f64(),
        Some(100.0),
        "figures are drawn, not nominal"
    );
    let replay = runs[1]["replay"].as_str().expect("replay command");
    assert!(
        replay.contains("--seed 31") && replay.contains("--swarm 1"),
        "{replay}"
    );
    let again = sim(&[&common[..], &["--seed", "31", "--swarm", "1"]].concat());
    let json2: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON report");
    assert_eq!(json2["runs"][0]["profiles"], runs[1]["profiles"]);
    assert_eq!(json2["runs"][0]["trace_hash"], runs[1]["trace_hash"]);
    // A plain run of the same seed keeps the named figures, so it is another run.
    let plain = sim(&[&common[..], &["--seed", "31"]].concat());
    let json3: serde_json::Value = serde_json::from_slice(&plain.stdout).expect("JSON report");
    assert_eq!(json3["profiles"]["meter"]["delay_ms"].as_f64(), Some(100.0));
    assert_ne!(json3["trace_hash"], runs[1]["trace_hash"]);
}

#[test]
fn a_swarm_refuses_a_single_trace_file() {
    let out = sim(&["--swarm", "2", "--trace", "/dev/null"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = sim(&["--swarm", "0"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
