//! MQTT 5.0 properties (section 2.2.2). Kept as an ordered list, exactly as on the wire, so
//! that user properties keep their order and every valid block re-encodes to the same bytes.

use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use crate::wire::{Reader, binary_len, put_binary, put_str, put_varint, varint_len};
use bytes::{BufMut, Bytes};
use bytestring::ByteString;

/// The identifier byte of each property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PropertyId {
    PayloadFormatIndicator = 0x01,
    MessageExpiryInterval = 0x02,
    ContentType = 0x03,
    ResponseTopic = 0x08,
    CorrelationData = 0x09,
    SubscriptionIdentifier = 0x0B,
    SessionExpiryInterval = 0x11,
    AssignedClientIdentifier = 0x12,
    ServerKeepAlive = 0x13,
    AuthenticationMethod = 0x15,
    AuthenticationData = 0x16,
    RequestProblemInformation = 0x17,
    WillDelayInterval = 0x18,
    RequestResponseInformation = 0x19,
    ResponseInformation = 0x1A,
    ServerReference = 0x1C,
    ReasonString = 0x1F,
    ReceiveMaximum = 0x21,
    TopicAliasMaximum = 0x22,
    TopicAlias = 0x23,
    MaximumQos = 0x24,
    RetainAvailable = 0x25,
    UserProperty = 0x26,
    MaximumPacketSize = 0x27,
    WildcardSubscriptionAvailable = 0x28,
    SubscriptionIdentifierAvailable = 0x29,
    SharedSubscriptionAvailable = 0x2A,
}

impl PropertyId {
    pub const ALL: [PropertyId; 27] = [
        Self::PayloadFormatIndicator,
        Self::MessageExpiryInterval,
        Self::ContentType,
        Self::ResponseTopic,
        Self::CorrelationData,
        Self::SubscriptionIdentifier,
        Self::SessionExpiryInterval,
        Self::AssignedClientIdentifier,
        Self::ServerKeepAlive,
        Self::AuthenticationMethod,
        Self::AuthenticationData,
        Self::RequestProblemInformation,
        Self::WillDelayInterval,
        Self::RequestResponseInformation,
        Self::ResponseInformation,
        Self::ServerReference,
        Self::ReasonString,
        Self::ReceiveMaximum,
        Self::TopicAliasMaximum,
        Self::TopicAlias,
        Self::MaximumQos,
        Self::RetainAvailable,
        Self::UserProperty,
        Self::MaximumPacketSize,
        Self::WildcardSubscriptionAvailable,
        Self::SubscriptionIdentifierAvailable,
        Self::SharedSubscriptionAvailable,
    ];

    pub fn from_u8(id: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| *p as u8 == id)
    }

    /// Where the property may appear (table in section 2.2.2.2).
    pub fn allowed_in(self, ctx: PropertyContext) -> bool {
        use PacketType as T;
        use PropertyContext::{Packet, Will};
        use PropertyId as P;
        match self {
            P::PayloadFormatIndicator
            | P::MessageExpiryInterval
            | P::ContentType
            | P::ResponseTopic
            | P::CorrelationData => matches!(ctx, Packet(T::Publish) | Will),
            P::SubscriptionIdentifier => matches!(ctx, Packet(T::Publish | T::Subscribe)),
            P::SessionExpiryInterval => {
                matches!(ctx, Packet(T::Connect | T::ConnAck | T::Disconnect))
            }
            P::AssignedClientIdentifier
            | P::ServerKeepAlive
            | P::ResponseInformation
            | P::MaximumQos
            | P::RetainAvailable
            | P::WildcardSubscriptionAvailable
            | P::SubscriptionIdentifierAvailable
            | P::SharedSubscriptionAvailable => matches!(ctx, Packet(T::ConnAck)),
            P::AuthenticationMethod | P::AuthenticationData => {
                matches!(ctx, Packet(T::Connect | T::ConnAck | T::Auth))
            }
            P::RequestProblemInformation | P::RequestResponseInformation => {
                matches!(ctx, Packet(T::Connect))
            }
            P::WillDelayInterval => matches!(ctx, Will),
            P::ServerReference => matches!(ctx, Packet(T::ConnAck | T::Disconnect)),
            P::ReasonString => matches!(
                ctx,
                Packet(
                    T::ConnAck
                        | T::PubAck
                        | T::PubRec
                        | T::PubRel
                        | T::PubComp
                        | T::SubAck
                        | T::UnsubAck
                        | T::Disconnect
                        | T::Auth
                )
            ),
            P::ReceiveMaximum | P::TopicAliasMaximum | P::MaximumPacketSize => {
                matches!(ctx, Packet(T::Connect | T::ConnAck))
            }
            P::TopicAlias => matches!(ctx, Packet(T::Publish)),
            P::UserProperty => true,
        }
    }

    /// Whether the property may appear more than once in one block.
    pub fn repeatable_in(self, ctx: PropertyContext) -> bool {
        match self {
            Self::UserProperty => true,
            Self::SubscriptionIdentifier => ctx == PropertyContext::Packet(PacketType::Publish),
            _ => false,
        }
    }
}

