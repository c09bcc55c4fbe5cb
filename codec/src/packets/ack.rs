//! The shape PUBACK, PUBREC, PUBREL and PUBCOMP share: a packet identifier, then in 5.0 an
//! optional reason code and an optional property block. Each short form is kept as sent
//! (`None`), so a packet re-encodes to its own bytes.

/// Defines one acknowledgement packet type.
macro_rules! ack_packet {
    ($(#[$doc:meta])* $name:ident, $packet:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            pub packet_id: u16,
            /// `None`: omitted on the wire, which means Success (5.0 only).
            pub reason_code: Option<$crate::reason::ReasonCode>,
            /// `None`: no Property Length on the wire (5.0 only).
            pub properties: Option<$crate::properties::Properties>,
        }

        impl $name {
            pub fn new(packet_id: u16) -> Self {
                Self { packet_id, reason_code: None, properties: None }
            }

            pub fn with_reason(packet_id: u16, code: $crate::reason::ReasonCode) -> Self {
                Self { packet_id, reason_code: Some(code), properties: None }
            }

            /// The reason code, Success when omitted.
            pub fn reason(&self) -> $crate::reason::ReasonCode {
                self.reason_code.unwrap_or($crate::reason::ReasonCode::SUCCESS)
            }

            // Always inlined into the decoder, which builds the packet in place (see
            // `Packet::decode_as`): returned through memory, the `Result` is stored and
            // reloaded in pieces that defeat store-to-load forwarding.
            #[inline(always)]
            pub(crate) fn read(
                r: &mut $crate::wire::Reader,
                v: $crate::version::ProtocolVersion,
                strict: bool,
            ) -> Result<Self, $crate::error::BoxedKind> {
                let packet_id = super::read_packet_id(r, strict)?;
                if !v.is_v5() || r.is_empty() {
                    r.finish()?;
                    return Ok(Self::new(packet_id));
                }
                let reason_code = Some(super::read_reason(r, strict)?);
                let properties = if r.is_empty() {
                    None
                } else {
                    Some(super::read_properties(r, v, strict)?)
                };
                r.finish()?;
                Ok(Self { packet_id, reason_code, properties })
            }

            #[inline]
            pub(crate) fn body_len(&self, v: $crate::version::ProtocolVersion) -> usize {
                if !v.is_v5() {
                    return 2;
                }
                match (&self.reason_code, &self.properties) {
                    (_, Some(p)) => 3 + p.encoded_len(),
                    (Some(_), None) => 3,
                    (None, None) => 2,
                }
            }

            #[inline]
            pub(crate) fn write_body(
                &self,
                v: $crate::version::ProtocolVersion,
                buf: &mut bytes::BytesMut,
            ) -> Result<(), $crate::error::EncodeError> {
                use bytes::BufMut;
                if !v.is_v5() && (self.reason_code.is_some() || self.properties.is_some()) {
                    return Err($crate::error::EncodeError::V5FieldsInV311($packet));
                }
                buf.put_u16(self.packet_id);
                if v.is_v5() {
                    if self.reason_code.is_some() || self.properties.is_some() {
                        buf.put_u8(self.reason().0);
                    }
                    if let Some(p) = &self.properties {
                        p.write(buf)?;
                    }
                }
                Ok(())
            }
        }
    };
}

pub(crate) use ack_packet;
