//! A simulated device: a correct MQTT 3.1.1 client on a bad link. It publishes on a
//! period, keeps its in-flight QoS 1/2 messages across reconnects when its session is
//! persistent (resending them with DUP set, and PUBREL for QoS 2 flows past PUBREC, in the
//! original order, 3.1.1 section 4.4), pings within its keep alive, treats a missing
//! PINGRESP as a dead link, and reconnects with exponential backoff and jitter.

use super::client::{Ctx, Next, V311, buffered, next, send};
use super::history::{MsgId, What, message_payload, will_payload};
use super::link::{Conn, Link, stall_begins};
use super::profile::Profile;
use super::rng::Rng;
use super::workload::DeviceGroup;
use mqttspec_codec::reason::v311;
use mqttspec_codec::{Connect, Decoder, Disconnect, Packet, PubRel, Publish, QoS, Will};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// QoS 1/2 messages a device keeps unacknowledged before it skips publishing.
const MAX_INFLIGHT: usize = 16;

pub struct Device {
    pub name: String,
    pub group: DeviceGroup,
    pub profile: Profile,
    pub link: Link,
    pub rng: Rng,
    pub ctx: Ctx,
    /// When to start, and when to disconnect for good.
    pub start_at: Instant,
    pub stop_at: Instant,
}

enum Stage {
    /// QoS 1 waiting for PUBACK, or QoS 2 waiting for PUBREC.
    Publish(Publish),
    /// QoS 2 past PUBREC, waiting for PUBCOMP.
    Released,
}

struct Inflight {
    id: MsgId,
    stage: Stage,
}

#[derive(Default)]
struct State {
    seq: u64,
    conn: u32,
    inflight: BTreeMap<u16, Inflight>,
    /// Packet ids in the order their messages were first sent.
    order: VecDeque<u16>,
    next_pid: u16,
    /// Whether the latest connection got its CONNACK.
    accepted: bool,
}

impl State {
    fn free_pid(&mut self) -> u16 {
        loop {
            self.next_pid = self.next_pid.wrapping_add(1).max(1);
            if !self.inflight.contains_key(&self.next_pid) {
                return self.next_pid;
            }
        }
    }

    fn complete(&mut self, pid: u16) -> Option<MsgId> {
        let done = self.inflight.remove(&pid)?;
        self.order.retain(|p| *p != pid);
        Some(done.id)
    }
}

/// How a connection ended.
enum End {
    Stop,
    Broken(String),
}

impl Device {
    pub async fn run(mut self) {
        sleep_until(self.start_at).await;
        let mut state = State::default();
        let reconnect = self.group.reconnect.clone();
        let mut backoff = reconnect.min.0;
        while Instant::now() < self.stop_at {
            match self.connection(&mut state).await {
                End::Stop => return,
                End::Broken(_) => {}
            }
            if state.accepted {
                // The link worked for a while: start the backoff over.
                backoff = reconnect.min.0;
            }
            let wait = self.rng.jitter(backoff, reconnect.jitter);
            backoff = (backoff * 2).min(reconnect.max.0);
            sleep_until((Instant::now() + wait).min(self.stop_at)).await;
        }
    }

    async fn connection(&mut self, state: &mut State) -> End {
        state.accepted = false;
        let Some(mut conn) = Conn::open(
            &self.ctx.net,
            &self.link,
            &self.profile,
            &mut self.rng,
            self.ctx.connect_timeout,
        )
        .await
        else {
            return End::Broken("connect failed".into());
        };
        state.conn += 1;
        let conn_no = state.conn;
        let g = &self.group;
        let will = g.will.as_ref().map(|w| Will {
            topic: self.ctx.wire(&format!("fleet/{}/will", self.name)).into(),
            payload: will_payload(&self.name, conn_no).into(),
            qos: QoS::from_u8(w.qos).unwrap_or_default(),
            retain: w.retain,
            properties: Default::default(),
        });
        let connect = Connect {
            client_id: self.ctx.client_id(&self.name).into(),
            clean_start: g.clean_session,
            keep_alive: g.keep_alive.0.as_secs() as u16,
            will,
            ..Connect::default()
        };
        send(&mut conn, Packet::Connect(connect));
        self.ctx.record(What::ConnectSent {
            device: self.name.clone(),
            conn: conn_no,
        });
        let decoder = Decoder::new(V311);
        let connack =
            tokio::time::timeout(self.ctx.connect_timeout, next(&mut conn, &decoder)).await;
        let why = match connack {
            Ok(Next::Packet(p)) => match *p {
                Packet::ConnAck(a) if a.code == v311::ACCEPTED => {
                    state.accepted = true;
                    if !a.session_present {
                        // The broker has no session for us (it restarted, say): what was
                        // in flight can no longer be finished, and resending a QoS 2
                        // PUBLISH to a new session could deliver it twice. Its outcome
                        // stays unknown.
                        state.inflight.clear();
                        state.order.clear();
                    }
                    self.ctx.record(What::Connected {
                        device: self.name.clone(),
                        conn: conn_no,
                        session_present: a.session_present,
                    });
                    None
                }
                other => Some(format!("expected CONNACK 0, got {other:?}")),
            },
            Ok(Next::Closed) => Some("closed before CONNACK".into()),
            Ok(Next::Garbage(e)) => Some(format!("garbage before CONNACK: {e}")),
            Err(_) => Some("no CONNACK".into()),
        };
        if let Some(why) = why {
            return self.ended(conn_no, false, why);
        }
        let end = self.session(state, &mut conn, &decoder).await;
        drop(conn);
        match end {
            End::Stop => self.ended(conn_no, true, "DISCONNECT".into()),
            End::Broken(why) => self.ended(conn_no, false, why),
        }
    }

