//! Packet-level mutations of fields: edges of ranges, packet identifiers, and strings made
//! ill-formed.

use super::flow::{below, pick};
use super::frame::{Frame, replace_publish_property_string, replace_string};
use super::kinds::MutationKind;
use crate::sim::rng::Rng;
use mqttspec_codec::{
    Packet, PacketType, Properties, Property, ProtocolVersion, QoS, Subscription, Will,
};

pub(super) fn packet_id_of(p: &Packet) -> Option<u16> {
    match p {
        Packet::Publish(p) if p.qos != QoS::AtMostOnce => Some(p.packet_id),
        Packet::Subscribe(s) => Some(s.packet_id),
        Packet::Unsubscribe(u) => Some(u.packet_id),
        _ => None,
    }
}

/// Sets the packet identifier of one packet that has one to `id` (0 when `None`); for a
/// reused identifier, a packet other than the first that has one.
pub(super) fn packet_id(
    rng: &mut Rng,
    packets: &mut [Packet],
    id: Option<u16>,
) -> Option<PacketType> {
    let skip_first = id.is_some();
    let mut eligible: Vec<usize> = (0..packets.len())
        .filter(|&i| packet_id_of(&packets[i]).is_some() || matches!(packets[i], Packet::PubRel(_)))
        .collect();
    if skip_first && !eligible.is_empty() {
        eligible.remove(0);
    }
    if eligible.is_empty() {
        return None;
    }
    let i = *pick(rng, &eligible);
    let id = id.unwrap_or(0);
    match &mut packets[i] {
        Packet::Publish(p) => p.packet_id = id,
        Packet::Subscribe(s) => s.packet_id = id,
        Packet::Unsubscribe(u) => u.packet_id = id,
        Packet::PubRel(r) => r.packet_id = id,
        _ => return None,
    }
    Some(packets[i].packet_type())
}

/// Pushes one field of one packet to an edge of its range (or past it).
pub(super) fn field_edge(
    rng: &mut Rng,
    packets: &mut [Packet],
    version: ProtocolVersion,
) -> Option<PacketType> {
    let v5 = version == ProtocolVersion::V5;
    let i = below(rng, packets.len());
    match &mut packets[i] {
        Packet::Connect(c) => match below(rng, 8) {
            0 => c.keep_alive = *pick(rng, &[0, 1, u16::MAX]),
            1 => c.client_id = "".into(),
            2 => {
                let len = *pick(rng, &[23usize, 24, 257, 65_535]);
                c.client_id = "c".repeat(len).into();
            }
            3 => {
                c.clean_start = false;
                if rng.chance(0.5) {
                    c.client_id = "".into();
                }
            }
            4 => {
                c.will = Some(Will {
                    topic: format!("{}/will", c.client_id).into(),
                    payload: vec![b'w'; below(rng, 10)].into(),
                    qos: *pick(rng, &[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]),
                    retain: false,
                    properties: Properties::default(),
                })
            }
            5 => {
                c.username = rng.chance(0.5).then(|| "fuzz".into());
                c.password = Some(b"secret".to_vec().into());
            }
            6 if v5 => {
                let p = match below(rng, 6) {
                    0 => Property::ReceiveMaximum(*pick(rng, &[0, 1, u16::MAX])),
                    1 => Property::MaximumPacketSize(*pick(rng, &[0, 1, 64, u32::MAX])),
                    2 => Property::TopicAliasMaximum(*pick(rng, &[0, u16::MAX])),
                    3 => Property::RequestProblemInformation(*pick(rng, &[0, 1, 2])),
                    4 => Property::SessionExpiryInterval(*pick(rng, &[0, 1])),
                    _ => Property::UserProperty("k".repeat(1000).into(), "".into()),
                };
                c.properties = Properties::new().with(p);
            }
            _ => c.keep_alive = u16::MAX,
        },
        Packet::Publish(p) => match below(rng, 7) {
            0 => p.payload = vec![0xA5; *pick(rng, &[0usize, 1, 70_000])].into(),
            1 => {
                p.retain = true;
                p.payload = Vec::new().into();
            }
            2 => p.dup = true,
            3 => p.topic = format!("{}/{}", p.topic, "l/".repeat(500)).into(),
            4 if v5 => {
                let prop = match below(rng, 4) {
                    0 => Property::TopicAlias(*pick(rng, &[0, 1, u16::MAX])),
                    1 => Property::PayloadFormatIndicator(*pick(rng, &[1, 2])),
                    2 => Property::SubscriptionIdentifier(1),
                    _ => Property::MessageExpiryInterval(u32::MAX),
                };
                p.properties = Properties::new().with(prop);
                if rng.chance(0.5) {
                    p.payload = vec![0xFF, 0xFE].into();
                }
            }
            5 => p.topic = format!("${}", p.topic).into(),
            _ => {
                p.qos = QoS::AtLeastOnce;
                p.packet_id = u16::MAX;
            }
        },
        Packet::Subscribe(s) => match below(rng, 4) {
            0 => {
                let base = s.subscriptions.first()?.filter.clone();
                s.subscriptions = (0..30)
                    .map(|k| Subscription::new(format!("{base}/{k}"), QoS::AtLeastOnce))
                    .collect();
            }
            1 if v5 => {
                let sub = s.subscriptions.first_mut()?;
                sub.options.no_local = rng.chance(0.5);
                sub.options.retain_as_published = rng.chance(0.5);
                sub.options.retain_handling = below(rng, 4) as u8;
            }
            2 => s.packet_id = u16::MAX,
            _ => {
                let sub = s.subscriptions.first_mut()?;
                sub.filter = format!("{}/+/+", sub.filter.trim_end_matches("/#")).into();
            }
        },
        Packet::Unsubscribe(u) => u.filters.push("never/subscribed".into()),
        _ => return None,
    }
    Some(packets[i].packet_type())
}

