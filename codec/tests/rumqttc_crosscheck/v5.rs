//! MQTT 5.0: field-by-field mapping between our packets and rumqttc's
//! `v5::mqttbytes::v5` packets, and rumqttc's reader and writer.
//!
//! rumqttc's acknowledgement, DISCONNECT and AUTH structs have a reason code that is never
//! absent, where ours keep the wire's short forms (`None`). The mapping follows the wire:
//! rumqttc writes the 2-byte (acks) or 0-byte (DISCONNECT) short form exactly when the code
//! is Success and there are no properties, and otherwise a reason code and a Property Length.

use super::v5_props as props;
use bytes::BytesMut;
use mqttspec_codec::{
    Auth, ByteString, Bytes, ConnAck, Connect, Disconnect, Packet, Properties, Property,
    ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe,
    SubscribeOptions, Subscription, UnsubAck, Unsubscribe, Will,
};
use rumqttc::v5::mqttbytes::v5 as r;
use rumqttc::v5::mqttbytes::{Error, QoS as RQoS};

fn qos_to_theirs(q: QoS) -> RQoS {
    match q {
        QoS::AtMostOnce => RQoS::AtMostOnce,
        QoS::AtLeastOnce => RQoS::AtLeastOnce,
        QoS::ExactlyOnce => RQoS::ExactlyOnce,
    }
}

fn qos_to_ours(q: RQoS) -> QoS {
    QoS::from_u8(q as u8).expect("rumqttc QoS is 0 to 2")
}

/// One table per rumqttc reason enum (their own conversions are private). rumqttc's
/// `ConnectReturnCode` also has three 3.1.1 leftovers (`RefusedProtocolVersion`,
/// `BadClientId`, `ServiceUnavailable`) that its writer cannot encode (`unreachable!`);
/// they are not 5.0 reason codes (5.0 section 3.2.2.2), so they are not in the table.
macro_rules! code_table {
    ($to_theirs:ident, $to_ours:ident, $ty:ty, [$(($code:literal, $variant:expr)),* $(,)?]) => {
        fn $to_theirs(code: ReasonCode) -> $ty {
            match code.0 {
                $($code => $variant,)*
                other => panic!("no {} for {other:#04x}", stringify!($ty)),
            }
        }

        fn $to_ours(code: &$ty) -> ReasonCode {
            $(if *code == $variant {
                return ReasonCode($code);
            })*
            panic!("{code:?} has no wire value")
        }
    };
}

use r::ConnectReturnCode as Cr;
code_table!(
    connack_code,
    connack_code_to_ours,
    Cr,
    [
        (0x00, Cr::Success),
        (0x80, Cr::UnspecifiedError),
        (0x81, Cr::MalformedPacket),
        (0x82, Cr::ProtocolError),
        (0x83, Cr::ImplementationSpecificError),
        (0x84, Cr::UnsupportedProtocolVersion),
        (0x85, Cr::ClientIdentifierNotValid),
        (0x86, Cr::BadUserNamePassword),
        (0x87, Cr::NotAuthorized),
        (0x88, Cr::ServerUnavailable),
        (0x89, Cr::ServerBusy),
        (0x8A, Cr::Banned),
        (0x8C, Cr::BadAuthenticationMethod),
        (0x90, Cr::TopicNameInvalid),
        (0x95, Cr::PacketTooLarge),
        (0x97, Cr::QuotaExceeded),
        (0x99, Cr::PayloadFormatInvalid),
        (0x9A, Cr::RetainNotSupported),
        (0x9B, Cr::QoSNotSupported),
        (0x9C, Cr::UseAnotherServer),
        (0x9D, Cr::ServerMoved),
        (0x9F, Cr::ConnectionRateExceeded),
    ]
);

use r::PubAckReason as Pa;
code_table!(
    puback_code,
    puback_code_to_ours,
    Pa,
    [
        (0x00, Pa::Success),
        (0x10, Pa::NoMatchingSubscribers),
        (0x80, Pa::UnspecifiedError),
        (0x83, Pa::ImplementationSpecificError),
        (0x87, Pa::NotAuthorized),
        (0x90, Pa::TopicNameInvalid),
        (0x91, Pa::PacketIdentifierInUse),
        (0x97, Pa::QuotaExceeded),
        (0x99, Pa::PayloadFormatInvalid),
    ]
);

