//! Which statements a failed step is evidence against.
//!
//! A scenario cites the statements it checks, but most of its steps only set the stage: a
//! CONNECT must be accepted, a SUBSCRIBE acknowledged, a QoS 1 PUBLISH answered with a
//! PUBACK. When such a step fails, the broker broke the rule behind that acknowledgement,
//! not the rule the scenario was written for. So a failure is charged:
//!
//! 1. to the step's own `statements`, when it names them;
//! 2. for the common acknowledgements (CONNACK, SUBACK, UNSUBACK, PUBACK, PUBREC, PUBREL,
//!    PUBCOMP, PINGRESP), to the statements that acknowledgement rests on — those of them
//!    the scenario cites, if any (the acknowledgement is then the point of the scenario),
//!    else the main one;
//! 3. otherwise to the scenario's statements.
//!
//! When the charged statements and the scenario's share nothing, the scenario's own
//! statements were never reached: they are "not judged: precondition failed".

use crate::scenario::model::PacketPattern;
use mqttspec_codec::{Packet, ProtocolVersion};

/// An acknowledgement the engine expects on the broker's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The CONNACK of a `connect` step, which expects return code 0 unless told otherwise.
    Connack {
        /// The step expects a refusal (a non-zero code): then the code is the point.
        expects_refusal: bool,
        clean_session: bool,
    },
    Suback,
    Unsuback,
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
    Pingresp,
}

/// How the expectation was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// Nothing arrived in time.
    Nothing,
    /// The connection ended.
    Closed,
    /// A packet of another type arrived.
    OtherPacket,
    /// Right type, wrong packet identifier.
    PacketId,
    /// SUBACK return codes, or a CONNACK return code.
    Codes,
    /// CONNACK Session Present was not what the step expects (`expected` is what it wanted).
    SessionPresent { expected: bool },
}

/// Statements a missed acknowledgement is evidence against: `candidates` are every
/// statement the check rests on; `main` is charged when the scenario cites none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intrinsic {
    pub candidates: Vec<&'static str>,
    pub main: Vec<&'static str>,
}

impl Intrinsic {
    fn new(candidates: &[&'static str], main: &[&'static str]) -> Option<Self> {
        Some(Self {
            candidates: candidates.to_vec(),
            main: main.to_vec(),
        })
    }
}

/// The common acknowledgement a pattern expects, if it is one.
pub fn ack_of(pattern: &PacketPattern) -> Option<Ack> {
    Some(match pattern {
        PacketPattern::Suback(_) => Ack::Suback,
        PacketPattern::Unsuback(_) => Ack::Unsuback,
        PacketPattern::Puback(_) => Ack::Puback,
        PacketPattern::Pubrec(_) => Ack::Pubrec,
        PacketPattern::Pubrel(_) => Ack::Pubrel,
        PacketPattern::Pubcomp(_) => Ack::Pubcomp,
        PacketPattern::Pingresp => Ack::Pingresp,
        PacketPattern::Connack(c) => Ack::Connack {
            expects_refusal: c.code.is_some_and(|c| c != 0),
            clean_session: true,
        },
        PacketPattern::Publish(_)
        | PacketPattern::Disconnect(_)
        | PacketPattern::Auth(_)
        | PacketPattern::Any => {
            return None;
        }
    })
}

/// The one acknowledgement every still-unmatched pattern expects; `None` when they differ
/// or include something else (a PUBLISH is the scenario's own check).
pub fn common_ack(patterns: &[&PacketPattern]) -> Option<Ack> {
    let mut acks = patterns.iter().map(|p| ack_of(p));
    let first = acks.next()??;
    acks.all(|a| a == Some(first)).then_some(first)
}