/// 5.0 only: one property of one packet at or past its range, misplaced, repeated, or one
/// only a server may send: Topic Alias 0 or above any likely maximum, a Subscription
/// Identifier on a client's PUBLISH (5.0/MQTT-3.3.4-6), a Response Topic with wildcards
/// (5.0/MQTT-3.3.2-14), a repeated Payload Format Indicator, a Session Expiry Interval in a
/// PUBLISH, Receive Maximum or Maximum Packet Size 0, Request Problem Information 2,
/// Subscription Identifier 0 on SUBSCRIBE, Will Delay Interval outside a will.
pub(super) fn property_edge(
    rng: &mut Rng,
    packets: &mut [Packet],
    version: ProtocolVersion,
) -> Option<PacketType> {
    if version != ProtocolVersion::V5 {
        return None;
    }
    let eligible: Vec<usize> = (0..packets.len())
        .filter(|&i| {
            matches!(
                packets[i],
                Packet::Connect(_) | Packet::Publish(_) | Packet::Subscribe(_)
            )
        })
        .collect();
    if eligible.is_empty() {
        return None;
    }
    // PUBLISH has the most properties: it is chosen when the flow has one, two times in three.
    let publishes: Vec<usize> = eligible
        .iter()
        .copied()
        .filter(|&i| matches!(packets[i], Packet::Publish(_)))
        .collect();
    let i = if !publishes.is_empty() && !rng.chance(1.0 / 3.0) {
        *pick(rng, &publishes)
    } else {
        *pick(rng, &eligible)
    };
    match &mut packets[i] {
        Packet::Publish(p) => {
            let props: Vec<Property> = match below(rng, 6) {
                0 => vec![Property::TopicAlias(*pick(rng, &[0, 100, 1000, u16::MAX]))],
                1 => vec![Property::SubscriptionIdentifier(*pick(
                    rng,
                    &[1, 268_435_455],
                ))],
                2 => {
                    let bad = *pick(rng, &["/+", "/#", "/+/x"]);
                    vec![Property::ResponseTopic(format!("{}{bad}", p.topic).into())]
                }
                3 => vec![
                    Property::PayloadFormatIndicator(0),
                    Property::PayloadFormatIndicator(0),
                ],
                4 => vec![Property::SessionExpiryInterval(10)],
                _ => vec![Property::WillDelayInterval(1)],
            };
            for prop in props {
                p.properties.push(prop);
            }
        }
        Packet::Connect(c) => {
            let prop = match below(rng, 4) {
                0 => Property::ReceiveMaximum(0),
                1 => Property::MaximumPacketSize(0),
                2 => Property::RequestProblemInformation(2),
                _ => Property::TopicAlias(1),
            };
            c.properties.push(prop);
        }
        Packet::Subscribe(s) => {
            s.properties.push(Property::SubscriptionIdentifier(0));
        }
        _ => return None,
    }
    Some(packets[i].packet_type())
}