/// Where a property block sits: in a packet's variable header, or in CONNECT's Will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyContext {
    Packet(PacketType),
    Will,
}

impl PropertyContext {
    fn name(self) -> &'static str {
        match self {
            Self::Will => "Will properties",
            Self::Packet(t) => t.name(),
        }
    }
}

/// One property with its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Property {
    PayloadFormatIndicator(u8),
    MessageExpiryInterval(u32),
    ContentType(ByteString),
    ResponseTopic(ByteString),
    CorrelationData(Bytes),
    SubscriptionIdentifier(u32),
    SessionExpiryInterval(u32),
    AssignedClientIdentifier(ByteString),
    ServerKeepAlive(u16),
    AuthenticationMethod(ByteString),
    AuthenticationData(Bytes),
    RequestProblemInformation(u8),
    WillDelayInterval(u32),
    RequestResponseInformation(u8),
    ResponseInformation(ByteString),
    ServerReference(ByteString),
    ReasonString(ByteString),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQos(u8),
    RetainAvailable(u8),
    UserProperty(ByteString, ByteString),
    MaximumPacketSize(u32),
    WildcardSubscriptionAvailable(u8),
    SubscriptionIdentifierAvailable(u8),
    SharedSubscriptionAvailable(u8),
}

impl Property {
    pub fn id(&self) -> PropertyId {
        use Property as V;
        use PropertyId as P;
        match self {
            V::PayloadFormatIndicator(_) => P::PayloadFormatIndicator,
            V::MessageExpiryInterval(_) => P::MessageExpiryInterval,
            V::ContentType(_) => P::ContentType,
            V::ResponseTopic(_) => P::ResponseTopic,
            V::CorrelationData(_) => P::CorrelationData,
            V::SubscriptionIdentifier(_) => P::SubscriptionIdentifier,
            V::SessionExpiryInterval(_) => P::SessionExpiryInterval,
            V::AssignedClientIdentifier(_) => P::AssignedClientIdentifier,
            V::ServerKeepAlive(_) => P::ServerKeepAlive,
            V::AuthenticationMethod(_) => P::AuthenticationMethod,
            V::AuthenticationData(_) => P::AuthenticationData,
            V::RequestProblemInformation(_) => P::RequestProblemInformation,
            V::WillDelayInterval(_) => P::WillDelayInterval,
            V::RequestResponseInformation(_) => P::RequestResponseInformation,
            V::ResponseInformation(_) => P::ResponseInformation,
            V::ServerReference(_) => P::ServerReference,
            V::ReasonString(_) => P::ReasonString,
            V::ReceiveMaximum(_) => P::ReceiveMaximum,
            V::TopicAliasMaximum(_) => P::TopicAliasMaximum,
            V::TopicAlias(_) => P::TopicAlias,
            V::MaximumQos(_) => P::MaximumQos,
            V::RetainAvailable(_) => P::RetainAvailable,
            V::UserProperty(..) => P::UserProperty,
            V::MaximumPacketSize(_) => P::MaximumPacketSize,
            V::WildcardSubscriptionAvailable(_) => P::WildcardSubscriptionAvailable,
            V::SubscriptionIdentifierAvailable(_) => P::SubscriptionIdentifierAvailable,
            V::SharedSubscriptionAvailable(_) => P::SharedSubscriptionAvailable,
        }
    }

