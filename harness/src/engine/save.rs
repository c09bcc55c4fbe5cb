//! `save`: fields of a received packet kept as variables for later steps.

use super::matcher;
use crate::scenario::model::SaveField;
use mqttspec_codec::{Packet, Property, PropertyId};

/// The value `field` has in `packet`, as a variable's text; `None` if it has none.
pub(super) fn value(field: SaveField, packet: &Packet) -> Option<String> {
    match field {
        SaveField::PacketId => matcher::packet_id(packet).map(|id| id.to_string()),
        SaveField::AssignedClientIdentifier => match packet {
            Packet::ConnAck(c) => match c.properties.get(PropertyId::AssignedClientIdentifier) {
                Some(Property::AssignedClientIdentifier(id)) => Some(id.to_string()),
                _ => None,
            },
            _ => None,
        },
    }
}

/// How a field is named in messages.
pub(super) fn name(field: SaveField) -> &'static str {
    match field {
        SaveField::PacketId => "packet_id",
        SaveField::AssignedClientIdentifier => "assigned_client_identifier",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqttspec_codec::{ConnAck, ReasonCode};

    #[test]
    fn the_assigned_client_identifier_of_a_connack() {
        let mut ack = ConnAck::new(false, ReasonCode(0));
        let packet = Packet::ConnAck(ack.clone());
        assert_eq!(value(SaveField::AssignedClientIdentifier, &packet), None);
        ack.properties
            .push(Property::AssignedClientIdentifier("auto-1".into()));
        let packet = Packet::ConnAck(ack);
        assert_eq!(
            value(SaveField::AssignedClientIdentifier, &packet).as_deref(),
            Some("auto-1")
        );
        assert_eq!(value(SaveField::PacketId, &packet), None);
    }
}
