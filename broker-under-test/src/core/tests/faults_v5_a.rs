//! The faults of the 5.0 suite's part A (CONNECT and CONNACK, DISCONNECT, AUTH, transport),
//! each with a script whose course it changes (see `faults.rs`).

use super::*;
use crate::auth::scram::client::ScramClient;
use crate::auth::{Users, hash_line};
use mqttspec_codec::{Auth, PropertyId};

/// `script` on a broker with `config` and on the same broker with fault `name`: the traces
/// must differ.
fn check_with(name: &str, config: Config, script: &dyn Fn(&mut Bench)) {
    let run = |config: Config| {
        let mut b = Bench::new(config);
        script(&mut b);
        b.trace
    };
    let correct = run(config.clone());
    let broken = run(Config {
        faults: crate::core::faults::Faults::only(name).unwrap(),
        ..config
    });
    assert_ne!(
        correct, broken,
        "fault {name} changes nothing in its script"
    );
}

fn scram_config() -> Config {
    let line = hash_line("alice", b"pencil", b"0123456789abcdef", 16).unwrap();
    Config {
        users: Some(Users::parse(&line).unwrap()),
        ..Config::default()
    }
}

fn auth(code: ReasonCode, data: Vec<u8>) -> Auth {
    Auth {
        reason_code: Some(code),
        properties: Some(Properties(vec![
            Property::AuthenticationMethod("SCRAM-SHA-256".into()),
            Property::AuthenticationData(data.into()),
        ])),
    }
}

/// The Authentication Data of the last AUTH `conn` got (empty if none).
fn last_auth_data(b: &mut Bench, conn: ConnId) -> Vec<u8> {
    b.recv(conn)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Auth(a) => a.properties,
            _ => None,
        })
        .filter_map(|p| match p.get(PropertyId::AuthenticationData) {
            Some(Property::AuthenticationData(d)) => Some(d.to_vec()),
            _ => None,
        })
        .last()
        .unwrap_or_default()
}

/// A client authenticated by SCRAM with `password`: the exchange up to the CONNACK.
fn scram_connect(b: &mut Bench, password: &[u8], max_packet_size: Option<u32>) -> ConnId {
    let mut client = ScramClient::new("alice", password, "n1");
    let c = b.open();
    let mut props = vec![
        Property::AuthenticationMethod("SCRAM-SHA-256".into()),
        Property::AuthenticationData(client.first().into()),
    ];
    props.extend(max_packet_size.map(Property::MaximumPacketSize));
    b.send(c, connect5("a", true, &props));
    let server_first = last_auth_data(b, c);
    let last = client.last(&server_first).unwrap_or_default();
    b.send(c, auth(ReasonCode::CONTINUE_AUTHENTICATION, last));
    c
}

/// A connected SCRAM client re-authenticates with `password`.
fn reauthenticate(b: &mut Bench, c: ConnId, password: &[u8]) {
    let mut client = ScramClient::new("alice", password, "n2");
    b.send(c, auth(ReasonCode::RE_AUTHENTICATE, client.first()));
    let server_first = last_auth_data(b, c);
    let last = client.last(&server_first).unwrap_or_default();
    b.send(c, auth(ReasonCode::CONTINUE_AUTHENTICATION, last));
}

fn takeover(b: &mut Bench) {
    b.connect5("c", false, &[Property::SessionExpiryInterval(30)]);
    b.connect5("c", false, &[Property::SessionExpiryInterval(30)]);
}

fn unknown_method(b: &mut Bench) {
    let c = b.open();
    b.send(
        c,
        connect5("u", false, &[Property::AuthenticationMethod("NOPE".into())]),
    );
}

macro_rules! scripts {
    (by hand: [$($extra:ident),*]; $($name:ident => |$b:ident| $body:block)*) => {
        $(#[test] fn $name() { check_with(stringify!($name), scram_config(), &|$b: &mut Bench| $body); })*
        pub(super) const COVERED: &[&str] = &[$(stringify!($name),)* $(stringify!($extra)),*];
    };
}

scripts! {
    by hand: [connack_reserved_flags_set];
    // A fault of the 3.1.1 suite that had no script yet.
    leak_retained_on_subscribe => |b| {
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, retained("kept", QoS::AtMostOnce, 0, "r"));
        let (s, _) = b.connect5("s", true, &[]);
        b.subscribe5(s, "other", mqttspec_codec::SubscribeOptions::qos(QoS::AtMostOnce), &[]);
    }
    auth_continue_wrong_reason => |b| { scram_connect(b, b"pencil", None); }
    auth_reason_code_invalid => |b| { scram_connect(b, b"pencil", None); }
    auth_without_method => |b| {
        let (c, _) = b.connect5("p", true, &[]);
        let client = ScramClient::new("alice", b"pencil", "n");
        b.send(c, auth(ReasonCode::RE_AUTHENTICATE, client.first()));
    }
    reauth_failure_keeps_connection => |b| {
        let c = scram_connect(b, b"pencil", None);
        reauthenticate(b, c, b"wrong");
    }
    server_disconnect_reason_not_in_table => |b| { takeover(b); }
    server_disconnect_session_expiry => |b| { takeover(b); }
    packets_after_server_disconnect => |b| { takeover(b); }
    no_close_after_server_disconnect => |b| { takeover(b); }
    disconnect_after_refused_connack => |b| { unknown_method(b); }
    session_present_on_refusal => |b| { unknown_method(b); }
    connack_reason_not_in_table => |b| { unknown_method(b); }
    oversize_diagnostics => |b| { scram_connect(b, b"pencil", Some(128)); }
    lossy_transport => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        for _ in 0..5 {
            b.send(c, Packet::PingReq);
        }
    }
}