use r::PubRecReason as Prc;
code_table!(
    pubrec_code,
    pubrec_code_to_ours,
    Prc,
    [
        (0x00, Prc::Success),
        (0x10, Prc::NoMatchingSubscribers),
        (0x80, Prc::UnspecifiedError),
        (0x83, Prc::ImplementationSpecificError),
        (0x87, Prc::NotAuthorized),
        (0x90, Prc::TopicNameInvalid),
        (0x91, Prc::PacketIdentifierInUse),
        (0x97, Prc::QuotaExceeded),
        (0x99, Prc::PayloadFormatInvalid),
    ]
);

use r::PubRelReason as Prl;
code_table!(
    pubrel_code,
    pubrel_code_to_ours,
    Prl,
    [(0x00, Prl::Success), (0x92, Prl::PacketIdentifierNotFound),]
);

use r::PubCompReason as Pc;
code_table!(
    pubcomp_code,
    pubcomp_code_to_ours,
    Pc,
    [(0x00, Pc::Success), (0x92, Pc::PacketIdentifierNotFound),]
);

// `Failure` is also written as 0x80 but read back as `Unspecified`: the table keeps the one
// rumqttc reads.
use r::SubscribeReasonCode as Sa;
code_table!(
    suback_code,
    suback_code_to_ours,
    Sa,
    [
        (0x00, Sa::Success(RQoS::AtMostOnce)),
        (0x01, Sa::Success(RQoS::AtLeastOnce)),
        (0x02, Sa::Success(RQoS::ExactlyOnce)),
        (0x80, Sa::Unspecified),
        (0x83, Sa::ImplementationSpecific),
        (0x87, Sa::NotAuthorized),
        (0x8F, Sa::TopicFilterInvalid),
        (0x91, Sa::PkidInUse),
        (0x97, Sa::QuotaExceeded),
        (0x9E, Sa::SharedSubscriptionsNotSupported),
        (0xA1, Sa::SubscriptionIdNotSupported),
        (0xA2, Sa::WildcardSubscriptionsNotSupported),
    ]
);

use r::UnsubAckReason as Ua;
code_table!(
    unsuback_code,
    unsuback_code_to_ours,
    Ua,
    [
        (0x00, Ua::Success),
        (0x11, Ua::NoSubscriptionExisted),
        (0x80, Ua::UnspecifiedError),
        (0x83, Ua::ImplementationSpecificError),
        (0x87, Ua::NotAuthorized),
        (0x8F, Ua::TopicFilterInvalid),
        (0x91, Ua::PacketIdentifierInUse),
    ]
);

fn retain_rule(rh: u8) -> r::RetainForwardRule {
    match rh {
        0 => r::RetainForwardRule::OnEverySubscribe,
        1 => r::RetainForwardRule::OnNewSubscribe,
        2 => r::RetainForwardRule::Never,
        other => panic!("retain handling {other}"),
    }
}

fn retain_rule_to_ours(rule: &r::RetainForwardRule) -> u8 {
    match rule {
        r::RetainForwardRule::OnEverySubscribe => 0,
        r::RetainForwardRule::OnNewSubscribe => 1,
        r::RetainForwardRule::Never => 2,
    }
}

fn utf8(b: &Bytes) -> ByteString {
    ByteString::try_from(b.clone()).expect("rumqttc topic is UTF-8 here")
}

fn non_empty(s: &str) -> Option<ByteString> {
    (!s.is_empty()).then(|| ByteString::from(s))
}

/// Same limitation as in 3.1.1: rumqttc's `Login` holds `String`s and writes only non-empty
/// ones, so the strategies give it non-empty UTF-8 credentials.
fn login_to_theirs(c: &Connect) -> Option<r::Login> {
    if c.username.is_none() && c.password.is_none() {
        return None;
    }
    let password = c
        .password
        .as_ref()
        .map(|p| String::from_utf8(p.to_vec()).expect("strategies give rumqttc UTF-8 passwords"));
    Some(r::Login {
        username: c
            .username
            .as_ref()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        password: password.unwrap_or_default(),
    })
}

