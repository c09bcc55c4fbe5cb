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
    #[inline]
    pub fn decode(
        first_byte: u8,
        body: Bytes,
        version: ProtocolVersion,
        strict: bool,
    ) -> Result<Packet, DecodeError> {
        Self::decode_as(first_byte, body, version, strict, |packet| packet)
    }

    /// [`Packet::decode`], handing the packet to `wrap` (the framing decoder's `Some`).
    ///
    /// Each packet type builds the caller's final value, `Ok(wrap(Packet::…))`, in its own
    /// arm. Wrapping after the match instead would assemble all 15 shapes in one temporary
    /// and copy it out; the copy reads back, in wide loads, fields just stored in narrow
    /// ones, which stalls store-to-load forwarding for longer than a small packet takes to
    /// decode. For the same reason everything down to each packet's `read` is inlined.
    #[inline(always)]
    pub(crate) fn decode_as<R>(
        first_byte: u8,
        body: Bytes,
        version: ProtocolVersion,
        strict: bool,
        wrap: impl FnOnce(Packet) -> R,
    ) -> Result<R, DecodeError> {
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
        let flags = first_byte & 0x0F;
        if let Some(required) = packet_type.required_flags()
            && flags != required
        {
            return Err(DecodeError::new(
                version,
                DecodeErrorKind::ReservedFlags {
                    packet: packet_type,
                    flags,
                },
            ));
        }
        let r = &mut Reader::new(body, packet_type);
        let v = version;
        // Every packet's `read` consumes its whole body and refuses trailing bytes itself,
        // before it builds its struct: checked here, after the fact, the packet would have
        // to wait in a temporary (to be dropped on failure) and be copied out.
        macro_rules! packet {
            ($variant:ident, $read:expr) => {
                match $read {
                    Ok(p) => Ok(wrap(Packet::$variant(p))),
                    Err(kind) => Err(DecodeError::new(v, *kind)),
                }
            };
        }
        use PacketType as T;
        match packet_type {
            T::Connect => packet!(Connect, Connect::read(r, strict)),
            T::ConnAck => packet!(ConnAck, ConnAck::read(r, v, strict)),
            T::Publish => packet!(Publish, Publish::read(r, flags, v, strict)),
            T::PubAck => packet!(PubAck, PubAck::read(r, v, strict)),
            T::PubRec => packet!(PubRec, PubRec::read(r, v, strict)),
            T::PubRel => packet!(PubRel, PubRel::read(r, v, strict)),
            T::PubComp => packet!(PubComp, PubComp::read(r, v, strict)),
            T::Subscribe => packet!(Subscribe, Subscribe::read(r, v, strict)),
            T::SubAck => packet!(SubAck, SubAck::read(r, v, strict)),
            T::Unsubscribe => packet!(Unsubscribe, Unsubscribe::read(r, v, strict)),
            T::UnsubAck => packet!(UnsubAck, UnsubAck::read(r, v, strict)),
            T::Disconnect => packet!(Disconnect, Disconnect::read(r, v, strict)),
            T::Auth => packet!(Auth, Auth::read(r, v, strict)),
            T::PingReq | T::PingResp => match r.finish() {
                Ok(()) if packet_type == T::PingReq => Ok(wrap(Packet::PingReq)),
                Ok(()) => Ok(wrap(Packet::PingResp)),
                Err(kind) => Err(DecodeError::new(v, *kind)),
            },
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

    /// Total encoded size: fixed header plus body.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        let body = self.body_len(version);
        1 + varint_len(body.min(MAX_VARINT as usize) as u32) + body
    }

    /// Appends the encoding of this packet. A CONNECT is written for the version it names.
    /// Values a strict decoder would refuse (packet identifier 0, wildcards in a topic
    /// name, …) are written as given: that is how tests build malformed packets.
    pub fn encode(&self, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
        use PacketType as T;
        let v = version;
        // One match, each arm with its own type's length and writer inlined, rather than
        // separate matches for the flags, the length and the body.
        match self {
            Self::Connect(p) => write_frame(buf, header(T::Connect, 0), p.body_len(), |b| {
                p.write_body(b)
            }),
            Self::ConnAck(p) => write_frame(buf, header(T::ConnAck, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::Publish(p) => {
                write_frame(buf, header(T::Publish, p.flags()), p.body_len(v), |b| {
                    p.write_body(v, b)
                })
            }
            Self::PubAck(p) => write_frame(buf, header(T::PubAck, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::PubRec(p) => write_frame(buf, header(T::PubRec, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::PubRel(p) => write_frame(buf, header(T::PubRel, 0b0010), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::PubComp(p) => write_frame(buf, header(T::PubComp, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::Subscribe(p) => {
                write_frame(buf, header(T::Subscribe, 0b0010), p.body_len(v), |b| {
                    p.write_body(v, b)
                })
            }
            Self::SubAck(p) => write_frame(buf, header(T::SubAck, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::Unsubscribe(p) => {
                write_frame(buf, header(T::Unsubscribe, 0b0010), p.body_len(v), |b| {
                    p.write_body(v, b)
                })
            }
            Self::UnsubAck(p) => write_frame(buf, header(T::UnsubAck, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::PingReq => write_frame(buf, header(T::PingReq, 0), 0, |_| Ok(())),
            Self::PingResp => write_frame(buf, header(T::PingResp, 0), 0, |_| Ok(())),
            Self::Disconnect(p) => write_frame(buf, header(T::Disconnect, 0), p.body_len(v), |b| {
                p.write_body(v, b)
            }),
            Self::Auth(p) => write_frame(buf, header(T::Auth, 0), p.body_len(), |b| {
                p.write_body(v, b)
            }),
        }
    }

    /// The encoding as a fresh buffer.
    pub fn to_bytes(&self, version: ProtocolVersion) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.encoded_len(version));
        self.encode(version, &mut buf)?;
        Ok(buf.freeze())
    }
}

/// The first byte of a fixed header.
#[inline(always)]
const fn header(packet_type: PacketType, flags: u8) -> u8 {
    ((packet_type as u8) << 4) | flags
}

/// Writes one frame: the fixed header, then the body that `write` produces, which must be
/// `body` bytes long. The buffer grows once. On error the buffer is left as it was.
#[inline(always)]
fn write_frame(
    buf: &mut BytesMut,
    first_byte: u8,
    body: usize,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    if body > MAX_VARINT as usize {
        return Err(EncodeError::PacketTooLong(body));
    }
    buf.reserve(1 + varint_len(body as u32) + body);
    let start = buf.len();
    if body < 128 {
        // The usual case: a two-byte header in one write.
        buf.put_slice(&[first_byte, body as u8]);
    } else {
        buf.put_u8(first_byte);
        put_varint(buf, body as u32)?;
    }
    if let Err(e) = write(buf) {
        buf.truncate(start);
        return Err(e);
    }
    debug_assert_eq!(buf.len() - start, 1 + varint_len(body as u32) + body);
    Ok(())
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
