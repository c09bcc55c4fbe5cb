//! Framing: find where the next packet ends in a byte stream. Short input is never an error;
//! an oversized frame is refused as soon as its fixed header is read, before its body is
//! buffered.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::packet::Packet;
use crate::version::ProtocolVersion;
use crate::wire::{MAX_VARINT, Varint, read_varint};
use bytes::{Buf, BytesMut};

/// The fixed header of a frame whose body may not have arrived yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub first_byte: u8,
    /// Bytes taken by the fixed header (2 to 5).
    pub header_len: usize,
    pub remaining_len: u32,
}

impl FrameHeader {
    pub fn total_len(&self) -> usize {
        self.header_len + self.remaining_len as usize
    }
}

/// What the front of a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// At least this many more bytes are needed before anything can be decided.
    NeedMore(usize),
    /// A whole frame is buffered.
    Ready(FrameHeader),
}

/// Reads the fixed header at the front of `buf` and says whether the whole frame is there.
pub fn check_frame(buf: &[u8], max_packet_size: u32) -> Result<FrameStatus, DecodeErrorKind> {
    let Some(&first_byte) = buf.first() else {
        return Ok(FrameStatus::NeedMore(2));
    };
    let remaining_len = match read_varint(&buf[1..]) {
        Ok(Varint::Value(len, n)) => (len, n),
        Ok(Varint::Incomplete) => return Ok(FrameStatus::NeedMore(1)),
        Err(DecodeErrorKind::VarintTooLong) => return Err(DecodeErrorKind::RemainingLengthTooLong),
        Err(e) => return Err(e),
    };
    let header = FrameHeader {
        first_byte,
        header_len: 1 + remaining_len.1,
        remaining_len: remaining_len.0,
    };
    let total = header.total_len();
    if total as u64 > u64::from(max_packet_size) {
        return Err(DecodeErrorKind::PacketTooLarge {
            size: total as u64,
            max: max_packet_size,
        });
    }
    if buf.len() < total {
        return Ok(FrameStatus::NeedMore(total - buf.len()));
    }
    Ok(FrameStatus::Ready(header))
}

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest whole packet (fixed header included) accepted.
    pub max_packet_size: u32,
    /// Check every rule, not only the structure. Off, the decoder still refuses what it
    /// cannot represent (bad UTF-8, QoS 3, short fields) but lets a harness see a peer's
    /// odd packet (a reserved reason code, a misplaced property) as it was sent.
    pub strict: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_packet_size: 1 + 4 + MAX_VARINT,
            strict: true,
        }
    }
}

/// Incremental decoder for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoder {
    pub version: ProtocolVersion,
    pub options: DecodeOptions,
}

impl Decoder {
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            version,
            options: DecodeOptions::default(),
        }
    }

    pub fn with_options(version: ProtocolVersion, options: DecodeOptions) -> Self {
        Self { version, options }
    }

    /// Takes one packet off the front of `buf`. `Ok(None)` means more bytes are needed and
    /// `buf` is untouched. The packet's payload and binary fields share `buf`'s memory.
    #[inline]
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let header = match check_frame(buf, self.options.max_packet_size)
            .map_err(|k| DecodeError::new(self.version, k))?
        {
            FrameStatus::NeedMore(_) => return Ok(None),
            FrameStatus::Ready(h) => h,
        };
        let mut frame = buf.split_to(header.total_len());
        frame.advance(header.header_len);
        Packet::decode_as(
            header.first_byte,
            frame.freeze(),
            self.version,
            self.options.strict,
            Some,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_partial_headers_need_more() {
        assert_eq!(check_frame(&[], 100), Ok(FrameStatus::NeedMore(2)));
        assert_eq!(check_frame(&[0x30], 100), Ok(FrameStatus::NeedMore(1)));
        assert_eq!(
            check_frame(&[0x30, 0x80], 100),
            Ok(FrameStatus::NeedMore(1))
        );
        assert_eq!(
            check_frame(&[0x30, 0x05, 0x00], 100),
            Ok(FrameStatus::NeedMore(4))
        );
    }

    #[test]
    fn ready_frame() {
        assert_eq!(
            check_frame(&[0xC0, 0x00], 100),
            Ok(FrameStatus::Ready(FrameHeader {
                first_byte: 0xC0,
                header_len: 2,
                remaining_len: 0
            }))
        );
    }

    #[test]
    fn remaining_length_over_four_bytes() {
        assert_eq!(
            check_frame(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], u32::MAX),
            Err(DecodeErrorKind::RemainingLengthTooLong)
        );
    }

    #[test]
    fn oversize_is_refused_before_the_body_arrives() {
        // Header announces 16,384 bytes of body; none of it is buffered.
        assert_eq!(
            check_frame(&[0x30, 0x80, 0x80, 0x01], 1024),
            Err(DecodeErrorKind::PacketTooLarge {
                size: 16_388,
                max: 1024
            })
        );
    }

    #[test]
    fn decoder_leaves_partial_input_alone() {
        let d = Decoder::new(ProtocolVersion::V311);
        let mut buf = BytesMut::from(&[0x40, 0x02, 0x00][..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        assert_eq!(buf.len(), 3);
        buf.extend_from_slice(&[0x01, 0xD0]);
        assert!(matches!(d.decode(&mut buf), Ok(Some(Packet::PubAck(_)))));
        assert_eq!(&buf[..], &[0xD0]);
    }
}