/// Our optional (reason code, properties) tail as rumqttc's always-present pair.
fn tail<C>(
    code: &Option<ReasonCode>,
    p: &Option<Properties>,
    to_code: fn(ReasonCode) -> C,
) -> (C, Option<Properties>) {
    (to_code(code.unwrap_or(ReasonCode::SUCCESS)), p.clone())
}

/// rumqttc's pair as our tail: the short form when rumqttc writes it.
fn tail_to_ours(
    code: ReasonCode,
    has_props: bool,
    p: Properties,
) -> (Option<ReasonCode>, Option<Properties>) {
    if code == ReasonCode::SUCCESS && !has_props {
        (None, None)
    } else {
        (Some(code), Some(p))
    }
}

macro_rules! ack_to_theirs {
    ($a:expr, $ty:ident, $code:ident, $props:ident) => {{
        let (reason, p) = tail(&$a.reason_code, &$a.properties, $code);
        r::Packet::$ty(r::$ty {
            pkid: $a.packet_id,
            reason,
            properties: p.as_ref().and_then(props::$props),
        })
    }};
}

macro_rules! ack_to_ours {
    ($a:expr, $ty:ident, $code:ident, $props:ident) => {{
        let (reason_code, properties) = tail_to_ours(
            $code(&$a.reason),
            $a.properties.is_some(),
            props::$props(&$a.properties),
        );
        Packet::$ty($ty {
            packet_id: $a.pkid,
            reason_code,
            properties,
        })
    }};
}

pub fn to_theirs(p: &Packet) -> r::Packet {
    match p {
        Packet::Connect(c) => {
            assert_eq!(c.version, ProtocolVersion::V5);
            let will = c.will.as_ref().map(|w| r::LastWill {
                topic: Bytes::copy_from_slice(w.topic.as_bytes()),
                message: w.payload.clone(),
                qos: qos_to_theirs(w.qos),
                retain: w.retain,
                properties: props::will_to_theirs(&w.properties),
            });
            let connect = r::Connect {
                keep_alive: c.keep_alive,
                client_id: c.client_id.to_string(),
                clean_start: c.clean_start,
                properties: props::connect_to_theirs(&c.properties),
            };
            r::Packet::Connect(connect, will, login_to_theirs(c))
        }
        Packet::ConnAck(a) => r::Packet::ConnAck(r::ConnAck {
            session_present: a.session_present,
            code: connack_code(a.code),
            properties: props::connack_to_theirs(&a.properties),
        }),
        Packet::Publish(p) => r::Packet::Publish(r::Publish {
            dup: p.dup,
            qos: qos_to_theirs(p.qos),
            retain: p.retain,
            topic: Bytes::copy_from_slice(p.topic.as_bytes()),
            pkid: p.packet_id,
            payload: p.payload.clone(),
            properties: props::publish_to_theirs(&p.properties),
        }),
        Packet::PubAck(a) => ack_to_theirs!(a, PubAck, puback_code, puback_to_theirs),
        Packet::PubRec(a) => ack_to_theirs!(a, PubRec, pubrec_code, pubrec_to_theirs),
        Packet::PubRel(a) => ack_to_theirs!(a, PubRel, pubrel_code, pubrel_to_theirs),
        Packet::PubComp(a) => ack_to_theirs!(a, PubComp, pubcomp_code, pubcomp_to_theirs),
        Packet::Subscribe(s) => r::Packet::Subscribe(r::Subscribe {
            pkid: s.packet_id,
            filters: s
                .subscriptions
                .iter()
                .map(|s| r::Filter {
                    path: s.filter.to_string(),
                    qos: qos_to_theirs(s.options.qos),
                    nolocal: s.options.no_local,
                    preserve_retain: s.options.retain_as_published,
                    retain_forward_rule: retain_rule(s.options.retain_handling),
                })
                .collect(),
            properties: props::subscribe_to_theirs(&s.properties),
        }),
        Packet::SubAck(a) => r::Packet::SubAck(r::SubAck {
            pkid: a.packet_id,
            return_codes: a.return_codes.iter().map(|c| suback_code(*c)).collect(),
            properties: props::suback_to_theirs(&a.properties),
        }),
        Packet::Unsubscribe(u) => r::Packet::Unsubscribe(r::Unsubscribe {
            pkid: u.packet_id,
            filters: u.filters.iter().map(|f| f.to_string()).collect(),
            properties: props::unsubscribe_to_theirs(&u.properties),
        }),
        Packet::UnsubAck(a) => r::Packet::UnsubAck(r::UnsubAck {
            pkid: a.packet_id,
            reasons: a.reason_codes.iter().map(|c| unsuback_code(*c)).collect(),
            properties: props::unsuback_to_theirs(&a.properties),
        }),
        Packet::PingReq => r::Packet::PingReq(r::PingReq),
        Packet::PingResp => r::Packet::PingResp(r::PingResp),
        Packet::Disconnect(d) => {
            let code = d.reason_code.unwrap_or(ReasonCode::SUCCESS).0;
            r::Packet::Disconnect(r::Disconnect {
                reason_code: r::DisconnectReasonCode::try_from(code).expect("5.0 code"),
                properties: d.properties.as_ref().and_then(props::disconnect_to_theirs),
            })
        }
        // rumqttc does not export `AuthReasonCode` nor `AuthProperties` (its `auth` module
        // is private and only `Auth` is re-exported), so an AUTH cannot be built on its side:
        // the AUTH checks start from bytes rumqttc reads (see `auth_to_ours`).
        Packet::Auth(_) => panic!("rumqttc's AUTH field types are not public"),
    }
}

