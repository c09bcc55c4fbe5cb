//! An application message the broker owns (a client's PUBLISH, a will) goes to the retained
//! store if it asks to, then to every session with a matching subscription.

use super::message::Message;
use super::session::Delivered;
use super::{Broker, Time};

impl Broker {
    /// Takes ownership of `msg` (3.1.1/MQTT-4.5.0-1) from `publisher` (its client id).
    pub(super) fn publish(&mut self, now: Time, msg: Message, publisher: Option<&str>) {
        let qos0_ignored = fault!(self.config, qos0_retained_ignored)
            && msg.qos == mqttspec_codec::QoS::AtMostOnce;
        if msg.retain && !qos0_ignored {
            if fault!(self.config, empty_retained_stored) && msg.payload.is_empty() {
                self.retained.store_even_empty(&msg, publisher);
            } else {
                self.retained.update(&msg, publisher);
            }
        } else if !msg.retain && fault!(self.config, retain0_clears_retained) {
            self.retained.clear(&msg.topic);
        }
        self.route(now, &msg);
    }

    /// Hands one copy of `msg` to each subscribed session, at the highest QoS its matching
    /// subscriptions grant (3.1.1/MQTT-3.3.5-1) but no higher than published
    /// (3.1.1/MQTT-3.8.4-6), with RETAIN 0 because the subscription already existed
    /// (3.1.1/MQTT-3.3.1-9) — also for an empty retained message, which is forwarded
    /// normally (3.1.1/MQTT-3.3.1-10).
    fn route(&mut self, now: Time, msg: &Message) {
        let _ = now;
        #[cfg(feature = "faults")]
        if self.config.faults.needs_linear_routing() || self.config.variations.copy_per_subscription
        {
            return self.route_with_faults(now, msg);
        }
        for (client, granted) in self.subscriptions.matches(&msg.topic) {
            let Some(session) = self.sessions.get_mut(client) else {
                continue;
            };
            let granted = if fault!(self.config, ignore_granted_qos) {
                mqttspec_codec::QoS::ExactlyOnce
            } else {
                granted
            };
            let retain = msg.retain && fault!(self.config, retain_flag_kept_on_forward);
            let copy = msg.delivery(granted, retain);
            let result = deliver(session, &mut self.out, copy, &self.config);
            count_drop(&mut self.stats, client, result);
            if fault!(self.config, deliver_to_one_subscriber) {
                break;
            }
        }
    }
}

/// Counts and logs a message dropped because the session's queue was full.
pub(super) fn count_drop(stats: &mut super::Stats, client: &str, result: Delivered) {
    if result == Delivered::Dropped {
        stats.dropped_queue_full += 1;
        tracing::warn!(client, "queue full: message dropped");
    }
}

/// [`super::session::Session::deliver`], with the fault that drops offline messages.
pub(super) fn deliver(
    session: &mut super::session::Session,
    out: &mut super::outbox::Outbox,
    msg: Message,
    config: &crate::config::Config,
) -> Delivered {
    if session.conn.is_none() && fault!(config, no_offline_queue) {
        return Delivered::Discarded;
    }
    #[cfg(feature = "faults")]
    let msg = super::faults::truncate_delivery(msg, &config.faults);
    session.deliver(out, msg, config)
}
