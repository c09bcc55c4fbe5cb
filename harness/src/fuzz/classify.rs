//! What the specification requires of the broker for a case's bytes, judged by decoding them
//! with our own codec as the broker must read them: a connection that must be closed (a
//! malformed packet or a protocol error where 3.1.1 section 4.8 and 5.0 section 4.13 require
//! the close), a valid flow with the acknowledgements it must get, or neither (bytes that
//! never complete a packet, or a breach the specification lets the broker answer otherwise).

use bytes::BytesMut;
use mqttspec_codec::{
    DecodeErrorKind, DecodeOptions, Decoder, FilterError, Packet, PacketType, PropertyId,
    ProtocolVersion, QoS,
};
use std::collections::BTreeMap;

/// The codec's verdict on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The broker must close the connection.
    MustClose {
        version: ProtocolVersion,
        packet: Option<PacketType>,
        why: String,
        statements: Vec<String>,
    },
    /// Every packet is valid: these acknowledgements are due (by type, how many), unless
    /// the CONNECT is refused. `disconnect`: the flow ends with DISCONNECT. `topic_alias`:
    /// the highest 5.0 Topic Alias the flow uses (0: none), valid only if the CONNACK's Topic
    /// Alias Maximum allows it (5.0 section 3.3.2.3.4: above it, a protocol error).
    Valid {
        version: ProtocolVersion,
        acks: BTreeMap<PacketType, usize>,
        disconnect: bool,
        topic_alias: u16,
    },
    /// Nothing is required: an incomplete packet, or a breach whose answer is open.
    Open {
        version: ProtocolVersion,
        why: String,
    },
}

impl Expectation {
    pub fn version(&self) -> ProtocolVersion {
        match self {
            Self::MustClose { version, .. }
            | Self::Valid { version, .. }
            | Self::Open { version, .. } => *version,
        }
    }
}

fn catch_all(version: ProtocolVersion) -> String {
    match version {
        ProtocolVersion::V311 => "3.1.1/MQTT-4.8.0-1".to_owned(),
        ProtocolVersion::V5 => "5.0/MQTT-4.13.1-1".to_owned(),
    }
}

fn ids(version: ProtocolVersion, ids: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = ids
        .iter()
        .map(|id| format!("{}/MQTT-{id}", version.namespace()))
        .collect();
    out.push(catch_all(version));
    out
}

/// Whether the specification requires the close for this decoding error. Left out: a wrong
/// protocol name (the server MAY close, 3.1.2-1), a non-minimal remaining length (3.1.1 does
/// not forbid it; 5.0's 1.5.5-1 binds the sender), sizes (a server's own limit), invalid
/// filters and No Local on shared subscriptions in 5.0 (a SUBACK reason code may refuse
/// them), undefined reason codes in acknowledgements, and protocol level 3 (MQTT 3.1, which
/// a broker may speak).
fn close_required(kind: &DecodeErrorKind, version: ProtocolVersion) -> bool {
    use DecodeErrorKind as K;
    let v5 = version == ProtocolVersion::V5;
    match kind {
        K::InvalidProtocolName(_)
        | K::NonMinimalVarint
        | K::PacketTooLarge { .. }
        | K::InvalidReasonCode { .. }
        | K::NoLocalOnSharedSubscription(_)
        | K::UnsupportedProtocolLevel(3) => false,
        K::InvalidTopicFilter { reason, .. } => {
            !v5 && !matches!(reason, FilterError::SharedSubscription)
        }
        _ => true,
    }
}

fn acks_of(packet: &Packet) -> Option<PacketType> {
    match packet {
        Packet::Subscribe(_) => Some(PacketType::SubAck),
        Packet::Unsubscribe(_) => Some(PacketType::UnsubAck),
        Packet::Publish(p) if p.qos == QoS::AtLeastOnce => Some(PacketType::PubAck),
        Packet::Publish(p) if p.qos == QoS::ExactlyOnce => Some(PacketType::PubRec),
        Packet::PubRel(_) => Some(PacketType::PubComp),
        Packet::PingReq => Some(PacketType::PingResp),
        _ => None,
    }
}