    /// Encoded size: identifier byte plus value.
    pub fn encoded_len(&self) -> usize {
        use Property as V;
        1 + match self {
            V::PayloadFormatIndicator(_)
            | V::RequestProblemInformation(_)
            | V::RequestResponseInformation(_)
            | V::MaximumQos(_)
            | V::RetainAvailable(_)
            | V::WildcardSubscriptionAvailable(_)
            | V::SubscriptionIdentifierAvailable(_)
            | V::SharedSubscriptionAvailable(_) => 1,
            V::ServerKeepAlive(_)
            | V::ReceiveMaximum(_)
            | V::TopicAliasMaximum(_)
            | V::TopicAlias(_) => 2,
            V::MessageExpiryInterval(_)
            | V::SessionExpiryInterval(_)
            | V::WillDelayInterval(_)
            | V::MaximumPacketSize(_) => 4,
            V::SubscriptionIdentifier(v) => varint_len(*v),
            V::ContentType(s)
            | V::ResponseTopic(s)
            | V::AssignedClientIdentifier(s)
            | V::AuthenticationMethod(s)
            | V::ResponseInformation(s)
            | V::ServerReference(s)
            | V::ReasonString(s) => binary_len(s.as_bytes()),
            V::CorrelationData(b) | V::AuthenticationData(b) => binary_len(b),
            V::UserProperty(k, v) => binary_len(k.as_bytes()) + binary_len(v.as_bytes()),
        }
    }

    pub fn write(&self, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        use Property as V;
        buf.put_u8(self.id() as u8);
        match self {
            V::PayloadFormatIndicator(v)
            | V::RequestProblemInformation(v)
            | V::RequestResponseInformation(v)
            | V::MaximumQos(v)
            | V::RetainAvailable(v)
            | V::WildcardSubscriptionAvailable(v)
            | V::SubscriptionIdentifierAvailable(v)
            | V::SharedSubscriptionAvailable(v) => buf.put_u8(*v),
            V::ServerKeepAlive(v)
            | V::ReceiveMaximum(v)
            | V::TopicAliasMaximum(v)
            | V::TopicAlias(v) => buf.put_u16(*v),
            V::MessageExpiryInterval(v)
            | V::SessionExpiryInterval(v)
            | V::WillDelayInterval(v)
            | V::MaximumPacketSize(v) => buf.put_u32(*v),
            V::SubscriptionIdentifier(v) => put_varint(buf, *v)?,
            V::ContentType(s)
            | V::ResponseTopic(s)
            | V::AssignedClientIdentifier(s)
            | V::AuthenticationMethod(s)
            | V::ResponseInformation(s)
            | V::ServerReference(s)
            | V::ReasonString(s) => put_str(buf, s)?,
            V::CorrelationData(b) | V::AuthenticationData(b) => put_binary(buf, b)?,
            V::UserProperty(k, v) => {
                put_str(buf, k)?;
                put_str(buf, v)?;
            }
        }
        Ok(())
    }

