//! AUTH (5.0 section 3.15): enhanced authentication exchange. Type 15 is reserved in 3.1.1.

use super::disconnect::{optional_tail_len, read_optional_tail, write_optional_tail};
use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::version::ProtocolVersion;
use crate::wire::Reader;
use bytes::BytesMut;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// `None`: omitted, meaning Success.
    pub reason_code: Option<ReasonCode>,
    /// `None`: no Property Length on the wire.
    pub properties: Option<Properties>,
}

impl Auth {
    pub fn reason(&self) -> ReasonCode {
        self.reason_code.unwrap_or(ReasonCode::SUCCESS)
    }

    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        if !v.is_v5() {
            return Err(DecodeErrorKind::ReservedPacketType(PacketType::Auth as u8).into());
        }
        read_optional_tail(r, v, strict, PacketType::Auth).map(|(reason_code, properties)| Self {
            reason_code,
            properties,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        optional_tail_len(ProtocolVersion::V5, &self.reason_code, &self.properties)
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if !v.is_v5() {
            return Err(EncodeError::NotInVersion(PacketType::Auth));
        }
        write_optional_tail(
            v,
            &self.reason_code,
            &self.properties,
            PacketType::Auth,
            buf,
        )
    }
}
