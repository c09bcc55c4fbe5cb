//! With the codec's strict mode off (faults that accept zero packet identifiers, empty or
//! invalid filters, odd topic names), the rules the active faults do not waive are checked
//! again here, so each fault breaks only its own rule.

use super::Faults;
use crate::core::session::{Inflight, Session};
use mqttspec_codec::reason::v311;
use mqttspec_codec::topic::{check_filter_syntax, matches};
use mqttspec_codec::{DecodeErrorKind, FilterError, Packet, PacketType, QoS, ReasonCode};

pub(crate) fn recheck(packet: &Packet, f: &Faults) -> Result<(), DecodeErrorKind> {
    let id = |packet_type, id: u16| {
        if id == 0 && !f.accept_zero_packet_id {
            Err(DecodeErrorKind::ZeroPacketId(packet_type))
        } else {
            Ok(())
        }
    };
    match packet {
        Packet::Publish(p) => {
            if p.qos != QoS::AtMostOnce {
                id(PacketType::Publish, p.packet_id)?;
            }
            if p.dup && p.qos == QoS::AtMostOnce {
                return Err(DecodeErrorKind::DupWithQos0);
            }
            if p.topic.is_empty() && !f.accept_empty_topic {
                return Err(DecodeErrorKind::EmptyTopicName);
            }
            if p.topic.contains(['+', '#']) && !f.accept_wildcards_in_topic_name {
                return Err(DecodeErrorKind::WildcardInTopicName(p.topic.to_string()));
            }
            Ok(())
        }
        Packet::PubAck(a) => id(PacketType::PubAck, a.packet_id),
        Packet::PubRec(a) => id(PacketType::PubRec, a.packet_id),
        Packet::PubRel(a) => id(PacketType::PubRel, a.packet_id),
        Packet::PubComp(a) => id(PacketType::PubComp, a.packet_id),
        Packet::Subscribe(s) => {
            id(PacketType::Subscribe, s.packet_id)?;
            if s.subscriptions.is_empty() && !f.accept_empty_subscribe {
                return Err(DecodeErrorKind::EmptySubscribe);
            }
            let waived = |e| waived(e, f) || f.suback_v5_failure_code;
            s.subscriptions
                .iter()
                .try_for_each(|s| check_filter(&s.filter, waived))
        }
        Packet::Unsubscribe(u) => {
            id(PacketType::Unsubscribe, u.packet_id)?;
            if u.filters.is_empty() && !f.accept_empty_subscribe {
                return Err(DecodeErrorKind::EmptyUnsubscribe);
            }
            u.filters
                .iter()
                .try_for_each(|filter| check_filter(filter, |e| waived(e, f)))
        }
        _ => Ok(()),
    }
}

fn check_filter(filter: &str, waived: impl Fn(FilterError) -> bool) -> Result<(), DecodeErrorKind> {
    match check_filter_syntax(filter) {
        Err(reason) if !waived(reason) => Err(DecodeErrorKind::InvalidTopicFilter {
            filter: filter.to_owned(),
            reason,
        }),
        _ => Ok(()),
    }
}

/// Whether the active faults let a filter with this defect through to be granted.
fn waived(reason: FilterError, f: &Faults) -> bool {
    match reason {
        FilterError::Empty => f.accept_empty_topic,
        _ => f.accept_invalid_filters,
    }
}

/// `suback_v5_failure_code`: the SUBACK code for a filter the faults let through but do not
/// grant; `None` when it is to be subscribed.
pub(crate) fn refused_filter(filter: &str, f: &Faults) -> Option<ReasonCode> {
    match check_filter_syntax(filter) {
        Ok(()) => None,
        Err(reason) if waived(reason, f) => None,
        Err(_) if f.suback_v5_failure_code => Some(ReasonCode::TOPIC_FILTER_INVALID),
        Err(_) => Some(v311::SUBSCRIPTION_FAILURE),
    }
}

/// The subscriptions an UNSUBSCRIBE of `filter` removes, with the unsubscribe faults; and,
/// with `unsubscribe_drops_inflight`, the flows in flight on topics it matched are dropped.
pub(crate) fn unsubscribe_victims(session: &mut Session, filter: &str, f: &Faults) -> Vec<String> {
    if f.unsubscribe_drops_inflight {
        session.inflight.retain(
            |flow| !matches!(flow, Inflight::Publish { msg, .. } if matches(filter, &msg.topic)),
        );
    }
    if !f.unsubscribe_matches_wildcards {
        return vec![filter.to_owned()];
    }
    session
        .subscriptions
        .keys()
        .filter(|s| *s == filter || matches(filter, s) || matches(s, filter))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqttspec_codec::{Subscribe, Subscription};

    fn subscribe(id: u16, filters: &[&str]) -> Packet {
        Packet::Subscribe(Subscribe {
            packet_id: id,
            subscriptions: filters
                .iter()
                .map(|f| Subscription::new(*f, QoS::AtMostOnce))
                .collect(),
            ..Subscribe::default()
        })
    }

    #[test]
    fn each_fault_waives_only_its_rule() {
        let zero = Faults::only("accept_zero_packet_id").unwrap();
        assert!(recheck(&subscribe(0, &["a"]), &zero).is_ok());
        assert!(recheck(&subscribe(0, &[]), &zero).is_err());
        assert!(recheck(&subscribe(1, &["a#"]), &zero).is_err());
        let invalid = Faults::only("accept_invalid_filters").unwrap();
        assert!(recheck(&subscribe(1, &["a#"]), &invalid).is_ok());
        assert!(recheck(&subscribe(0, &["a#"]), &invalid).is_err());
        assert!(recheck(&subscribe(1, &[""]), &invalid).is_err());
        let v5 = Faults::only("suback_v5_failure_code").unwrap();
        assert!(recheck(&subscribe(1, &["a/#/b"]), &v5).is_ok());
        assert_eq!(refused_filter("a/#/b", &v5), Some(ReasonCode(0x8F)));
        assert_eq!(refused_filter("a/#", &v5), None);
    }
}
