//! The JSON Schema of the scenario format in docs/ is generated from the Rust types; this
//! test fails when the two drift apart. Regenerate with `UPDATE_SCHEMA=1 cargo test -p
//! mqttspec --test schema`.

use mqttspec::scenario::Scenario;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scenario.schema.json");

#[test]
fn committed_schema_matches_the_types() {
    let schema = schemars::schema_for!(Scenario);
    let generated = serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(PATH, &generated).expect("write the schema");
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/scenario.schema.json is out of date: run UPDATE_SCHEMA=1 cargo test -p mqttspec --test schema"
    );
}

#[test]
fn schema_knows_every_step() {
    let schema = serde_json::to_string(&schemars::schema_for!(Scenario)).expect("serialise");
    for step in [
        "open",
        "connect",
        "send",
        "expect",
        "expect_nothing",
        "expect_close",
        "disconnect",
        "drop",
        "silence",
        "sleep",
        "repeat",
        "partition",
        "hold",
        "release",
        "restart_broker",
        "scram",
    ] {
        assert!(
            schema.contains(&format!("\"{step}\"")),
            "step {step} missing from the schema"
        );
    }
}