/// Judges the bytes one connection sends, from its first byte.
pub fn classify(stream: &[u8], flow_version: ProtocolVersion) -> Expectation {
    let options = DecodeOptions {
        strict: true,
        max_packet_size: u32::MAX,
    };
    let mut decoder = Decoder::with_options(ProtocolVersion::V311, options);
    let mut buf = BytesMut::from(stream);
    let mut version = flow_version;
    let mut connected = false;
    let mut acks: BTreeMap<PacketType, usize> = BTreeMap::new();
    // 5.0: the CONNECT named an Authentication Method (the broker's answer depends on the
    // methods it offers), the highest Topic Alias used, the aliases set so far.
    let mut auth = false;
    let mut topic_alias: u16 = 0;
    let mut aliases_set: Vec<u16> = Vec::new();
    let valid = |version, acks, disconnect, topic_alias, auth: bool| {
        if auth {
            Expectation::Open {
                version,
                why: "an enhanced-authentication exchange: the answer depends on the broker's methods"
                    .to_owned(),
            }
        } else {
            Expectation::Valid {
                version,
                acks,
                disconnect,
                topic_alias,
            }
        }
    };
    loop {
        // Where the next frame starts: the decoder takes a bad frame off the buffer too.
        let offset = stream.len() - buf.len();
        let packet = match decoder.decode(&mut buf) {
            Ok(Some(p)) => p,
            Ok(None) if buf.is_empty() && connected => {
                return valid(version, acks, false, topic_alias, auth);
            }
            Ok(None) => {
                return Expectation::Open {
                    version,
                    why: "the bytes end inside a packet".to_owned(),
                };
            }
            Err(e) => {
                let v = e.version;
                if !close_required(&e.kind, v) {
                    return Expectation::Open {
                        version,
                        why: format!("{} (the specification leaves the answer open)", e.kind),
                    };
                }
                let packet = stream_type_at(stream, offset);
                return Expectation::MustClose {
                    version: v,
                    packet,
                    why: e.kind.to_string(),
                    statements: e.statements(),
                };
            }
        };
        let t = packet.packet_type();
        if !connected {
            let Packet::Connect(c) = &packet else {
                return Expectation::MustClose {
                    version,
                    packet: Some(t),
                    why: format!("the first packet is {}, not CONNECT", t.name()),
                    statements: ids(version, &["3.1.0-1"]),
                };
            };
            connected = true;
            version = c.version;
            auth = c.properties.get(PropertyId::AuthenticationMethod).is_some();
            decoder = Decoder::with_options(version, options);
            continue;
        }
        match packet {
            Packet::Connect(_) => {
                return Expectation::MustClose {
                    version,
                    packet: Some(t),
                    why: "a second CONNECT on the connection".to_owned(),
                    statements: ids(version, &["3.1.0-2"]),
                };
            }
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                return Expectation::MustClose {
                    version,
                    packet: Some(t),
                    why: format!("{} sent by a client (only a server sends it)", t.name()),
                    statements: ids(version, &[]),
                };
            }
            Packet::Auth(_) if auth => {}
            Packet::Auth(_) => {
                // 5.0 section 4.12: AUTH without an Authentication Method in the CONNECT.
                return Expectation::MustClose {
                    version,
                    packet: Some(t),
                    why: "AUTH after a CONNECT without Authentication Method".to_owned(),
                    statements: ids(version, &[]),
                };
            }
            Packet::Disconnect(_) => {
                return valid(version, acks, true, topic_alias, auth);
            }
            Packet::Publish(p)
                if version == ProtocolVersion::V5
                    && p.properties
                        .get(PropertyId::SubscriptionIdentifier)
                        .is_some() =>
            {
                // 5.0/MQTT-3.3.4-6: a client's PUBLISH carries no Subscription Identifier;
                // the text beside it makes one a protocol error.
                return Expectation::MustClose {
                    version,
                    packet: Some(t),
                    why: "a PUBLISH from the client with a Subscription Identifier".to_owned(),
                    statements: ids(version, &["3.3.4-6"]),
                };
            }
            Packet::Publish(p)
                if version == ProtocolVersion::V5
                    && p.properties.get(PropertyId::TopicAlias).is_some() =>
            {
                let alias = p
                    .properties
                    .int(PropertyId::TopicAlias)
                    .map_or(u16::MAX, |a| u16::try_from(a).unwrap_or(u16::MAX));
                if p.topic.is_empty() && !aliases_set.contains(&alias) {
                    // An alias with no mapping yet: left open (the broker may refuse it
                    // in more than one way).
                    return Expectation::Open {
                        version,
                        why: format!("topic alias {alias} used before it was set"),
                    };
                }
                aliases_set.push(alias);
                topic_alias = topic_alias.max(alias);
                if let Some(ack) = acks_of(&Packet::Publish(p)) {
                    *acks.entry(ack).or_default() += 1;
                }
            }
            other => {
                if let Some(ack) = acks_of(&other) {
                    *acks.entry(ack).or_default() += 1;
                }
            }
        }
    }
}

