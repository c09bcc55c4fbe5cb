//! SUBSCRIBE and UNSUBSCRIBE: the session's subscriptions, the index, SUBACK/UNSUBACK, and
//! the retained messages a new subscription receives.

use super::close::CloseReason;
use super::message::Message;
use super::routing::{count_drop, deliver};
use super::session::Subscription;
use super::{Broker, ConnId, Time};
use mqttspec_codec::reason::v311;
use mqttspec_codec::{QoS, ReasonCode, SubAck, Subscribe, UnsubAck, Unsubscribe};

/// A subscription made by one SUBSCRIBE, kept to send its retained messages after the SUBACK.
struct Granted {
    filter: String,
    qos: QoS,
    replaced: bool,
}

impl Broker {
    pub(super) fn on_subscribe(&mut self, now: Time, conn: ConnId, client_id: &str, s: Subscribe) {
        if variation!(self.config, topic_length_limit_1024)
            && s.subscriptions.iter().any(|f| f.filter.len() > 1024)
        {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        let mut requests = s.subscriptions;
        if fault!(self.config, subscribe_first_filter_only) {
            requests.truncate(1);
        }
        let mut codes = Vec::with_capacity(requests.len());
        let mut granted = Vec::with_capacity(requests.len());
        // 3.1.1/MQTT-3.8.4-4: each filter is handled as if it came in its own SUBSCRIBE.
        for request in &requests {
            let (code, grant) =
                self.subscribe_one(now, conn, client_id, &request.filter, request.options.qos);
            codes.push(code);
            granted.extend(grant);
        }
        // 3.1.1/MQTT-3.3.1-6: each new subscription gets the retained messages it matches,
        // after the SUBACK (3.8.4 also allows them before it: a variation).
        let early = variation!(self.config, retained_before_suback);
        if early {
            for g in &granted {
                self.send_retained(client_id, g);
            }
        }
        self.send_suback(conn, s.packet_id, codes, &granted);
        if !early {
            for g in &granted {
                self.send_retained(client_id, g);
            }
        }
    }

    /// Subscribes to one filter; returns its SUBACK code and, if granted, the subscription.
    fn subscribe_one(
        &mut self,
        now: Time,
        conn: ConnId,
        client_id: &str,
        filter: &str,
        qos: QoS,
    ) -> (ReasonCode, Option<Granted>) {
        #[cfg(feature = "faults")]
        if let Some(code) = super::faults::validate::refused_filter(filter, &self.config.faults) {
            return (code, None);
        }
        if !self.may_subscribe(conn, filter) {
            // 3.1.1/MQTT-3.9.3-2: 0x80 is the failure code.
            tracing::debug!(client_id, filter, "SUBSCRIBE denied by ACL");
            return (v311::SUBSCRIPTION_FAILURE, None);
        }
        #[cfg(feature = "faults")]
        let qos = self
            .config
            .variations
            .grant_cap()
            .map_or(qos, |cap| qos.min(cap));
        let Some(session) = self.sessions.get_mut(client_id) else {
            return (v311::SUBSCRIPTION_FAILURE, None);
        };
        let new = Subscription {
            qos,
            since: now,
            #[cfg(feature = "faults")]
            copies: 1,
        };
        // 3.1.1/MQTT-3.8.4-3: an identical filter replaces the existing subscription.
        let old = session.subscriptions.insert(filter.to_owned(), new);
        let replaced = old.is_some();
        #[cfg(feature = "faults")]
        if let Some(old) = old {
            let faults = &self.config.faults;
            if faults.resubscribe_keeps_old_subscription {
                session.subscriptions.insert(filter.to_owned(), old);
            } else if faults.resubscribe_adds_duplicate
                && let Some(s) = session.subscriptions.get_mut(filter)
            {
                s.copies = 2;
            }
        }
        let effective = session.subscriptions.get(filter).map_or(qos, |s| s.qos);
        self.subscriptions.insert(filter, client_id, effective);
        // 3.1.1/MQTT-3.8.4-5: the code is the granted maximum QoS (all three are supported).
        let code = ReasonCode(qos.as_u8());
        let grant = Granted {
            filter: filter.to_owned(),
            qos: effective,
            replaced,
        };
        (code, Some(grant))
    }

    fn may_subscribe(&self, conn: ConnId, filter: &str) -> bool {
        let Some(acl) = &self.config.acl else {
            return true;
        };
        let user = self.conns.get(&conn).and_then(|c| c.username.as_deref());
        acl.can_subscribe(user, filter)
    }

    /// One SUBACK with the SUBSCRIBE's identifier (3.1.1/MQTT-3.8.4-1, 3.1.1/MQTT-3.8.4-2)
    /// and one code per filter in their order (3.1.1/MQTT-3.8.4-5, 3.1.1/MQTT-3.9.3-1).
    fn send_suback(
        &mut self,
        conn: ConnId,
        id: u16,
        mut codes: Vec<ReasonCode>,
        granted: &[Granted],
    ) {
        let _ = granted;
        if fault!(self.config, no_suback_for_existing_filter)
            && !granted.is_empty()
            && granted.len() == codes.len()
            && granted.iter().all(|g| g.replaced)
        {
            return;
        }
        let id = if fault!(self.config, suback_wrong_packet_id) {
            id.wrapping_add(1)
        } else {
            id
        };
        if fault!(self.config, suback_codes_reversed) {
            codes.reverse();
        }
        let suback = |return_codes| SubAck {
            packet_id: id,
            return_codes,
            ..SubAck::default()
        };
        if fault!(self.config, suback_per_filter) {
            for code in codes {
                self.out.send(conn, suback(vec![code]));
            }
            return;
        }
        self.out.send(conn, suback(codes));
    }

    /// Sends the retained messages `g.filter` matches, with RETAIN 1 (3.1.1/MQTT-3.3.1-8) at
    /// the lower of their QoS and the granted QoS (3.1.1/MQTT-3.8.4-6). A repeated identical
    /// subscription gets them again (3.1.1/MQTT-3.8.4-3).
    fn send_retained(&mut self, client_id: &str, g: &Granted) {
        if fault!(self.config, skip_retained_on_subscribe)
            || (g.replaced && fault!(self.config, resubscribe_skips_retained))
        {
            return;
        }
        let copies: Vec<Message> = self
            .retained_for(&g.filter)
            .map(|r| Message {
                topic: r.topic.clone(),
                payload: r.payload.clone(),
                qos: r.qos.min(g.qos),
                retain: true,
            })
            .collect();
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        for copy in copies {
            let result = deliver(session, &mut self.out, copy, &self.config);
            count_drop(&mut self.stats, client_id, result);
        }
    }

    fn retained_for<'a>(
        &'a self,
        filter: &'a str,
    ) -> Box<dyn Iterator<Item = &'a super::retained::Retained> + 'a> {
        #[cfg(feature = "faults")]
        if self.config.faults.alters_matching() {
            let faults = &self.config.faults;
            return Box::new(
                self.retained
                    .all()
                    .filter(move |r| super::faults::matching::matches(faults, filter, &r.topic)),
            );
        }
        Box::new(self.retained.matching(filter))
    }

