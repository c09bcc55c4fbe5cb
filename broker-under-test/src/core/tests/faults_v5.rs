//! The 5.0 faults, each with a script it changes (see `faults.rs`). Each script exercises
//! the behaviour its fault breaks.

use super::faults::check;
use super::*;
use crate::auth::scram::client::ScramClient;
use crate::auth::{Users, hash_line};
use mqttspec_codec::{Disconnect, SubscribeOptions};

macro_rules! scripts {
    ($($name:ident => |$b:ident| $body:block)*) => {
        $(#[test] fn $name() { check(stringify!($name), &|$b: &mut Bench| $body); })*
        pub(super) const COVERED: &[&str] = &[$(stringify!($name)),*];
    };
}

fn pub5(topic: &str, qos: QoS, id: u16, props: &[Property]) -> Publish {
    Publish {
        properties: Properties(props.to_vec()),
        ..publish(topic, qos, id, "m")
    }
}

fn sub5(b: &mut Bench, conn: ConnId, filter: &str, options: SubscribeOptions, props: &[Property]) {
    b.subscribe5(conn, filter, options, props);
}

fn qos(q: QoS) -> SubscribeOptions {
    SubscribeOptions::qos(q)
}

/// A 5.0 subscriber "s" on `filter`, a 5.0 publisher "p" sending `publish`.
fn relay(b: &mut Bench, filter: &str, publish: Publish) {
    let (s, _) = b.connect5("s", true, &[]);
    sub5(b, s, filter, qos(QoS::AtLeastOnce), &[]);
    let (p, _) = b.connect5("p", true, &[]);
    b.send(p, publish);
}

fn with_props(props: &[Property]) -> Publish {
    pub5("t", QoS::AtMostOnce, 0, props)
}

fn expiry(secs: u32) -> Property {
    Property::SessionExpiryInterval(secs)
}

/// A watcher on "will" and a client "c" whose will has these properties and session expiry.
fn will_client(b: &mut Bench, will_props: &[Property], session: u32) -> ConnId {
    let (w, _) = b.connect5("watcher", true, &[]);
    sub5(b, w, "will", qos(QoS::AtMostOnce), &[]);
    let mut c = with_will(
        connect5("c", false, &[expiry(session)]),
        "will",
        QoS::AtMostOnce,
        false,
    );
    if let Some(will) = c.will.as_mut() {
        will.properties = Properties(will_props.to_vec());
    }
    b.connect_with(c).0
}

fn scram_start(b: &mut Bench, method: &str) -> ConnId {
    let client = ScramClient::new("alice", b"pencil", "n");
    let c = b.open();
    b.send(
        c,
        connect5(
            "a",
            true,
            &[
                Property::AuthenticationMethod(method.into()),
                Property::AuthenticationData(client.first().into()),
            ],
        ),
    );
    c
}

fn scram_config() -> Config {
    let line = hash_line("alice", b"pencil", b"0123456789abcdef", 16).unwrap();
    Config {
        users: Some(Users::parse(&line).unwrap()),
        ..Config::default()
    }
}

/// `check` with a configuration other than the default.
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

scripts! {
    session_expiry_ignored => |b| {
        let (c, _) = b.connect5("c", false, &[expiry(60)]);
        b.drop_conn(c);
        b.connect5("c", false, &[expiry(60)]);
    }
    session_never_expires => |b| {
        let (c, _) = b.connect5("c", false, &[expiry(5)]);
        b.drop_conn(c);
        b.advance(Duration::from_secs(6));
        b.connect5("c", false, &[expiry(5)]);
    }
    session_expiry_raised_from_zero => |b| {
        let (c, _) = b.connect5("c", false, &[]);
        b.send(c, Disconnect {
            reason_code: Some(ReasonCode::SUCCESS),
            properties: Some(Properties(vec![expiry(30)])),
        });
    }
    assigned_client_id_missing => |b| { b.connect5("", true, &[]); }
    response_information_unrequested => |b| { b.connect5("c", true, &[]); }
    problem_information_ignored => |b| {
        let (c, _) = b.connect5("c", true, &[Property::RequestProblemInformation(0)]);
        b.send(c, pub5("t", QoS::ExactlyOnce, 1, &[]));
        b.send(c, subscribe(1, &[("x", QoS::AtMostOnce)]));
    }
    no_server_disconnect => |b| {
        b.connect5("c", true, &[]);
        b.connect5("c", true, &[]);
    }
    will_delay_ignored => |b| {
        let c = will_client(b, &[Property::WillDelayInterval(10)], 100);
        b.drop_conn(c);
    }
    delayed_will_sent_after_reconnect => |b| {
        let c = will_client(b, &[Property::WillDelayInterval(10)], 100);
        b.drop_conn(c);
        b.connect5("c", false, &[expiry(100)]);
        b.advance(Duration::from_secs(20));
    }
    disconnect_with_will_ignored => |b| {
        let c = will_client(b, &[], 0);
        b.send(c, Disconnect::with_reason(ReasonCode::DISCONNECT_WITH_WILL));
    }
    will_user_properties_reversed => |b| {
        let c = will_client(b, &[
            Property::UserProperty("a".into(), "1".into()),
            Property::UserProperty("b".into(), "2".into()),
        ], 0);
        b.drop_conn(c);
    }
    message_expiry_ignored => |b| {
        let (s, _) = b.connect5("s", false, &[expiry(100)]);
        sub5(b, s, "t", qos(QoS::AtLeastOnce), &[]);
        b.drop_conn(s);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::AtLeastOnce, 1, &[Property::MessageExpiryInterval(2)]));
        b.advance(Duration::from_secs(5));
        b.connect5("s", false, &[expiry(100)]);
    }
    message_expiry_not_reduced => |b| {
        let (s, _) = b.connect5("s", false, &[expiry(100)]);
        sub5(b, s, "t", qos(QoS::AtLeastOnce), &[]);
        b.drop_conn(s);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::AtLeastOnce, 1, &[Property::MessageExpiryInterval(20)]));
        b.advance(Duration::from_secs(5));
        b.connect5("s", false, &[expiry(100)]);
    }
    user_properties_dropped => |b| {
        relay(b, "t", with_props(&[Property::UserProperty("k".into(), "v".into())]));
    }
    user_properties_reordered => |b| {
        relay(b, "t", with_props(&[
            Property::UserProperty("k".into(), "1".into()),
            Property::UserProperty("k".into(), "2".into()),
        ]));
    }
    response_topic_dropped => |b| { relay(b, "t", with_props(&[Property::ResponseTopic("r".into())])); }
    correlation_data_dropped => |b| {
        relay(b, "t", with_props(&[Property::CorrelationData(Bytes::from_static(b"id"))]));
    }
    content_type_dropped => |b| { relay(b, "t", with_props(&[Property::ContentType("json".into())])); }
    payload_format_indicator_dropped => |b| { relay(b, "t", with_props(&[Property::PayloadFormatIndicator(1)])); }
    invalid_topic_alias_accepted => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("t", QoS::AtMostOnce, 0, &[Property::TopicAlias(1000)]));
        b.send(c, Packet::PingReq);
    }
    topic_alias_mapping_ignored => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        b.send(c, pub5("t", QoS::AtMostOnce, 0, &[Property::TopicAlias(1)]));
        b.send(c, pub5("", QoS::AtMostOnce, 0, &[Property::TopicAlias(1)]));
    }
    topic_alias_without_client_consent => |b| { relay(b, "t", with_props(&[])); }
    topic_alias_over_maximum => |b| {
        let (s, _) = b.connect5("s", true, &[Property::TopicAliasMaximum(1)]);
        sub5(b, s, "t", qos(QoS::AtMostOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, with_props(&[]));
    }
    receive_maximum_ignored => |b| {
        let (s, _) = b.connect5("s", true, &[Property::ReceiveMaximum(1)]);
        sub5(b, s, "t", qos(QoS::AtLeastOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, pub5("t", QoS::AtLeastOnce, 1, &[]));
        b.send(p, pub5("t", QoS::AtLeastOnce, 2, &[]));
    }
    max_packet_size_ignored => |b| {
        let (s, _) = b.connect5("s", true, &[Property::MaximumPacketSize(30)]);
        sub5(b, s, "t", qos(QoS::AtMostOnce), &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, Publish::new("t", QoS::AtMostOnce, vec![b'x'; 50]));
    }
    no_local_ignored => |b| {
        let (c, _) = b.connect5("c", true, &[]);
        sub5(b, c, "t", SubscribeOptions { no_local: true, ..qos(QoS::AtMostOnce) }, &[]);
        b.send(c, with_props(&[]));
    }
    retain_as_published_ignored => |b| {
        let (s, _) = b.connect5("s", true, &[]);
        sub5(b, s, "t", SubscribeOptions { retain_as_published: true, ..qos(QoS::AtMostOnce) }, &[]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, retained("t", QoS::AtMostOnce, 0, "r"));
    }
    retain_handling_ignored => |b| {
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, retained("t", QoS::AtMostOnce, 0, "r"));
        let (s, _) = b.connect5("s", true, &[]);
        sub5(b, s, "t", SubscribeOptions { retain_handling: 2, ..qos(QoS::AtMostOnce) }, &[]);
    }
    subscription_identifier_missing => |b| {
        let (s, _) = b.connect5("s", true, &[]);
        sub5(b, s, "t", qos(QoS::AtMostOnce), &[Property::SubscriptionIdentifier(9)]);
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, with_props(&[]));
    }
    shared_delivered_to_every_member => |b| {
        for m in ["m1", "m2"] {
            let (c, _) = b.connect5(m, true, &[]);
            sub5(b, c, "$share/g/t", qos(QoS::AtMostOnce), &[]);
        }
        let (p, _) = b.connect5("p", true, &[]);
        b.send(p, with_props(&[]));
    }
    unknown_auth_method_accepted => |b| { scram_start(b, "NO-SUCH-METHOD"); }
}

/// Faults whose script needs a configuration other than the default.
pub(super) const COVERED_WITH_CONFIG: &[&str] =
    &["auth_method_missing", "receive_maximum_not_enforced"];

#[test]
fn auth_method_missing() {
    check_with("auth_method_missing", scram_config(), &|b| {
        scram_start(b, "SCRAM-SHA-256");
    });
}

#[test]
fn receive_maximum_not_enforced() {
    let config = Config {
        receive_maximum: 2,
        ..Config::default()
    };
    check_with("receive_maximum_not_enforced", config, &|b| {
        let (c, _) = b.connect5("c", true, &[]);
        for id in 1..=3 {
            b.send(c, pub5("t", QoS::ExactlyOnce, id, &[]));
        }
    });
}
