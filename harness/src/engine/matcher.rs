//! Comparing a received packet with a pattern: only the fields the pattern gives count.

use super::packets::{payload, resolve_id};
use super::vars::Vars;
use crate::scenario::idref::IdRef;
use crate::scenario::model::{AckPattern, ConnackPattern, PacketPattern};
use crate::scenario::props::PropertiesPattern;
use mqttspec_codec::{Packet, Properties, ReasonCode};

/// Why a packet does not match, in words a report can show.
pub type Mismatch = String;

fn field<T: PartialEq + std::fmt::Debug>(
    name: &str,
    want: Option<T>,
    got: T,
) -> Result<(), Mismatch> {
    match want {
        Some(w) if w != got => Err(format!("{name} is {got:?}, expected {w:?}")),
        _ => Ok(()),
    }
}

fn id(want: &Option<IdRef>, got: u16, vars: &Vars) -> Result<(), Mismatch> {
    match want {
        None => Ok(()),
        Some(w) => field("packet_id", Some(resolve_id(w, vars)?), got),
    }
}

/// A 5.0 reason code; an absent one means 0x00 (success) where the packet may leave it out.
fn reason(want: Option<u8>, got: Option<ReasonCode>) -> Result<(), Mismatch> {
    field("reason code", want, got.map_or(0, |r| r.0))
}

fn props(
    want: &Option<Box<PropertiesPattern>>,
    got: Option<&Properties>,
    vars: &Vars,
) -> Result<(), Mismatch> {
    match want {
        None => Ok(()),
        Some(p) => p.check(got.unwrap_or(&Properties::default()), vars),
    }
}

fn ack(
    p: &AckPattern,
    got: u16,
    code: Option<ReasonCode>,
    properties: Option<&Properties>,
    vars: &Vars,
) -> Result<(), Mismatch> {
    id(&p.packet_id, got, vars)?;
    reason(p.reason, code)?;
    props(&p.properties, properties, vars)
}

pub fn connack(p: &ConnackPattern, packet: &Packet) -> Result<(), Mismatch> {
    connack_with(p, packet, &Vars::new("", ""))
}

pub fn connack_with(p: &ConnackPattern, packet: &Packet, vars: &Vars) -> Result<(), Mismatch> {
    let Packet::ConnAck(c) = packet else {
        return Err(format!(
            "got {}, expected CONNACK",
            packet.packet_type().name()
        ));
    };
    field("session_present", p.session_present, c.session_present)?;
    field("return code", p.code, c.code.0)?;
    props(&p.properties, Some(&c.properties), vars)
}

