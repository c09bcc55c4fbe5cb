//! Legal variations (cargo feature `faults`): behaviours MQTT 3.1.1 allows that differ from
//! the reference broker's defaults. Faults break a rule; a variation breaks none, so the
//! conformance suite must not fail a broker for it (harness/tests/legal_variations.rs runs
//! the whole suite under each one and requires pass or not applicable). They are checked
//! with the `variation!` macro, the constant `false` without the feature.

use super::super::{Broker, ConnId, Time};
use thiserror::Error;

/// A variation name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown variation {0:?}")]
pub struct UnknownVariation(pub String);

/// How long the `pubrel_delayed` variation holds a PUBREL.
pub(crate) const PUBREL_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

macro_rules! variations {
    ($($(#[doc = $doc:literal])+ $name:ident,)*) => {
        /// Legal variations; all off by default. See the module documentation.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Variations {
            $($(#[doc = $doc])+ pub $name: bool,)*
        }

        impl Variations {
            /// Every variation name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Turns on the variation called `name`.
            pub fn set(&mut self, name: &str) -> Result<(), UnknownVariation> {
                match name {
                    $(stringify!($name) => self.$name = true,)*
                    _ => return Err(UnknownVariation(name.to_owned())),
                }
                Ok(())
            }

            /// The names of the variations that are on.
            pub fn enabled(&self) -> Vec<&'static str> {
                let mut on = Vec::new();
                $(if self.$name { on.push(stringify!($name)); })*
                on
            }

            /// What the variation called `name` does, and why 3.1.1 allows it.
            pub fn describe(name: &str) -> Option<&'static str> {
                match name {
                    $(stringify!($name) => Some(concat!($($doc),+)),)*
                    _ => None,
                }
            }
        }
    };
}

impl Variations {
    /// Variations with only `name` on.
    pub fn only(name: &str) -> Result<Self, UnknownVariation> {
        let mut v = Self::default();
        v.set(name)?;
        Ok(v)
    }

    /// The highest QoS a subscription is granted, if capped.
    pub(crate) fn grant_cap(&self) -> Option<mqttspec_codec::QoS> {
        use mqttspec_codec::QoS;
        if self.grant_qos0_only {
            Some(QoS::AtMostOnce)
        } else if self.grant_at_most_qos1 {
            Some(QoS::AtLeastOnce)
        } else {
            None
        }
    }
}

variations! {
    /// The retained messages of a new subscription go out before its SUBACK (3.8.4: "The Server is permitted to start sending PUBLISH packets matching the Subscription before the Server sends the SUBACK Packet").
    retained_before_suback,
    /// Every subscription is granted at most QoS 1 (3.8.4: "The Server might grant a lower maximum QoS than the subscriber requested").
    grant_at_most_qos1,
    /// Every subscription is granted QoS 0 (3.8.4, as for `grant_at_most_qos1`).
    grant_qos0_only,
    /// A CONNECT with keep alive 0 is refused by closing the connection without CONNACK (3.2.2.3, MQTT-3.2.2-6: a server that finds none of the return codes applicable closes without CONNACK).
    refuse_keepalive_zero,
    /// An empty client identifier is refused with CONNACK 0x02 whatever CleanSession says (3.1.3.1: the server MAY allow a zero-byte ClientId; MQTT-3.1.3-9 says how it refuses one).
    refuse_empty_client_id,
    /// A silent client is closed after 1.0 times its keep alive instead of 1.5 (3.1.2.10: "a Server is permitted to disconnect a Client that it determines to be inactive or non-responsive at any time"; only the 1.5 upper bound is normative).
    keepalive_close_at_1x,
    /// A client with keep alive 0 is closed after 1.5 s of silence (3.1.2.10: keep alive 0 only means the server is not required to disconnect it; it is still permitted to disconnect an inactive client at any time).
    keepalive_zero_closed_when_idle,
    /// A message matching several subscriptions of one client goes out once per matching subscription, each at that subscription's QoS (3.3.5: "the Server MAY deliver further copies of the message, one for each additional matching subscription").
    copy_per_subscription,
    /// A client's PUBLISH to a topic starting with '$' is acknowledged and dropped (4.7.2: the server SHOULD prevent clients from using such topics to exchange messages).
    drop_dollar_publishes,
    /// A client's PUBLISH to a topic starting with '$' closes its connection (4.7.2, as for `drop_dollar_publishes`).
    close_on_dollar_publish,
    /// A 3.1.1 client's SUBSCRIBE with a filter starting with '$' closes its connection (4.7.2, as for `drop_dollar_publishes`; rumqttd 0.20's 3.1.1 listener does this).
    close_on_dollar_subscribe,
    /// The PUBREL answering a subscriber's PUBREC goes out 100 ms later, so PUBLISH packets routed meanwhile overtake it (4.6 orders PUBREL only against other PUBRELs).
    pubrel_delayed,
    /// A PUBACK that does not acknowledge the oldest unacknowledged QoS 1 message closes the connection (4.6: a client sends PUBACKs in the order the PUBLISH packets were received, MQTT-4.6.0-2; 4.8: a protocol violation closes the connection).
    close_on_out_of_order_puback,
    /// QoS 0 messages for an offline CleanSession 0 session are queued and sent when it resumes (3.1.2.4: QoS 0 messages MAY be stored as part of the session state).
    queue_qos0_offline,
    /// A PUBLISH or SUBSCRIBE with a topic or filter over 1024 bytes closes the connection (an implementation limit: 3.1.1 sets only the 65,535-byte maximum, MQTT-4.7.3-3).
    topic_length_limit_1024,
}

impl Broker {
    /// `pubrel_delayed`: sends `id` on `conn` at `now` + [`PUBREL_DELAY`].
    pub(crate) fn hold_pubrel(&mut self, now: Time, conn: ConnId, id: u16) {
        let due = now.saturating_add(PUBREL_DELAY);
        self.fault_state.delayed_pubrels.push((due, conn, id));
    }

    /// When the next held packet is due, combined with the core's own next deadline.
    pub(crate) fn next_held(&self, next: Option<Time>) -> Option<Time> {
        let held = self
            .fault_state
            .delayed_pubrels
            .iter()
            .map(|(t, ..)| *t)
            .min();
        match (next, held) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sends the held packets due at `now` to the connections still open.
    pub(crate) fn send_held(&mut self, now: Time) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.fault_state.delayed_pubrels)
            .into_iter()
            .partition(|(t, ..)| *t <= now);
        self.fault_state.delayed_pubrels = later;
        for (_, conn, id) in due {
            if let Some(link) = self.conns.get(&conn).map(|c| c.link) {
                self.out.send(conn, &link, mqttspec_codec::PubRel::new(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in Variations::NAMES {
            let v = Variations::only(name).unwrap();
            assert_eq!(v.enabled(), [*name]);
            // Each one names the section that allows it.
            assert!(
                Variations::describe(name).is_some_and(|d| d.chars().any(|c| c.is_ascii_digit()))
            );
        }
        assert!(Variations::only("nope").is_err());
        assert!(Variations::default().enabled().is_empty());
    }
}
