//! UNSUBACK (section 3.11): in 3.1.1 only the packet identifier; in 5.0 also properties and
//! one reason code per filter.

use super::{properties_len, read_packet_id, read_properties, read_reason, write_properties};
use crate::error::{BoxedKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::version::ProtocolVersion;
use crate::wire::Reader;
use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubAck {
    pub packet_id: u16,
    /// 5.0 only.
    pub properties: Properties,
    /// 5.0 only.
    pub reason_codes: Vec<ReasonCode>,
}

impl UnsubAck {
    pub fn new(packet_id: u16) -> Self {
        Self {
            packet_id,
            ..Self::default()
        }
    }

    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        let packet_id = read_packet_id(r, strict)?;
        let properties = read_properties(r, v, strict)?;
        let mut reason_codes = Vec::new();
        if v.is_v5() {
            while !r.is_empty() {
                reason_codes.push(read_reason(r, strict)?);
            }
        }
        r.finish()?;
        Ok(Self {
            packet_id,
            properties,
            reason_codes,
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        match v {
            ProtocolVersion::V311 => 2,
            ProtocolVersion::V5 => {
                2 + properties_len(&self.properties, v) + self.reason_codes.len()
            }
        }
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if !v.is_v5() && !self.reason_codes.is_empty() {
            return Err(EncodeError::V5FieldsInV311(PacketType::UnsubAck));
        }
        buf.put_u16(self.packet_id);
        write_properties(&self.properties, v, PacketType::UnsubAck, buf)?;
        for c in &self.reason_codes {
            buf.put_u8(c.0);
        }
        Ok(())
    }
}
