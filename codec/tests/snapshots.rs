//! Snapshots of the canonical encoding of one reference packet per type and version, as
//! spaced hex. Each `.snap` file was checked byte by byte against the specification's layout;
//! a change to any of them is a change to the wire format.

mod common;

use common::hex;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::reason::v311;
use mqttspec_codec::{
    Auth, ByteString, Bytes, ConnAck, Connect, Disconnect, Packet, Properties, Property,
    ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe,
    SubscribeOptions, Subscription, UnsubAck, Unsubscribe, Will,
};

/// Encodes, checks the strict decoder reads the packet back, and returns the hex.
fn encoded(v: ProtocolVersion, packet: Packet) -> String {
    let bytes = packet.to_bytes(v).expect("reference packets encode");
    assert_eq!(common::decode_exact(v, &bytes), Ok(Some(packet)));
    hex(&bytes)
}

fn props(list: impl IntoIterator<Item = Property>) -> Properties {
    list.into_iter().collect()
}

fn s(text: &str) -> ByteString {
    ByteString::from(text)
}

fn connect(v: ProtocolVersion) -> Packet {
    let mut c = Connect {
        version: v,
        clean_start: true,
        keep_alive: 30,
        properties: Properties::new(),
        client_id: s("sensor-42"),
        will: Some(Will {
            topic: s("devices/sensor-42/status"),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::new(),
        }),
        username: Some(s("alice")),
        password: Some(Bytes::from_static(b"secret")),
    };
    if v.is_v5() {
        c.properties = props([
            Property::SessionExpiryInterval(3600),
            Property::ReceiveMaximum(20),
            Property::UserProperty(s("region"), s("eu")),
        ]);
        if let Some(will) = &mut c.will {
            will.properties = props([
                Property::WillDelayInterval(5),
                Property::PayloadFormatIndicator(1),
            ]);
        }
    }
    Packet::Connect(c)
}

#[test]
fn v311_reference_packets() {
    let sub = |f: &str, q| Subscription::new(f, q);
    let cases = [
        ("v311_connect", connect(V311)),
        (
            "v311_connack",
            Packet::ConnAck(ConnAck::new(true, v311::ACCEPTED)),
        ),
        (
            "v311_publish",
            Packet::Publish(Publish {
                packet_id: 10,
                ..Publish::new("sensors/temp", QoS::AtLeastOnce, &b"21.5"[..])
            }),
        ),
        ("v311_puback", Packet::PubAck(PubAck::new(10))),
        ("v311_pubrec", Packet::PubRec(PubRec::new(11))),
        ("v311_pubrel", Packet::PubRel(PubRel::new(11))),
        ("v311_pubcomp", Packet::PubComp(PubComp::new(11))),
        (
            "v311_subscribe",
            Packet::Subscribe(Subscribe {
                packet_id: 12,
                properties: Properties::new(),
                subscriptions: vec![
                    sub("sensors/+/temp", QoS::AtLeastOnce),
                    sub("alerts/#", QoS::ExactlyOnce),
                ],
            }),
        ),
        (
            "v311_suback",
            Packet::SubAck(SubAck {
                packet_id: 12,
                properties: Properties::new(),
                return_codes: vec![ReasonCode(0x01), v311::SUBSCRIPTION_FAILURE],
            }),
        ),
        (
            "v311_unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 13,
                properties: Properties::new(),
                filters: vec![s("sensors/+/temp")],
            }),
        ),
        ("v311_unsuback", Packet::UnsubAck(UnsubAck::new(13))),
        ("v311_pingreq", Packet::PingReq),
        ("v311_pingresp", Packet::PingResp),
        ("v311_disconnect", Packet::Disconnect(Disconnect::default())),
    ];
    assert_eq!(cases.len(), 14);
    for (name, packet) in cases {
        insta::assert_snapshot!(name, encoded(V311, packet));
    }
}

#[test]
fn v5_reference_packets() {
    let cases = [
        ("v5_connect", connect(V5)),
        (
            "v5_connack",
            Packet::ConnAck(ConnAck {
                session_present: true,
                code: ReasonCode::SUCCESS,
                properties: props([
                    Property::ReceiveMaximum(100),
                    Property::TopicAliasMaximum(10),
                    Property::MaximumQos(1),
                ]),
            }),
        ),
        (
            "v5_publish",
            Packet::Publish(Publish {
                dup: false,
                qos: QoS::ExactlyOnce,
                retain: true,
                topic: s("sensors/temp"),
                packet_id: 20,
                properties: props([
                    Property::TopicAlias(1),
                    Property::MessageExpiryInterval(60),
                    Property::ContentType(s("text/plain")),
                ]),
                payload: Bytes::from_static(b"21.5"),
            }),
        ),
        (
            "v5_puback",
            Packet::PubAck(PubAck::with_reason(10, ReasonCode::NO_MATCHING_SUBSCRIBERS)),
        ),
        ("v5_pubrec", Packet::PubRec(PubRec::new(20))),
        (
            "v5_pubrel",
            Packet::PubRel(PubRel {
                packet_id: 20,
                reason_code: Some(ReasonCode::PACKET_IDENTIFIER_NOT_FOUND),
                properties: Some(props([Property::ReasonString(s("unknown id"))])),
            }),
        ),
        ("v5_pubcomp", Packet::PubComp(PubComp::new(20))),
        (
            "v5_subscribe",
            Packet::Subscribe(Subscribe {
                packet_id: 21,
                properties: props([Property::SubscriptionIdentifier(7)]),
                subscriptions: vec![
                    Subscription {
                        filter: s("sensors/+/temp"),
                        options: SubscribeOptions {
                            qos: QoS::AtLeastOnce,
                            no_local: true,
                            retain_as_published: true,
                            retain_handling: 1,
                        },
                    },
                    Subscription {
                        filter: s("$share/workers/jobs/#"),
                        options: SubscribeOptions {
                            qos: QoS::ExactlyOnce,
                            retain_handling: 2,
                            ..SubscribeOptions::default()
                        },
                    },
                ],
            }),
        ),
        (
            "v5_suback",
            Packet::SubAck(SubAck {
                packet_id: 21,
                properties: Properties::new(),
                return_codes: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_2],
            }),
        ),
        (
            "v5_unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 22,
                properties: props([Property::UserProperty(s("reason"), s("cleanup"))]),
                filters: vec![s("sensors/+/temp"), s("alerts/#")],
            }),
        ),
        (
            "v5_unsuback",
            Packet::UnsubAck(UnsubAck {
                packet_id: 22,
                properties: Properties::new(),
                reason_codes: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
            }),
        ),
        ("v5_pingreq", Packet::PingReq),
        ("v5_pingresp", Packet::PingResp),
        (
            "v5_disconnect",
            Packet::Disconnect(Disconnect {
                reason_code: Some(ReasonCode::DISCONNECT_WITH_WILL),
                properties: Some(props([Property::SessionExpiryInterval(0)])),
            }),
        ),
        (
            "v5_auth",
            Packet::Auth(Auth {
                reason_code: Some(ReasonCode::CONTINUE_AUTHENTICATION),
                properties: Some(props([
                    Property::AuthenticationMethod(s("SCRAM-SHA-1")),
                    Property::AuthenticationData(Bytes::from_static(b"client-first")),
                ])),
            }),
        ),
    ];
    assert_eq!(cases.len(), 15);
    for (name, packet) in cases {
        insta::assert_snapshot!(name, encoded(V5, packet));
    }
}
