//! User names, passwords, anonymous access and the ACL.

use super::*;
use crate::auth::{Acl, Users, hash_line};
use crate::config::Anonymous;
use bytestring::ByteString;
use mqttspec_codec::{PubAck, PubRec};

fn users() -> Users {
    let line = hash_line("alice", b"wonderland", b"some salt", 10).unwrap();
    Users::parse(&line).unwrap()
}

fn login(user: &str, password: Option<&'static [u8]>) -> Connect {
    Connect {
        username: Some(ByteString::from(user)),
        password: password.map(Bytes::from_static),
        ..connect("c", true)
    }
}

fn far() -> Option<SocketAddr> {
    Some(SocketAddr::from(([192, 0, 2, 1], 1883)))
}

fn code(b: &mut Bench, peer: Option<SocketAddr>, c: Connect) -> (ConnId, ReasonCode) {
    let conn = b.open_from(peer);
    b.send(conn, c);
    match b.recv(conn).first() {
        Some(Packet::ConnAck(a)) => (conn, a.code),
        other => panic!("{other:?}"),
    }
}

#[test]
fn passwords_are_checked() {
    let mut b = Bench::new(Config {
        users: Some(users()),
        ..Config::default()
    });
    let (ok, c) = code(&mut b, far(), login("alice", Some(b"wonderland")));
    assert_eq!(c, v311::ACCEPTED);
    assert!(!b.closed(ok));
    for bad in [
        login("alice", Some(b"looking glass")),
        login("alice", None),
        login("bob", Some(b"wonderland")),
    ] {
        let (conn, c) = code(&mut b, loopback(), bad);
        assert_eq!(c, v311::BAD_USER_NAME_OR_PASSWORD);
        assert!(b.closed(conn));
    }
}

#[test]
fn anonymous_clients_by_policy() {
    // Default: loopback only; refusals get 0x05.
    let mut b = bench();
    assert_eq!(
        code(&mut b, loopback(), connect("a", true)).1,
        v311::ACCEPTED
    );
    let (conn, c) = code(&mut b, far(), connect("b", true));
    assert_eq!(c, v311::NOT_AUTHORIZED);
    assert!(b.closed(conn));
    let mut never = Bench::new(Config {
        allow_anonymous: Anonymous::Never,
        ..Config::default()
    });
    assert_eq!(
        code(&mut never, loopback(), connect("a", true)).1,
        v311::NOT_AUTHORIZED
    );
    let mut always = Bench::new(Config {
        allow_anonymous: Anonymous::Always,
        ..Config::default()
    });
    assert_eq!(
        code(&mut always, far(), connect("a", true)).1,
        v311::ACCEPTED
    );
}

#[test]
fn acl_denies_subscriptions_with_0x80() {
    let acl = Acl::parse("user alice\ntopic read in/#\ntopic write out/#\n").unwrap();
    let mut b = Bench::new(Config {
        users: Some(users()),
        acl: Some(acl),
        ..Config::default()
    });
    let conn = b.open();
    b.send(conn, login("alice", Some(b"wonderland")));
    b.recv(conn);
    b.send(
        conn,
        subscribe(
            3,
            &[
                ("in/x", QoS::AtLeastOnce),
                ("out/x", QoS::AtLeastOnce),
                ("#", QoS::AtMostOnce),
            ],
        ),
    );
    assert_eq!(
        b.recv_one(conn),
        Packet::SubAck(SubAck {
            packet_id: 3,
            return_codes: vec![ReasonCode(1), ReasonCode(0x80), ReasonCode(0x80)],
            ..SubAck::default()
        })
    );
    // Anonymous (loopback) has no rules: denied everything.
    let anon = b.connect("anon", true);
    b.send(anon, subscribe(1, &[("in/x", QoS::AtMostOnce)]));
    assert!(matches!(b.recv_one(anon), Packet::SubAck(a) if a.return_codes == [ReasonCode(0x80)]));
}

#[test]
fn acl_denied_publishes_are_acknowledged_and_dropped() {
    // 3.1.1/MQTT-3.3.5-2
    let acl = Acl::parse("topic #\nuser alice\ntopic write out/#\n").unwrap();
    let mut b = Bench::new(Config {
        users: Some(users()),
        acl: Some(acl),
        ..Config::default()
    });
    let watcher = b.connect("watcher", true);
    b.subscribe(watcher, "#", QoS::AtMostOnce);
    let conn = b.open();
    b.send(conn, login("alice", Some(b"wonderland")));
    b.recv(conn);
    b.send(conn, publish("in/x", QoS::AtLeastOnce, 1, "denied"));
    b.send(conn, publish("in/x", QoS::ExactlyOnce, 2, "denied"));
    b.send(conn, retained("in/y", QoS::AtMostOnce, 0, "denied"));
    b.send(conn, publish("out/x", QoS::AtLeastOnce, 3, "allowed"));
    assert_eq!(
        b.recv(conn),
        [
            Packet::PubAck(PubAck::new(1)),
            Packet::PubRec(PubRec::new(2)),
            Packet::PubAck(PubAck::new(3))
        ]
    );
    assert_eq!(payloads(&b.publishes(watcher)), ["allowed"]);
    assert_eq!(b.broker.stats().retained, 0);
}