/// The lenient decoder of the bench reads reserved CONNACK flags as if clear: the bytes
/// are looked at instead.
#[test]
fn connack_reserved_flags_set() {
    let flags = |faults: crate::core::faults::Faults| {
        let mut broker = Broker::new(Config {
            faults,
            ..Config::default()
        });
        let conn = ConnId(1);
        let now = Duration::from_secs(1);
        broker.handle(
            now,
            Event::Opened {
                conn,
                peer: loopback(),
            },
        );
        let bytes = Packet::Connect(connect5("c", true, &[]))
            .to_bytes(ProtocolVersion::V5)
            .unwrap();
        broker.handle(now, Event::Received { conn, bytes });
        match broker.poll_action() {
            // CONNACK, a one-byte remaining length, then the acknowledge flags.
            Some(Action::Send { bytes, .. }) if bytes[0] == 0x20 => bytes[2],
            other => panic!("expected a CONNACK, got {other:?}"),
        }
    };
    assert_eq!(flags(Default::default()), 0);
    let broken = crate::core::faults::Faults::only("connack_reserved_flags_set").unwrap();
    assert_eq!(flags(broken), 0b10);
}

/// What the broker does without the faults, in the cases they break.
#[test]
fn the_correct_broker_in_the_same_scripts() {
    let mut b = Bench::new(scram_config());
    // A takeover: DISCONNECT 0x8E with no properties, then the close.
    let (old, _) = b.connect5("c", false, &[Property::SessionExpiryInterval(30)]);
    b.connect5("c", false, &[Property::SessionExpiryInterval(30)]);
    let got = b.recv(old);
    assert!(
        matches!(got.as_slice(), [Packet::Disconnect(d)] if d.reason() == ReasonCode::SESSION_TAKEN_OVER && d.properties.as_ref().is_none_or(|p| p.is_empty())),
        "{got:?}"
    );
    assert!(b.closed(old));
    // A refused CONNECT: CONNACK 0x8C with Session Present 0, no DISCONNECT, the close.
    let c = b.open();
    b.send(
        c,
        connect5("u", false, &[Property::AuthenticationMethod("NOPE".into())]),
    );
    let got = b.recv(c);
    assert!(
        matches!(got.as_slice(), [Packet::ConnAck(a)] if a.code == ReasonCode::BAD_AUTHENTICATION_METHOD && !a.session_present),
        "{got:?}"
    );
    assert!(b.closed(c));
    // AUTH without a method in the CONNECT: no AUTH back, DISCONNECT 0x82.
    let (c, ack) = b.connect5("p", true, &[]);
    assert!(
        ack.properties
            .get(PropertyId::AuthenticationMethod)
            .is_none()
    );
    let client = ScramClient::new("alice", b"pencil", "n");
    b.send(c, auth(ReasonCode::RE_AUTHENTICATE, client.first()));
    assert_eq!(b.disconnected_with(c), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn client_identifiers_over_the_limit_are_refused() {
    let mut b = Bench::new(Config {
        max_client_id_len: 30,
        ..Config::default()
    });
    let (c, ack) = b.connect_with(connect5(&"x".repeat(31), true, &[]));
    assert_eq!(ack.code, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID);
    assert!(b.closed(c));
    b.connect5(&"x".repeat(30), true, &[]);
    // 23 bytes are always accepted (5.0/MQTT-3.1.3-5), whatever the limit says.
    let mut b = Bench::new(Config {
        max_client_id_len: 5,
        ..Config::default()
    });
    b.connect5(&"y".repeat(23), true, &[]);
    let (_, ack) = b.connect_with(connect(&"y".repeat(24), true));
    assert_eq!(ack.code, v311::IDENTIFIER_REJECTED);
}