/// The packet type of the frame starting at `offset` of the stream.
fn stream_type_at(stream: &[u8], offset: usize) -> Option<PacketType> {
    stream.get(offset).and_then(|b| PacketType::from_u8(b >> 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqttspec_codec::Connect;

    fn connect(v: ProtocolVersion) -> Vec<u8> {
        Packet::Connect(Connect {
            version: v,
            client_id: "c".into(),
            ..Connect::default()
        })
        .to_bytes(v)
        .expect("encodes")
        .to_vec()
    }

    #[test]
    fn verdicts() {
        let v = ProtocolVersion::V311;
        let mut s = connect(v);
        s.extend_from_slice(&[0xC0, 0x00]);
        assert!(matches!(
            classify(&s, v),
            Expectation::Valid { ref acks, .. } if acks.get(&PacketType::PingResp) == Some(&1)
        ));
        let mut bad = connect(v);
        bad.extend_from_slice(&[0xC1, 0x00, 0x30, 0x03, 0x00, 0x01, b'a']);
        match classify(&bad, v) {
            Expectation::MustClose {
                statements, packet, ..
            } => {
                assert_eq!(packet, Some(PacketType::PingReq));
                assert!(
                    statements.contains(&"3.1.1/MQTT-2.2.2-2".to_owned()),
                    "{statements:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        let mut open = connect(v);
        open.extend_from_slice(&[0x30, 0x10, 0x00]);
        assert!(matches!(classify(&open, v), Expectation::Open { .. }));
        assert!(matches!(
            classify(&[0xC0, 0x00], v),
            Expectation::MustClose { .. }
        ));
        let mut twice = connect(ProtocolVersion::V5);
        twice.extend(connect(ProtocolVersion::V5));
        assert!(matches!(
            classify(&twice, v),
            Expectation::MustClose {
                version: ProtocolVersion::V5,
                ..
            }
        ));
    }

    #[test]
    fn verdicts_in_5_0() {
        use mqttspec_codec::{Auth, Properties, Property, Publish};
        let v = ProtocolVersion::V5;
        let with = |p: Packet| {
            let mut s = connect(v);
            s.extend_from_slice(&p.to_bytes(v).expect("encodes"));
            s
        };
        // A Subscription Identifier on a client's PUBLISH: the close, citing 3.3.4-6.
        let mut p = Publish::new("a", QoS::AtMostOnce, &b"x"[..]);
        p.properties.push(Property::SubscriptionIdentifier(1));
        match classify(&with(Packet::Publish(p)), v) {
            Expectation::MustClose { statements, .. } => {
                assert!(statements.contains(&"5.0/MQTT-3.3.4-6".to_owned()));
            }
            other => panic!("{other:?}"),
        }
        // A Topic Alias: valid, with the alias recorded for the CONNACK's maximum.
        let mut p = Publish::new("a", QoS::AtLeastOnce, &b"x"[..]);
        p.packet_id = 1;
        p.properties.push(Property::TopicAlias(7));
        assert!(matches!(
            classify(&with(Packet::Publish(p.clone())), v),
            Expectation::Valid { topic_alias: 7, .. }
        ));
        // An empty topic with an alias never set: left open.
        p.topic = "".into();
        assert!(matches!(
            classify(&with(Packet::Publish(p)), v),
            Expectation::Open { .. }
        ));
        // AUTH after a CONNECT with an Authentication Method: open; without: the close.
        let auth = Packet::Auth(Auth {
            reason_code: Some(mqttspec_codec::ReasonCode(0x18)),
            properties: Some(
                Properties::new().with(Property::AuthenticationMethod("SCRAM-SHA-256".into())),
            ),
        });
        assert!(matches!(
            classify(&with(auth.clone()), v),
            Expectation::MustClose { .. }
        ));
        let mut s = Packet::Connect(Connect {
            version: v,
            client_id: "c".into(),
            properties: Properties::new()
                .with(Property::AuthenticationMethod("SCRAM-SHA-256".into())),
            ..Connect::default()
        })
        .to_bytes(v)
        .expect("encodes")
        .to_vec();
        s.extend_from_slice(&auth.to_bytes(v).expect("encodes"));
        assert!(matches!(classify(&s, v), Expectation::Open { .. }));
    }
}
