//! PUBCOMP: Completes a QoS 2 exchange (section 3.7).

super::ack::ack_packet!(
    /// Completes a QoS 2 exchange (section 3.7).
    PubComp,
    crate::packet::PacketType::PubComp
);
