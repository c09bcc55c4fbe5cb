//! Will messages: stored from the CONNECT, published when the connection ends without a
//! normal DISCONNECT (see [`super::close`]) — at once, or after the Will Delay Interval
//! (5.0), or when the session ends if that comes first.

use super::message::Message;
use super::{Broker, Time};
use bytes::Bytes;
use bytestring::ByteString;
use mqttspec_codec::{PropertyId, QoS, Will};
use std::time::Duration;

/// A will as stored with its connection or session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredWill {
    pub msg: Message,
    /// Will Delay Interval in seconds (5.0; 0 for 3.1.1).
    pub delay: u32,
    /// Message Expiry Interval in seconds, counted from publication.
    pub expiry: Option<u32>,
}

/// The message a CONNECT's will asks for, with its properties forwarded unchanged and in
/// order (5.0/MQTT-3.1.3-10).
pub(super) fn will_message(will: &Will, now: Time) -> StoredWill {
    // Copied out of the input buffer, like every message kept (see `Message::from_publish`).
    let mut msg = Message::new(
        ByteString::from(&*will.topic),
        Bytes::copy_from_slice(&will.payload),
        will.qos,
        will.retain,
    );
    msg.set_properties(&will.properties, now);
    msg.expires_at = None;
    let int = |id| will.properties.int(id);
    StoredWill {
        msg,
        delay: int(PropertyId::WillDelayInterval).unwrap_or(0),
        expiry: int(PropertyId::MessageExpiryInterval),
    }
}

impl Broker {
    /// Publishes a will with its QoS (3.1.1/MQTT-3.1.2-9) and, with Will Retain 1, as a
    /// retained message (3.1.1/MQTT-3.1.2-17, 5.0/MQTT-3.1.2-15; not retained with Will
    /// Retain 0, 3.1.1/MQTT-3.1.2-16, 5.0/MQTT-3.1.2-14).
    pub(super) fn publish_will(&mut self, now: Time, will: StoredWill, client_id: &str) {
        let mut msg = will.msg;
        msg.expires_at = will
            .expiry
            .map(|s| now.saturating_add(Duration::from_secs(u64::from(s))));
        if fault!(self.config, will_qos_ignored) {
            msg.qos = QoS::AtMostOnce;
        }
        if fault!(self.config, will_retain_ignored) {
            msg.retain = false;
        }
        if fault!(self.config, will_always_retained) {
            msg.retain = true;
        }
        if fault!(self.config, will_user_properties_reversed)
            && let Some(props) = &msg.props
        {
            let mut reversed = (**props).clone();
            reversed.0.reverse();
            msg.props = Some(std::sync::Arc::new(reversed));
        }
        tracing::debug!(client_id, topic = %msg.topic, "publishing will");
        self.publish(now, msg, Some(client_id));
    }
}
