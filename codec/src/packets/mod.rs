//! One module per control packet. PINGREQ and PINGRESP have no variable header or payload
//! and live as unit variants of [`crate::Packet`].

mod ack;
pub mod auth;
pub mod connack;
pub mod connect;
pub mod disconnect;
pub mod puback;
pub mod pubcomp;
pub mod publish;
pub mod pubrec;
pub mod pubrel;
pub mod suback;
pub mod subscribe;
pub mod unsuback;
pub mod unsubscribe;

pub use auth::Auth;
pub use connack::ConnAck;
pub use connect::{Connect, Will};
pub use disconnect::Disconnect;
pub use puback::PubAck;
pub use pubcomp::PubComp;
pub use publish::Publish;
pub use pubrec::PubRec;
pub use pubrel::PubRel;
pub use suback::SubAck;
pub use subscribe::{Subscribe, SubscribeOptions, Subscription};
pub use unsuback::UnsubAck;
pub use unsubscribe::Unsubscribe;

use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::{Properties, PropertyContext};
use crate::reason::ReasonCode;
use crate::version::ProtocolVersion;
use crate::wire::Reader;

/// Reads a packet identifier that must not be 0.
#[inline]
pub(crate) fn read_packet_id(r: &mut Reader, strict: bool) -> Result<u16, BoxedKind> {
    let id = r.u16("packet identifier")?;
    if strict && id == 0 {
        return Err(DecodeErrorKind::ZeroPacketId(r.packet()).into());
    }
    Ok(id)
}

/// Reads the property block of a 5.0 packet; 3.1.1 has none.
#[inline]
pub(crate) fn read_properties(
    r: &mut Reader,
    v: ProtocolVersion,
    strict: bool,
) -> Result<Properties, BoxedKind> {
    match v {
        ProtocolVersion::V311 => Ok(Properties::default()),
        ProtocolVersion::V5 => Properties::read(r, PropertyContext::Packet(r.packet()), strict),
    }
}

/// Encoded size of a packet's property block under `v`.
pub(crate) fn properties_len(props: &Properties, v: ProtocolVersion) -> usize {
    match v {
        ProtocolVersion::V311 => 0,
        ProtocolVersion::V5 => props.encoded_len(),
    }
}

/// Writes a packet's property block under `v`; 3.1.1 cannot carry one.
pub(crate) fn write_properties(
    props: &Properties,
    v: ProtocolVersion,
    packet: PacketType,
    buf: &mut bytes::BytesMut,
) -> Result<(), EncodeError> {
    match v {
        ProtocolVersion::V311 if !props.is_empty() => Err(EncodeError::V5FieldsInV311(packet)),
        ProtocolVersion::V311 => Ok(()),
        ProtocolVersion::V5 => props.write(buf),
    }
}

/// Reads a reason code and checks it against the packet's 5.0 set.
pub(crate) fn read_reason(r: &mut Reader, strict: bool) -> Result<ReasonCode, BoxedKind> {
    let code = ReasonCode(r.u8("reason code")?);
    if strict && !code.valid_for(r.packet()) {
        return Err(DecodeErrorKind::InvalidReasonCode {
            packet: r.packet(),
            code: code.0,
        }
        .into());
    }
    Ok(code)
}
