//! A mistake in a scenario file is reported with file:line:column, the source line and a
//! caret, and nothing runs.

use mqttspec::catalogue::Catalogue;
use mqttspec::scenario::load_str;

fn error(text: &str) -> String {
    let catalogue = Catalogue::builtin().expect("catalogue");
    match load_str("scenarios/x.yaml", text, &catalogue) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = "name: n\nstatements: [3.1.1/MQTT-3.12.4-1]\nversion: \"3.1.1\"\nsteps:\n";

#[test]
fn unknown_field() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}  - connect: {{client: a, keepalive: 3}}\n"
    )));
}

#[test]
fn unknown_step() {
    insta::assert_snapshot!(error(&format!("{HEAD}  - conect: {{client: a}}\n")));
}

#[test]
fn duration_without_unit() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}  - connect: {{client: a}}\n  - sleep: 5\n"
    )));
}

#[test]
fn client_used_before_it_exists() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}  - send: {{client: b, packet: pingreq}}\n"
    )));
}

#[test]
fn statement_not_in_catalogue() {
    let text = "name: n\nstatements: [3.1.1/MQTT-9.9.9-9]\nversion: \"3.1.1\"\nsteps:\n  - connect: {client: a}\n";
    insta::assert_snapshot!(error(text));
}

#[test]
fn statement_of_the_other_version() {
    let text = "name: n\nstatements: [5.0/MQTT-3.12.4-1]\nversion: \"3.1.1\"\nsteps:\n  - connect: {client: a}\n";
    let e = error(text);
    assert!(e.contains("scenarios/x.yaml:2:"), "{e}");
}

#[test]
fn bad_hex() {
    insta::assert_snapshot!(error(&format!(
        "{HEAD}  - connect: {{client: a}}\n  - send: {{client: a, hex: \"3g\"}}\n"
    )));
}

#[test]
fn expect_needs_one_pattern() {
    let e = error(&format!(
        "{HEAD}  - connect: {{client: a}}\n  - expect: {{client: a}}\n"
    ));
    assert!(e.contains("scenarios/x.yaml:6:5"), "{e}");
    assert!(e.contains("exactly one of"), "{e}");
}

#[test]
fn valid_file_loads() {
    let catalogue = Catalogue::builtin().expect("catalogue");
    let text = format!(
        "{HEAD}  - connect: {{client: a}}\n  - send: {{client: a, packet: pingreq}}\n  - expect: {{client: a, packet: pingresp}}\n"
    );
    let loaded = load_str("scenarios/x.yaml", &text, &catalogue).expect("loads");
    assert_eq!(loaded.scenario.steps.len(), 3);
    assert_eq!(loaded.scenario.steps[2].referenced.line(), 7);
}

#[test]
fn network_fault_steps_check_their_client_and_duration() {
    let e = error(&format!("{HEAD}  - connect: {{client: a}}\n  - hold: b\n"));
    assert!(
        e.contains("scenarios/x.yaml:6:") && e.contains("client `b`"),
        "{e}"
    );
    let e = error(&format!(
        "{HEAD}  - connect: {{client: a}}\n  - partition: {{client: a, for: 0s}}\n"
    ));
    assert!(e.contains("must be longer than 0"), "{e}");
    let e = error(&format!("{HEAD}  - restart_broker: {{down: 2}}\n"));
    assert!(e.contains("scenarios/x.yaml:5:"), "{e}");
}

#[test]
fn scram_steps_are_checked() {
    let v5 = "name: n\nstatements: [5.0/MQTT-4.12.0-2]\nversion: \"5.0\"\nsteps:\n";
    let cases = [
        (
            format!("{HEAD}  - scram: {{client: a, send: connect}}\n"),
            "exists only in MQTT 5.0",
        ),
        (
            format!("{v5}  - scram: {{client: a, send: connect, verify: true}}\n"),
            "exactly one of `send` and `verify`",
        ),
        (
            format!("{v5}  - scram: {{client: a, send: final}}\n"),
            "used before an `open` or `connect`",
        ),
        (
            format!("{v5}  - scram: {{client: a, send: connect, wrong_password: true}}\n"),
            "`wrong_password` goes with `send: final`",
        ),
        (
            format!(
                "{v5}  - scram: {{client: a, send: connect, connect: {{properties: {{authentication_method: X}}}}}}\n"
            ),
            "sets the Authentication Method and Data itself",
        ),
        (
            format!("{v5}  - scram: {{client: a, send: connect, flags: 1}}\n"),
            "a CONNECT's go in `connect`",
        ),
    ];
    for (text, want) in cases {
        let e = error(&text);
        assert!(e.contains(want), "{text}\n{e}");
    }
    let catalogue = Catalogue::builtin().expect("catalogue");
    let ok = format!(
        "{v5}  - scram: {{client: a, send: connect, connect: {{clean_session: false}}}}\n  - scram: {{client: a, send: final, flags: 1}}\n  - scram: {{client: a, verify: true}}\n"
    );
    load_str("scenarios/x.yaml", &ok, &catalogue).expect("a valid scram script loads");
}
