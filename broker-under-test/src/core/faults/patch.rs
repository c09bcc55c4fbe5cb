//! Faults that change what the decoder sees: the frame at the front of the input buffer is
//! patched before the codec reads it (flag bits cleared, QoS 3 lowered, strings rewritten),
//! or dropped. Without these faults the buffer is never touched here.

use super::Faults;
use bytes::{Buf, BufMut, BytesMut};
use mqttspec_codec::framing::{FrameStatus, check_frame};
use mqttspec_codec::wire::put_varint;
use mqttspec_codec::{DecodeErrorKind, PacketType, ProtocolVersion};

/// What the decode loop should do with the buffer.
pub(crate) enum Prepared {
    /// Hand it to the decoder.
    Decode,
    /// Wait for more bytes without decoding.
    Wait,
    /// The front frame was dropped; look again.
    Skipped,
}

fn patches_bytes(f: &Faults) -> bool {
    f.ignore_reserved_flags
        || f.ignore_disconnect_reserved_flags
        || f.lenient_decoding
        || f.ignore_protocol_name
        || f.accept_any_protocol_level
        || f.ignore_connect_reserved_flag
        || f.accept_will_qos_3
        || f.ignore_will_bits_without_will_flag
        || f.lenient_subscribe_options
        || rewrites_strings(f)
        || f.lenient_remaining_length
        || f.accept_invalid_utf8_in_properties
}

fn rewrites_strings(f: &Faults) -> bool {
    f.accept_invalid_utf8 || f.accept_null_character || f.strip_byte_order_mark
}

pub(crate) fn prepare(buf: &mut BytesMut, f: &Faults, version: ProtocolVersion) -> Prepared {
    if buf.is_empty() || !patches_bytes(f) {
        return Prepared::Decode;
    }
    let header = match check_frame(buf, u32::MAX) {
        Ok(FrameStatus::Ready(h)) => h,
        Err(DecodeErrorKind::RemainingLengthTooLong) if f.lenient_remaining_length => {
            return skip_five_byte_frame(buf);
        }
        _ => return Prepared::Decode,
    };
    let kind = buf[0] >> 4;
    if let Some(t) = PacketType::from_u8(kind).filter(|t| *t != PacketType::Publish)
        && let Some(required) = t.required_flags()
        && (f.ignore_reserved_flags
            || (f.ignore_disconnect_reserved_flags && t == PacketType::Disconnect))
    {
        buf[0] = (kind << 4) | required;
    }
    if f.lenient_decoding && kind == 3 && (buf[0] >> 1) & 0b11 == 0b11 {
        buf[0] &= !0b0100;
    }
    let body = header.header_len..header.total_len();
    match kind {
        1 => patch_connect(buf, body, f),
        8 if f.lenient_subscribe_options => patch_subscribe_options(&mut buf[body], version),
        _ => {}
    }
    let new_body =
        if f.accept_invalid_utf8_in_properties && kind == 3 && version == ProtocolVersion::V5 {
            let qos = (buf[0] >> 1) & 0b11;
            rewrite_publish_properties(&buf[header.header_len..header.total_len()], qos)
        } else {
            None
        };
    let new_body = new_body.or_else(|| {
        (rewrites_strings(f) && matches!(kind, 3 | 8 | 10))
            .then(|| rewrite_strings(&buf[header.header_len..header.total_len()], kind, f))
            .flatten()
    });
    if let Some(new_body) = new_body {
        let first = buf[0];
        let mut frame = BytesMut::with_capacity(new_body.len() + 5 + buf.len());
        frame.put_u8(first);
        if put_varint(&mut frame, new_body.len() as u32).is_err() {
            return Prepared::Decode;
        }
        frame.extend_from_slice(&new_body);
        buf.advance(header.total_len());
        frame.extend_from_slice(buf);
        *buf = frame;
    }
    Prepared::Decode
}

/// `lenient_remaining_length`: a remaining length written in five bytes is read anyway and
/// the frame it announces dropped.
fn skip_five_byte_frame(buf: &mut BytesMut) -> Prepared {
    if buf.len() < 6 {
        return Prepared::Wait;
    }
    if buf[5] & 0x80 != 0 {
        return Prepared::Decode;
    }
    let len = (1..6).fold(0u64, |acc, i| {
        acc | (u64::from(buf[i] & 0x7F) << (7 * (i - 1)))
    });
    if len > 1 << 28 {
        return Prepared::Decode;
    }
    let total = 6 + len as usize;
    if buf.len() < total {
        return Prepared::Wait;
    }
    buf.advance(total);
    Prepared::Skipped
}

