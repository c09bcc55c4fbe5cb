//! `mqttspec prop`'s network faults in the simulator against the reference broker: a
//! broker restart, which may lose state, and a held connection, whose copies are judged at
//! its release.

mod prop_support;

use prop_support::execute_in_sim;

/// A broker restart in the simulator (the reference broker keeps nothing): the model allows
/// the lost session, retained message and queued message, and the case goes on with new
/// connections; Session Present 0 after it.
#[test]
fn broker_restart_in_the_simulator_is_allowed_to_lose_state() {
    use mqttspec::prop::exec::Done;
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
    let out = execute_in_sim(&case, "", "r");
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
    use mqttspec::prop::exec::Done;
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
        let out = execute_in_sim(&case, fault, "h");
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
