//! PUBLISH (section 3.3): an application message in either direction.

use super::{properties_len, read_packet_id, read_properties, write_properties};
use crate::error::{BoxedKind, DecodeErrorKind, EncodeError, QosContext};
use crate::packet::PacketType;
use crate::properties::{Properties, PropertyId};
use crate::qos::QoS;
use crate::version::ProtocolVersion;
use crate::wire::{Reader, binary_len, put_str};
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: ByteString,
    /// Present on the wire only when QoS > 0; 0 for QoS 0.
    pub packet_id: u16,
    /// 5.0 only.
    pub properties: Properties,
    pub payload: Bytes,
}

impl Publish {
    pub fn new(topic: impl Into<ByteString>, qos: QoS, payload: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            qos,
            payload: payload.into(),
            ..Self::default()
        }
    }

    pub(crate) fn flags(&self) -> u8 {
        (u8::from(self.dup) << 3) | (self.qos.as_u8() << 1) | u8::from(self.retain)
    }

    // Always inlined into the decoder, which builds the packet in place (see
    // `Packet::decode_as`): returned through memory, the 96-byte struct is stored and
    // reloaded with mismatched widths, which stalls store-to-load forwarding.
    #[inline(always)]
    pub(crate) fn read(
        r: &mut Reader,
        flags: u8,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        let qos = QoS::from_u8((flags >> 1) & 0b11)
            .ok_or(DecodeErrorKind::InvalidQos(QosContext::Publish))?;
        let dup = flags & 0b1000 != 0;
        if strict && dup && qos == QoS::AtMostOnce {
            return Err(DecodeErrorKind::DupWithQos0.into());
        }
        let topic = r.string("topic name")?;
        if strict && topic.bytes().any(|b| b == b'+' || b == b'#') {
            return Err(DecodeErrorKind::WildcardInTopicName(topic.to_string()).into());
        }
        let packet_id = match qos {
            QoS::AtMostOnce => 0,
            _ => read_packet_id(r, strict)?,
        };
        let properties = read_properties(r, v, strict)?;
        // In 5.0 an empty topic name stands for the one a Topic Alias maps to.
        if strict && topic.is_empty() && properties.get(PropertyId::TopicAlias).is_none() {
            return Err(DecodeErrorKind::EmptyTopicName.into());
        }
        Ok(Self {
            dup,
            qos,
            retain: flags & 1 != 0,
            topic,
            packet_id,
            properties,
            // The payload is the rest of the frame, so nothing can trail it.
            payload: r.rest(),
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        let id = if self.qos == QoS::AtMostOnce { 0 } else { 2 };
        binary_len(self.topic.as_bytes())
            + id
            + properties_len(&self.properties, v)
            + self.payload.len()
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        put_str(buf, &self.topic)?;
        if self.qos != QoS::AtMostOnce {
            buf.put_u16(self.packet_id);
        }
        write_properties(&self.properties, v, PacketType::Publish, buf)?;
        buf.put_slice(&self.payload);
        Ok(())
    }
}
