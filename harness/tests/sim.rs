//! The simulator: the same seed gives the same trace, another seed another one; a small
//! run's trace is pinned; and the checker catches each kind of violation when the reference
//! broker is built with one fault on.

use mqttspec::sim::{Profile, SimOptions, SimOutcome, ViolationKind, Workload, simulate};
use mqttspec_broker::Config;
use mqttspec_broker::config::Faults;
use std::time::Duration;

const WORKLOAD: &str = r#"
name: test fleet
devices:
  - group: meter
    count: 12
    clean_session: false
    keep_alive: 20s
    will: {qos: 1}
    publish: {every: 5s, qos: 2, payload_bytes: 32}
    reconnect: {min: 1s, max: 10s}
  - group: tracker
    count: 4
    keep_alive: 20s
    publish: {every: 7s, qos: 1, payload_bytes: 32, retain: true}
    reconnect: {min: 1s, max: 10s}
subscribers:
  - {name: a, filter: "fleet/#", qos: 2}
  - {name: b, filter: "fleet/+/data", qos: 1}
"#;

/// Fast QoS 2 publishers on persistent sessions (so that outages catch flows in flight)
/// and a subscriber on a slow link (so that messages queue behind its in-flight window).
const BUSY: &str = r#"
name: busy fleet
devices:
  - group: fast
    count: 10
    clean_session: false
    keep_alive: 20s
    publish: {every: 300ms, qos: 2, payload_bytes: 32}
    reconnect: {min: 1s, max: 10s}
subscribers:
  - {name: a, filter: "fleet/#", qos: 2}
  - {name: slow, filter: "fleet/#", qos: 1, profile: 3g}
"#;

fn run(profile: &str, seed: u64, minutes: u64, broker: Config) -> SimOutcome {
    run_workload(WORKLOAD, profile, seed, minutes, broker)
}

fn run_workload(text: &str, profile: &str, seed: u64, minutes: u64, broker: Config) -> SimOutcome {
    let workload = Workload::load_str("test.yaml", text).expect("the test workload loads");
    let opts = SimOptions {
        seed,
        duration: Duration::from_secs(60 * minutes),
        profile: Profile::named(profile).expect("profile"),
        tick: Duration::from_millis(1),
        broker,
        draw_profiles: false,
    };
    simulate(&workload, &opts).expect("the simulation runs")
}

fn faulty(name: &str) -> Config {
    Config {
        faults: Faults::only(name).expect("a known fault"),
        ..Config::default()
    }
}

fn kinds(o: &SimOutcome) -> Vec<ViolationKind> {
    let mut k: Vec<_> = o.accounting.violations.iter().map(|v| v.kind).collect();
    k.dedup();
    k
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let a = run("cellular-flaky", 11, 3, Config::default());
    let b = run("cellular-flaky", 11, 3, Config::default());
    let c = run("cellular-flaky", 12, 3, Config::default());
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.history.events, b.history.events);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn the_correct_broker_passes_a_busy_fleet_and_a_slow_subscriber() {
    let o = run_workload(BUSY, "cellular-flaky", 3, 10, Config::default());
    assert!(
        o.accounting.violations.is_empty(),
        "{:#?}",
        o.accounting.violations
    );
    assert!(o.accounting.qos[2].recovered + o.accounting.qos[1].duplicates > 0);
}

#[test]
fn the_correct_broker_passes_on_a_flaky_network() {
    let o = run("cellular-flaky", 3, 10, Config::default());
    assert!(
        o.accounting.violations.is_empty(),
        "{:#?}",
        o.accounting.violations
    );
    // The run was not trivial: outages happened, devices came back, wills were published.
    assert!(o.accounting.reconnects > 0);
    assert!(o.accounting.wills.delivered > 0);
    assert!(o.accounting.qos[1].delivered > 100 && o.accounting.qos[2].delivered > 100);
}

#[test]
fn small_run_trace_is_pinned() {
    let workload = Workload::load_str(
        "pinned.yaml",
        "name: pinned\ndevices:\n  - group: d\n    count: 2\n    keep_alive: 10s\n    will: {qos: 1}\n    publish: {every: 20s, qos: 1}\nsubscribers:\n  - {name: s, filter: \"fleet/#\", qos: 1}\n",
    )
    .expect("loads");
    let opts = SimOptions {
        seed: 5,
        duration: Duration::from_secs(60),
        profile: Profile::named("edge").expect("profile"),
        tick: Duration::from_millis(1),
        broker: Config::default(),
        draw_profiles: false,
    };
    let o = simulate(&workload, &opts).expect("runs");
    let trace: Vec<String> = o.history.events.iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!(trace.join("\n"));
}

/// Each violation kind, caught on a broker with the fault that causes it.
#[test]
fn lost_messages_are_caught() {
    let o = run("lan", 1, 2, faulty("deliver_to_one_subscriber"));
    assert!(kinds(&o).contains(&ViolationKind::Lost), "{:?}", kinds(&o));
}

#[test]
fn wrong_delivery_qos_is_caught_as_unexpected() {
    let o = run("lan", 1, 2, faulty("ignore_granted_qos"));
    assert!(
        kinds(&o).contains(&ViolationKind::Unexpected),
        "{:?}",
        kinds(&o)
    );
}

#[test]
fn out_of_order_delivery_is_caught() {
    let mut broker = faulty("queue_lifo");
    broker.max_inflight = 1;
    let o = run_workload(BUSY, "lan", 1, 1, broker);
    assert!(
        kinds(&o).contains(&ViolationKind::OutOfOrder),
        "{:?}",
        kinds(&o)
    );
}

