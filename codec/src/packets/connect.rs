//! CONNECT (section 3.1): the first packet of a connection. It carries its own protocol
//! level, so it is decoded by the version it announces.

use crate::error::{BoxedKind, DecodeErrorKind, EncodeError, QosContext};
use crate::packet::PacketType;
use crate::properties::{Properties, PropertyContext};
use crate::qos::QoS;
use crate::topic::check_topic_name;
use crate::version::ProtocolVersion;
use crate::wire::{Reader, binary_len, put_binary, put_str};
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;

/// The Will Message a CONNECT asks the server to publish if the connection ends badly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Will {
    pub topic: ByteString,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// Will properties (5.0 only).
    pub properties: Properties,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Written as protocol name "MQTT" with this version's level.
    pub version: ProtocolVersion,
    /// CleanSession in 3.1.1, Clean Start in 5.0.
    pub clean_start: bool,
    pub keep_alive: u16,
    pub properties: Properties,
    pub client_id: ByteString,
    pub will: Option<Will>,
    pub username: Option<ByteString>,
    pub password: Option<Bytes>,
}

impl Default for Connect {
    fn default() -> Self {
        Self {
            version: ProtocolVersion::V311,
            clean_start: true,
            keep_alive: 60,
            properties: Properties::default(),
            client_id: ByteString::new(),
            will: None,
            username: None,
            password: None,
        }
    }
}

const CLEAN: u8 = 0b0000_0010;
const WILL: u8 = 0b0000_0100;
const WILL_QOS_SHIFT: u8 = 3;
const WILL_RETAIN: u8 = 0b0010_0000;
const PASSWORD: u8 = 0b0100_0000;
const USERNAME: u8 = 0b1000_0000;

impl Connect {
    /// The version a CONNECT body announces, read without validating anything else, so that
    /// errors in the rest of the packet are judged against the right specification.
    pub fn peek_version(body: &[u8]) -> Option<ProtocolVersion> {
        let name_len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
        ProtocolVersion::from_level(*body.get(2 + name_len)?)
    }

    // Always inlined into the decoder, which builds the packet in place (see
    // `Packet::decode_as`); returned through memory, the 224-byte struct is copied out with
    // loads that store-to-load forwarding cannot serve.
    #[inline(always)]
    pub(crate) fn read(r: &mut Reader, strict: bool) -> Result<Self, BoxedKind> {
        let name = r.string("protocol name")?;
        let level = r.u8("protocol level")?;
        let version = match (&*name, ProtocolVersion::from_level(level)) {
            ("MQTT", Some(v)) => v,
            ("MQTT" | "MQIsdp", None) => {
                return Err(DecodeErrorKind::UnsupportedProtocolLevel(level).into());
            }
            _ => return Err(DecodeErrorKind::InvalidProtocolName(name.to_string()).into()),
        };
        let flags = r.u8("connect flags")?;
        if strict && flags & 1 != 0 {
            return Err(DecodeErrorKind::ConnectReservedFlag.into());
        }
        let has_will = flags & WILL != 0;
        let will_qos = (flags >> WILL_QOS_SHIFT) & 0b11;
        let will_retain = flags & WILL_RETAIN != 0;
        if strict && !has_will && (will_qos != 0 || will_retain) {
            return Err(DecodeErrorKind::WillFieldsWithoutWillFlag.into());
        }
        let has_username = flags & USERNAME != 0;
        let has_password = flags & PASSWORD != 0;
        if strict && version == ProtocolVersion::V311 && has_password && !has_username {
            return Err(DecodeErrorKind::PasswordWithoutUsername.into());
        }
        let keep_alive = r.u16("keep alive")?;
        let properties = match version {
            ProtocolVersion::V5 => {
                Properties::read(r, PropertyContext::Packet(PacketType::Connect), strict)?
            }
            ProtocolVersion::V311 => Properties::default(),
        };
        let client_id = r.string("client identifier")?;
        let will = if has_will {
            let qos =
                QoS::from_u8(will_qos).ok_or(DecodeErrorKind::InvalidQos(QosContext::Will))?;
            let properties = match version {
                ProtocolVersion::V5 => Properties::read(r, PropertyContext::Will, strict)?,
                ProtocolVersion::V311 => Properties::default(),
            };
            let topic = r.string("will topic")?;
            if strict {
                check_topic_name(&topic)?;
            }
            let payload = r.binary("will payload")?;
            Some(Will {
                topic,
                payload,
                qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = has_username.then(|| r.string("user name")).transpose()?;
        let password = has_password.then(|| r.binary("password")).transpose()?;
        r.finish()?;
        Ok(Self {
            version,
            clean_start: flags & CLEAN != 0,
            keep_alive,
            properties,
            client_id,
            will,
            username,
            password,
        })
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_start {
            flags |= CLEAN;
        }
        if let Some(will) = &self.will {
            flags |= WILL | (will.qos.as_u8() << WILL_QOS_SHIFT);
            if will.retain {
                flags |= WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= USERNAME;
        }
        if self.password.is_some() {
            flags |= PASSWORD;
        }
        flags
    }

    fn is_v5(&self) -> bool {
        self.version.is_v5()
    }

    pub(crate) fn body_len(&self) -> usize {
        // "MQTT" with its length, level, flags, keep alive.
        let mut len = 6 + 1 + 1 + 2;
        if self.is_v5() {
            len += self.properties.encoded_len();
        }
        len += binary_len(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if self.is_v5() {
                len += will.properties.encoded_len();
            }
            len += binary_len(will.topic.as_bytes()) + binary_len(&will.payload);
        }
        len += self
            .username
            .as_ref()
            .map_or(0, |u| binary_len(u.as_bytes()));
        len += self.password.as_ref().map_or(0, |p| binary_len(p));
        len
    }

    pub(crate) fn write_body(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let will_props = self.will.as_ref().is_some_and(|w| !w.properties.is_empty());
        if !self.is_v5() && (!self.properties.is_empty() || will_props) {
            return Err(EncodeError::V5FieldsInV311(PacketType::Connect));
        }
        // Protocol name "MQTT" with its length, level and flags: one write of fixed size.
        buf.put_slice(&[
            0,
            4,
            b'M',
            b'Q',
            b'T',
            b'T',
            self.version.level(),
            self.flags(),
        ]);
        buf.put_u16(self.keep_alive);
        if self.is_v5() {
            self.properties.write(buf)?;
        }
        put_str(buf, &self.client_id)?;
        if let Some(will) = &self.will {
            if self.is_v5() {
                will.properties.write(buf)?;
            }
            put_str(buf, &will.topic)?;
            put_binary(buf, &will.payload)?;
        }
        if let Some(u) = &self.username {
            put_str(buf, u)?;
        }
        if let Some(p) = &self.password {
            put_binary(buf, p)?;
        }
        Ok(())
    }
}