    fn ended(&self, conn: u32, clean: bool, why: String) -> End {
        self.ctx.record(What::ConnectionEnded {
            device: self.name.clone(),
            conn,
            clean,
            why: why.clone(),
        });
        if clean { End::Stop } else { End::Broken(why) }
    }

    async fn session(&mut self, state: &mut State, conn: &mut Conn, decoder: &Decoder) -> End {
        let g = self.group.clone();
        if g.clean_session {
            // CleanSession 1: the client discards its session state too (3.1.2.4); the
            // outcome of those messages stays unknown.
            state.inflight.clear();
            state.order.clear();
        } else {
            for pid in state.order.clone() {
                let p = match state.inflight.get(&pid).map(|f| &f.stage) {
                    Some(Stage::Publish(p)) => Packet::Publish(Publish {
                        dup: true,
                        ..p.clone()
                    }),
                    Some(Stage::Released) => Packet::PubRel(PubRel::new(pid)),
                    None => continue,
                };
                send(conn, p);
            }
        }
        let keep_alive = g.keep_alive.0;
        let every = g.publish.every.0;
        let mut last_sent = Instant::now();
        let mut ping_deadline: Option<Instant> = None;
        let now = Instant::now();
        let mut next_publish = now + self.rng.between(Duration::ZERO, every);
        let link = self.link.clone();
        loop {
            let ka_at = match ping_deadline {
                Some(d) => d,
                None if keep_alive.is_zero() => self.stop_at + Duration::from_secs(3600),
                None => last_sent + keep_alive,
            };
            tokio::select! {
                biased;
                () = sleep_until(self.stop_at) => {
                    send(conn, Packet::Disconnect(Disconnect::default()));
                    return End::Stop;
                }
                thaw = stall_begins(&link) => {
                    // Frozen: no reads, no writes, no timers. What the broker sent waits.
                    sleep_until(thaw).await;
                    next_publish = next_publish.max(Instant::now());
                }
                more = conn.fill() => {
                    if !more {
                        return End::Broken("closed by the broker or the network".into());
                    }
                    while let Some(n) = buffered(conn, decoder) {
                        match n {
                            Next::Packet(p) => {
                                if let Some(reply) = self.handle(state, *p, &mut ping_deadline) {
                                    send(conn, reply);
                                    last_sent = Instant::now();
                                }
                            }
                            Next::Garbage(e) => return End::Broken(format!("undecodable bytes: {e}")),
                            Next::Closed => return End::Broken("closed".into()),
                        }
                    }
                }
                () = sleep_until(next_publish) => {
                    next_publish += every;
                    if let Some(p) = self.publish(state) {
                        send(conn, p);
                        last_sent = Instant::now();
                    }
                }
                () = sleep_until(ka_at) => {
                    if ping_deadline.is_some() {
                        return End::Broken("no PINGRESP within the keep alive".into());
                    }
                    send(conn, Packet::PingReq);
                    last_sent = Instant::now();
                    ping_deadline = Some(last_sent + keep_alive);
                }
            }
        }
    }

    fn handle(
        &mut self,
        state: &mut State,
        p: Packet,
        ping_deadline: &mut Option<Instant>,
    ) -> Option<Packet> {
        match p {
            Packet::PubAck(a) => {
                if let Some(id) = state.complete(a.packet_id) {
                    self.ctx.record(What::Acked { id });
                }
                None
            }
            Packet::PubRec(r) => {
                let f = state.inflight.get_mut(&r.packet_id)?;
                f.stage = Stage::Released;
                Some(Packet::PubRel(PubRel::new(r.packet_id)))
            }
            Packet::PubComp(c) => {
                if let Some(id) = state.complete(c.packet_id) {
                    self.ctx.record(What::Acked { id });
                }
                None
            }
            Packet::PingResp => {
                *ping_deadline = None;
                None
            }
            _ => None,
        }
    }

    fn publish(&mut self, state: &mut State) -> Option<Packet> {
        let spec = &self.group.publish;
        let qos = QoS::from_u8(spec.qos).unwrap_or_default();
        if qos != QoS::AtMostOnce && state.inflight.len() >= MAX_INFLIGHT {
            return None;
        }
        state.seq += 1;
        let id = MsgId {
            device: self.name.clone(),
            seq: state.seq,
        };
        let kind = if spec.retain { "state" } else { "data" };
        let topic = format!("fleet/{}/{kind}", self.name);
        let mut p = Publish::new(
            self.ctx.wire(&topic),
            qos,
            message_payload(&id, spec.payload_bytes),
        );
        p.retain = spec.retain;
        if qos != QoS::AtMostOnce {
            let pid = state.free_pid();
            p.packet_id = pid;
            state.inflight.insert(
                pid,
                Inflight {
                    id: id.clone(),
                    stage: Stage::Publish(p.clone()),
                },
            );
            state.order.push_back(pid);
        }
        self.ctx.record(What::Published {
            id,
            topic,
            qos: qos.as_u8(),
            retain: spec.retain,
        });
        Some(Packet::Publish(p))
    }
}
