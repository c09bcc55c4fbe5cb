//! The in-process fuzz targets on stable: the checked-in seed corpora of `fuzz/corpus/`
//! replayed through the same functions the cargo-fuzz binaries call, a brief run on
//! generated inputs, and each invariant of the broker-core checker shown to fire.

use bytes::Bytes;
use mqttspec::fuzz::inproc::checker::{Checker, Violation};
use mqttspec::fuzz::inproc::seeds::{seed_corpus_decode, seed_corpus_frames};
use mqttspec::fuzz::inproc::{
    FuzzPacket, Op, broker_core, core_config, decode, frames, run_ops, scenario_loader,
    workload_loader,
};
use mqttspec::sim::rng::Rng;
use mqttspec_broker::core::{DebugState, SessionView, Stats};
use mqttspec_broker::{Action, Config, ConnId};
use mqttspec_codec::{DecodeOptions, Decoder, PacketType, ProtocolVersion};
use std::collections::BTreeSet;
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
        if let Err(v) = decode(&data).and_then(|()| frames(&data)) {
            panic!("input {i}: {v}");
        }
    }
}

/// The codec corpora replayed through the targets' own functions.
#[test]
fn codec_corpora_replay() {
    for (path, data) in corpus("decode") {
        if let Err(v) = decode(&data) {
            panic!("{}: {v}", path.display());
        }
    }
    for (path, data) in corpus("frames") {
        if let Err(v) = frames(&data) {
            panic!("{}: {v}", path.display());
        }
    }
}

/// The `decode` corpus holds a valid packet of every type of both versions (AUTH in 5.0
/// only), decoded strictly, and malformed frames refused in both versions; the `frames`
/// corpus has streams of both versions.
#[test]
fn codec_corpora_cover_every_packet_type() {
    let strict = DecodeOptions {
        strict: true,
        ..DecodeOptions::default()
    };
    let mut seen = BTreeSet::new();
    let mut refused = 0;
    for (_, data) in corpus("decode") {
        let mut ok = false;
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let mut buf = bytes::BytesMut::from(&data[..]);
            match Decoder::with_options(version, strict).decode(&mut buf) {
                Ok(Some(p)) => {
                    ok = true;
                    seen.insert((version, p.packet_type() as u8));
                }
                Ok(None) => ok = true,
                Err(_) => {}
            }
        }
        refused += usize::from(!ok);
    }
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let last = if version == ProtocolVersion::V5 {
            15
        } else {
            14
        };
        for t in 1..=last {
            assert!(
                seen.contains(&(version, t)),
                "{version}: no {:?} in corpus/decode",
                PacketType::from_u8(t)
            );
        }
    }
    assert!(refused >= 30, "only {refused} malformed frames");
    let versions: BTreeSet<bool> = corpus("frames")
        .iter()
        .map(|(_, d)| d.first().is_some_and(|b| b & 1 == 1))
        .collect();
    assert_eq!(versions.len(), 2);
}