pub fn to_ours(p: &r::Packet) -> Packet {
    match p {
        r::Packet::Connect(c, will, login) => Packet::Connect(Connect {
            version: ProtocolVersion::V5,
            clean_start: c.clean_start,
            keep_alive: c.keep_alive,
            properties: props::connect_to_ours(&c.properties),
            client_id: ByteString::from(c.client_id.as_str()),
            will: will.as_ref().map(|w| Will {
                topic: utf8(&w.topic),
                payload: w.message.clone(),
                qos: qos_to_ours(w.qos),
                retain: w.retain,
                properties: props::will_to_ours(&w.properties),
            }),
            username: login.as_ref().and_then(|l| non_empty(&l.username)),
            password: login
                .as_ref()
                .filter(|l| !l.password.is_empty())
                .map(|l| Bytes::copy_from_slice(l.password.as_bytes())),
        }),
        r::Packet::ConnAck(a) => Packet::ConnAck(ConnAck {
            session_present: a.session_present,
            code: connack_code_to_ours(&a.code),
            properties: props::connack_to_ours(&a.properties),
        }),
        r::Packet::Publish(p) => Packet::Publish(Publish {
            dup: p.dup,
            qos: qos_to_ours(p.qos),
            retain: p.retain,
            topic: utf8(&p.topic),
            packet_id: p.pkid,
            properties: props::publish_to_ours(&p.properties),
            payload: p.payload.clone(),
        }),
        r::Packet::PubAck(a) => ack_to_ours!(a, PubAck, puback_code_to_ours, puback_to_ours),
        r::Packet::PubRec(a) => ack_to_ours!(a, PubRec, pubrec_code_to_ours, pubrec_to_ours),
        r::Packet::PubRel(a) => ack_to_ours!(a, PubRel, pubrel_code_to_ours, pubrel_to_ours),
        r::Packet::PubComp(a) => {
            ack_to_ours!(a, PubComp, pubcomp_code_to_ours, pubcomp_to_ours)
        }
        r::Packet::Subscribe(s) => Packet::Subscribe(Subscribe {
            packet_id: s.pkid,
            properties: props::subscribe_to_ours(&s.properties),
            subscriptions: s
                .filters
                .iter()
                .map(|f| Subscription {
                    filter: ByteString::from(f.path.as_str()),
                    options: SubscribeOptions {
                        qos: qos_to_ours(f.qos),
                        no_local: f.nolocal,
                        retain_as_published: f.preserve_retain,
                        retain_handling: retain_rule_to_ours(&f.retain_forward_rule),
                    },
                })
                .collect(),
        }),
        r::Packet::SubAck(a) => Packet::SubAck(SubAck {
            packet_id: a.pkid,
            properties: props::suback_to_ours(&a.properties),
            return_codes: a.return_codes.iter().map(suback_code_to_ours).collect(),
        }),
        r::Packet::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
            packet_id: u.pkid,
            properties: props::unsubscribe_to_ours(&u.properties),
            filters: u
                .filters
                .iter()
                .map(|f| ByteString::from(f.as_str()))
                .collect(),
        }),
        r::Packet::UnsubAck(a) => Packet::UnsubAck(UnsubAck {
            packet_id: a.pkid,
            properties: props::unsuback_to_ours(&a.properties),
            reason_codes: a.reasons.iter().map(unsuback_code_to_ours).collect(),
        }),
        r::Packet::PingReq(_) => Packet::PingReq,
        r::Packet::PingResp(_) => Packet::PingResp,
        r::Packet::Disconnect(d) => {
            let (reason_code, properties) = tail_to_ours(
                ReasonCode(d.reason_code as u8),
                d.properties.is_some(),
                props::disconnect_to_ours(&d.properties),
            );
            Packet::Disconnect(Disconnect {
                reason_code,
                properties,
            })
        }
        r::Packet::Auth(a) => auth_to_ours(a),
    }
}

