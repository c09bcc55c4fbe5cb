//! Primitive encodings shared by every packet: integers, variable byte integers, UTF-8
//! strings, binary data. [`Reader`] walks a frame's body without copying it.

use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use bytes::{Buf, BufMut, Bytes};
use bytestring::ByteString;

/// Largest value a variable byte integer (and so the remaining length) can hold.
pub const MAX_VARINT: u32 = 268_435_455;

/// Bytes needed to encode `value` as a variable byte integer (1 to 4).
pub const fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a variable byte integer in its shortest form.
#[inline]
pub fn put_varint(buf: &mut impl BufMut, mut value: u32) -> Result<(), EncodeError> {
    if value > MAX_VARINT {
        return Err(EncodeError::VarintTooLarge(value));
    }
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            return Ok(());
        }
    }
}

/// Outcome of reading a variable byte integer from the front of a slice.
#[derive(Debug, PartialEq, Eq)]
pub enum Varint {
    /// The value and how many bytes it took.
    Value(u32, usize),
    /// The slice ends before the last byte of the integer.
    Incomplete,
}

/// Reads a variable byte integer. A fifth continuation byte is an error and so is a longer
/// encoding than the value needs (5.0 [MQTT-1.5.5-1]), so every accepted input re-encodes to
/// the same bytes.
pub fn read_varint(bytes: &[u8]) -> Result<Varint, DecodeErrorKind> {
    let mut value: u32 = 0;
    for (i, byte) in bytes.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && *byte == 0 {
                return Err(DecodeErrorKind::NonMinimalVarint);
            }
            return Ok(Varint::Value(value, i + 1));
        }
    }
    if bytes.len() >= 4 {
        Err(DecodeErrorKind::VarintTooLong)
    } else {
        Ok(Varint::Incomplete)
    }
}

/// Checks the rules every MQTT UTF-8 string obeys beyond Rust's own UTF-8 validity (which
/// already refuses surrogates and overlong forms): no U+0000.
pub fn check_mqtt_str(s: &str) -> Result<(), DecodeErrorKind> {
    if s.as_bytes().contains(&0) {
        return Err(DecodeErrorKind::NullCharacter);
    }
    Ok(())
}

/// A cursor over one frame's body. Every read that runs out of bytes reports which field of
/// which packet was cut short.
///
/// The unread part is kept as a `Bytes` that shrinks from the front: fixed-size fields are
/// read from the slice and skipped with `advance` (no reference-count traffic), only string
/// and binary fields take a shared handle on the frame, and [`Reader::rest`] hands the
/// remainder over without one.
pub struct Reader {
    buf: Bytes,
    packet: PacketType,
}

impl Reader {
    pub fn new(buf: Bytes, packet: PacketType) -> Self {
        Self { buf, packet }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn packet(&self) -> PacketType {
        self.packet
    }

    #[cold]
    fn truncated(&self, field: &'static str) -> BoxedKind {
        Box::new(DecodeErrorKind::Truncated {
            packet: self.packet,
            field,
        })
    }

    /// The next `N` bytes by value, consumed.
    #[inline]
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], BoxedKind> {
        let Some(bytes) = self.buf.first_chunk::<N>().copied() else {
            return Err(self.truncated(field));
        };
        self.buf.advance(N);
        Ok(bytes)
    }

    #[inline]
    fn take(&mut self, n: usize, field: &'static str) -> Result<Bytes, BoxedKind> {
        if self.buf.len() < n {
            return Err(self.truncated(field));
        }
        Ok(self.buf.split_to(n))
    }

    #[inline]
    pub fn u8(&mut self, field: &'static str) -> Result<u8, BoxedKind> {
        self.array::<1>(field).map(|[b]| b)
    }

    #[inline]
    pub fn u16(&mut self, field: &'static str) -> Result<u16, BoxedKind> {
        self.array(field).map(u16::from_be_bytes)
    }

    #[inline]
    pub fn u32(&mut self, field: &'static str) -> Result<u32, BoxedKind> {
        self.array(field).map(u32::from_be_bytes)
    }

    #[inline]
    pub fn varint(&mut self, field: &'static str) -> Result<u32, BoxedKind> {
        match read_varint(&self.buf)? {
            Varint::Value(v, n) => {
                self.buf.advance(n);
                Ok(v)
            }
            Varint::Incomplete => Err(self.truncated(field)),
        }
    }

    /// Two-byte length followed by that many bytes.
    #[inline]
    pub fn binary(&mut self, field: &'static str) -> Result<Bytes, BoxedKind> {
        let len = self.u16(field)? as usize;
        self.take(len, field)
    }

