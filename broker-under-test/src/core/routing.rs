//! An application message the broker owns (a client's PUBLISH, a will) goes to the retained
//! store if it asks to, then to every session with a matching subscription, and to one
//! member of each matching shared subscription.

use super::message::Message;
use super::session::{Delivered, Session};
use super::subscriptions::{SharedGroup, SubEntry};
use super::{Broker, Time};
use mqttspec_codec::QoS;
use std::collections::BTreeMap;
use std::sync::Arc;

impl Broker {
    /// Takes ownership of `msg` (3.1.1/MQTT-4.5.0-1, 5.0/MQTT-4.5.0-1) from `publisher` (its
    /// client id). Returns how many sessions it was handed to.
    pub(super) fn publish(
        &mut self,
        now: Time,
        mut msg: Message,
        publisher: Option<&str>,
    ) -> usize {
        let qos0_ignored = fault!(self.config, qos0_retained_ignored) && msg.qos == QoS::AtMostOnce;
        if !self.config.retain_available {
            // Nothing is retained, and every message goes out with RETAIN 0 (5.0 section
            // 3.8.3.1); only a 3.1.1 client can still send RETAIN 1.
            msg.retain = false;
        } else if msg.retain && !qos0_ignored {
            if fault!(self.config, empty_retained_stored) && msg.payload.is_empty() {
                self.retained.store_even_empty(&msg, publisher);
            } else if fault!(self.config, retained_not_replaced_on_empty_level)
                && !msg.payload.is_empty()
                && msg.topic.split('/').any(str::is_empty)
                && self
                    .retained
                    .matching(&msg.topic)
                    .any(|r| r.msg.topic == msg.topic)
            {
                // The first retained message of such a topic stays.
            } else {
                self.retained.update(&msg, publisher);
            }
        } else if !msg.retain && fault!(self.config, retain0_clears_retained) {
            self.retained.clear(&msg.topic);
        }
        self.route(now, &msg, publisher)
    }

    /// Hands one copy of `msg` to each subscribed session, at the highest QoS its matching
    /// subscriptions grant (3.1.1/MQTT-3.3.5-1, 5.0/MQTT-3.3.4-2) but no higher than
    /// published (3.1.1/MQTT-3.8.4-6, 5.0/MQTT-3.8.4-8), with RETAIN 0 because the
    /// subscription already existed (3.1.1/MQTT-3.3.1-9, 5.0/MQTT-3.3.1-12) unless one of
    /// them asked for Retain As Published (5.0/MQTT-3.3.1-13), with the identifiers of all
    /// of them (5.0/MQTT-3.3.4-3, -4). An empty retained message is forwarded normally
    /// (3.1.1/MQTT-3.3.1-10). Each matching shared subscription gets one copy, for one of its
    /// members (5.0 section 4.8.2).
    fn route(&mut self, now: Time, msg: &Message, publisher: Option<&str>) -> usize {
        #[cfg(feature = "faults")]
        if self.config.faults.needs_linear_routing() || self.config.variations.copy_per_subscription
        {
            return self.route_with_faults(now, msg, publisher);
        }
        let publisher = publisher.filter(|_| !fault!(self.config, no_local_ignored));
        let found = self.subscriptions.matches(&msg.topic, publisher);
        let mut handed = 0;
        for (client, hit) in found.clients {
            let Some(session) = self.sessions.get_mut(client) else {
                continue;
            };
            let granted = if fault!(self.config, ignore_granted_qos) {
                QoS::ExactlyOnce
            } else {
                hit.qos
            };
            let as_published =
                hit.retain_as_published && !fault!(self.config, retain_as_published_ignored);
            let retain =
                msg.retain && (as_published || fault!(self.config, retain_flag_kept_on_forward));
            let mut copy = msg.delivery(granted, retain);
            if !fault!(self.config, subscription_identifier_missing) {
                copy.sub_ids = hit.ids;
            }
            let result = deliver(session, &mut self.out, copy, &self.config, now);
            count_drop(&mut self.stats, client, result);
            handed += 1;
            if fault!(self.config, deliver_to_one_subscriber) {
                break;
            }
        }
        handed + self.route_shared(now, msg, publisher)
    }