    pub(super) fn on_unsubscribe(&mut self, conn: ConnId, client_id: &str, u: Unsubscribe) {
        let mut filters = u.filters;
        if fault!(self.config, unsubscribe_first_filter_only) {
            filters.truncate(1);
        }
        let mut removed_any = false;
        for filter in &filters {
            // 3.1.1/MQTT-3.10.4-6: each filter as if in its own UNSUBSCRIBE.
            removed_any |= self.unsubscribe_one(client_id, filter);
        }
        if fault!(self.config, no_unsuback_when_nothing_removed) && !removed_any {
            return;
        }
        let id = if fault!(self.config, unsuback_wrong_packet_id) {
            u.packet_id.wrapping_add(1)
        } else {
            u.packet_id
        };
        let count = if fault!(self.config, unsuback_per_filter) {
            filters.len()
        } else {
            1
        };
        // 3.1.1/MQTT-3.10.4-4, 3.1.1/MQTT-3.10.4-5: one UNSUBACK with the same identifier,
        // even when nothing was removed.
        for _ in 0..count {
            self.out.send(conn, UnsubAck::new(id));
        }
    }

    /// Removes the subscription whose filter is exactly `filter` (3.1.1/MQTT-3.10.4-1). New
    /// messages stop (3.1.1/MQTT-3.10.4-2); flows already in flight complete
    /// (3.1.1/MQTT-3.10.4-3).
    fn unsubscribe_one(&mut self, client_id: &str, filter: &str) -> bool {
        if fault!(self.config, unsubscribe_ignored) {
            return false;
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return false;
        };
        #[cfg(feature = "faults")]
        let victims =
            super::faults::validate::unsubscribe_victims(session, filter, &self.config.faults);
        #[cfg(not(feature = "faults"))]
        let victims = vec![filter.to_owned()];
        let mut removed = false;
        for victim in victims {
            if session.subscriptions.remove(&victim).is_some() {
                self.subscriptions.remove(&victim, client_id);
                removed = true;
            }
        }
        removed
    }
}