/// CONNECT faults: protocol name and level, reserved flag, will bits.
fn patch_connect(buf: &mut BytesMut, body: std::ops::Range<usize>, f: &Faults) {
    let start = body.start;
    let b = &buf[body.clone()];
    let Some(name_len) = b
        .get(..2)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
    else {
        return;
    };
    let (level_at, flags_at) = (start + 2 + name_len, start + 3 + name_len);
    if flags_at >= body.end {
        return;
    }
    if f.accept_any_protocol_level {
        buf[level_at] = 4;
    }
    let mut flags = buf[flags_at];
    if f.ignore_connect_reserved_flag {
        flags &= !1;
    }
    let will = flags & 0b0000_0100 != 0;
    if f.accept_will_qos_3 && will && (flags >> 3) & 0b11 == 0b11 {
        flags = (flags & !0b0001_1000) | (2 << 3);
    }
    if f.ignore_will_bits_without_will_flag && !will {
        flags &= !0b0011_1000;
    }
    buf[flags_at] = flags;
    if f.ignore_protocol_name && &buf[start + 2..level_at] != b"MQTT" {
        // Swap the name for "MQTT": the frame changes length, so it is rebuilt.
        let mut new_body = vec![0, 4];
        new_body.extend_from_slice(b"MQTT");
        new_body.extend_from_slice(&buf[level_at..body.end]);
        let mut frame = BytesMut::new();
        frame.put_u8(buf[0]);
        if put_varint(&mut frame, new_body.len() as u32).is_err() {
            return;
        }
        frame.extend_from_slice(&new_body);
        frame.extend_from_slice(&buf[body.end..]);
        *buf = frame;
    }
}

/// `lenient_subscribe_options`: each options byte keeps its QoS bits, QoS 3 read as 2; in
/// 5.0 its other option bits too, the reserved bits 6 and 7 cleared.
fn patch_subscribe_options(body: &mut [u8], version: ProtocolVersion) {
    let mut pos = 2;
    let v5 = version == ProtocolVersion::V5;
    if v5 {
        // The property block: its length (a variable byte integer) and the properties.
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let Some(b) = body.get(pos) else {
                return;
            };
            len |= usize::from(b & 0x7F) << shift;
            pos += 1;
            shift += 7;
            if b & 0x80 == 0 || shift > 21 {
                break;
            }
        }
        pos += len;
    }
    while pos + 2 <= body.len() {
        let len = usize::from(u16::from_be_bytes([body[pos], body[pos + 1]]));
        pos += 2 + len;
        let Some(options) = body.get_mut(pos) else {
            return;
        };
        if v5 {
            let qos = (*options & 0b11).min(2);
            *options = (*options & 0b0011_1100) | qos;
        } else {
            *options = (*options & 0b11).min(2);
        }
        pos += 1;
    }
}

/// The strings of a PUBLISH (topic), SUBSCRIBE or UNSUBSCRIBE (filters) rewritten by the
/// string faults; `None` when nothing changes or the layout cannot be followed.
fn rewrite_strings(body: &[u8], kind: u8, f: &Faults) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut pos = 0;
    if kind != 3 {
        out.extend_from_slice(body.get(..2)?);
        pos = 2;
    }
    let mut changed = false;
    loop {
        let len = usize::from(u16::from_be_bytes([*body.get(pos)?, *body.get(pos + 1)?]));
        let raw = body.get(pos + 2..pos + 2 + len)?;
        let fixed = fix_string(raw, f);
        changed |= fixed != raw;
        out.extend_from_slice(&u16::try_from(fixed.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&fixed);
        pos += 2 + len;
        if kind == 8 {
            out.push(*body.get(pos)?);
            pos += 1;
        }
        if kind == 3 || pos >= body.len() {
            break;
        }
    }
    out.extend_from_slice(body.get(pos..)?);
    changed.then_some(out)
}