    fn read(r: &mut Reader) -> Result<Self, BoxedKind> {
        use Property as V;
        use PropertyId as P;
        // The identifier is a variable byte integer; every defined one fits in a byte.
        let raw_id = r.varint("property identifier")?;
        let id = u8::try_from(raw_id)
            .ok()
            .and_then(PropertyId::from_u8)
            .ok_or(DecodeErrorKind::UnknownProperty(raw_id.min(255) as u8))?;
        const F: &str = "property value";
        Ok(match id {
            P::PayloadFormatIndicator => V::PayloadFormatIndicator(r.u8(F)?),
            P::MessageExpiryInterval => V::MessageExpiryInterval(r.u32(F)?),
            P::ContentType => V::ContentType(r.string(F)?),
            P::ResponseTopic => V::ResponseTopic(r.string(F)?),
            P::CorrelationData => V::CorrelationData(r.binary(F)?),
            P::SubscriptionIdentifier => V::SubscriptionIdentifier(r.varint(F)?),
            P::SessionExpiryInterval => V::SessionExpiryInterval(r.u32(F)?),
            P::AssignedClientIdentifier => V::AssignedClientIdentifier(r.string(F)?),
            P::ServerKeepAlive => V::ServerKeepAlive(r.u16(F)?),
            P::AuthenticationMethod => V::AuthenticationMethod(r.string(F)?),
            P::AuthenticationData => V::AuthenticationData(r.binary(F)?),
            P::RequestProblemInformation => V::RequestProblemInformation(r.u8(F)?),
            P::WillDelayInterval => V::WillDelayInterval(r.u32(F)?),
            P::RequestResponseInformation => V::RequestResponseInformation(r.u8(F)?),
            P::ResponseInformation => V::ResponseInformation(r.string(F)?),
            P::ServerReference => V::ServerReference(r.string(F)?),
            P::ReasonString => V::ReasonString(r.string(F)?),
            P::ReceiveMaximum => V::ReceiveMaximum(r.u16(F)?),
            P::TopicAliasMaximum => V::TopicAliasMaximum(r.u16(F)?),
            P::TopicAlias => V::TopicAlias(r.u16(F)?),
            P::MaximumQos => V::MaximumQos(r.u8(F)?),
            P::RetainAvailable => V::RetainAvailable(r.u8(F)?),
            P::UserProperty => V::UserProperty(r.string(F)?, r.string(F)?),
            P::MaximumPacketSize => V::MaximumPacketSize(r.u32(F)?),
            P::WildcardSubscriptionAvailable => V::WildcardSubscriptionAvailable(r.u8(F)?),
            P::SubscriptionIdentifierAvailable => V::SubscriptionIdentifierAvailable(r.u8(F)?),
            P::SharedSubscriptionAvailable => V::SharedSubscriptionAvailable(r.u8(F)?),
        })
    }

    /// Value rules: flags are 0 or 1, maxima are non-zero, identifiers are in range.
    fn check_value(&self) -> Result<(), BoxedKind> {
        use Property as V;
        let bad = |value: u32| {
            Box::new(DecodeErrorKind::InvalidPropertyValue {
                property: self.id(),
                value,
            })
        };
        match self {
            V::PayloadFormatIndicator(v)
            | V::RequestProblemInformation(v)
            | V::RequestResponseInformation(v)
            | V::MaximumQos(v)
            | V::RetainAvailable(v)
            | V::WildcardSubscriptionAvailable(v)
            | V::SubscriptionIdentifierAvailable(v)
            | V::SharedSubscriptionAvailable(v)
                if *v > 1 =>
            {
                Err(bad(u32::from(*v)))
            }
            V::ReceiveMaximum(0) | V::TopicAlias(0) => Err(bad(0)),
            V::MaximumPacketSize(0) | V::SubscriptionIdentifier(0) => Err(bad(0)),
            _ => Ok(()),
        }
    }
}

/// A property block in wire order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Properties(pub Vec<Property>);

