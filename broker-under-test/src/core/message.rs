//! An application message as the broker stores and forwards it.

use bytes::Bytes;
use bytestring::ByteString;
use mqttspec_codec::{Publish, QoS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    pub topic: ByteString,
    pub payload: Bytes,
    /// The QoS it was published with, or, for a delivery, the QoS it is delivered with.
    pub qos: QoS,
    /// As published, or, for a delivery, the RETAIN flag to send.
    pub retain: bool,
}

impl Message {
    /// The message of a client's PUBLISH. Topic and payload are copied out of the input
    /// buffer they were decoded from, so that a message kept for long (retained, queued)
    /// does not keep that whole buffer alive.
    pub fn from_publish(p: &Publish) -> Self {
        Self {
            topic: ByteString::from(&*p.topic),
            payload: Bytes::copy_from_slice(&p.payload),
            qos: p.qos,
            retain: p.retain,
        }
    }

    /// The copy sent to one subscriber: at most `qos`, with this RETAIN flag.
    pub fn delivery(&self, qos: QoS, retain: bool) -> Self {
        Self {
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            qos: self.qos.min(qos),
            retain,
        }
    }

    /// The PUBLISH packet carrying this message.
    pub fn to_publish(&self, packet_id: u16, dup: bool) -> Publish {
        Publish {
            dup,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic.clone(),
            packet_id,
            payload: self.payload.clone(),
            ..Publish::default()
        }
    }
}
