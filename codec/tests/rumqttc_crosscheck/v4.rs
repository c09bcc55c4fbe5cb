//! MQTT 3.1.1: field-by-field mapping between our packets and rumqttc's `mqttbytes::v4`
//! packets, and rumqttc's reader and writer.
//!
//! The mapping is total on the packets the strategies generate; a packet rumqttc cannot
//! represent makes it panic, so a strategy that drifts is noticed instead of skipped.

use bytes::BytesMut;
use mqttspec_codec::{
    ByteString, Bytes, ConnAck, Connect, Packet, Properties, ProtocolVersion, PubAck, PubComp,
    PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe, Subscription, UnsubAck,
    Unsubscribe, Will,
};
use rumqttc::mqttbytes::v4 as r;
use rumqttc::mqttbytes::{Error, Protocol, QoS as RQoS};

/// Largest remaining length rumqttc is told to accept (its limit is on the remaining length,
/// ours on the whole packet).
pub const MAX: usize = 268_435_455;

pub fn qos_to_theirs(q: QoS) -> RQoS {
    match q {
        QoS::AtMostOnce => RQoS::AtMostOnce,
        QoS::AtLeastOnce => RQoS::AtLeastOnce,
        QoS::ExactlyOnce => RQoS::ExactlyOnce,
    }
}

