//! Backend subscribers (persistent sessions on a clean link, as in a data centre) and the
//! auditor that reads the retained messages at the end of a run.

use super::client::{Ctx, Next, V311, buffered, next, send};
use super::history::{PayloadId, What, parse_payload};
use super::link::{Conn, new_link};
use super::profile::Profile;
use super::rng::Rng;
use mqttspec_codec::reason::v311;
use mqttspec_codec::{
    Connect, Decoder, Disconnect, Packet, PubAck, PubComp, PubRec, Publish, QoS, Subscribe,
    Subscription,
};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

const KEEP_ALIVE: Duration = Duration::from_secs(60);

/// A subscriber that stays for the whole run; it reconnects (same persistent session) if
/// its connection breaks, e.g. when the broker restarts.
pub struct Subscriber {
    pub name: String,
    pub filter: String,
    pub qos: u8,
    pub ctx: Ctx,
    pub rng: Rng,
    pub stop_at: Instant,
    /// A clean session that subscribes late, to read retained messages, and whose
    /// deliveries are not live traffic.
    pub auditor: bool,
    /// The link's profile; its outages are not applied.
    pub profile: Profile,
}

impl Subscriber {
    pub async fn run(mut self) {
        let profile = Profile {
            outages: None,
            ..self.profile.clone()
        };
        let link = new_link();
        // Packet ids of QoS 2 messages received and not yet released: a resent PUBLISH with
        // one of them is the same delivery (3.1.1 section 4.3.3, method B).
        let mut unreleased = BTreeSet::new();
        let mut first = true;
        while Instant::now() < self.stop_at {
            let Some(mut conn) = Conn::open(
                &self.ctx.net,
                &link,
                &profile,
                &mut self.rng,
                Duration::from_secs(10),
            )
            .await
            else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            let decoder = Decoder::new(V311);
            send(
                &mut conn,
                Packet::Connect(Connect {
                    client_id: self.ctx.client_id(&format!("sub-{}", self.name)).into(),
                    clean_start: self.auditor,
                    keep_alive: KEEP_ALIVE.as_secs() as u16,
                    ..Connect::default()
                }),
            );
            let connack = tokio::time::timeout(Duration::from_secs(10), next(&mut conn, &decoder));
            let session_present = match connack.await {
                Ok(Next::Packet(p)) => match *p {
                    Packet::ConnAck(a) if a.code == v311::ACCEPTED => a.session_present,
                    _ => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                },
                _ => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if !session_present {
                // A new session (the broker restarted, say): no subscription, and the QoS 2
                // packet ids of the old one mean nothing now.
                unreleased.clear();
            }
            if first || !session_present || self.auditor {
                let qos = QoS::from_u8(self.qos).unwrap_or_default();
                send(
                    &mut conn,
                    Packet::Subscribe(Subscribe {
                        packet_id: 1,
                        subscriptions: vec![Subscription::new(self.ctx.wire(&self.filter), qos)],
                        ..Subscribe::default()
                    }),
                );
            }
            self.receive(&mut conn, &decoder, &mut unreleased, &mut first)
                .await;
        }
    }

    async fn receive(
        &mut self,
        conn: &mut Conn,
        decoder: &Decoder,
        unreleased: &mut BTreeSet<u16>,
        first: &mut bool,
    ) {
        let mut last_sent = Instant::now();
        loop {
            tokio::select! {
                biased;
                () = sleep_until(self.stop_at) => {
                    send(conn, Packet::Disconnect(Disconnect::default()));
                    return;
                }
                more = conn.fill() => {
                    if !more {
                        return;
                    }
                    while let Some(n) = buffered(conn, decoder) {
                        let Next::Packet(p) = n else {
                            if let Next::Garbage(e) = n {
                                self.ctx.record(What::Garbage { subscriber: self.name.clone(), detail: e });
                            }
                            return;
                        };
                        match *p {
                            Packet::SubAck(_) => {
                                *first = false;
                                self.ctx.record(What::Subscribed {
                                    subscriber: self.name.clone(),
                                    filter: self.filter.clone(),
                                });
                            }
                            Packet::Publish(p) => {
                                if let Some(reply) = self.delivered(p, unreleased) {
                                    send(conn, reply);
                                    last_sent = Instant::now();
                                }
                            }
                            Packet::PubRel(r) => {
                                unreleased.remove(&r.packet_id);
                                send(conn, Packet::PubComp(PubComp::new(r.packet_id)));
                                last_sent = Instant::now();
                            }
                            _ => {}
                        }
                    }
                }
                () = sleep_until(last_sent + KEEP_ALIVE / 2) => {
                    send(conn, Packet::PingReq);
                    last_sent = Instant::now();
                }
            }
        }
    }

    fn delivered(&self, p: Publish, unreleased: &mut BTreeSet<u16>) -> Option<Packet> {
        let new = p.qos != QoS::ExactlyOnce || unreleased.insert(p.packet_id);
        if new {
            let what = match parse_payload(&p.payload) {
                Some(payload) => What::Delivered {
                    subscriber: self.name.clone(),
                    payload,
                    // The history keeps the names the checker knows.
                    topic: self.ctx.unwire(&p.topic).to_owned(),
                    qos: p.qos.as_u8(),
                    dup: p.dup,
                    retain: p.retain,
                },
                None => What::Garbage {
                    subscriber: self.name.clone(),
                    detail: format!("payload {:?} on {}", p.payload, p.topic),
                },
            };
            if !matches!(
                what,
                What::Delivered {
                    payload: PayloadId::Will { .. },
                    ..
                }
            ) || !self.auditor
            {
                self.ctx.record(what);
            }
        }
        match p.qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => Some(Packet::PubAck(PubAck::new(p.packet_id))),
            QoS::ExactlyOnce => Some(Packet::PubRec(PubRec::new(p.packet_id))),
        }
    }
}
