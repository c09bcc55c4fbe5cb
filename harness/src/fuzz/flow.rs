//! Valid flows built with the codec: one client's packets from its CONNECT on, which a
//! correct broker answers with a known set of acknowledgements.

use crate::sim::rng::Rng;
use mqttspec_codec::{
    Connect, Packet, Properties, Property, ProtocolVersion, PubRel, Publish, QoS, Subscribe,
    Subscription, Unsubscribe,
};

/// Names one case may use without meeting another case's: its client identifier and the
/// prefix of its topics.
#[derive(Debug, Clone)]
pub struct CaseIds {
    pub client_id: String,
    pub topic: String,
}

/// A valid flow of one client, in the order it is sent.
#[derive(Debug, Clone)]
pub struct Flow {
    pub version: ProtocolVersion,
    pub packets: Vec<Packet>,
}

/// A number in `0..n` (0 when `n` is 0).
pub fn below(rng: &mut Rng, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (rng.next_u64() % n as u64) as usize
}

/// One of `items` (which must not be empty).
pub fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[below(rng, items.len())]
}

fn qos(rng: &mut Rng) -> QoS {
    *pick(rng, &[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

/// A valid flow: CONNECT, then a few SUBSCRIBE, PUBLISH (with PUBREL after a QoS 2 one),
/// UNSUBSCRIBE and PINGREQ packets, sometimes ending with DISCONNECT.
pub fn flow(rng: &mut Rng, ids: &CaseIds) -> Flow {
    let version = if rng.chance(0.5) {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let v5 = version == ProtocolVersion::V5;
    let mut connect = Connect {
        version,
        client_id: ids.client_id.clone().into(),
        keep_alive: 60,
        ..Connect::default()
    };
    if v5 && rng.chance(0.3) {
        connect.properties = Properties::new().with(Property::ReceiveMaximum(20));
    }
    let mut packets = vec![Packet::Connect(connect)];
    let mut next_id: u16 = 1;
    let mut take_id = || {
        let id = next_id;
        next_id = next_id.wrapping_add(1).max(1);
        id
    };
    let steps = 1 + below(rng, 6);
    for _ in 0..steps {
        match below(rng, 5) {
            0 => packets.push(Packet::Subscribe(Subscribe {
                packet_id: take_id(),
                properties: Properties::default(),
                subscriptions: vec![Subscription::new(format!("{}/#", ids.topic), qos(rng))],
            })),
            1 | 2 => {
                let q = qos(rng);
                let mut p = Publish::new(
                    format!("{}/{}", ids.topic, below(rng, 4)),
                    q,
                    vec![b'x'; below(rng, 40)],
                );
                if q != QoS::AtMostOnce {
                    p.packet_id = take_id();
                }
                if v5 && rng.chance(0.3) {
                    p.properties = Properties::new()
                        .with(Property::MessageExpiryInterval(30))
                        .with(Property::UserProperty("k".into(), "v".into()));
                }
                let id = p.packet_id;
                packets.push(Packet::Publish(p));
                if q == QoS::ExactlyOnce {
                    packets.push(Packet::PubRel(PubRel::new(id)));
                }
            }
            3 => packets.push(Packet::Unsubscribe(Unsubscribe {
                packet_id: take_id(),
                properties: Properties::default(),
                filters: vec![format!("{}/#", ids.topic).into()],
            })),
            _ => packets.push(Packet::PingReq),
        }
    }
    if rng.chance(0.15) {
        packets.push(Packet::Disconnect(mqttspec_codec::Disconnect::default()));
    }
    Flow { version, packets }
}