    /// The shared-subscription part of [`Broker::route`]: one copy per matching shared
    /// subscription, for one of its members (5.0 section 4.8.2).
    pub(super) fn route_shared(
        &mut self,
        now: Time,
        msg: &Message,
        publisher: Option<&str>,
    ) -> usize {
        let found = self.subscriptions.matches(&msg.topic, publisher);
        let mut handed = 0;
        for group in found.shared {
            if fault!(self.config, shared_delivered_to_every_member) {
                for (client, entry) in &group.members {
                    if let Some(session) = self.sessions.get_mut(client) {
                        let copy = shared_copy(msg, entry, &group.key, &self.config);
                        let result = deliver(session, &mut self.out, copy, &self.config, now);
                        count_drop(&mut self.stats, client, result);
                        handed += 1;
                    }
                }
                continue;
            }
            let Some((client, entry)) = pick(group, &self.sessions, &mut self.share_cursor, None)
            else {
                continue;
            };
            let Some(session) = self.sessions.get_mut(client) else {
                continue;
            };
            let copy = shared_copy(msg, entry, &group.key, &self.config);
            let result = deliver(session, &mut self.out, copy, &self.config, now);
            count_drop(&mut self.stats, client, result);
            handed += 1;
        }
        handed
    }

    /// A message a shared subscription gave to a session that ended before delivering it:
    /// offered to another member of that subscription, if one is left.
    pub(super) fn redistribute(&mut self, now: Time, msg: Message) {
        self.redistribute_to(now, msg, None);
    }

    /// Fault `shared_error_ack_redistributed`: a message a member refused, offered to
    /// another member.
    #[cfg(feature = "faults")]
    pub(super) fn redistribute_except(&mut self, now: Time, msg: Message, client_id: &str) {
        self.redistribute_to(now, msg, Some(client_id));
    }

    fn redistribute_to(&mut self, now: Time, msg: Message, exclude: Option<&str>) {
        let Some(key) = msg.shared.clone() else {
            return;
        };
        let Some((group, filter)) = key
            .strip_prefix("$share/")
            .and_then(|rest| rest.split_once('/'))
        else {
            return;
        };
        let Some(g) = self.subscriptions.shared_group(group, filter) else {
            tracing::debug!(%key, "no member left: message dropped");
            return;
        };
        let Some((client, entry)) = pick(g, &self.sessions, &mut self.share_cursor, exclude) else {
            return;
        };
        let Some(session) = self.sessions.get_mut(client) else {
            return;
        };
        let copy = shared_copy(&msg, entry, &key, &self.config);
        let result = deliver(session, &mut self.out, copy, &self.config, now);
        count_drop(&mut self.stats, client, result);
    }
}

/// The copy a shared subscription's member gets: at its granted QoS (5.0/MQTT-4.8.2-3),
/// RETAIN as its Retain As Published says, with its identifier.
fn shared_copy(
    msg: &Message,
    entry: &SubEntry,
    key: &Arc<str>,
    config: &crate::config::Config,
) -> Message {
    let granted = if fault!(config, ignore_granted_qos) {
        QoS::ExactlyOnce
    } else {
        entry.qos
    };
    let mut copy = msg.delivery(granted, msg.retain && entry.retain_as_published);
    copy.sub_ids.extend(entry.id);
    copy.shared = Some(key.clone());
    copy
}

/// The member of a shared subscription that gets the next message: members take turns,
/// connected ones first, so that an offline member does not collect a share of the traffic
/// while others are there to take it.
fn pick<'a>(
    group: &'a SharedGroup,
    sessions: &BTreeMap<String, Session>,
    cursor: &mut BTreeMap<Arc<str>, usize>,
    exclude: Option<&str>,
) -> Option<(&'a str, &'a SubEntry)> {
    let members: Vec<(&String, &SubEntry)> = group
        .members
        .iter()
        .filter(|(c, _)| Some(c.as_str()) != exclude)
        .collect();
    if members.is_empty() {
        return None;
    }
    let start = cursor.get(&group.key).copied().unwrap_or(0) % members.len();
    let online = |i: &usize| {
        sessions
            .get(members[*i].0)
            .is_some_and(|s| s.conn.is_some())
    };
    let chosen = (0..members.len())
        .map(|k| (start + k) % members.len())
        .find(online)
        .unwrap_or(start);
    cursor.insert(group.key.clone(), chosen + 1);
    let (client, entry) = members[chosen];
    Some((client.as_str(), entry))
}

/// Counts and logs a message dropped because the session's queue was full.
pub(super) fn count_drop(stats: &mut super::Stats, client: &str, result: Delivered) {
    if result == Delivered::Dropped {
        stats.dropped_queue_full += 1;
        tracing::warn!(client, "queue full: message dropped");
    }
}

/// [`Session::deliver`], with the fault that drops offline messages.
pub(super) fn deliver(
    session: &mut Session,
    out: &mut super::outbox::Outbox,
    msg: Message,
    config: &crate::config::Config,
    now: Time,
) -> Delivered {
    if session.conn.is_none() && fault!(config, no_offline_queue) {
        return Delivered::Discarded;
    }
    #[cfg(feature = "faults")]
    let msg = super::faults::truncate_delivery(msg, &config.faults);
    session.deliver(out, msg, config, now)
}
