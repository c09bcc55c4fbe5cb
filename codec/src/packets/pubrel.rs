//! PUBREL: Releases a QoS 2 PUBLISH after PUBREC (section 3.6); fixed-header flags 0010.

super::ack::ack_packet!(
    /// Releases a QoS 2 PUBLISH after PUBREC (section 3.6); fixed-header flags 0010.
    PubRel,
    crate::packet::PacketType::PubRel
);
