//! CONNACK (section 3.2): the server's answer to CONNECT.

use super::{properties_len, read_properties, write_properties};
use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::version::ProtocolVersion;
use crate::wire::Reader;
use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    pub session_present: bool,
    /// The return code in 3.1.1 (0 to 5), the reason code in 5.0.
    pub code: ReasonCode,
    /// 5.0 only.
    pub properties: Properties,
}

impl ConnAck {
    pub fn new(session_present: bool, code: ReasonCode) -> Self {
        Self {
            session_present,
            code,
            properties: Properties::default(),
        }
    }

    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        let flags = r.u8("acknowledge flags")?;
        if strict && flags & 0xFE != 0 {
            return Err(DecodeErrorKind::ConnAckReservedFlags(flags).into());
        }
        let code = ReasonCode(r.u8("return code")?);
        let valid = match v {
            ProtocolVersion::V311 => code.valid_for_v311(PacketType::ConnAck),
            ProtocolVersion::V5 => code.valid_for(PacketType::ConnAck),
        };
        if strict && !valid {
            return Err(DecodeErrorKind::InvalidReasonCode {
                packet: PacketType::ConnAck,
                code: code.0,
            }
            .into());
        }
        if strict && flags & 1 != 0 && code.0 != 0 {
            return Err(DecodeErrorKind::SessionPresentWithRefusal.into());
        }
        let properties = read_properties(r, v, strict)?;
        r.finish()?;
        Ok(Self {
            session_present: flags & 1 != 0,
            code,
            properties,
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + properties_len(&self.properties, v)
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        buf.put_u8(u8::from(self.session_present));
        buf.put_u8(self.code.0);
        write_properties(&self.properties, v, PacketType::ConnAck, buf)
    }
}