#[test]
fn missing_wills_are_caught() {
    let o = run("cellular-flaky", 3, 10, faulty("no_will"));
    assert!(
        kinds(&o).contains(&ViolationKind::WillMissing),
        "{:?}",
        kinds(&o)
    );
}

#[test]
fn wills_after_disconnect_are_caught() {
    let o = run("lan", 1, 2, faulty("will_sent_after_disconnect"));
    assert!(
        kinds(&o).contains(&ViolationKind::WillUnexpected),
        "{:?}",
        kinds(&o)
    );
}

#[test]
fn wrong_retained_state_is_caught() {
    let o = run("lan", 1, 2, faulty("skip_retained_on_subscribe"));
    assert!(
        kinds(&o).contains(&ViolationKind::RetainedWrong),
        "{:?}",
        kinds(&o)
    );
}

#[test]
fn qos2_duplicates_are_caught() {
    let o = run_workload(BUSY, "cellular-flaky", 3, 10, faulty("dup_qos2_delivery"));
    assert!(
        kinds(&o).contains(&ViolationKind::Duplicated),
        "{:?}",
        kinds(&o)
    );
}

/// `--swarm` runs: the drawn figures are used, and the checker still catches a broker fault.
#[test]
fn drawn_profiles_are_used_and_violations_still_caught() {
    let workload = Workload::load_str("test.yaml", WORKLOAD).expect("the test workload loads");
    let named = Profile::named("cellular-flaky").expect("profile");
    let opts = SimOptions {
        seed: 3,
        duration: Duration::from_secs(600),
        profile: named.clone(),
        tick: Duration::from_millis(10),
        broker: faulty("no_will"),
        draw_profiles: true,
    };
    let o = simulate(&workload, &opts).expect("the simulation runs");
    let drawn = o.profiles.get("meter").expect("the meter group's profile");
    assert_eq!(drawn.name, "cellular-flaky");
    assert_ne!(drawn, &named, "the figures were drawn");
    assert_ne!(o.profiles.get("tracker"), Some(drawn), "one draw per group");
    assert!(
        kinds(&o).contains(&ViolationKind::WillMissing),
        "{:?}",
        kinds(&o)
    );
}

const FAULTS: &str = include_str!("../../scenarios/sim/faults.yaml");

fn run_faults(profile: &str, seed: u64, broker: Config) -> SimOutcome {
    let workload = Workload::load_str("faults.yaml", FAULTS).expect("the faults workload loads");
    let opts = SimOptions {
        seed,
        duration: Duration::from_secs(30 * 60),
        profile: Profile::named(profile).expect("profile"),
        // Coarser than the other tests' 1 ms: half an hour of a fleet, still in step with
        // every timer of the workload (the shortest is hundreds of milliseconds).
        tick: Duration::from_millis(10),
        broker,
        draw_profiles: false,
    };
    simulate(&workload, &opts).expect("the simulation runs")
}

#[test]
fn every_fault_step_happens_and_the_correct_broker_stays_clean() {
    let o = run_faults("lte", 1, Config::default());
    assert!(
        o.accounting.violations.is_empty(),
        "{:#?}",
        o.accounting.violations
    );
    let trace: Vec<String> = o.history.events.iter().map(|e| e.to_string()).collect();
    for needle in [
        "fault partition for 10.0s on meter-1",
        "fault partition for 60.0s on tracker-4",
        "fault hold on meter-1",
        "fault release on meter-1",
        "fault stall for 45.0s on meter-2",
        "fault drop on tracker-2",
        "fault reconnect storm on meter-6",
        "broker crashed",
        "broker started",
    ] {
        assert!(
            trace.iter().any(|l| l.ends_with(needle)),
            "no {needle:?} in the trace"
        );
    }
    let a = &o.accounting;
    // The 60 s partition of 4 trackers, the hold and the stall (each past 1.5 keep alive),
    // the drop of 4, the storm of 10 and the restart of 10: 30 abnormal closes on lte,
    // whose profile has no outages of its own.
    assert_eq!(a.wills.abnormal_closes, 30, "{a:#?}");
    // Each will reaches both subscribers, except the restart's 10, which the crash took.
    assert_eq!(a.wills.delivered, 40, "{a:#?}");
    assert_eq!(a.wills.lost_to_restart, 20, "{a:#?}");
    assert!(a.reconnects >= 30);
}

#[test]
fn fault_steps_replay_exactly() {
    let a = run_faults("cellular-flaky", 4, Config::default());
    let b = run_faults("cellular-flaky", 4, Config::default());
    assert_eq!(a.trace_hash, b.trace_hash);
    assert!(
        a.accounting.violations.is_empty(),
        "{:#?}",
        a.accounting.violations
    );
}

#[test]
fn fault_steps_expose_a_broker_that_drops_wills() {
    // On a LAN nothing fails but the fault steps: the missing wills are theirs.
    let o = run_faults("lan", 1, faulty("no_will"));
    assert!(
        kinds(&o).contains(&ViolationKind::WillMissing),
        "{:?}",
        kinds(&o)
    );
}

#[test]
fn a_fault_too_close_to_the_end_is_refused() {
    let workload = Workload::load_str("faults.yaml", FAULTS).expect("loads");
    let opts = SimOptions {
        seed: 1,
        duration: Duration::from_secs(20 * 60),
        profile: Profile::named("lan").expect("profile"),
        tick: Duration::from_millis(10),
        broker: Config::default(),
        draw_profiles: false,
    };
    let e = simulate(&workload, &opts).err().expect("refused");
    assert!(e.contains("lengthen --duration"), "{e}");
}
