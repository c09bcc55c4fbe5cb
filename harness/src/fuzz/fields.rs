//! Packet-level mutations of fields: edges of ranges, packet identifiers, and strings made
//! ill-formed.

use super::flow::{below, pick};
use super::frame::{Frame, replace_string};
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

/// The string a packet's string mutation acts on.
fn string_of(p: &Packet) -> Option<&str> {
    match p {
        Packet::Connect(c) if !c.client_id.is_empty() => Some(&c.client_id),
        Packet::Publish(p) => Some(&p.topic),
        Packet::Subscribe(s) => s.subscriptions.first().map(|s| &*s.filter),
        Packet::Unsubscribe(u) => u.filters.first().map(|f| &**f),
        _ => None,
    }
}

/// One string of one packet made ill-formed UTF-8, overlong, with U+0000 or with wildcards
/// where they are forbidden.
pub(super) fn bad_string(
    rng: &mut Rng,
    packets: &[Packet],
    frames: &[Frame],
    kind: MutationKind,
) -> Option<(usize, Vec<u8>)> {
    let eligible: Vec<usize> = (0..packets.len())
        .filter(|&i| string_of(&packets[i]).is_some())
        .filter(|&i| {
            kind != MutationKind::ForbiddenWildcard
                || matches!(
                    packets[i],
                    Packet::Publish(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_)
                )
        })
        .collect();
    if eligible.is_empty() {
        return None;
    }
    let i = *pick(rng, &eligible);
    let old = string_of(&packets[i])?.as_bytes().to_vec();
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
            let bad = match packets[i] {
                Packet::Publish(_) => pick(rng, &["/+", "/#", "/+/x", "#"]).to_string(),
                _ => pick(rng, &["/#/x", "/a#", "/+x", "x#", "/##"]).to_string(),
            };
            new = format!("{s}{bad}").into_bytes();
        }
    }
    let frame = replace_string(&frames[i].bytes, &old, &new)?;
    Some((i, frame))
}