/// Writes the seed corpora of `decode` and `frames` (built with the codec by
/// `mqttspec::fuzz::inproc::seeds`):
/// `MQTTSPEC_WRITE_CORPUS=1 cargo test -p mqttspec --test fuzz_corpora -- --ignored write_codec`.
#[test]
#[ignore]
fn write_codec_seed_corpora() {
    if std::env::var("MQTTSPEC_WRITE_CORPUS").is_err() {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (target, files) in [
        ("decode", seed_corpus_decode()),
        ("frames", seed_corpus_frames()),
    ] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus folder");
        for (name, data) in files {
            std::fs::write(dir.join(name), data).expect("write a seed");
        }
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

fn view(client: &str, conn: Option<u64>, expiry: u32, subs: &[&str]) -> SessionView {
    SessionView {
        client_id: client.to_owned(),
        conn: conn.map(ConnId),
        expiry,
        expires_at: None,
        subscriptions: subs.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn index(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(c, f)| ((*c).to_owned(), (*f).to_owned()))
        .collect()
}

/// A checker that saw connection 1 accepted (CONNACK 0) after a 3.1.1 CONNECT "c1" with
/// CleanSession `clean`.
fn connected_checker(clean: bool) -> Checker {
    let mut c = Checker::new(4);
    c.opened(ConnId(1));
    let flags = if clean { 0x02 } else { 0x00 };
    c.client_sent(
        ConnId(1),
        &[
            0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, flags, 0x00, 0x1E, 0x00, 0x02,
            b'c', b'1',
        ],
    );
    c.actions(&[send(1, &[0x20, 0x02, 0x00, 0x00])])
        .expect("a CONNACK");
    c
}

/// The sessions-and-subscriptions invariant, each part firing on a state that breaks it.
#[test]
fn session_and_subscription_consistency_fires() {
    let ok = DebugState {
        sessions: vec![view("c1", Some(1), 0, &["a/+", "$share/g/b"])],
        index: index(&[("c1", "$share/g/b"), ("c1", "a/+")]),
        connected: vec![(ConnId(1), "c1".to_owned())],
    };
    assert_eq!(connected_checker(true).state(&ok), Ok(()));
    // A subscription in the index that no session has.
    let mut s = ok.clone();
    s.index.push(("ghost".to_owned(), "x".to_owned()));
    assert_eq!(
        connected_checker(true).state(&s),
        Err(Violation::OrphanSubscription {
            client: "ghost".into(),
            filter: "x".into()
        })
    );
    // A session's subscription missing from the index.
    let mut s = ok.clone();
    s.index.retain(|(_, f)| f != "a/+");
    assert_eq!(
        connected_checker(true).state(&s),
        Err(Violation::UnindexedSubscription {
            client: "c1".into(),
            filter: "a/+".into()
        })
    );
    // A session without a client identifier.
    let mut s = ok.clone();
    s.sessions.push(view("", None, u32::MAX, &[]));
    assert_eq!(
        connected_checker(true).state(&s),
        Err(Violation::SessionWithoutClientId)
    );
    // A session attached to a connection that is not connected as it.
    let mut s = ok.clone();
    s.sessions.push(view("c2", Some(1), 0, &[]));
    assert_eq!(
        connected_checker(true).state(&s),
        Err(Violation::SessionAttachment {
            client: "c2".into(),
            conn: ConnId(1)
        })
    );
    // A connected connection whose session is not attached to it.
    let mut s = ok.clone();
    s.sessions[0].conn = None;
    s.sessions[0].expiry = u32::MAX;
    assert_eq!(
        connected_checker(false).state(&s),
        Err(Violation::ConnectionWithoutSession {
            conn: ConnId(1),
            client: "c1".into()
        })
    );
    // The client saw a CONNACK 0 but the core does not have the connection connected.
    let mut s = ok.clone();
    s.connected.clear();
    s.sessions[0].conn = None;
    s.sessions[0].expiry = u32::MAX;
    assert_eq!(
        connected_checker(false).state(&s),
        Err(Violation::ConnectedMismatch {
            conn: ConnId(1),
            model: true,
            core: false
        })
    );
    // After the close: a session of expiry 0 left offline.
    let closed = |checker: &mut Checker| {
        checker.state(&ok).expect("connected");
        checker.client_closed(ConnId(1));
    };
    let offline = |expiry: u32| DebugState {
        sessions: vec![view("c1", None, expiry, &[])],
        index: Vec::new(),
        connected: Vec::new(),
    };
    let mut c = connected_checker(false);
    closed(&mut c);
    assert_eq!(
        c.state(&offline(0)),
        Err(Violation::CleanSessionKept {
            client: "c1".into()
        })
    );
    // ... or kept with another expiry although its CONNECT had CleanSession 1.
    let mut c = connected_checker(true);
    closed(&mut c);
    assert_eq!(
        c.state(&offline(u32::MAX)),
        Err(Violation::CleanSessionKept {
            client: "c1".into()
        })
    );
    // A CleanSession 0 session is kept; with no end time only if it never expires.
    let mut c = connected_checker(false);
    closed(&mut c);
    assert_eq!(c.state(&offline(u32::MAX)), Ok(()));
    assert_eq!(
        c.state(&offline(60)),
        Err(Violation::SessionNeverEnds {
            client: "c1".into()
        })
    );
}

/// The whole target catches cores whose sessions break the invariant, and passes the
/// correct core on the same events.
#[test]
fn the_target_catches_inconsistent_sessions() {
    let connect = |v5: bool, id: u8, clean: bool, session_expiry: Option<u8>| Op::Packet {
        conn: 0,
        packet: FuzzPacket::Connect {
            v5,
            id,
            clean,
            keep_alive: 0,
            will: None,
            session_expiry,
        },
        split: 5,
    };
    let with_fault = |name: &str| Config {
        faults: mqttspec_broker::config::Faults::only(name).expect("fault"),
        ..core_config()
    };
    // A CleanSession 1 session kept after its connection closed.
    let ops = [
        Op::Open,
        connect(false, 1, true, None),
        Op::Close { conn: 0 },
    ];
    assert_eq!(run_ops(core_config(), &ops), Ok(()));
    assert_eq!(
        run_ops(with_fault("keep_clean_session_state"), &ops),
        Err(Violation::CleanSessionKept {
            client: "c1".into()
        })
    );
    // A 5.0 session with an expiry of 5 s that never gets its end time.
    let ops = [
        Op::Open,
        connect(true, 1, true, Some(5)),
        Op::Close { conn: 0 },
        Op::Advance { seconds: 10 },
    ];
    assert_eq!(run_ops(core_config(), &ops), Ok(()));
    assert_eq!(
        run_ops(with_fault("session_never_expires"), &ops),
        Err(Violation::SessionNeverEnds {
            client: "c1".into()
        })
    );
    // A session adopted by another client id without its shared subscription in the index.
    let ops = [
        Op::Open,
        connect(true, 1, false, Some(200)),
        Op::Packet {
            conn: 0,
            packet: FuzzPacket::Subscribe {
                filter: 7,
                qos: 1,
                id: 1,
                options: 0,
            },
            split: 0,
        },
        Op::Close { conn: 0 },
        Op::Open,
        Op::Packet {
            conn: 1,
            packet: FuzzPacket::Connect {
                v5: true,
                id: 2,
                clean: false,
                keep_alive: 0,
                will: None,
                session_expiry: Some(200),
            },
            split: 0,
        },
    ];
    assert_eq!(run_ops(core_config(), &ops), Ok(()));
    assert!(matches!(
        run_ops(with_fault("session_shared_across_client_ids"), &ops),
        Err(Violation::UnindexedSubscription { .. })
    ));
}
