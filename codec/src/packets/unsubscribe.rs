//! UNSUBSCRIBE (section 3.10): topic filters to remove; fixed-header flags 0010.

use super::{properties_len, read_packet_id, read_properties, write_properties};
use crate::error::{BoxedKind, DecodeErrorKind, EncodeError};
use crate::packet::PacketType;
use crate::properties::Properties;
use crate::topic::parse_filter;
use crate::version::ProtocolVersion;
use crate::wire::{Reader, binary_len, put_str};
use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unsubscribe {
    pub packet_id: u16,
    /// 5.0 only.
    pub properties: Properties,
    pub filters: Vec<ByteString>,
}

impl Unsubscribe {
    pub(crate) fn read(
        r: &mut Reader,
        v: ProtocolVersion,
        strict: bool,
    ) -> Result<Self, BoxedKind> {
        let packet_id = read_packet_id(r, strict)?;
        let properties = read_properties(r, v, strict)?;
        let mut filters = Vec::with_capacity(super::subscribe::entries_hint(r.remaining()));
        while !r.is_empty() {
            let filter = r.string("topic filter")?;
            if strict && let Err(reason) = parse_filter(&filter, v.is_v5()) {
                return Err(DecodeErrorKind::InvalidTopicFilter {
                    filter: filter.to_string(),
                    reason,
                }
                .into());
            }
            filters.push(filter);
        }
        if strict && filters.is_empty() {
            return Err(DecodeErrorKind::EmptyUnsubscribe.into());
        }
        r.finish()?;
        Ok(Self {
            packet_id,
            properties,
            filters,
        })
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + properties_len(&self.properties, v)
            + self
                .filters
                .iter()
                .map(|f| binary_len(f.as_bytes()))
                .sum::<usize>()
    }

    pub(crate) fn write_body(
        &self,
        v: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        buf.put_u16(self.packet_id);
        write_properties(&self.properties, v, PacketType::Unsubscribe, buf)?;
        for f in &self.filters {
            put_str(buf, f)?;
        }
        Ok(())
    }
}