/// `accept_invalid_utf8_in_properties`: the body of a 5.0 PUBLISH with the string
/// properties (Content Type, Response Topic, User Property) made valid UTF-8; `None` when
/// nothing changes or the layout cannot be followed.
fn rewrite_publish_properties(body: &[u8], qos: u8) -> Option<Vec<u8>> {
    let topic_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let mut pos = 2 + topic_len + if qos > 0 { 2 } else { 0 };
    let head = body.get(..pos)?;
    let mut props_len = 0usize;
    let mut shift = 0;
    loop {
        let b = *body.get(pos)?;
        props_len |= usize::from(b & 0x7F) << shift;
        pos += 1;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
        if shift > 21 {
            return None;
        }
    }
    let block = body.get(pos..pos + props_len)?;
    let rest = body.get(pos + props_len..)?;
    let mut props = Vec::with_capacity(block.len());
    let mut i = 0;
    let mut changed = false;
    let mut string = |i: &mut usize, props: &mut Vec<u8>| -> Option<()> {
        let len = usize::from(u16::from_be_bytes([*block.get(*i)?, *block.get(*i + 1)?]));
        let raw = block.get(*i + 2..*i + 2 + len)?;
        let fixed = String::from_utf8_lossy(raw).into_owned().into_bytes();
        changed |= fixed != raw;
        props.extend_from_slice(&u16::try_from(fixed.len()).ok()?.to_be_bytes());
        props.extend_from_slice(&fixed);
        *i += 2 + len;
        Some(())
    };
    while i < block.len() {
        let id = block[i];
        props.push(id);
        i += 1;
        match id {
            0x01 => {
                props.push(*block.get(i)?);
                i += 1;
            }
            0x02 => {
                props.extend_from_slice(block.get(i..i + 4)?);
                i += 4;
            }
            0x23 => {
                props.extend_from_slice(block.get(i..i + 2)?);
                i += 2;
            }
            0x09 => {
                let len = usize::from(u16::from_be_bytes([*block.get(i)?, *block.get(i + 1)?]));
                props.extend_from_slice(block.get(i..i + 2 + len)?);
                i += 2 + len;
            }
            0x0B => loop {
                let b = *block.get(i)?;
                props.push(b);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
            },
            0x03 | 0x08 => string(&mut i, &mut props)?,
            0x26 => {
                string(&mut i, &mut props)?;
                string(&mut i, &mut props)?;
            }
            _ => return None,
        }
    }
    if !changed {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(head);
    let mut len = BytesMut::new();
    put_varint(&mut len, u32::try_from(props.len()).ok()?).ok()?;
    out.extend_from_slice(&len);
    out.extend_from_slice(&props);
    out.extend_from_slice(rest);
    Some(out)
}

fn fix_string(raw: &[u8], f: &Faults) -> Vec<u8> {
    let mut s = raw.to_vec();
    if f.strip_byte_order_mark {
        while let Some(i) = s.windows(3).position(|w| w == [0xEF, 0xBB, 0xBF]) {
            s.drain(i..i + 3);
        }
    }
    if f.accept_null_character && s.contains(&0) {
        s = s
            .iter()
            .flat_map(|&b| {
                if b == 0 {
                    vec![0xEF, 0xBF, 0xBD]
                } else {
                    vec![b]
                }
            })
            .collect();
    }
    if f.accept_invalid_utf8 {
        s = String::from_utf8_lossy(&s).into_owned().into_bytes();
    }
    s
}

/// Decode errors that a fault turns into "drop the packet and go on".
pub(crate) fn ignorable(kind: &DecodeErrorKind, f: &Faults) -> bool {
    match kind {
        DecodeErrorKind::ReservedPacketType(_) => f.ignore_unknown_packet_types,
        DecodeErrorKind::Truncated { .. } | DecodeErrorKind::TrailingBytes { .. } => {
            f.lenient_remaining_length
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(name: &str) -> Faults {
        Faults::only(name).unwrap()
    }

    #[test]
    fn strings_are_rewritten_with_lengths() {
        // SUBSCRIBE body: id 1, "a\0" QoS 1, "b" QoS 0.
        let body = [0, 1, 0, 2, b'a', 0, 1, 0, 1, b'b', 0];
        let new = rewrite_strings(&body, 8, &faults("accept_null_character")).unwrap();
        assert_eq!(new, [0, 1, 0, 4, b'a', 0xEF, 0xBF, 0xBD, 1, 0, 1, b'b', 0]);
        assert_eq!(
            rewrite_strings(&[0, 1, 0, 1, b'b', 0], 8, &faults("accept_null_character")),
            None
        );
        // PUBLISH body: topic with a BOM, then the payload untouched.
        let body = [0, 4, 0xEF, 0xBB, 0xBF, b'x', b'p'];
        let new = rewrite_strings(&body, 3, &faults("strip_byte_order_mark")).unwrap();
        assert_eq!(new, [0, 1, b'x', b'p']);
    }

    #[test]
    fn five_byte_lengths_are_skipped() {
        let mut buf = BytesMut::from(&[0xC0, 0x81, 0x80, 0x80, 0x80, 0x00, 0xAA, 0xC0, 0x00][..]);
        assert!(matches!(skip_five_byte_frame(&mut buf), Prepared::Skipped));
        assert_eq!(&buf[..], &[0xC0, 0x00]);
    }

    #[test]
    fn subscribe_options_are_masked() {
        let mut body = [0, 1, 0, 1, b'a', 0b1111_0111];
        patch_subscribe_options(&mut body, ProtocolVersion::V311);
        assert_eq!(body[5], 2);
        // 5.0: a property block first; the option bits kept, reserved bits 6 and 7 cleared.
        let mut body = [0, 1, 2, 0x0B, 5, 0, 1, b'a', 0b1111_0111];
        patch_subscribe_options(&mut body, ProtocolVersion::V5);
        assert_eq!(body[8], 0b0011_0110);
    }
}