/// How a received packet misses a pattern of the acknowledgement's type.
pub fn classify(pattern: &PacketPattern, packet: &Packet) -> Miss {
    let same_type = matches!(
        (pattern, packet),
        (PacketPattern::Suback(_), Packet::SubAck(_))
            | (PacketPattern::Unsuback(_), Packet::UnsubAck(_))
            | (PacketPattern::Puback(_), Packet::PubAck(_))
            | (PacketPattern::Pubrec(_), Packet::PubRec(_))
            | (PacketPattern::Pubrel(_), Packet::PubRel(_))
            | (PacketPattern::Pubcomp(_), Packet::PubComp(_))
            | (PacketPattern::Pingresp, Packet::PingResp)
            | (PacketPattern::Connack(_), Packet::ConnAck(_))
    );
    if !same_type {
        return Miss::OtherPacket;
    }
    match (pattern, packet) {
        (PacketPattern::Suback(p), Packet::SubAck(s)) => {
            let codes: Vec<u8> = s.return_codes.iter().map(|c| c.0).collect();
            if p.codes.as_ref().is_some_and(|c| *c != codes) {
                Miss::Codes
            } else {
                Miss::PacketId
            }
        }
        (PacketPattern::Unsuback(p), Packet::UnsubAck(u)) => {
            let codes: Vec<u8> = u.reason_codes.iter().map(|c| c.0).collect();
            if p.codes.as_ref().is_some_and(|c| *c != codes) {
                Miss::Codes
            } else {
                Miss::PacketId
            }
        }
        (PacketPattern::Connack(p), Packet::ConnAck(c)) => {
            if p.code.is_some_and(|want| want != c.code.0) {
                Miss::Codes
            } else {
                Miss::SessionPresent {
                    expected: p.session_present.unwrap_or(false),
                }
            }
        }
        _ => Miss::PacketId,
    }
}

/// The statements behind an acknowledgement missed this way, for the scenario's version.
pub fn intrinsic(version: ProtocolVersion, ack: Ack, miss: Miss) -> Option<Intrinsic> {
    match version {
        ProtocolVersion::V311 => intrinsic_311(ack, miss),
        _ => intrinsic_5(ack, miss),
    }
}

fn intrinsic_5(ack: Ack, miss: Miss) -> Option<Intrinsic> {
    const CONNACK_0: &str = "5.0/MQTT-3.1.4-5";
    const CONNACK_FIRST: &str = "5.0/MQTT-3.2.0-1";
    const SP_CLEAN: &str = "5.0/MQTT-3.2.2-2";
    const SP_RESUMED: &str = "5.0/MQTT-3.2.2-3";
    const SP_REFUSED: &str = "5.0/MQTT-3.2.2-6";
    const SUBACK: &str = "5.0/MQTT-3.8.4-1";
    const SUBACK_ID: &str = "5.0/MQTT-3.8.4-2";
    const ACK_ID: &str = "5.0/MQTT-2.2.1-5";
    const SUBACK_UNSUBACK_ID: &str = "5.0/MQTT-2.2.1-6";
    const SUBACK_ONE: &str = "5.0/MQTT-3.8.4-5";
    const SUBACK_PER_FILTER: &str = "5.0/MQTT-3.8.4-6";
    const SUBACK_CODES: &str = "5.0/MQTT-3.8.4-7";
    const SUBACK_ORDER: &str = "5.0/MQTT-3.9.3-1";
    const SUBACK_TABLE: &str = "5.0/MQTT-3.9.3-2";
    const UNSUBACK: &str = "5.0/MQTT-3.10.4-4";
    const UNSUBACK_ID: &str = "5.0/MQTT-3.10.4-5";
    const UNSUBACK_ONE: &str = "5.0/MQTT-3.10.4-6";
    const UNSUBACK_ORDER: &str = "5.0/MQTT-3.11.3-1";
    const UNSUBACK_TABLE: &str = "5.0/MQTT-3.11.3-2";
    const PUB_REPLY: &str = "5.0/MQTT-3.3.4-1";
    const QOS1_RECEIVER: &str = "5.0/MQTT-4.3.2-4";
    const QOS2_PUBREL: &str = "5.0/MQTT-4.3.3-4";
    const QOS2_RECEIVER: &str = "5.0/MQTT-4.3.3-8";
    const QOS2_PUBCOMP: &str = "5.0/MQTT-4.3.3-11";
    const PINGRESP: &str = "5.0/MQTT-3.12.4-1";
    let gone = matches!(miss, Miss::Nothing | Miss::Closed | Miss::OtherPacket);
    match ack {
        Ack::Connack {
            expects_refusal: true,
            ..
        } => match miss {
            Miss::SessionPresent { .. } => Intrinsic::new(&[SP_REFUSED], &[SP_REFUSED]),
            _ => None,
        },
        Ack::Connack { clean_session, .. } => match miss {
            Miss::OtherPacket => Intrinsic::new(&[CONNACK_FIRST, CONNACK_0], &[CONNACK_FIRST]),
            Miss::Nothing | Miss::Closed | Miss::Codes | Miss::PacketId => {
                Intrinsic::new(&[CONNACK_0], &[CONNACK_0])
            }
            Miss::SessionPresent { expected: false } if clean_session => {
                Intrinsic::new(&[SP_CLEAN], &[SP_CLEAN])
            }
            Miss::SessionPresent { .. } => Intrinsic::new(&[SP_RESUMED], &[SP_RESUMED]),
        },
        Ack::Suback => match miss {
            _ if gone => Intrinsic::new(&[SUBACK, SUBACK_ONE], &[SUBACK]),
            Miss::PacketId => Intrinsic::new(&[SUBACK_ID, SUBACK_UNSUBACK_ID], &[SUBACK_ID]),
            _ => Intrinsic::new(
                &[
                    SUBACK_CODES,
                    SUBACK_PER_FILTER,
                    SUBACK_ONE,
                    SUBACK_ORDER,
                    SUBACK_TABLE,
                ],
                &[SUBACK_CODES],
            ),
        },
        Ack::Unsuback => match miss {
            Miss::PacketId => Intrinsic::new(&[UNSUBACK_ID, SUBACK_UNSUBACK_ID], &[UNSUBACK_ID]),
            Miss::Codes => Intrinsic::new(
                &[UNSUBACK_ORDER, UNSUBACK_TABLE, UNSUBACK_ONE],
                &[UNSUBACK_TABLE],
            ),
            _ => Intrinsic::new(&[UNSUBACK, UNSUBACK_ID, UNSUBACK_ONE], &[UNSUBACK]),
        },
        Ack::Puback => match miss {
            Miss::PacketId => Intrinsic::new(&[ACK_ID, QOS1_RECEIVER], &[ACK_ID]),
            _ => Intrinsic::new(&[PUB_REPLY, QOS1_RECEIVER], &[PUB_REPLY]),
        },
        Ack::Pubrec => match miss {
            Miss::PacketId => Intrinsic::new(&[ACK_ID, QOS2_RECEIVER], &[ACK_ID]),
            _ => Intrinsic::new(&[PUB_REPLY, QOS2_RECEIVER], &[PUB_REPLY]),
        },
        Ack::Pubrel => match miss {
            Miss::PacketId => Intrinsic::new(&[ACK_ID, QOS2_PUBREL], &[ACK_ID]),
            _ => Intrinsic::new(&[QOS2_PUBREL], &[QOS2_PUBREL]),
        },
        Ack::Pubcomp => Intrinsic::new(&[QOS2_PUBCOMP], &[QOS2_PUBCOMP]),
        Ack::Pingresp => Intrinsic::new(&[PINGRESP], &[PINGRESP]),
    }
}

