//! The in-process fuzz targets on stable: the checked-in seed corpora of `fuzz/corpus/`
//! replayed through the same functions the cargo-fuzz binaries call, a brief run on
//! generated inputs, and each invariant of the broker-core checker shown to fire.

use bytes::Bytes;
use mqttspec::fuzz::inproc::checker::{Checker, Violation};
use mqttspec::fuzz::inproc::{
    FuzzPacket, Op, broker_core, core_config, run_ops, scenario_loader, workload_loader,
};
use mqttspec::sim::rng::Rng;
use mqttspec_broker::core::Stats;
use mqttspec_broker::{Action, Config, ConnId};
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("read a corpus file");
            (p, data)
        })
        .collect()
}

#[test]
fn broker_core_corpus_replays() {
    for (path, data) in corpus("broker_core") {
        if let Err(v) = broker_core(&data) {
            panic!("{}: {v}", path.display());
        }
    }
}

#[test]
fn loader_corpora_replay() {
    for (_, data) in corpus("scenario_loader") {
        scenario_loader(&data);
    }
    for (_, data) in corpus("workload_loader") {
        workload_loader(&data);
    }
}

/// A short run of every target on inputs from a seeded generator: random bytes, and
/// corpus files with bytes flipped.
#[test]
fn targets_run_briefly() {
    let mut rng = Rng::new(2026);
    let seeds = corpus("broker_core");
    for i in 0..300 {
        let mut data: Vec<u8> = if i % 2 == 0 {
            (0..(rng.next_u64() % 1500))
                .map(|_| rng.next_u64() as u8)
                .collect()
        } else {
            seeds[i % seeds.len()].1.clone()
        };
        for _ in 0..4 {
            if data.is_empty() {
                break;
            }
            let at = (rng.next_u64() as usize) % data.len();
            data[at] ^= 1 << (rng.next_u64() % 8);
        }
        if let Err(v) = broker_core(&data) {
            panic!("input {i}: {v}");
        }
        scenario_loader(&data);
        workload_loader(&data);
    }
}

fn send(conn: u64, bytes: &'static [u8]) -> Action {
    Action::Send {
        conn: ConnId(conn),
        bytes: Bytes::from_static(bytes),
    }
}

fn close(conn: u64) -> Action {
    Action::Close { conn: ConnId(conn) }
}

fn stats(connections: usize, sessions: usize, retained: usize) -> Stats {
    Stats {
        connections,
        sessions,
        retained,
        ..Stats::default()
    }
}

#[test]
fn each_invariant_fires() {
    // Nothing after the close.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    assert_eq!(
        c.actions(&[close(1), send(1, &[0xD0, 0x00])]),
        Err(Violation::SendAfterClose(ConnId(1)))
    );
    // Nothing to a connection never opened.
    let mut c = Checker::new(4);
    assert_eq!(
        c.actions(&[send(9, &[0xD0, 0x00])]),
        Err(Violation::UnknownConnection(ConnId(9)))
    );
    // Every frame decodes strictly: a PINGRESP with reserved flags set does not.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    assert!(matches!(
        c.actions(&[send(1, &[0xD1, 0x00])]),
        Err(Violation::MalformedFrame { .. })
    ));
    // A frame split across two sends is decoded whole.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    assert_eq!(
        c.actions(&[send(1, &[0x20]), send(1, &[0x02, 0x00, 0x00])]),
        Ok(())
    );
    // No PUBLISH before the CONNACK, and one CONNACK only.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    assert_eq!(
        c.actions(&[send(1, &[0x30, 0x03, 0x00, 0x01, b'a'])]),
        Err(Violation::BeforeConnack {
            conn: ConnId(1),
            packet: "PUBLISH"
        })
    );
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    assert_eq!(
        c.actions(&[
            send(1, &[0x20, 0x02, 0x00, 0x00]),
            send(1, &[0x20, 0x02, 0x00, 0x00])
        ]),
        Err(Violation::SecondConnack(ConnId(1)))
    );
    // The core's connections are the open ones.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    assert_eq!(
        c.stats(&stats(0, 0, 0)),
        Err(Violation::ConnectionCount { core: 0, model: 1 })
    );
    // No more than the configured limit.
    let mut c = Checker::new(1);
    c.opened(ConnId(1));
    c.opened(ConnId(2));
    assert_eq!(
        c.stats(&stats(2, 0, 0)),
        Err(Violation::TooManyConnections { open: 2, max: 1 })
    );
    // A connected client has a session.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    c.actions(&[send(1, &[0x20, 0x02, 0x00, 0x00])])
        .expect("a CONNACK");
    assert_eq!(
        c.stats(&stats(1, 0, 0)),
        Err(Violation::MissingSessions {
            connected: 1,
            sessions: 0
        })
    );
    // What the core keeps is bounded by its input.
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    c.client_sent(ConnId(1), &[0x30, 0x03, 0x00, 0x01, b'a']);
    assert!(matches!(
        c.stats(&stats(1, 0, 100)),
        Err(Violation::Unbounded { .. })
    ));
}

/// The target as a whole: a core that panics (fault `panic_on_invalid_utf8`) panics the
/// target, and one that sends a malformed CONNACK breaks an invariant;
/// the correct core passes the same events.
#[test]
fn the_target_catches_broken_cores() {
    let connect = Op::Packet {
        conn: 0,
        packet: FuzzPacket::Connect {
            v5: false,
            id: 1,
            clean: true,
            keep_alive: 30,
            will: None,
            session_expiry: None,
        },
        split: 0,
    };
    let bad_utf8 = Op::Bytes {
        conn: 0,
        bytes: vec![0x30, 0x03, 0x00, 0x01, 0xFF],
    };
    let ops = [Op::Open, connect, bad_utf8];
    assert_eq!(run_ops(core_config(), &ops), Ok(()));
    let faulty = Config {
        faults: mqttspec_broker::config::Faults::only("panic_on_invalid_utf8").expect("fault"),
        ..core_config()
    };
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_ops(faulty, &ops)));
    assert!(panicked.is_err());
    // A 5.0 CONNACK with a reserved flag set (fault `connack_reserved_flags_set`): a
    // frame that does not decode strictly.
    let connect5 = Op::Packet {
        conn: 0,
        packet: FuzzPacket::Connect {
            v5: true,
            id: 1,
            clean: true,
            keep_alive: 30,
            will: None,
            session_expiry: None,
        },
        split: 3,
    };
    let ops = [Op::Open, connect5, Op::Advance { seconds: 200 }];
    assert_eq!(run_ops(core_config(), &ops), Ok(()));
    let faulty = Config {
        faults: mqttspec_broker::config::Faults::only("connack_reserved_flags_set").expect("fault"),
        ..core_config()
    };
    assert!(matches!(
        run_ops(faulty, &ops),
        Err(Violation::MalformedFrame { .. })
    ));
}

/// Replays any folder through `broker_core` on stable, e.g. a corpus libFuzzer grew:
/// `MQTTSPEC_FUZZ_REPLAY=path cargo test -p mqttspec --test fuzz_corpora -- --ignored`.
#[test]
#[ignore]
fn replay_folder_from_environment() {
    let Ok(dir) = std::env::var("MQTTSPEC_FUZZ_REPLAY") else {
        return;
    };
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the folder").flatten() {
        let data = std::fs::read(entry.path()).expect("a file");
        if let Err(v) = broker_core(&data) {
            panic!("{}: {v}", entry.path().display());
        }
        n += 1;
    }
    eprintln!("{n} inputs replayed");
}