impl Properties {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.0.iter()
    }

    pub fn push(&mut self, p: Property) -> &mut Self {
        self.0.push(p);
        self
    }

    pub fn with(mut self, p: Property) -> Self {
        self.0.push(p);
        self
    }

    /// The first property with this identifier.
    pub fn get(&self, id: PropertyId) -> Option<&Property> {
        self.0.iter().find(|p| p.id() == id)
    }

    /// Every user property, in order.
    pub fn user_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((&**k, &**v)),
            _ => None,
        })
    }

    /// The value of the first integer-valued property with this identifier.
    pub fn int(&self, id: PropertyId) -> Option<u32> {
        self.get(id).and_then(|p| match p {
            Property::PayloadFormatIndicator(v)
            | Property::RequestProblemInformation(v)
            | Property::RequestResponseInformation(v)
            | Property::MaximumQos(v)
            | Property::RetainAvailable(v)
            | Property::WildcardSubscriptionAvailable(v)
            | Property::SubscriptionIdentifierAvailable(v)
            | Property::SharedSubscriptionAvailable(v) => Some(u32::from(*v)),
            Property::ServerKeepAlive(v)
            | Property::ReceiveMaximum(v)
            | Property::TopicAliasMaximum(v)
            | Property::TopicAlias(v) => Some(u32::from(*v)),
            Property::MessageExpiryInterval(v)
            | Property::SessionExpiryInterval(v)
            | Property::WillDelayInterval(v)
            | Property::MaximumPacketSize(v)
            | Property::SubscriptionIdentifier(v) => Some(*v),
            _ => None,
        })
    }

    /// Length of the entries, without the length prefix.
    pub fn body_len(&self) -> usize {
        self.0.iter().map(Property::encoded_len).sum()
    }

    /// Length including the variable byte integer prefix.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        // Most blocks are empty: one byte, without a call.
        if self.0.is_empty() {
            return 1;
        }
        let body = self.body_len();
        varint_len(body as u32) + body
    }

    #[inline]
    pub fn write(&self, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        // Most blocks are empty: a zero Property Length, without a call.
        if self.0.is_empty() {
            buf.put_u8(0);
            return Ok(());
        }
        self.write_entries(buf)
    }

    fn write_entries(&self, buf: &mut impl BufMut) -> Result<(), EncodeError> {
        let body = self.body_len();
        let len = u32::try_from(body).map_err(|_| EncodeError::PacketTooLong(body))?;
        put_varint(buf, len)?;
        for p in &self.0 {
            p.write(buf)?;
        }
        Ok(())
    }

    /// Reads a length-prefixed block. With `strict`, also checks where each property may
    /// appear, how often, and its value.
    pub fn read(r: &mut Reader, ctx: PropertyContext, strict: bool) -> Result<Self, BoxedKind> {
        let len = r.varint("property length")? as usize;
        // Most packets carry no properties: skip the sub-reader and the loop.
        if len == 0 {
            return Ok(Self::default());
        }
        let mut block = r.sub(len, "properties")?;
        let mut props = Vec::new();
        let mut seen: u64 = 0;
        while !block.is_empty() {
            let p = Property::read(&mut block)?;
            if strict {
                let id = p.id();
                if !id.allowed_in(ctx) {
                    return Err(DecodeErrorKind::PropertyNotAllowed {
                        property: id,
                        context: ctx.name(),
                    }
                    .into());
                }
                let bit = 1u64 << (id as u8);
                if seen & bit != 0 && !id.repeatable_in(ctx) {
                    return Err(DecodeErrorKind::DuplicateProperty(id).into());
                }
                seen |= bit;
                p.check_value()?;
                if let Property::ResponseTopic(t) = &p
                    && t.bytes().any(|b| b == b'+' || b == b'#')
                {
                    return Err(DecodeErrorKind::WildcardInResponseTopic(t.to_string()).into());
                }
            }
            props.push(p);
        }
        Ok(Self(props))
    }
}