/// A string a string mutation may act on: its bytes, and whether it is a topic name (where
/// a wildcard is forbidden), a filter (where a malformed one is), or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StringRole {
    TopicName,
    Filter,
    Other,
}

/// The strings of a packet a string mutation may act on: client identifier, topic names
/// and filters, and in 5.0 the string properties of a PUBLISH (Content Type, Response
/// Topic, User Property names and values: 5.0/MQTT-1.5.4-1, 1.5.7-1, 3.3.2-13, -14, -19).
fn strings_of(p: &Packet) -> Vec<(&str, StringRole, bool)> {
    let mut out = Vec::new();
    match p {
        Packet::Connect(c) if !c.client_id.is_empty() => {
            out.push((&*c.client_id, StringRole::Other, false))
        }
        Packet::Publish(p) => {
            if !p.topic.is_empty() {
                out.push((&*p.topic, StringRole::TopicName, false));
            }
            for prop in p.properties.iter() {
                match prop {
                    Property::ContentType(s) => out.push((&**s, StringRole::Other, true)),
                    Property::ResponseTopic(s) => out.push((&**s, StringRole::TopicName, true)),
                    Property::UserProperty(k, v) => {
                        out.push((&**k, StringRole::Other, true));
                        out.push((&**v, StringRole::Other, true));
                    }
                    _ => {}
                }
            }
        }
        Packet::Subscribe(s) => {
            if let Some(f) = s.subscriptions.first() {
                out.push((&*f.filter, StringRole::Filter, false));
            }
        }
        Packet::Unsubscribe(u) => {
            if let Some(f) = u.filters.first() {
                out.push((&**f, StringRole::Filter, false));
            }
        }
        _ => {}
    }
    out
}

/// One string of one packet made ill-formed UTF-8, overlong, with U+0000 or with wildcards
/// where they are forbidden.
pub(super) fn bad_string(
    rng: &mut Rng,
    packets: &[Packet],
    frames: &[Frame],
    kind: MutationKind,
) -> Option<(usize, Vec<u8>)> {
    let wildcard = kind == MutationKind::ForbiddenWildcard;
    let mut eligible: Vec<(usize, &str, StringRole, bool)> = packets
        .iter()
        .enumerate()
        .flat_map(|(i, p)| strings_of(p).into_iter().map(move |(s, r, q)| (i, s, r, q)))
        .filter(|(_, _, role, _)| !wildcard || *role != StringRole::Other)
        .collect();
    if eligible.is_empty() {
        return None;
    }
    // Property strings are rarer than topics and filters: half the time, one of them.
    if eligible.iter().any(|e| e.3) && rng.chance(0.5) {
        eligible.retain(|e| e.3);
    }
    let (i, old, role, property) = *pick(rng, &eligible);
    let old = old.as_bytes().to_vec();
    let mut new = old.clone();
    match kind {
        MutationKind::InvalidUtf8 => {
            let bad: &[&[u8]] = &[
                &[0xFF],
                &[0x80],
                &[0xC3],
                &[0xED, 0xA0, 0x80],
                &[0xF4, 0x90, 0x80, 0x80],
            ];
            let at = below(rng, new.len() + 1);
            new.splice(at..at, pick(rng, bad).iter().copied());
        }
        MutationKind::OverlongUtf8 => {
            let bad: &[&[u8]] = &[&[0xC0, 0xAF], &[0xE0, 0x80, 0xAF], &[0xC1, 0xBF]];
            let at = below(rng, new.len() + 1);
            new.splice(at..at, pick(rng, bad).iter().copied());
        }
        MutationKind::NullChar => {
            let at = below(rng, new.len() + 1);
            new.insert(at, 0);
        }
        _ => {
            let s = String::from_utf8_lossy(&old)
                .trim_end_matches("/#")
                .to_owned();
            let bad = match role {
                StringRole::TopicName => pick(rng, &["/+", "/#", "/+/x", "#"]).to_string(),
                _ => pick(rng, &["/#/x", "/a#", "/+x", "x#", "/##"]).to_string(),
            };
            new = format!("{s}{bad}").into_bytes();
        }
    }
    let frame = if property {
        replace_publish_property_string(&frames[i].bytes, &old, &new)?
    } else {
        replace_string(&frames[i].bytes, &old, &new)?
    };
    Some((i, frame))
}
