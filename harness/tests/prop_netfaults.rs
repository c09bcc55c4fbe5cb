//! `mqttspec prop`'s network faults in the simulator against the reference broker: a
//! broker restart, which may lose state, and a held connection, whose copies are judged at
//! its release.

use mqttspec::prop::driver::PropTarget;
use mqttspec_broker::Config;
use mqttspec_broker::config::Faults;
use std::net::SocketAddr;
use std::time::Duration;

/// The waits of harness/tests/prop.rs.
struct Waits {
    ack_wait: Duration,
    must_wait: Duration,
    quiet: Duration,
}

fn settings(_seed: u64, _cases: u32) -> Waits {
    Waits {
        ack_wait: Duration::from_millis(1500),
        must_wait: Duration::from_millis(1500),
        quiet: Duration::from_millis(40),
    }
}

/// A broker restart in the simulator (the reference broker keeps nothing): the model allows
/// the lost session, retained message and queued message, and the case goes on with new
/// connections; Session Present 0 after it.
#[test]
fn broker_restart_in_the_simulator_is_allowed_to_lose_state() {
    use mqttspec::prop::exec::{CaseConfig, Done};
    use mqttspec::prop::ops::{Case, Hold, Op, Size};
    let publish = |retain| Op::Publish {
        c: 1,
        topic: 0,
        qos: 1,
        retain,
        size: Size::Small,
        count: 1,
    };
    let case = Case {
        v5: 0,
        clients: 2,
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
            publish(true),
            Op::Restart { c: 0, ms: 300 },
            publish(false),
            Op::Connect {
                c: 0,
                clean: false,
                will: None,
                hold: Hold::No,
                keep_alive: 60,
            },
            Op::Subscribe {
                c: 0,
                filters: vec![(0, 1)],
            },
            publish(false),
        ],
    };
    let s = settings(1, 1);
    let cfg = CaseConfig {
        endpoint: mqttspec::engine::Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
        topic_prefix: "t/r".into(),
        client_prefix: "r".into(),
        ack_wait: s.ack_wait,
        must_wait: s.must_wait,
        quiet: s.quiet,
        username: None,
        password: None,
        cleanup: false,
        broker_control: None,
    };
    let target = PropTarget::Sim(Box::new(mqttspec::embedded::config()));
    let out = mqttspec::prop::driver::execute(&target, &case, cfg, None);
    assert!(
        out.violation.is_none(),
        "{:?}\n{}",
        out.violation,
        out.trace.join("\n")
    );
    assert!(
        out.done
            .iter()
            .any(|(_, d)| matches!(d, Done::Restart { .. }))
    );
    let resumed: Vec<bool> = out
        .done
        .iter()
        .filter_map(|(_, d)| match d {
            Done::Connect {
                slot: 0,
                session_present,
                ..
            } => Some(*session_present),
            _ => None,
        })
        .collect();
    assert_eq!(
        resumed,
        vec![false, false],
        "the reference broker keeps nothing"
    );
    assert_eq!(out.ops_run, case.ops.len());
}

/// A held connection (simulator): what it must receive is not demanded while held, comes
/// after the release, and is judged then.
#[test]
fn held_connection_gets_its_copies_after_the_release() {
    use mqttspec::prop::exec::{CaseConfig, Done};
    use mqttspec::prop::ops::{Case, Hold, Op, Size};
    let case = Case {
        v5: 0,
        clients: 2,
        ops: vec![
            Op::Connect {
                c: 0,
                clean: false,
                will: None,
                hold: Hold::No,
                keep_alive: 60,
            },
            Op::Subscribe {
                c: 0,
                filters: vec![(0, 2)],
            },
            Op::Hold { c: 0 },
            Op::Publish {
                c: 1,
                topic: 0,
                qos: 2,
                retain: false,
                size: Size::Small,
                count: 3,
            },
            Op::Idle { c: 0, ms: 1500 },
            Op::Release { c: 0 },
        ],
    };
    for (fault, violation) in [("", false), ("lossy_transport", true)] {
        let faults = if fault.is_empty() {
            Faults::default()
        } else {
            Faults::only(fault).expect("fault")
        };
        let s = settings(1, 1);
        let cfg = CaseConfig {
            endpoint: mqttspec::engine::Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 0))),
            topic_prefix: "t/h".into(),
            client_prefix: "h".into(),
            ack_wait: s.ack_wait,
            must_wait: s.must_wait,
            quiet: s.quiet,
            username: None,
            password: None,
            cleanup: false,
            broker_control: None,
        };
        let target = PropTarget::Sim(Box::new(Config {
            faults,
            ..mqttspec::embedded::config()
        }));
        let out = mqttspec::prop::driver::execute(&target, &case, cfg, None);
        assert_eq!(
            out.violation.is_some(),
            violation,
            "{fault}: {:?}\n{}",
            out.violation,
            out.trace.join("\n")
        );
        if !violation {
            assert!(out.done.iter().any(|(_, d)| matches!(d, Done::Hold { .. })));
            let to_c0 = out.observed.iter().filter(|x| x.slot == 0).count();
            assert_eq!(to_c0, 3, "{fault}");
        }
    }
}
