//! The packet enum and its dispatch to one module per packet type.

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::packets::{
    Auth, ConnAck, Connect, Disconnect, PubAck, PubComp, PubRec, PubRel, Publish, SubAck,
    Subscribe, UnsubAck, Unsubscribe,
};
use crate::version::ProtocolVersion;
use crate::wire::{MAX_VARINT, Reader, put_varint, varint_len};
use bytes::{BufMut, Bytes, BytesMut};

/// Control packet types (the high nibble of the first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    pub fn from_u8(value: u8) -> Option<Self> {
        use PacketType as T;
        Some(match value {
            1 => T::Connect,
            2 => T::ConnAck,
            3 => T::Publish,
            4 => T::PubAck,
            5 => T::PubRec,
            6 => T::PubRel,
            7 => T::PubComp,
            8 => T::Subscribe,
            9 => T::SubAck,
            10 => T::Unsubscribe,
            11 => T::UnsubAck,
            12 => T::PingReq,
            13 => T::PingResp,
            14 => T::Disconnect,
            15 => T::Auth,
            _ => return None,
        })
    }

    /// The specification's name, as in "CONNACK".
    pub fn name(self) -> &'static str {
        use PacketType as T;
        match self {
            T::Connect => "CONNECT",
            T::ConnAck => "CONNACK",
            T::Publish => "PUBLISH",
            T::PubAck => "PUBACK",
            T::PubRec => "PUBREC",
            T::PubRel => "PUBREL",
            T::PubComp => "PUBCOMP",
            T::Subscribe => "SUBSCRIBE",
            T::SubAck => "SUBACK",
            T::Unsubscribe => "UNSUBSCRIBE",
            T::UnsubAck => "UNSUBACK",
            T::PingReq => "PINGREQ",
            T::PingResp => "PINGRESP",
            T::Disconnect => "DISCONNECT",
            T::Auth => "AUTH",
        }
    }

    /// The fixed-header flags the specification prescribes (PUBLISH has its own).
    pub fn required_flags(self) -> Option<u8> {
        match self {
            Self::Publish => None,
            Self::PubRel | Self::Subscribe | Self::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

/// Any MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(PubAck),
    PubRec(PubRec),
    PubRel(PubRel),
    PubComp(PubComp),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    Auth(Auth),
}

impl Packet {
    pub fn packet_type(&self) -> PacketType {
        use PacketType as T;
        match self {
            Self::Connect(_) => T::Connect,
            Self::ConnAck(_) => T::ConnAck,
            Self::Publish(_) => T::Publish,
            Self::PubAck(_) => T::PubAck,
            Self::PubRec(_) => T::PubRec,
            Self::PubRel(_) => T::PubRel,
            Self::PubComp(_) => T::PubComp,
            Self::Subscribe(_) => T::Subscribe,
            Self::SubAck(_) => T::SubAck,
            Self::Unsubscribe(_) => T::Unsubscribe,
            Self::UnsubAck(_) => T::UnsubAck,
            Self::PingReq => T::PingReq,
            Self::PingResp => T::PingResp,
            Self::Disconnect(_) => T::Disconnect,
            Self::Auth(_) => T::Auth,
        }
    }

    /// Decodes one frame: its first byte and its body (exactly `remaining length` bytes).
    ///
    /// A CONNECT is read by the protocol level it carries; every other packet by `version`.
    pub fn decode(
        first_byte: u8,
        body: Bytes,
        version: ProtocolVersion,
        strict: bool,
    ) -> Result<Packet, DecodeError> {
        let packet_type = PacketType::from_u8(first_byte >> 4).ok_or_else(|| {
            DecodeError::new(
                version,
                DecodeErrorKind::ReservedPacketType(first_byte >> 4),
            )
        })?;
        // Type 15 is AUTH only in 5.0; in 3.1.1 it is reserved whatever its flags.
        if packet_type == PacketType::Auth && version == ProtocolVersion::V311 {
            return Err(DecodeError::new(
                version,
                DecodeErrorKind::ReservedPacketType(15),
            ));
        }
        // A CONNECT is judged by the version it announces.
        let version = match packet_type {
            PacketType::Connect => Connect::peek_version(&body).unwrap_or(version),
            _ => version,
        };
        let wrap = |kind| DecodeError::new(version, kind);
        let flags = first_byte & 0x0F;
        if let Some(required) = packet_type.required_flags()
            && flags != required
        {
            return Err(wrap(DecodeErrorKind::ReservedFlags {
                packet: packet_type,
                flags,
            }));
        }
        let mut r = Reader::new(body, packet_type);
        Self::read_body(packet_type, flags, &mut r, version, strict)
            .and_then(|p| r.finish().map(|()| p))
            .map_err(wrap)
    }

    fn read_body(
        packet_type: PacketType,
        flags: u8,
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Packet, DecodeErrorKind> {
        use PacketType as T;
        Ok(match packet_type {
            T::Connect => Packet::Connect(Connect::read(r, strict)?),
            T::ConnAck => Packet::ConnAck(ConnAck::read(r, v, strict)?),
            T::Publish => Packet::Publish(Publish::read(r, flags, v, strict)?),
            T::PubAck => Packet::PubAck(PubAck::read(r, v, strict)?),
            T::PubRec => Packet::PubRec(PubRec::read(r, v, strict)?),
            T::PubRel => Packet::PubRel(PubRel::read(r, v, strict)?),
            T::PubComp => Packet::PubComp(PubComp::read(r, v, strict)?),
            T::Subscribe => Packet::Subscribe(Subscribe::read(r, v, strict)?),
            T::SubAck => Packet::SubAck(SubAck::read(r, v, strict)?),
            T::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(r, v, strict)?),
            T::UnsubAck => Packet::UnsubAck(UnsubAck::read(r, v, strict)?),
            T::PingReq => Packet::PingReq,
            T::PingResp => Packet::PingResp,
            T::Disconnect => Packet::Disconnect(Disconnect::read(r, v, strict)?),
            T::Auth => Packet::Auth(Auth::read(r, v, strict)?),
        })
    }

    fn flags(&self) -> u8 {
        match self {
            Self::Publish(p) => p.flags(),
            other => other.packet_type().required_flags().unwrap_or(0),
        }
    }

    fn body_len(&self, v: ProtocolVersion) -> usize {
        match self {
            Self::Connect(p) => p.body_len(),
            Self::ConnAck(p) => p.body_len(v),
            Self::Publish(p) => p.body_len(v),
            Self::PubAck(p) => p.body_len(v),
            Self::PubRec(p) => p.body_len(v),
            Self::PubRel(p) => p.body_len(v),
            Self::PubComp(p) => p.body_len(v),
            Self::Subscribe(p) => p.body_len(v),
            Self::SubAck(p) => p.body_len(v),
            Self::Unsubscribe(p) => p.body_len(v),
            Self::UnsubAck(p) => p.body_len(v),
            Self::PingReq | Self::PingResp => 0,
            Self::Disconnect(p) => p.body_len(v),
            Self::Auth(p) => p.body_len(),
        }
    }

    fn write_body(&self, v: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Self::Connect(p) => p.write_body(buf),
            Self::ConnAck(p) => p.write_body(v, buf),
            Self::Publish(p) => p.write_body(v, buf),
            Self::PubAck(p) => p.write_body(v, buf),
            Self::PubRec(p) => p.write_body(v, buf),
            Self::PubRel(p) => p.write_body(v, buf),
            Self::PubComp(p) => p.write_body(v, buf),
            Self::Subscribe(p) => p.write_body(v, buf),
            Self::SubAck(p) => p.write_body(v, buf),
            Self::Unsubscribe(p) => p.write_body(v, buf),
            Self::UnsubAck(p) => p.write_body(v, buf),
            Self::PingReq | Self::PingResp => Ok(()),
            Self::Disconnect(p) => p.write_body(v, buf),
            Self::Auth(p) => p.write_body(v, buf),
        }
    }

    /// Total encoded size: fixed header plus body.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        let body = self.body_len(version);
        1 + varint_len(body.min(MAX_VARINT as usize) as u32) + body
    }

    /// Appends the encoding of this packet. A CONNECT is written for the version it names.
    /// Values a strict decoder would refuse (packet identifier 0, wildcards in a topic
    /// name, …) are written as given: that is how tests build malformed packets.
    pub fn encode(&self, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let body = self.body_len(version);
        if body > MAX_VARINT as usize {
            return Err(EncodeError::PacketTooLong(body));
        }
        buf.reserve(1 + varint_len(body as u32) + body);
        let start = buf.len();
        buf.put_u8(((self.packet_type() as u8) << 4) | self.flags());
        put_varint(buf, body as u32)?;
        let body_start = buf.len();
        if let Err(e) = self.write_body(version, buf) {
            buf.truncate(start);
            return Err(e);
        }
        debug_assert_eq!(buf.len() - body_start, body, "{:?}", self.packet_type());
        Ok(())
    }

    /// The encoding as a fresh buffer.
    pub fn to_bytes(&self, version: ProtocolVersion) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.encoded_len(version));
        self.encode(version, &mut buf)?;
        Ok(buf.freeze())
    }
}

macro_rules! from_packet {
    ($($variant:ident),*) => {
        $(impl From<$variant> for Packet {
            fn from(p: $variant) -> Self {
                Packet::$variant(p)
            }
        })*
    };
}

from_packet!(
    Connect,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth
);