fn intrinsic_311(ack: Ack, miss: Miss) -> Option<Intrinsic> {
    const CONNACK_0: &str = "3.1.1/MQTT-3.1.4-4";
    const CONNACK_FIRST: &str = "3.1.1/MQTT-3.2.0-1";
    const SP_CLEAN: &str = "3.1.1/MQTT-3.2.2-1";
    const SP_RESUMED: &str = "3.1.1/MQTT-3.2.2-2";
    const SP_NEW: &str = "3.1.1/MQTT-3.2.2-3";
    const SP_REFUSED: &str = "3.1.1/MQTT-3.2.2-4";
    const SUBACK: &str = "3.1.1/MQTT-3.8.4-1";
    const SUBACK_ID: &str = "3.1.1/MQTT-3.8.4-2";
    const ACK_ID: &str = "3.1.1/MQTT-2.3.1-6";
    const SUBACK_UNSUBACK_ID: &str = "3.1.1/MQTT-2.3.1-7";
    const SUBACK_CODES: &str = "3.1.1/MQTT-3.8.4-5";
    const SUBACK_ONE: &str = "3.1.1/MQTT-3.8.4-4";
    const SUBACK_ORDER: &str = "3.1.1/MQTT-3.9.3-1";
    const SUBACK_RESERVED: &str = "3.1.1/MQTT-3.9.3-2";
    const UNSUBACK: &str = "3.1.1/MQTT-3.10.4-4";
    const UNSUBACK_NONE: &str = "3.1.1/MQTT-3.10.4-5";
    const UNSUBACK_ONE: &str = "3.1.1/MQTT-3.10.4-6";
    const PUB_REPLY: &str = "3.1.1/MQTT-3.3.4-1";
    const QOS1_RECEIVER: &str = "3.1.1/MQTT-4.3.2-2";
    const QOS2_SENDER: &str = "3.1.1/MQTT-4.3.3-1";
    const QOS2_RECEIVER: &str = "3.1.1/MQTT-4.3.3-2";
    const PINGRESP: &str = "3.1.1/MQTT-3.12.4-1";
    let gone = matches!(miss, Miss::Nothing | Miss::Closed | Miss::OtherPacket);
    match ack {
        Ack::Connack {
            expects_refusal: true,
            ..
        } => match miss {
            Miss::SessionPresent { .. } => Intrinsic::new(&[SP_REFUSED], &[SP_REFUSED]),
            // The refusal code is the point of the scenario.
            _ => None,
        },
        Ack::Connack { clean_session, .. } => match miss {
            Miss::OtherPacket => Intrinsic::new(&[CONNACK_FIRST, CONNACK_0], &[CONNACK_FIRST]),
            Miss::Nothing | Miss::Closed | Miss::Codes | Miss::PacketId => {
                Intrinsic::new(&[CONNACK_0], &[CONNACK_0])
            }
            Miss::SessionPresent { expected: true } => Intrinsic::new(&[SP_RESUMED], &[SP_RESUMED]),
            Miss::SessionPresent { expected: false } if clean_session => {
                Intrinsic::new(&[SP_CLEAN], &[SP_CLEAN])
            }
            Miss::SessionPresent { expected: false } => Intrinsic::new(&[SP_NEW], &[SP_NEW]),
        },
        Ack::Suback => match miss {
            _ if gone => Intrinsic::new(&[SUBACK, SUBACK_ONE], &[SUBACK]),
            Miss::PacketId => Intrinsic::new(&[SUBACK_ID, SUBACK_UNSUBACK_ID], &[SUBACK_ID]),
            _ => Intrinsic::new(
                &[SUBACK_CODES, SUBACK_ONE, SUBACK_ORDER, SUBACK_RESERVED],
                &[SUBACK_CODES],
            ),
        },
        Ack::Unsuback => match miss {
            Miss::PacketId => Intrinsic::new(&[UNSUBACK, SUBACK_UNSUBACK_ID], &[UNSUBACK]),
            _ => Intrinsic::new(&[UNSUBACK, UNSUBACK_NONE, UNSUBACK_ONE], &[UNSUBACK]),
        },
        Ack::Puback => match miss {
            Miss::PacketId => Intrinsic::new(&[ACK_ID, QOS1_RECEIVER], &[ACK_ID]),
            _ => Intrinsic::new(&[PUB_REPLY, QOS1_RECEIVER], &[PUB_REPLY]),
        },
        Ack::Pubrec => match miss {
            Miss::PacketId => Intrinsic::new(&[ACK_ID, QOS2_RECEIVER], &[ACK_ID]),
            _ => Intrinsic::new(&[PUB_REPLY, QOS2_RECEIVER], &[PUB_REPLY]),
        },
        Ack::Pubrel => match miss {
            Miss::PacketId => Intrinsic::new(&[ACK_ID, QOS2_SENDER], &[ACK_ID]),
            _ => Intrinsic::new(&[QOS2_SENDER], &[QOS2_SENDER]),
        },
        Ack::Pubcomp => Intrinsic::new(&[QOS2_RECEIVER], &[QOS2_RECEIVER]),
        Ack::Pingresp => Intrinsic::new(&[PINGRESP], &[PINGRESP]),
    }
}