impl FromIterator<Property> for Properties {
    fn from_iter<I: IntoIterator<Item = Property>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &'static [u8], ctx: PropertyContext) -> Result<Properties, DecodeErrorKind> {
        let mut r = Reader::new(Bytes::from_static(bytes), PacketType::Publish);
        Properties::read(&mut r, ctx, true).map_err(|kind| *kind)
    }

    const PUBLISH: PropertyContext = PropertyContext::Packet(PacketType::Publish);

    #[test]
    fn fixture_decodes_field_by_field() {
        let props = read(
            // length 12
            b"\x0C\
              \x01\x01\
              \x23\x00\x05\
              \x26\x00\x01k\x00\x01v",
            PUBLISH,
        )
        .unwrap();
        assert_eq!(
            props.0,
            vec![
                Property::PayloadFormatIndicator(1),
                Property::TopicAlias(5),
                Property::UserProperty("k".into(), "v".into()),
            ]
        );
    }

    #[test]
    fn property_not_allowed_in_packet() {
        // Session Expiry Interval in a PUBLISH.
        assert!(matches!(
            read(b"\x05\x11\x00\x00\x00\x01", PUBLISH),
            Err(DecodeErrorKind::PropertyNotAllowed { .. })
        ));
    }

    #[test]
    fn duplicate_property() {
        assert_eq!(
            read(b"\x04\x01\x00\x01\x01", PUBLISH),
            Err(DecodeErrorKind::DuplicateProperty(
                PropertyId::PayloadFormatIndicator
            ))
        );
    }

    #[test]
    fn repeated_subscription_identifier_allowed_only_in_publish() {
        assert!(read(b"\x04\x0B\x01\x0B\x02", PUBLISH).is_ok());
        assert_eq!(
            read(
                b"\x04\x0B\x01\x0B\x02",
                PropertyContext::Packet(PacketType::Subscribe)
            ),
            Err(DecodeErrorKind::DuplicateProperty(
                PropertyId::SubscriptionIdentifier
            ))
        );
    }

    #[test]
    fn unknown_property() {
        assert_eq!(
            read(b"\x02\x7F\x00", PUBLISH),
            Err(DecodeErrorKind::UnknownProperty(0x7F))
        );
    }

    #[test]
    fn invalid_values() {
        assert!(matches!(
            read(b"\x03\x23\x00\x00", PUBLISH),
            Err(DecodeErrorKind::InvalidPropertyValue {
                property: PropertyId::TopicAlias,
                value: 0
            })
        ));
        assert!(matches!(
            read(b"\x02\x01\x02", PUBLISH),
            Err(DecodeErrorKind::InvalidPropertyValue { .. })
        ));
        assert!(matches!(
            read(b"\x02\x0B\x00", PUBLISH),
            Err(DecodeErrorKind::InvalidPropertyValue { .. })
        ));
        assert!(matches!(
            read(
                b"\x03\x21\x00\x00",
                PropertyContext::Packet(PacketType::Connect)
            ),
            Err(DecodeErrorKind::InvalidPropertyValue { .. })
        ));
    }

    #[test]
    fn block_longer_than_packet_is_truncated() {
        assert!(matches!(
            read(b"\x09\x01\x01", PUBLISH),
            Err(DecodeErrorKind::Truncated { .. })
        ));
    }

    #[test]
    fn value_cut_by_block_length_is_truncated() {
        // Block of 2 bytes holds the id of Message Expiry Interval and one of its four bytes.
        assert!(matches!(
            read(b"\x02\x02\x00\x00\x00\x00", PUBLISH),
            Err(DecodeErrorKind::Truncated { .. })
        ));
    }

    #[test]
    fn every_property_round_trips() {
        let all = vec![
            Property::PayloadFormatIndicator(1),
            Property::MessageExpiryInterval(u32::MAX),
            Property::ContentType("text/plain".into()),
            Property::ResponseTopic("r".into()),
            Property::CorrelationData(Bytes::from_static(b"\x00\x01")),
            Property::SubscriptionIdentifier(268_435_455),
            Property::SessionExpiryInterval(7),
            Property::AssignedClientIdentifier("id".into()),
            Property::ServerKeepAlive(60),
            Property::AuthenticationMethod("SCRAM".into()),
            Property::AuthenticationData(Bytes::from_static(b"x")),
            Property::RequestProblemInformation(0),
            Property::WillDelayInterval(1),
            Property::RequestResponseInformation(1),
            Property::ResponseInformation("ri".into()),
            Property::ServerReference("other".into()),
            Property::ReasonString("why".into()),
            Property::ReceiveMaximum(10),
            Property::TopicAliasMaximum(10),
            Property::TopicAlias(3),
            Property::MaximumQos(1),
            Property::RetainAvailable(0),
            Property::UserProperty("".into(), "".into()),
            Property::MaximumPacketSize(1024),
            Property::WildcardSubscriptionAvailable(1),
            Property::SubscriptionIdentifierAvailable(1),
            Property::SharedSubscriptionAvailable(0),
        ];
        assert_eq!(all.len(), PropertyId::ALL.len());
        let props = Properties(all);
        let mut buf = Vec::new();
        props.write(&mut buf).unwrap();
        assert_eq!(buf.len(), props.encoded_len());
        let mut r = Reader::new(Bytes::from(buf), PacketType::Publish);
        // Not strict: the block mixes properties of every packet on purpose.
        assert_eq!(Properties::read(&mut r, PUBLISH, false).unwrap(), props);
    }
}
