//! SUBACK (section 3.9): one return or reason code per requested filter.

use super::{properties_len, read_packet_id, read_properties, write_properties};
use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::version::ProtocolVersion;
use crate::wire::Reader;
use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubAck {
    pub packet_id: u16,
    /// 5.0 only.
    pub properties: Properties,
    /// Return codes in 3.1.1 (0, 1, 2, 0x80), reason codes in 5.0.
    pub return_codes: Vec<ReasonCode>,
}

impl SubAck {
    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        let packet_id = read_packet_id(r, strict)?;
        let properties = read_properties(r, v, strict)?;
        let mut return_codes = Vec::with_capacity(r.remaining());
        while !r.is_empty() {
            let code = ReasonCode(r.u8("return code")?);
            let valid = match v {
                ProtocolVersion::V311 => code.valid_for_v311(PacketType::SubAck),
                ProtocolVersion::V5 => code.valid_for(PacketType::SubAck),
            };
            if strict && !valid {
                return Err(DecodeErrorKind::InvalidReasonCode {
                    packet: PacketType::SubAck,
                    code: code.0,
                }
                .into());
            }
            return_codes.push(code);
        }
        r.finish()?;
        Ok(Self {
            packet_id,
            properties,
            return_codes,
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + properties_len(&self.properties, v) + self.return_codes.len()
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        buf.put_u16(self.packet_id);
        write_properties(&self.properties, v, PacketType::SubAck, buf)?;
        for c in &self.return_codes {
            buf.put_u8(c.0);
        }
        Ok(())
    }
}
