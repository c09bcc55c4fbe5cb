//! SUBSCRIBE and UNSUBSCRIBE: the session's subscriptions, the index, SUBACK/UNSUBACK, and
//! the retained messages a new subscription receives. 5.0 adds subscription options,
//! identifiers, shared subscriptions and reason codes.

use super::close::CloseReason;
use super::message::Message;
use super::routing::{count_drop, deliver};
use super::session::Subscription;
use super::subscriptions::SubEntry;
use super::{Broker, ConnId, Time};
use mqttspec_codec::reason::v311;
use mqttspec_codec::topic::parse_filter;
use mqttspec_codec::{
    Properties, Property, PropertyId, ReasonCode, SubAck, Subscribe, SubscribeOptions, UnsubAck,
    Unsubscribe,
};

/// A subscription made by one SUBSCRIBE, kept to send its retained messages after the SUBACK.
struct Granted {
    filter: String,
    entry: SubEntry,
    replaced: bool,
    retain_handling: u8,
}

impl Broker {
    pub(super) fn on_subscribe(&mut self, now: Time, conn: ConnId, client_id: &str, s: Subscribe) {
        if variation!(self.config, topic_length_limit_1024)
            && s.subscriptions.iter().any(|f| f.filter.len() > 1024)
        {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        let Some(link) = self.conns.get(&conn).map(|c| c.link) else {
            return;
        };
        let v5 = link.v5();
        if variation!(self.config, close_on_dollar_subscribe)
            && !v5
            && s.subscriptions.iter().any(|f| f.filter.starts_with('$'))
        {
            return self.close(now, conn, CloseReason::ProtocolError);
        }
        let id = s
            .properties
            .int(PropertyId::SubscriptionIdentifier)
            .filter(|_| v5);
        if v5 && let Some(code) = self.declined_capability(&s, id.is_some()) {
            return self.close(now, conn, CloseReason::Violation(code));
        }
        let mut requests = s.subscriptions;
        if fault!(self.config, subscribe_first_filter_only) {
            requests.truncate(1);
        }
        // 5.0 section 2.2.1: an identifier the client still uses for a QoS 2 PUBLISH
        // awaiting PUBREL gets 0x91.
        let id_in_use = v5
            && self
                .sessions
                .get(client_id)
                .is_some_and(|ses| ses.inbound_qos2.contains(&s.packet_id));
        let mut codes = Vec::with_capacity(requests.len());
        let mut granted = Vec::with_capacity(requests.len());
        // 3.1.1/MQTT-3.8.4-4, 5.0/MQTT-3.8.4-5: each filter is handled as if it came in its
        // own SUBSCRIBE.
        for request in &requests {
            if id_in_use {
                codes.push(ReasonCode::PACKET_IDENTIFIER_IN_USE);
                continue;
            }
            let (code, grant) = self.subscribe_one(
                now,
                conn,
                client_id,
                &request.filter,
                request.options,
                id,
                v5,
            );
            codes.push(code);
            granted.extend(grant);
        }
        // 3.1.1/MQTT-3.3.1-6, 5.0 section 3.3.1.3: each new subscription gets the retained
        // messages it matches, as its Retain Handling says, after the SUBACK (3.8.4 also
        // allows them before it: a variation).
        let early = variation!(self.config, retained_before_suback);
        if early {
            for g in &granted {
                self.send_retained(client_id, g, now);
            }
        }
        self.send_suback(conn, &link, s.packet_id, codes, &granted);
        if !early {
            for g in &granted {
                self.send_retained(client_id, g, now);
            }
        }
    }

    /// 5.0: a SUBSCRIBE using a capability the CONNACK declined is a protocol error with its
    /// own DISCONNECT code (5.0 sections 3.2.2.3.11 to 3.2.2.3.13).
    fn declined_capability(&self, s: &Subscribe, has_id: bool) -> Option<ReasonCode> {
        if has_id && !self.config.subscription_identifiers {
            return Some(ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED);
        }
        for sub in &s.subscriptions {
            let parsed = parse_filter(&sub.filter, true).ok()?;
            if parsed.share_name.is_some() && !self.config.shared_subscriptions {
                return Some(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
            }
            if parsed.filter.contains(['+', '#']) && !self.config.wildcard_subscriptions {
                return Some(ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED);
            }
        }
        None
    }

    /// Subscribes to one filter; returns its SUBACK code and, if granted, the subscription.
    #[allow(clippy::too_many_arguments)]
    fn subscribe_one(
        &mut self,
        now: Time,
        conn: ConnId,
        client_id: &str,
        filter: &str,
        options: SubscribeOptions,
        id: Option<u32>,
        v5: bool,
    ) -> (ReasonCode, Option<Granted>) {
        #[cfg(feature = "faults")]
        if let Some(code) = super::faults::validate::refused_filter(filter, &self.config.faults) {
            return (code, None);
        }
        let failure = if v5 {
            ReasonCode::NOT_AUTHORIZED
        } else {
            v311::SUBSCRIPTION_FAILURE
        };
        let share = if v5 {
            parse_filter(filter, true)
                .ok()
                .and_then(|p| p.share_name.map(|g| (g, p.filter)))
        } else {
            None
        };
        let plain = share.map_or(filter, |(_, f)| f);
        if !self.may_subscribe(conn, plain) {
            // 3.1.1/MQTT-3.9.3-2: 0x80 is the failure code (5.0: 0x87).
            tracing::debug!(client_id, filter, "SUBSCRIBE denied by ACL");
            return (failure, None);
        }
        if !v5 && !self.config.wildcard_subscriptions && filter.contains(['+', '#']) {
            return (v311::SUBSCRIPTION_FAILURE, None);
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return (failure, None);
        };
        if !session.subscriptions.contains_key(filter)
            && session.subscriptions.len() >= self.config.max_subscriptions
        {
            let quota = if v5 {
                ReasonCode::QUOTA_EXCEEDED
            } else {
                v311::SUBSCRIPTION_FAILURE
            };
            return (quota, None);
        }
        // 5.0/MQTT-3.2.2-10: any requested QoS is accepted, granted at most Maximum QoS.
        let qos = options.qos.min(self.config.maximum_qos);
        // A legal variation: 3.8.4 lets a server grant less than requested.
        #[cfg(feature = "faults")]
        let qos = self
            .config
            .variations
            .grant_cap()
            .map_or(qos, |cap| qos.min(cap));
        let entry = SubEntry {
            qos,
            no_local: options.no_local,
            retain_as_published: options.retain_as_published,
            id,
        };
        let new = Subscription {
            entry,
            shared: share.is_some(),
            since: now,
            #[cfg(feature = "faults")]
            copies: 1,
        };
        // 3.1.1/MQTT-3.8.4-3, 5.0/MQTT-3.8.4-3: an identical filter replaces the existing
        // subscription.
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
        let effective = session.subscriptions.get(filter).map_or(entry, |s| s.entry);
        match share {
            Some((group, inner)) => self
                .subscriptions
                .insert_shared(group, inner, client_id, effective),
            None => self.subscriptions.insert(filter, client_id, effective),
        }
        // 3.1.1/MQTT-3.8.4-5, 5.0/MQTT-3.8.4-7: the code is the granted maximum QoS.
        let code = ReasonCode(qos.as_u8());
        // No retained messages for a shared subscription (5.0 section 3.8.4).
        let retain_handling = if share.is_some() {
            2
        } else {
            options.retain_handling
        };
        let grant = Granted {
            filter: filter.to_owned(),
            entry: effective,
            replaced,
            retain_handling,
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

    /// One SUBACK with the SUBSCRIBE's identifier (3.1.1/MQTT-3.8.4-1, 3.1.1/MQTT-3.8.4-2,
    /// 5.0/MQTT-3.8.4-1, -2) and one code per filter in their order (3.1.1/MQTT-3.8.4-5,
    /// 3.1.1/MQTT-3.9.3-1, 5.0/MQTT-3.8.4-6, 5.0/MQTT-3.9.3-1).
    fn send_suback(
        &mut self,
        conn: ConnId,
        link: &super::link::Link,
        id: u16,
        mut codes: Vec<ReasonCode>,
        granted: &[Granted],
    ) {
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
        let properties = failure_reason(link.v5(), &codes);
        let suback = |return_codes| SubAck {
            packet_id: id,
            return_codes,
            properties: properties.clone(),
        };
        if fault!(self.config, suback_per_filter) {
            for code in codes {
                self.out.send(conn, link, suback(vec![code]));
            }
            return;
        }
        self.out.send(conn, link, suback(codes));
    }

    /// Sends the retained messages `g.filter` matches, with RETAIN 1 (3.1.1/MQTT-3.3.1-8) at
    /// the lower of their QoS and the granted QoS (3.1.1/MQTT-3.8.4-6, 5.0/MQTT-3.8.4-8). A
    /// repeated identical subscription gets them again (3.1.1/MQTT-3.8.4-3,
    /// 5.0/MQTT-3.8.4-4) unless 5.0 Retain Handling says otherwise: 0 always
    /// (5.0/MQTT-3.3.1-9), 1 only for a new subscription (5.0/MQTT-3.3.1-10), 2 never
    /// (5.0/MQTT-3.3.1-11). Expired ones are not sent.
    fn send_retained(&mut self, client_id: &str, g: &Granted, now: Time) {
        if fault!(self.config, skip_retained_on_subscribe)
            || (g.replaced && fault!(self.config, resubscribe_skips_retained))
        {
            return;
        }
        let skip = match g.retain_handling {
            1 => g.replaced && !fault!(self.config, retain_handling_ignored),
            2 => !fault!(self.config, retain_handling_ignored),
            _ => false,
        };
        if skip {
            return;
        }
        let expiry_ignored = fault!(self.config, message_expiry_ignored);
        let copies: Vec<Message> = self
            .retained_for(&g.filter)
            .filter(|r| expiry_ignored || !r.msg.expired(now))
            .map(|r| {
                let mut copy = r.msg.delivery(g.entry.qos, true);
                copy.sub_ids.extend(g.entry.id);
                copy
            })
            .collect();
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        for copy in copies {
            let result = deliver(session, &mut self.out, copy, &self.config, now);
            count_drop(&mut self.stats, client_id, result);
        }
    }

    fn retained_for<'a>(
        &'a self,
        filter: &'a str,
    ) -> Box<dyn Iterator<Item = &'a super::retained::Retained> + 'a> {
        #[cfg(feature = "faults")]
        if self.config.faults.leak_retained_on_subscribe {
            return Box::new(self.retained.all());
        }
        #[cfg(feature = "faults")]
        if self.config.faults.alters_matching() {
            let faults = &self.config.faults;
            return Box::new(
                self.retained.all().filter(move |r| {
                    super::faults::matching::matches(faults, filter, &r.msg.topic)
                }),
            );
        }
        Box::new(self.retained.matching(filter))
    }

    pub(super) fn on_unsubscribe(&mut self, conn: ConnId, client_id: &str, u: Unsubscribe) {
        let Some(link) = self.conns.get(&conn).map(|c| c.link) else {
            return;
        };
        let mut filters = u.filters;
        if fault!(self.config, unsubscribe_first_filter_only) {
            filters.truncate(1);
        }
        let id_in_use = link.v5()
            && self
                .sessions
                .get(client_id)
                .is_some_and(|s| s.inbound_qos2.contains(&u.packet_id));
        let mut removed_any = false;
        let mut codes = Vec::with_capacity(filters.len());
        for filter in &filters {
            if id_in_use {
                codes.push(ReasonCode::PACKET_IDENTIFIER_IN_USE);
                continue;
            }
            // 3.1.1/MQTT-3.10.4-6, 5.0/MQTT-3.10.4-6: each filter as if in its own
            // UNSUBSCRIBE.
            let removed = self.unsubscribe_one(client_id, filter);
            removed_any |= removed;
            codes.push(if removed {
                ReasonCode::SUCCESS
            } else {
                ReasonCode::NO_SUBSCRIPTION_EXISTED
            });
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
        // 3.1.1/MQTT-3.10.4-4, 3.1.1/MQTT-3.10.4-5, 5.0/MQTT-3.10.4-4, -5: one UNSUBACK with
        // the same identifier, even when nothing was removed; 5.0: one code per filter in
        // their order (5.0/MQTT-3.11.3-1).
        if fault!(self.config, unsuback_codes_reversed) {
            codes.reverse();
        }
        let mut unsuback = UnsubAck::new(id);
        if link.v5() {
            unsuback.properties = failure_reason(true, &codes);
            unsuback.reason_codes = codes;
        }
        for _ in 0..count {
            self.out.send(conn, &link, unsuback.clone());
        }
    }

    /// Removes the subscription whose filter is exactly `filter` (3.1.1/MQTT-3.10.4-1,
    /// 5.0/MQTT-3.10.4-1). New messages stop (3.1.1/MQTT-3.10.4-2, 5.0/MQTT-3.10.4-2);
    /// flows already in flight complete (3.1.1/MQTT-3.10.4-3, 5.0/MQTT-3.10.4-3).
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
        let mut removed = Vec::new();
        for victim in victims {
            if let Some(sub) = session.subscriptions.remove(&victim) {
                removed.push((victim, sub.shared));
            }
        }
        for (victim, shared) in &removed {
            self.unindex(client_id, victim, *shared);
        }
        !removed.is_empty()
    }

    /// Removes one of `client_id`'s subscriptions from the index.
    pub(super) fn unindex(&mut self, client_id: &str, filter: &str, shared: bool) {
        let share = shared
            .then(|| parse_filter(filter, true).ok())
            .flatten()
            .and_then(|p| p.share_name.map(|g| (g, p.filter)));
        match share {
            Some((group, inner)) => {
                self.subscriptions.remove_shared(group, inner, client_id);
            }
            None => {
                self.subscriptions.remove(filter, client_id);
            }
        }
    }
}

/// A Reason String naming the first failure among `codes` (5.0 only; the outbox drops it
/// when the client did not ask for problem information).
fn failure_reason(v5: bool, codes: &[ReasonCode]) -> Properties {
    let why = codes.iter().find(|c| c.is_error()).and_then(|c| c.name());
    match why {
        Some(why) if v5 => Properties::new().with(Property::ReasonString(why.into())),
        _ => Properties::new(),
    }
}
