//! The queue of actions the driver takes with `poll_action`, and the one place that encodes
//! outgoing packets, for the version and within the limits of the client's [`Link`].

use super::link::Link;
use super::{Action, ConnId};
use mqttspec_codec::{Packet, Properties, Property};
use std::collections::VecDeque;

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    actions: VecDeque<Action>,
    #[cfg(feature = "faults")]
    faults: super::faults::wire::WireFaults,
}

impl Outbox {
    /// An outbox for a broker with this configuration (its faults, in test builds).
    #[cfg_attr(not(feature = "faults"), allow(unused_variables))]
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            actions: VecDeque::new(),
            #[cfg(feature = "faults")]
            faults: super::faults::wire::WireFaults::new(&config.faults),
        }
    }

    /// Encodes `packet` for `conn` as `link` says. Returns whether it was sent.
    ///
    /// 5.0/MQTT-3.1.2-24: nothing larger than the client's Maximum Packet Size is sent. A
    /// PUBLISH that does not fit is dropped (the caller then behaves as if it was sent,
    /// 5.0/MQTT-3.1.2-25); any other packet first loses its Reason String and User
    /// Properties (5.0/MQTT-3.2.2-19, -20, 3.4.2-2, -3 and the like). 5.0/MQTT-3.1.2-29:
    /// without Request Problem Information, only PUBLISH, CONNACK and DISCONNECT carry them.
    ///
    /// The broker only writes packets it built from decoded input, so encoding cannot fail in
    /// practice; if it ever does, the packet is dropped and logged rather than taking the
    /// broker down.
    pub fn send(&mut self, conn: ConnId, link: &Link, packet: impl Into<Packet>) -> bool {
        let mut packet = packet.into();
        let v = link.version;
        #[cfg(feature = "faults")]
        if v.is_v5() && self.faults.bloat(&mut packet) {
            return self.push(conn, &packet, link);
        }
        if v.is_v5()
            && !link.problem_info
            && !matches!(
                packet,
                Packet::Publish(_) | Packet::ConnAck(_) | Packet::Disconnect(_)
            )
        {
            strip_diagnostics(&mut packet);
        }
        if packet.encoded_len(v) as u64 > u64::from(link.max_packet_size) {
            if matches!(packet, Packet::Publish(_)) || !strip_diagnostics(&mut packet) {
                tracing::debug!(?conn, kind = ?packet.packet_type(), "over the client's maximum packet size: not sent");
                return false;
            }
            if packet.encoded_len(v) as u64 > u64::from(link.max_packet_size) {
                tracing::debug!(?conn, kind = ?packet.packet_type(), "over the client's maximum packet size: not sent");
                return false;
            }
        }
        self.push(conn, &packet, link)
    }

    fn push(&mut self, conn: ConnId, packet: &Packet, link: &Link) -> bool {
        match packet.to_bytes(link.version) {
            Ok(bytes) => {
                #[cfg(feature = "faults")]
                let Some(bytes) = self.faults.rewrite(bytes, link.version) else {
                    return true;
                };
                self.actions.push_back(Action::Send { conn, bytes });
                true
            }
            Err(e) => {
                tracing::error!(?conn, kind = ?packet.packet_type(), %e, "cannot encode");
                false
            }
        }
    }

    pub fn close(&mut self, conn: ConnId) {
        self.actions.push_back(Action::Close { conn });
    }

    pub fn pop(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
}

/// Removes Reason String and User Property from a packet's properties; whether any were.
fn strip_diagnostics(packet: &mut Packet) -> bool {
    let strip = |p: &mut Properties| {
        let before = p.0.len();
        p.0.retain(|p| !matches!(p, Property::ReasonString(_) | Property::UserProperty(..)));
        before != p.0.len()
    };
    let opt = |p: &mut Option<Properties>| p.as_mut().is_some_and(strip);
    match packet {
        Packet::ConnAck(p) => strip(&mut p.properties),
        Packet::PubAck(p) => opt(&mut p.properties),
        Packet::PubRec(p) => opt(&mut p.properties),
        Packet::PubRel(p) => opt(&mut p.properties),
        Packet::PubComp(p) => opt(&mut p.properties),
        Packet::SubAck(p) => strip(&mut p.properties),
        Packet::UnsubAck(p) => strip(&mut p.properties),
        Packet::Disconnect(p) => opt(&mut p.properties),
        Packet::Auth(p) => opt(&mut p.properties),
        _ => false,
    }
}