/// The statements to charge: the step's own, else the acknowledgement's (those the
/// scenario cites, else the main one), else the scenario's.
pub fn charge(
    step_statements: &[String],
    intrinsic: Option<&Intrinsic>,
    scenario_statements: &[String],
) -> Vec<String> {
    if !step_statements.is_empty() {
        return step_statements.to_vec();
    }
    match intrinsic {
        Some(i) => {
            let cited: Vec<String> = scenario_statements
                .iter()
                .filter(|s| i.candidates.contains(&s.as_str()))
                .cloned()
                .collect();
            if cited.is_empty() {
                i.main.iter().map(|s| (*s).to_owned()).collect()
            } else {
                cited
            }
        }
        None => scenario_statements.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn step_statements_win() {
        let i = intrinsic(ProtocolVersion::V311, Ack::Suback, Miss::Nothing);
        assert_eq!(
            charge(&strings(&["3.1.1/MQTT-4.7.2-1"]), i.as_ref(), &[]),
            strings(&["3.1.1/MQTT-4.7.2-1"])
        );
    }

    #[test]
    fn a_missing_suback_is_charged_to_the_suback_rule_not_the_scenario() {
        let i = intrinsic(ProtocolVersion::V311, Ack::Suback, Miss::Nothing);
        let scenario = strings(&["3.1.1/MQTT-3.3.1-6"]);
        assert_eq!(
            charge(&[], i.as_ref(), &scenario),
            strings(&["3.1.1/MQTT-3.8.4-1"])
        );
    }

    #[test]
    fn a_scenario_about_suback_codes_is_charged_its_own_statement() {
        let i = intrinsic(ProtocolVersion::V311, Ack::Suback, Miss::Codes);
        let scenario = strings(&["3.1.1/MQTT-3.9.3-1"]);
        assert_eq!(charge(&[], i.as_ref(), &scenario), scenario);
    }

    #[test]
    fn session_present_is_charged_to_the_session_present_rules() {
        let i = intrinsic(
            ProtocolVersion::V311,
            Ack::Connack {
                expects_refusal: false,
                clean_session: false,
            },
            Miss::SessionPresent { expected: true },
        );
        let scenario = strings(&["3.1.1/MQTT-4.6.0-6"]);
        assert_eq!(
            charge(&[], i.as_ref(), &scenario),
            strings(&["3.1.1/MQTT-3.2.2-2"])
        );
    }

    #[test]
    fn an_expected_refusal_code_is_the_scenarios_check() {
        let i = intrinsic(
            ProtocolVersion::V311,
            Ack::Connack {
                expects_refusal: true,
                clean_session: true,
            },
            Miss::Codes,
        );
        assert!(i.is_none());
        let scenario = strings(&["3.1.1/MQTT-3.1.2-2"]);
        assert_eq!(charge(&[], i.as_ref(), &scenario), scenario);
    }

    #[test]
    fn a_puback_to_a_qos2_publish_is_charged_to_the_reply_rule() {
        let i = intrinsic(ProtocolVersion::V311, Ack::Pubrec, Miss::OtherPacket);
        let scenario = strings(&["3.1.1/MQTT-3.3.5-1"]);
        assert_eq!(
            charge(&[], i.as_ref(), &scenario),
            strings(&["3.1.1/MQTT-3.3.4-1"])
        );
    }

    #[test]
    fn five_point_zero_has_its_own_table() {
        let i = intrinsic(ProtocolVersion::V5, Ack::Suback, Miss::Nothing);
        assert_eq!(
            charge(&[], i.as_ref(), &strings(&["5.0/MQTT-3.3.1-6"])),
            strings(&["5.0/MQTT-3.8.4-1"])
        );
        let i = intrinsic(
            ProtocolVersion::V5,
            Ack::Connack {
                expects_refusal: false,
                clean_session: false,
            },
            Miss::SessionPresent { expected: true },
        );
        assert_eq!(charge(&[], i.as_ref(), &[]), strings(&["5.0/MQTT-3.2.2-3"]));
    }

    #[test]
    fn every_statement_charged_is_in_the_catalogue() {
        let catalogue = crate::catalogue::Catalogue::builtin().expect("catalogue");
        let acks = [
            Ack::Connack {
                expects_refusal: false,
                clean_session: true,
            },
            Ack::Connack {
                expects_refusal: false,
                clean_session: false,
            },
            Ack::Connack {
                expects_refusal: true,
                clean_session: true,
            },
            Ack::Suback,
            Ack::Unsuback,
            Ack::Puback,
            Ack::Pubrec,
            Ack::Pubrel,
            Ack::Pubcomp,
            Ack::Pingresp,
        ];
        let misses = [
            Miss::Nothing,
            Miss::Closed,
            Miss::OtherPacket,
            Miss::PacketId,
            Miss::Codes,
            Miss::SessionPresent { expected: true },
            Miss::SessionPresent { expected: false },
        ];
        for v in [ProtocolVersion::V311, ProtocolVersion::V5] {
            for a in acks {
                for m in misses {
                    if let Some(i) = intrinsic(v, a, m) {
                        for id in i.candidates.iter().chain(&i.main) {
                            assert!(catalogue.get(id).is_some(), "{id} ({a:?}, {m:?})");
                            assert!(id.starts_with(v.namespace()), "{id} for {v}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn common_ack_needs_one_kind() {
        let s = PacketPattern::Suback(Default::default());
        let p = PacketPattern::Publish(Default::default());
        assert_eq!(common_ack(&[&s]), Some(Ack::Suback));
        assert_eq!(common_ack(&[&s, &p]), None);
        assert_eq!(common_ack(&[&p]), None);
    }
}
