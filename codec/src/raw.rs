//! A writer for packets no compliant peer would send: raw fixed-header flags, a remaining
//! length that lies or runs past four bytes, strings with invalid UTF-8 or U+0000, raw
//! property bytes. A conformance harness needs these to see how a broker reacts.

use crate::error::EncodeError;
use crate::packet::{Packet, PacketType};
use crate::version::ProtocolVersion;
use crate::wire::put_varint;
use bytes::{BufMut, Bytes, BytesMut};

/// How the remaining length is written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RemainingLength {
    /// The true length of the body, in its shortest form.
    #[default]
    Actual,
    /// A chosen value, in its shortest form, whatever the body's length.
    Value(u32),
    /// These exact bytes (five continuation bytes, an overlong form, …).
    Bytes(Vec<u8>),
}

/// A packet built byte by byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawPacket {
    pub first_byte: u8,
    pub remaining_length: RemainingLength,
    pub body: BytesMut,
}

impl RawPacket {
    /// An empty body with this type and these flags (any 4 bits, reserved or not).
    pub fn new(packet_type: u8, flags: u8) -> Self {
        Self {
            first_byte: (packet_type << 4) | (flags & 0x0F),
            ..Self::default()
        }
    }

    /// Starts from a well-formed packet's encoding, to alter one part of it.
    pub fn from_packet(packet: &Packet, version: ProtocolVersion) -> Result<Self, EncodeError> {
        let bytes = packet.to_bytes(version)?;
        let mut header_len = 2;
        while bytes.get(header_len - 1).is_some_and(|b| b & 0x80 != 0) {
            header_len += 1;
        }
        Ok(Self {
            first_byte: bytes[0],
            remaining_length: RemainingLength::Actual,
            body: BytesMut::from(&bytes[header_len..]),
        })
    }

    pub fn packet_type(&self) -> Option<PacketType> {
        PacketType::from_u8(self.first_byte >> 4)
    }

    /// Replaces the four flag bits.
    pub fn flags(mut self, flags: u8) -> Self {
        self.first_byte = (self.first_byte & 0xF0) | (flags & 0x0F);
        self
    }

    pub fn remaining_length(mut self, len: RemainingLength) -> Self {
        self.remaining_length = len;
        self
    }

    pub fn u8(mut self, v: u8) -> Self {
        self.body.put_u8(v);
        self
    }

    pub fn u16(mut self, v: u16) -> Self {
        self.body.put_u16(v);
        self
    }

    pub fn u32(mut self, v: u32) -> Self {
        self.body.put_u32(v);
        self
    }

    /// A variable byte integer in its shortest form (values over the maximum are clamped).
    pub fn varint(mut self, v: u32) -> Self {
        // Clamped, so the write cannot fail.
        let _ = put_varint(&mut self.body, v.min(crate::wire::MAX_VARINT));
        self
    }

    /// Bytes as they are: no length prefix.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.body.put_slice(b);
        self
    }

    /// A two-byte length and then `b`, which need not be UTF-8: the way to send an invalid
    /// string. The length is truncated to 16 bits on purpose when `b` is longer.
    pub fn string_bytes(mut self, b: &[u8]) -> Self {
        self.body.put_u16(b.len() as u16);
        self.body.put_slice(b);
        self
    }

    /// A well-formed length-prefixed string.
    pub fn string(self, s: &str) -> Self {
        self.string_bytes(s.as_bytes())
    }

    /// A property block from raw bytes, with its length prefix.
    pub fn properties_raw(self, block: &[u8]) -> Self {
        self.varint(block.len() as u32).bytes(block)
    }

    /// The bytes to put on the wire.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.body.len() + 5);
        out.put_u8(self.first_byte);
        match &self.remaining_length {
            RemainingLength::Actual => {
                let _ = put_varint(
                    &mut out,
                    (self.body.len() as u32).min(crate::wire::MAX_VARINT),
                );
            }
            RemainingLength::Value(v) => {
                let _ = put_varint(&mut out, (*v).min(crate::wire::MAX_VARINT));
            }
            RemainingLength::Bytes(b) => out.put_slice(b),
        }
        out.put_slice(&self.body);
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packets::PubAck;

    #[test]
    fn reserved_flags_on_a_valid_packet() {
        let raw = RawPacket::from_packet(&Packet::PubAck(PubAck::new(7)), ProtocolVersion::V311)
            .unwrap()
            .flags(0b0001);
        assert_eq!(&raw.to_bytes()[..], &[0x41, 0x02, 0x00, 0x07]);
    }

    #[test]
    fn lying_remaining_length() {
        let raw = RawPacket::new(12, 0).remaining_length(RemainingLength::Value(5));
        assert_eq!(&raw.to_bytes()[..], &[0xC0, 0x05]);
        let raw = RawPacket::new(12, 0)
            .remaining_length(RemainingLength::Bytes(vec![0x80, 0x80, 0x80, 0x80, 0x01]));
        assert_eq!(raw.to_bytes().len(), 6);
    }

    #[test]
    fn invalid_string() {
        let raw = RawPacket::new(3, 0).string_bytes(b"a\x00").bytes(b"x");
        assert_eq!(
            &raw.to_bytes()[..],
            &[0x30, 0x05, 0x00, 0x02, b'a', 0x00, b'x']
        );
    }
}