    /// A UTF-8 string: length-prefixed, well-formed, no U+0000. Shares the frame's memory.
    ///
    /// Always inlined: returned through memory, the string is written as two 8-byte halves
    /// and read back as one 16-byte load, which store-to-load forwarding cannot serve.
    #[inline(always)]
    pub fn string(&mut self, field: &'static str) -> Result<ByteString, BoxedKind> {
        let raw = self.binary(field)?;
        // `try_from` is the one UTF-8 validation; the U+0000 scan is the only extra pass.
        let s = ByteString::try_from(raw).map_err(|_| DecodeErrorKind::InvalidUtf8)?;
        check_mqtt_str(&s)?;
        Ok(s)
    }

    /// Everything left in the frame.
    #[inline]
    pub fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// A sub-reader over the next `len` bytes (a property block).
    pub fn sub(&mut self, len: usize, field: &'static str) -> Result<Reader, BoxedKind> {
        let buf = self.take(len, field)?;
        Ok(Reader::new(buf, self.packet))
    }

    /// Fails when bytes remain after the last field.
    #[inline]
    pub fn finish(&self) -> Result<(), BoxedKind> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeErrorKind::TrailingBytes {
                packet: self.packet,
                extra: self.remaining(),
            }
            .into())
        }
    }
}

/// Encoded length of a length-prefixed string or binary field.
pub const fn binary_len(bytes: &[u8]) -> usize {
    2 + bytes.len()
}

pub fn put_binary(buf: &mut impl BufMut, bytes: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(bytes.len()).map_err(|_| EncodeError::FieldTooLong(bytes.len()))?;
    buf.put_u16(len);
    buf.put_slice(bytes);
    Ok(())
}

pub fn put_str(buf: &mut impl BufMut, s: &str) -> Result<(), EncodeError> {
    put_binary(buf, s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_boundaries_round_trip() {
        for value in [
            0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX_VARINT,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, value).unwrap();
            assert_eq!(buf.len(), varint_len(value));
            assert_eq!(read_varint(&buf), Ok(Varint::Value(value, buf.len())));
        }
    }

    #[test]
    fn varint_fixtures() {
        // 321 = 0b10_1000001: low seven bits 0x41 with continuation, then 0x02.
        assert_eq!(read_varint(&[0xC1, 0x02]), Ok(Varint::Value(321, 2)));
        assert_eq!(
            read_varint(&[0xFF, 0xFF, 0xFF, 0x7F]),
            Ok(Varint::Value(MAX_VARINT, 4))
        );
    }

    #[test]
    fn varint_incomplete_is_not_an_error() {
        assert_eq!(read_varint(&[]), Ok(Varint::Incomplete));
        assert_eq!(read_varint(&[0x80, 0x80, 0x80]), Ok(Varint::Incomplete));
    }

    #[test]
    fn varint_fifth_byte_is_rejected() {
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(DecodeErrorKind::VarintTooLong)
        );
    }

    #[test]
    fn varint_overlong_form_is_rejected() {
        // 0 written in two bytes.
        assert_eq!(
            read_varint(&[0x80, 0x00]),
            Err(DecodeErrorKind::NonMinimalVarint)
        );
        // 127 written in three bytes.
        assert_eq!(
            read_varint(&[0xFF, 0x80, 0x00]),
            Err(DecodeErrorKind::NonMinimalVarint)
        );
    }

    #[test]
    fn varint_over_max_cannot_be_written() {
        assert_eq!(
            put_varint(&mut Vec::new(), MAX_VARINT + 1),
            Err(EncodeError::VarintTooLarge(MAX_VARINT + 1))
        );
    }

    #[test]
    fn string_rules() {
        let mut ok = Reader::new(
            Bytes::from_static(b"\x00\x03\xEF\xBB\xBF"),
            PacketType::Publish,
        );
        // The BOM is kept, not stripped (MQTT-1.5.3-3 / 5.0 MQTT-1.5.4-3).
        assert_eq!(&ok.string("s").unwrap().as_bytes()[..], b"\xEF\xBB\xBF");
        let mut nul = Reader::new(Bytes::from_static(b"\x00\x02a\x00"), PacketType::Publish);
        assert_eq!(
            nul.string("s").map_err(|e| *e),
            Err(DecodeErrorKind::NullCharacter)
        );
        // ED A0 80 encodes the surrogate U+D800.
        let mut sur = Reader::new(
            Bytes::from_static(b"\x00\x03\xED\xA0\x80"),
            PacketType::Publish,
        );
        assert_eq!(
            sur.string("s").map_err(|e| *e),
            Err(DecodeErrorKind::InvalidUtf8)
        );
        let mut bad = Reader::new(Bytes::from_static(b"\x00\x01\xFF"), PacketType::Publish);
        assert_eq!(
            bad.string("s").map_err(|e| *e),
            Err(DecodeErrorKind::InvalidUtf8)
        );
        let mut short = Reader::new(Bytes::from_static(b"\x00\x05ab"), PacketType::Publish);
        assert!(matches!(
            short.string("s").map_err(|e| *e),
            Err(DecodeErrorKind::Truncated { .. })
        ));
    }
}
