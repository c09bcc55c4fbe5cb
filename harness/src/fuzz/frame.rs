//! Frames as bytes: splitting one into its first byte and body, and writing it back with any
//! remaining length, true or not.

use mqttspec_codec::PacketType;

/// One frame of a case, with the packet type it was built as (`None`: a reserved type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub packet: Option<PacketType>,
    pub bytes: Vec<u8>,
}

impl Frame {
    pub fn new(bytes: Vec<u8>) -> Self {
        let packet = bytes.first().and_then(|b| PacketType::from_u8(b >> 4));
        Self { packet, bytes }
    }
}

/// The variable byte integer encoding of `n` (minimal).
pub fn varint(mut n: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(4);
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 || out.len() == 4 {
            return out;
        }
    }
}

/// First byte, remaining length as written, and the bytes after the length (all the rest of
/// `frame`, whatever the length says). `None` if the frame has no complete length.
pub fn split(frame: &[u8]) -> Option<(u8, u32, &[u8])> {
    let first = *frame.first()?;
    let mut value: u32 = 0;
    for i in 0..4 {
        let b = *frame.get(1 + i)?;
        value |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some((first, value, &frame[2 + i..]));
        }
    }
    None
}

/// A frame with `first` byte, a remaining length of `len` and `body`.
pub fn with_length(first: u8, len: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + len.len() + body.len());
    out.push(first);
    out.extend_from_slice(len);
    out.extend_from_slice(body);
    out
}

/// A frame whose remaining length is true.
pub fn reframe(first: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    with_length(first, &varint(len), body)
}

/// Replaces the first length-prefixed string `old` in the frame's body by `new` (with its
/// own prefix) and fixes the remaining length. `None` if `old` is not there.
pub fn replace_string(frame: &[u8], old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let (first, _, body) = split(frame)?;
    let old_len = u16::try_from(old.len()).ok()?;
    let new_len = u16::try_from(new.len()).ok()?;
    let mut needle = old_len.to_be_bytes().to_vec();
    needle.extend_from_slice(old);
    let at = body.windows(needle.len()).position(|w| w == needle)?;
    let mut out = body[..at].to_vec();
    out.extend_from_slice(&new_len.to_be_bytes());
    out.extend_from_slice(new);
    out.extend_from_slice(&body[at + needle.len()..]);
    Some(reframe(first, &out))
}

/// Replaces the first length-prefixed string `old` inside the property block of a 5.0
/// PUBLISH frame by `new`, fixing both the property length and the remaining length (so
/// that the only fault of the frame is the string itself). `None` if `old` is not there.
pub fn replace_publish_property_string(frame: &[u8], old: &[u8], new: &[u8]) -> Option<Vec<u8>> {
    let (first, _, body) = split(frame)?;
    let topic_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let qos = (first >> 1) & 0b11;
    let start = 2 + topic_len + if qos > 0 { 2 } else { 0 };
    // The property length, a variable byte integer.
    let mut props_len: u32 = 0;
    let mut pos = start;
    for i in 0..4 {
        let b = *body.get(pos)?;
        props_len |= u32::from(b & 0x7F) << (7 * i);
        pos += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    let end = pos + usize::try_from(props_len).ok()?;
    let block = body.get(pos..end)?;
    let mut needle = u16::try_from(old.len()).ok()?.to_be_bytes().to_vec();
    needle.extend_from_slice(old);
    let at = block.windows(needle.len()).position(|w| w == needle)?;
    let mut new_block = block[..at].to_vec();
    new_block.extend_from_slice(&u16::try_from(new.len()).ok()?.to_be_bytes());
    new_block.extend_from_slice(new);
    new_block.extend_from_slice(&block[at + needle.len()..]);
    let mut out = body[..start].to_vec();
    out.extend_from_slice(&varint(u32::try_from(new_block.len()).ok()?));
    out.extend_from_slice(&new_block);
    out.extend_from_slice(&body[end..]);
    Some(reframe(first, &out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_strings() {
        assert_eq!(varint(0), [0]);
        assert_eq!(varint(127), [0x7F]);
        assert_eq!(varint(128), [0x80, 0x01]);
        assert_eq!(varint(268_435_455), [0xFF, 0xFF, 0xFF, 0x7F]);
        let f = reframe(0x30, b"\x00\x01ab");
        assert_eq!(split(&f), Some((0x30, 4, &b"\x00\x01ab"[..])));
        let g = replace_string(&f, b"a", b"xyz").expect("found");
        assert_eq!(g, b"\x30\x06\x00\x03xyzb");
        assert_eq!(replace_string(&f, b"q", b"x"), None);
        assert_eq!(split(&[0x30, 0x80]), None);
        // A QoS 1 PUBLISH, topic "t", id 1, Content Type "ab": the property grows by one.
        let p = reframe(0x32, b"\x00\x01t\x00\x01\x05\x03\x00\x02abXY");
        let q = replace_publish_property_string(&p, b"ab", b"a\xFFb").expect("found");
        assert_eq!(
            q,
            reframe(0x32, b"\x00\x01t\x00\x01\x06\x03\x00\x03a\xFFbXY")
        );
    }
}
