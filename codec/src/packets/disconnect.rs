//! DISCONNECT (section 3.14). Empty in 3.1.1; in 5.0 a reason code and properties, each
//! omitted when the rest of the packet is (remaining length 0 means Normal disconnection).

use super::read_reason;
use crate::error::{BoxedKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::version::ProtocolVersion;
use crate::wire::Reader;
use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// `None`: omitted, meaning Normal disconnection (5.0 only).
    pub reason_code: Option<ReasonCode>,
    /// `None`: no Property Length on the wire (5.0 only).
    pub properties: Option<Properties>,
}

impl Disconnect {
    pub fn with_reason(code: ReasonCode) -> Self {
        Self {
            reason_code: Some(code),
            properties: None,
        }
    }

    pub fn reason(&self) -> ReasonCode {
        self.reason_code.unwrap_or(ReasonCode::SUCCESS)
    }

    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        read_optional_tail(r, v, strict, PacketType::Disconnect).map(|(reason_code, properties)| {
            Self {
                reason_code,
                properties,
            }
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        optional_tail_len(v, &self.reason_code, &self.properties)
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        write_optional_tail(
            v,
            &self.reason_code,
            &self.properties,
            PacketType::Disconnect,
            buf,
        )
    }
}

/// Reads the "reason code, then properties, both optional" tail of DISCONNECT and AUTH.
pub(crate) fn read_optional_tail(
    r: &mut Reader,
    v: ProtocolVersion,
    strict: bool,
    packet: PacketType,
) -> Result<(Option<ReasonCode>, Option<Properties>), BoxedKind> {
    if !v.is_v5() || r.is_empty() {
        r.finish()?;
        return Ok((None, None));
    }
    let code = read_reason(r, strict)?;
    let props = if r.is_empty() {
        None
    } else {
        Some(Properties::read(
            r,
            PropertyContext::Packet(packet),
            strict,
        )?)
    };
    r.finish()?;
    Ok((Some(code), props))
}

pub(crate) fn optional_tail_len(
    v: ProtocolVersion,
    code: &Option<ReasonCode>,
    props: &Option<Properties>,
) -> usize {
    match (v, code, props) {
        (ProtocolVersion::V311, ..) => 0,
        (_, _, Some(p)) => 1 + p.encoded_len(),
        (_, Some(_), None) => 1,
        (_, None, None) => 0,
    }
}

pub(crate) fn write_optional_tail(
    v: ProtocolVersion,
    code: &Option<ReasonCode>,
    props: &Option<Properties>,
    packet: PacketType,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    if code.is_none() && props.is_none() {
        return Ok(());
    }
    if !v.is_v5() {
        return Err(EncodeError::V5FieldsInV311(packet));
    }
    buf.put_u8(code.unwrap_or(ReasonCode::SUCCESS).0);
    if let Some(p) = props {
        p.write(buf)?;
    }
    Ok(())
}
