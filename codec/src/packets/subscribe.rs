//! SUBSCRIBE (section 3.8): topic filters with their options; fixed-header flags 0010.

use super::{properties_len, read_packet_id, read_properties, write_properties};
use crate::error::{BoxedKind, DecodeErrorKind, EncodeError, QosContext};
use crate::packet::PacketType;
use crate::properties::Properties;
use crate::qos::QoS;
use crate::topic::parse_filter;
use crate::version::ProtocolVersion;
use crate::wire::{Reader, binary_len, put_str};
use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

/// The options byte of one subscription. In 3.1.1 only `qos` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubscribeOptions {
    pub qos: QoS,
    pub no_local: bool,
    pub retain_as_published: bool,
    /// 0 send retained on subscribe, 1 only for a new subscription, 2 never. 3 is invalid.
    pub retain_handling: u8,
}

impl SubscribeOptions {
    pub fn qos(qos: QoS) -> Self {
        Self {
            qos,
            ..Self::default()
        }
    }

    fn to_byte(self) -> u8 {
        self.qos.as_u8()
            | (u8::from(self.no_local) << 2)
            | (u8::from(self.retain_as_published) << 3)
            | (self.retain_handling << 4)
    }

    fn has_v5_fields(self) -> bool {
        self.no_local || self.retain_as_published || self.retain_handling != 0
    }

    fn from_byte(byte: u8, v: ProtocolVersion, strict: bool) -> Result<Self, BoxedKind> {
        let reserved = match v {
            ProtocolVersion::V311 => 0b1111_1100,
            ProtocolVersion::V5 => 0b1100_0000,
        };
        if strict && byte & reserved != 0 {
            return Err(DecodeErrorKind::SubscriptionOptionsReserved(byte).into());
        }
        let qos = QoS::from_u8(byte & 0b11)
            .ok_or(DecodeErrorKind::InvalidQos(QosContext::Subscription))?;
        if !v.is_v5() {
            return Ok(Self::qos(qos));
        }
        let retain_handling = (byte >> 4) & 0b11;
        if strict && retain_handling == 3 {
            return Err(DecodeErrorKind::InvalidRetainHandling.into());
        }
        Ok(Self {
            qos,
            no_local: byte & 0b0100 != 0,
            retain_as_published: byte & 0b1000 != 0,
            retain_handling,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    pub filter: ByteString,
    pub options: SubscribeOptions,
}

impl Subscription {
    pub fn new(filter: impl Into<ByteString>, qos: QoS) -> Self {
        Self {
            filter: filter.into(),
            options: SubscribeOptions::qos(qos),
        }
    }
}

/// Room to reserve for the entries of a SUBSCRIBE or UNSUBSCRIBE body of `len` bytes, so
/// that a typical packet needs one allocation rather than a series of regrowths. An entry
/// rarely takes fewer than four bytes; the cap bounds what a peer's long packet can make
/// the decoder reserve before its entries are read (more entries still grow the vector).
pub(crate) fn entries_hint(len: usize) -> usize {
    (len / 4).min(16)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscribe {
    pub packet_id: u16,
    /// 5.0 only.
    pub properties: Properties,
    pub subscriptions: Vec<Subscription>,
}

impl Subscribe {
    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        let packet_id = read_packet_id(r, strict)?;
        let properties = read_properties(r, v, strict)?;
        let mut subscriptions = Vec::with_capacity(entries_hint(r.remaining()));
        while !r.is_empty() {
            let filter = r.string("topic filter")?;
            let options = SubscribeOptions::from_byte(r.u8("subscription options")?, v, strict)?;
            if strict {
                let parsed = parse_filter(&filter, v.is_v5()).map_err(|reason| {
                    DecodeErrorKind::InvalidTopicFilter {
                        filter: filter.to_string(),
                        reason,
                    }
                })?;
                if parsed.share_name.is_some() && options.no_local {
                    return Err(
                        DecodeErrorKind::NoLocalOnSharedSubscription(filter.to_string()).into(),
                    );
                }
            }
            subscriptions.push(Subscription { filter, options });
        }
        if strict && subscriptions.is_empty() {
            return Err(DecodeErrorKind::EmptySubscribe.into());
        }
        r.finish()?;
        Ok(Self {
            packet_id,
            properties,
            subscriptions,
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + properties_len(&self.properties, v)
            + self
                .subscriptions
                .iter()
                .map(|s| binary_len(s.filter.as_bytes()) + 1)
                .sum::<usize>()
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        buf.put_u16(self.packet_id);
        write_properties(&self.properties, v, PacketType::Subscribe, buf)?;
        for s in &self.subscriptions {
            // Checked on the way rather than in a pass of its own: on error the caller
            // takes back everything written.
            if !v.is_v5() && s.options.has_v5_fields() {
                return Err(EncodeError::V5FieldsInV311(PacketType::Subscribe));
            }
            put_str(buf, &s.filter)?;
            buf.put_u8(s.options.to_byte());
        }
        Ok(())
    }
}