pub fn matches(pattern: &PacketPattern, packet: &Packet, vars: &Vars) -> Result<(), Mismatch> {
    let kind = |want: &str| {
        Err(format!(
            "got {}, expected {want}",
            packet.packet_type().name()
        ))
    };
    match (pattern, packet) {
        (PacketPattern::Any, _) => Ok(()),
        (PacketPattern::Connack(p), _) => connack_with(p, packet, vars),
        (PacketPattern::Publish(p), Packet::Publish(got)) => {
            if let Some(t) = &p.topic {
                field("topic", Some(vars.expand(t)?.as_str()), &*got.topic)?;
            }
            if let Some(f) = &p.topic_matches {
                let filter = vars.expand(f)?;
                if !super::topic::filter_matches(&filter, &got.topic, true) {
                    return Err(format!(
                        "topic {:?} does not match the filter {filter:?}",
                        &*got.topic
                    ));
                }
            }
            let spec = p.payload_spec();
            if spec.text.is_some() || spec.hex.is_some() || spec.size.is_some() {
                let want = payload(spec, vars)?;
                if want != got.payload {
                    return Err(format!(
                        "payload is {}, expected {}",
                        super::describe::payload(&got.payload),
                        super::describe::payload(&want)
                    ));
                }
            }
            field("qos", p.qos, got.qos.as_u8())?;
            field("retain", p.retain, got.retain)?;
            field("dup", p.dup, got.dup)?;
            if let Some(not) = &p.packet_id_not
                && resolve_id(not, vars)? == got.packet_id
            {
                return Err(format!(
                    "packet_id is {}, which it must not be",
                    got.packet_id
                ));
            }
            id(&p.packet_id, got.packet_id, vars)?;
            props(&p.properties, Some(&got.properties), vars)
        }
        (PacketPattern::Publish(_), _) => kind("PUBLISH"),
        (PacketPattern::Puback(p), Packet::PubAck(a)) => {
            ack(p, a.packet_id, a.reason_code, a.properties.as_ref(), vars)
        }
        (PacketPattern::Puback(_), _) => kind("PUBACK"),
        (PacketPattern::Pubrec(p), Packet::PubRec(a)) => {
            ack(p, a.packet_id, a.reason_code, a.properties.as_ref(), vars)
        }
        (PacketPattern::Pubrec(_), _) => kind("PUBREC"),
        (PacketPattern::Pubrel(p), Packet::PubRel(a)) => {
            ack(p, a.packet_id, a.reason_code, a.properties.as_ref(), vars)
        }
        (PacketPattern::Pubrel(_), _) => kind("PUBREL"),
        (PacketPattern::Pubcomp(p), Packet::PubComp(a)) => {
            ack(p, a.packet_id, a.reason_code, a.properties.as_ref(), vars)
        }
        (PacketPattern::Pubcomp(_), _) => kind("PUBCOMP"),
        (PacketPattern::Suback(p), Packet::SubAck(s)) => {
            id(&p.packet_id, s.packet_id, vars)?;
            let got: Vec<u8> = s.return_codes.iter().map(|c| c.0).collect();
            if let Some(wanted) = &p.below {
                let lower = wanted
                    .iter()
                    .zip(&got)
                    .any(|(want, code)| *code >= 0x80 || code < want);
                if !lower {
                    return Err(format!(
                        "return codes {got:?} grant every QoS of {wanted:?}"
                    ));
                }
            }
            field("return codes", p.codes.clone(), got)?;
            props(&p.properties, Some(&s.properties), vars)
        }
        (PacketPattern::Suback(_), _) => kind("SUBACK"),
        (PacketPattern::Unsuback(p), Packet::UnsubAck(u)) => {
            id(&p.packet_id, u.packet_id, vars)?;
            let got: Vec<u8> = u.reason_codes.iter().map(|c| c.0).collect();
            field("reason codes", p.codes.clone(), got)?;
            props(&p.properties, Some(&u.properties), vars)
        }
        (PacketPattern::Unsuback(_), _) => kind("UNSUBACK"),
        (PacketPattern::Pingresp, Packet::PingResp) => Ok(()),
        (PacketPattern::Pingresp, _) => kind("PINGRESP"),
        (PacketPattern::Disconnect(p), Packet::Disconnect(d)) => {
            reason(p.reason, d.reason_code)?;
            props(&p.properties, d.properties.as_ref(), vars)
        }
        (PacketPattern::Disconnect(_), _) => kind("DISCONNECT"),
        (PacketPattern::Auth(p), Packet::Auth(a)) => {
            reason(p.reason, a.reason_code)?;
            props(&p.properties, a.properties.as_ref(), vars)
        }
        (PacketPattern::Auth(_), _) => kind("AUTH"),
    }
}

/// The packet identifier of a packet, for `save: {name: packet_id}`.
pub fn packet_id(packet: &Packet) -> Option<u16> {
    match packet {
        Packet::Publish(p) if p.qos.as_u8() > 0 => Some(p.packet_id),
        Packet::PubAck(a) => Some(a.packet_id),
        Packet::PubRec(a) => Some(a.packet_id),
        Packet::PubRel(a) => Some(a.packet_id),
        Packet::PubComp(a) => Some(a.packet_id),
        Packet::Subscribe(s) => Some(s.packet_id),
        Packet::SubAck(s) => Some(s.packet_id),
        Packet::Unsubscribe(u) => Some(u.packet_id),
        Packet::UnsubAck(u) => Some(u.packet_id),
        _ => None,
    }
}

/// A pattern as YAML-like text for "expected" in reports.
pub fn show(pattern: &PacketPattern) -> String {
    serde_json::to_string(pattern).unwrap_or_else(|_| format!("{pattern:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::PublishPattern;
    use mqttspec_codec::{Publish, QoS};

    fn publish(id: u16) -> Packet {
        Packet::Publish(Publish {
            packet_id: id,
            ..Publish::new("t", QoS::AtLeastOnce, "x")
        })
    }

    #[test]
    fn packet_id_not_refuses_the_saved_identifier() {
        let mut vars = Vars::new("t", "c");
        vars.set("first", 7);
        let pattern = PacketPattern::Publish(PublishPattern {
            packet_id_not: Some(IdRef::Var("first".into())),
            ..PublishPattern::default()
        });
        assert!(matches(&pattern, &publish(8), &vars).is_ok());
        assert!(matches(&pattern, &publish(7), &vars).is_err());
    }

    #[test]
    fn topic_matches_applies_the_dollar_rule() {
        let vars = Vars::new("t", "c");
        let pattern = PacketPattern::Publish(PublishPattern {
            topic_matches: Some("#".into()),
            ..PublishPattern::default()
        });
        let on = |topic: &str| Packet::Publish(Publish::new(topic, QoS::AtMostOnce, "x"));
        assert!(matches(&pattern, &on("a/b"), &vars).is_ok());
        assert!(matches(&pattern, &on("$SYS/x"), &vars).is_err());
    }
}