pub fn qos_to_ours(q: RQoS) -> QoS {
    match q {
        RQoS::AtMostOnce => QoS::AtMostOnce,
        RQoS::AtLeastOnce => QoS::AtLeastOnce,
        RQoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

fn connack_code(code: ReasonCode) -> r::ConnectReturnCode {
    use r::ConnectReturnCode as C;
    match code.0 {
        0 => C::Success,
        1 => C::RefusedProtocolVersion,
        2 => C::BadClientId,
        3 => C::ServiceUnavailable,
        4 => C::BadUserNamePassword,
        5 => C::NotAuthorized,
        other => panic!("not a 3.1.1 CONNACK return code: {other:#04x}"),
    }
}

fn suback_code(code: ReasonCode) -> r::SubscribeReasonCode {
    use r::SubscribeReasonCode as C;
    match code.0 {
        0 => C::Success(RQoS::AtMostOnce),
        1 => C::Success(RQoS::AtLeastOnce),
        2 => C::Success(RQoS::ExactlyOnce),
        0x80 => C::Failure,
        other => panic!("not a 3.1.1 SUBACK return code: {other:#04x}"),
    }
}

fn suback_code_to_ours(code: r::SubscribeReasonCode) -> ReasonCode {
    match code {
        r::SubscribeReasonCode::Success(q) => ReasonCode(q as u8),
        r::SubscribeReasonCode::Failure => ReasonCode(0x80),
    }
}

/// rumqttc keeps user name and password as `String`s and writes a flag only for a non-empty
/// one, so the strategies give it non-empty UTF-8 values (see the deviation tests).
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

pub fn to_theirs(p: &Packet) -> r::Packet {
    match p {
        Packet::Connect(c) => {
            assert_eq!(c.version, ProtocolVersion::V311);
            assert!(c.properties.is_empty());
            r::Packet::Connect(r::Connect {
                protocol: Protocol::V4,
                keep_alive: c.keep_alive,
                client_id: c.client_id.to_string(),
                clean_session: c.clean_start,
                last_will: c.will.as_ref().map(|w| r::LastWill {
                    topic: w.topic.to_string(),
                    message: w.payload.clone(),
                    qos: qos_to_theirs(w.qos),
                    retain: w.retain,
                }),
                login: login_to_theirs(c),
            })
        }
        Packet::ConnAck(a) => r::Packet::ConnAck(r::ConnAck {
            session_present: a.session_present,
            code: connack_code(a.code),
        }),
        Packet::Publish(p) => r::Packet::Publish(r::Publish {
            dup: p.dup,
            qos: qos_to_theirs(p.qos),
            retain: p.retain,
            topic: p.topic.to_string(),
            pkid: p.packet_id,
            payload: p.payload.clone(),
        }),
        Packet::PubAck(a) => r::Packet::PubAck(r::PubAck { pkid: a.packet_id }),
        Packet::PubRec(a) => r::Packet::PubRec(r::PubRec { pkid: a.packet_id }),
        Packet::PubRel(a) => r::Packet::PubRel(r::PubRel { pkid: a.packet_id }),
        Packet::PubComp(a) => r::Packet::PubComp(r::PubComp { pkid: a.packet_id }),
        Packet::Subscribe(s) => r::Packet::Subscribe(r::Subscribe {
            pkid: s.packet_id,
            filters: s
                .subscriptions
                .iter()
                .map(|s| r::SubscribeFilter {
                    path: s.filter.to_string(),
                    qos: qos_to_theirs(s.options.qos),
                })
                .collect(),
        }),
        Packet::SubAck(a) => r::Packet::SubAck(r::SubAck {
            pkid: a.packet_id,
            return_codes: a.return_codes.iter().map(|c| suback_code(*c)).collect(),
        }),
        Packet::Unsubscribe(u) => r::Packet::Unsubscribe(r::Unsubscribe {
            pkid: u.packet_id,
            topics: u.filters.iter().map(|f| f.to_string()).collect(),
        }),
        Packet::UnsubAck(a) => r::Packet::UnsubAck(r::UnsubAck { pkid: a.packet_id }),
        Packet::PingReq => r::Packet::PingReq,
        Packet::PingResp => r::Packet::PingResp,
        Packet::Disconnect(_) => r::Packet::Disconnect,
        Packet::Auth(_) => panic!("AUTH does not exist in 3.1.1"),
    }
}

fn non_empty(s: &str) -> Option<ByteString> {
    (!s.is_empty()).then(|| ByteString::from(s))
}

pub fn to_ours(p: &r::Packet) -> Packet {
    match p {
        r::Packet::Connect(c) => Packet::Connect(Connect {
            version: ProtocolVersion::V311,
            clean_start: c.clean_session,
            keep_alive: c.keep_alive,
            properties: Properties::new(),
            client_id: ByteString::from(c.client_id.as_str()),
            will: c.last_will.as_ref().map(|w| Will {
                topic: ByteString::from(w.topic.as_str()),
                payload: w.message.clone(),
                qos: qos_to_ours(w.qos),
                retain: w.retain,
                properties: Properties::new(),
            }),
            username: c.login.as_ref().and_then(|l| non_empty(&l.username)),
            password: c
                .login
                .as_ref()
                .filter(|l| !l.password.is_empty())
                .map(|l| Bytes::copy_from_slice(l.password.as_bytes())),
        }),
        r::Packet::ConnAck(a) => {
            Packet::ConnAck(ConnAck::new(a.session_present, ReasonCode(a.code as u8)))
        }
        r::Packet::Publish(p) => Packet::Publish(Publish {
            dup: p.dup,
            qos: qos_to_ours(p.qos),
            retain: p.retain,
            topic: ByteString::from(p.topic.as_str()),
            packet_id: p.pkid,
            properties: Properties::new(),
            payload: p.payload.clone(),
        }),
        r::Packet::PubAck(a) => Packet::PubAck(PubAck::new(a.pkid)),
        r::Packet::PubRec(a) => Packet::PubRec(PubRec::new(a.pkid)),
        r::Packet::PubRel(a) => Packet::PubRel(PubRel::new(a.pkid)),
        r::Packet::PubComp(a) => Packet::PubComp(PubComp::new(a.pkid)),
        r::Packet::Subscribe(s) => Packet::Subscribe(Subscribe {
            packet_id: s.pkid,
            properties: Properties::new(),
            subscriptions: s
                .filters
                .iter()
                .map(|f| Subscription::new(f.path.as_str(), qos_to_ours(f.qos)))
                .collect(),
        }),
        r::Packet::SubAck(a) => Packet::SubAck(SubAck {
            packet_id: a.pkid,
            properties: Properties::new(),
            return_codes: a
                .return_codes
                .iter()
                .map(|c| suback_code_to_ours(*c))
                .collect(),
        }),
        r::Packet::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
            packet_id: u.pkid,
            properties: Properties::new(),
            filters: u
                .topics
                .iter()
                .map(|t| ByteString::from(t.as_str()))
                .collect(),
        }),
        r::Packet::UnsubAck(a) => Packet::UnsubAck(UnsubAck::new(a.pkid)),
        r::Packet::PingReq => Packet::PingReq,
        r::Packet::PingResp => Packet::PingResp,
        r::Packet::Disconnect => Packet::Disconnect(Default::default()),
    }
}

/// rumqttc's encoding of one packet.
pub fn write(p: &r::Packet) -> Bytes {
    let mut buf = BytesMut::new();
    p.write(&mut buf, MAX).expect("rumqttc encodes the packet");
    buf.freeze()
}

/// rumqttc's decoding of a buffer holding exactly one packet: what is left must be empty.
pub fn read(bytes: &[u8]) -> Result<r::Packet, Error> {
    let mut buf = BytesMut::from(bytes);
    let p = r::Packet::read(&mut buf, MAX)?;
    assert!(buf.is_empty(), "rumqttc left {} bytes", buf.len());
    Ok(p)
}
