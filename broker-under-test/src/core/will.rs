//! Will messages: stored from the CONNECT, published when the connection ends without a
//! DISCONNECT (see [`super::close`]).

use super::message::Message;
use super::{Broker, Time};
use bytes::Bytes;
use bytestring::ByteString;
use mqttspec_codec::{QoS, Will};

/// The message a CONNECT's will asks for.
pub(super) fn will_message(will: &Will) -> Message {
    // Copied out of the input buffer, like every message kept (see `Message::from_publish`).
    Message {
        topic: ByteString::from(&*will.topic),
        payload: Bytes::copy_from_slice(&will.payload),
        qos: will.qos,
        retain: will.retain,
    }
}

impl Broker {
    /// Publishes a will with its QoS (3.1.1/MQTT-3.1.2-9) and, with Will Retain 1, as a
    /// retained message (3.1.1/MQTT-3.1.2-17; not retained with Will Retain 0,
    /// 3.1.1/MQTT-3.1.2-16).
    pub(super) fn publish_will(&mut self, now: Time, mut will: Message, client_id: &str) {
        if fault!(self.config, will_qos_ignored) {
            will.qos = QoS::AtMostOnce;
        }
        if fault!(self.config, will_retain_ignored) {
            will.retain = false;
        }
        if fault!(self.config, will_always_retained) {
            will.retain = true;
        }
        tracing::debug!(client_id, topic = %will.topic, "publishing will");
        self.publish(now, will, Some(client_id));
    }
}