/// rumqttc always writes AUTH's reason code and Property Length. Its reason code type is not
/// public, so it is matched by name (the variant really is spelt `ReAuthentivate`).
fn auth_to_ours(a: &r::Auth) -> Packet {
    let code = match format!("{:?}", a.code).as_str() {
        "Success" => ReasonCode::SUCCESS,
        "Continue" => ReasonCode::CONTINUE_AUTHENTICATION,
        "ReAuthentivate" => ReasonCode::RE_AUTHENTICATE,
        other => panic!("unknown rumqttc AUTH code {other}"),
    };
    let mut list = Vec::new();
    if let Some(p) = &a.properties {
        list.extend(
            p.method
                .as_deref()
                .map(|v| Property::AuthenticationMethod(v.into())),
        );
        list.extend(p.data.clone().map(Property::AuthenticationData));
        list.extend(
            p.reason
                .as_deref()
                .map(|v| Property::ReasonString(v.into())),
        );
        let user = p.user_properties.iter();
        list.extend(
            user.map(|(k, v)| Property::UserProperty(k.as_str().into(), v.as_str().into())),
        );
    }
    Packet::Auth(Auth {
        reason_code: Some(code),
        properties: Some(Properties(list)),
    })
}

/// rumqttc's encoding of one packet.
pub fn write(p: &r::Packet) -> Bytes {
    let mut buf = BytesMut::new();
    p.write(&mut buf, None).expect("rumqttc encodes the packet");
    buf.freeze()
}

/// rumqttc's decoding of a buffer holding exactly one packet. `Packet::read` has no AUTH
/// branch (its `PacketType` stops at DISCONNECT, 5.0 section 2.1.2 defines type 15), so AUTH
/// goes through the public `check` and `Auth::read`; `deviations.rs` pins the refusal.
pub fn read(bytes: &[u8]) -> Result<r::Packet, Error> {
    let mut buf = BytesMut::from(bytes);
    let p = if bytes.first().is_some_and(|b| b >> 4 == 15) {
        let header = r::check(buf.iter(), None)?;
        let frame = buf.split_to(header.frame_length()).freeze();
        r::Packet::Auth(r::Auth::read(header, frame)?)
    } else {
        r::Packet::read(&mut buf, None)?
    };
    assert!(buf.is_empty(), "rumqttc left {} bytes", buf.len());
    Ok(p)
}
