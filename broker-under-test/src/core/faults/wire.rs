//! Faults in what the broker writes, applied where every outgoing packet passes (the
//! outbox): diagnostics that ignore the client's Maximum Packet Size, reserved CONNACK
//! flags, packets lost as on an unreliable transport.

use super::Faults;
use bytes::{Bytes, BytesMut};
use mqttspec_codec::{Packet, Properties, Property, ProtocolVersion};

/// What the outbox needs of the faults, copied from the configuration.
#[derive(Debug, Default)]
pub(crate) struct WireFaults {
    oversize_diagnostics: bool,
    oversize_ack_diagnostics: bool,
    ack_reason_code_not_in_table: bool,
    connack_reserved_flags_set: bool,
    lossy_transport: bool,
    non_minimal_remaining_length: bool,
    property_length_omitted: bool,
    /// Packets written so far, for `lossy_transport`.
    written: u64,
}

impl WireFaults {
    pub(crate) fn new(f: &Faults) -> Self {
        Self {
            oversize_diagnostics: f.oversize_diagnostics,
            oversize_ack_diagnostics: f.oversize_ack_diagnostics,
            ack_reason_code_not_in_table: f.ack_reason_code_not_in_table,
            connack_reserved_flags_set: f.connack_reserved_flags_set,
            lossy_transport: f.lossy_transport,
            non_minimal_remaining_length: f.non_minimal_remaining_length,
            property_length_omitted: f.property_length_omitted,
            written: 0,
        }
    }

    /// `oversize_diagnostics`: a 5.0 refusing CONNACK, AUTH or DISCONNECT gets a long
    /// Reason String and a User Property (an accepting CONNACK is left alone, so that a
    /// client with a small Maximum Packet Size gets as far as the DISCONNECT). Returns
    /// whether it did: the packet then goes out whatever its size.
    pub(crate) fn bloat(&self, packet: &mut Packet) -> bool {
        let add = |p: &mut Properties| {
            p.push(Property::ReasonString("x".repeat(200).into()));
            p.push(Property::UserProperty("fault".into(), "oversize".into()));
        };
        if self.ack_reason_code_not_in_table {
            let bad = mqttspec_codec::ReasonCode(0x01);
            match packet {
                Packet::PubAck(a) => a.reason_code = Some(bad),
                Packet::PubRec(a) => a.reason_code = Some(bad),
                Packet::PubRel(a) => a.reason_code = Some(bad),
                Packet::PubComp(a) => a.reason_code = Some(bad),
                Packet::UnsubAck(u) => u.reason_codes.iter_mut().for_each(|c| *c = bad),
                _ => {}
            }
        }
        if self.oversize_ack_diagnostics {
            let props = |p: &mut Option<Properties>| add(p.get_or_insert_with(Properties::new));
            let code = |c: &mut Option<mqttspec_codec::ReasonCode>| {
                c.get_or_insert(mqttspec_codec::ReasonCode::SUCCESS);
            };
            match packet {
                Packet::PubAck(a) => (code(&mut a.reason_code), props(&mut a.properties)),
                Packet::PubRec(a) => (code(&mut a.reason_code), props(&mut a.properties)),
                Packet::PubRel(a) => (code(&mut a.reason_code), props(&mut a.properties)),
                Packet::PubComp(a) => (code(&mut a.reason_code), props(&mut a.properties)),
                Packet::SubAck(s) => ((), add(&mut s.properties)),
                Packet::UnsubAck(u) => ((), add(&mut u.properties)),
                _ => return self.bloat_refusals(packet, add),
            };
            return true;
        }
        self.bloat_refusals(packet, add)
    }

    /// `oversize_diagnostics` on a refusing CONNACK, an AUTH or a DISCONNECT.
    fn bloat_refusals(&self, packet: &mut Packet, add: impl Fn(&mut Properties)) -> bool {
        if !self.oversize_diagnostics {
            return false;
        }
        match packet {
            Packet::ConnAck(c) if c.code.0 != 0 => add(&mut c.properties),
            Packet::Auth(a) => add(a.properties.get_or_insert_with(Properties::new)),
            Packet::Disconnect(d) => {
                d.reason_code
                    .get_or_insert(mqttspec_codec::ReasonCode::SUCCESS);
                add(d.properties.get_or_insert_with(Properties::new));
            }
            _ => return false,
        }
        true
    }

    /// The bytes as the faults write them; `None`: lost.
    pub(crate) fn rewrite(&mut self, bytes: Bytes, version: ProtocolVersion) -> Option<Bytes> {
        self.written += 1;
        if self.lossy_transport && self.written.is_multiple_of(5) {
            return None;
        }
        if self.non_minimal_remaining_length && bytes[..] == [0xD0, 0x00] {
            return Some(Bytes::from_static(&[0xD0, 0x80, 0x00]));
        }
        // A SUBACK of fewer than 128 bytes whose property block is empty: type, length,
        // identifier (2 bytes), property length 0, codes.
        if self.property_length_omitted
            && version == ProtocolVersion::V5
            && bytes.first() == Some(&0x90)
            && bytes.len() >= 5
            && bytes[1] < 0x80
            && bytes[4] == 0
        {
            let mut out = BytesMut::from(&bytes[..4]);
            out[1] -= 1;
            out.extend_from_slice(&bytes[5..]);
            return Some(out.freeze());
        }
        if self.connack_reserved_flags_set && bytes.first() == Some(&0x20) {
            // The acknowledge flags follow the remaining length (1 to 4 bytes).
            let len_bytes = bytes[1..].iter().position(|b| b & 0x80 == 0)? + 1;
            let mut out = BytesMut::from(&bytes[..]);
            if let Some(flags) = out.get_mut(1 + len_bytes) {
                *flags |= 0b10;
            }
            return Some(out.freeze());
        }
        Some(bytes)
    }
}
