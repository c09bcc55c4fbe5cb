//! The 5.0 operations of a case, time passing, and what a 5.0 CONNACK declines.

use super::*;
use crate::model::v5::{MsgV5, NEVER, SeenV5, SubOpts};
use crate::prop::ops_v5::{self, SHARED_FILTER, V5Op};
use mqttspec_codec::{Properties, Property, ReasonCode, SubscribeOptions};

/// A 5.0 operation as run, for the report and the reproducer.
#[derive(Debug, Clone)]
pub enum DoneV5 {
    Subscribe {
        slot: Slot,
        conn: ConnNo,
        filters: Vec<(String, u8, SubOpts)>,
    },
    Share {
        slot: Slot,
        conn: ConnNo,
        qos: u8,
    },
    Unshare {
        slot: Slot,
        conn: ConnNo,
    },
    Disconnect {
        slot: Slot,
        conn: ConnNo,
        expiry: Option<u32>,
        with_will: bool,
    },
    /// Time passed (a `pass` operation, or the runner waiting out a timed event the model
    /// cannot place).
    Wait {
        ms: u64,
    },
}

/// What the broker's first 5.0 CONNACK declined (5.0 section 3.2.2.3): the runner then
/// does not ask for it, so the model never demands it.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub max_qos: u8,
    pub retain: bool,
    pub shared: bool,
    pub wildcard: bool,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_qos: 2,
            retain: true,
            shared: true,
            wildcard: true,
        }
    }
}

impl Caps {
    pub fn from_connack(p: &Properties) -> Self {
        let mut c = Caps::default();
        for x in p.iter() {
            match x {
                Property::MaximumQos(q) => c.max_qos = (*q).min(2),
                Property::RetainAvailable(r) => c.retain = *r != 0,
                Property::SharedSubscriptionAvailable(s) => c.shared = *s != 0,
                Property::WildcardSubscriptionAvailable(w) => c.wildcard = *w != 0,
                _ => {}
            }
        }
        c
    }
}

impl Exec {
    /// A will a 5.0 broker takes: within its Maximum QoS and Retain Available.
    pub(super) fn will_within_caps(&self, mut w: WillSpec, v5: bool) -> WillSpec {
        if v5 {
            w.qos = w.qos.min(self.caps.max_qos);
            w.retain = w.retain && self.caps.retain;
        }
        w
    }

    /// Whether a CONNACK refused a will for QoS (0x9B) or retain (0x9A) the broker does
    /// not support; records that.
    pub(super) fn declined_will(&mut self, code: u8, w: &WillSpec) -> bool {
        match code {
            0x9B if w.qos > 0 => {
                self.caps.max_qos = w.qos - 1;
                true
            }
            0x9A if w.retain => {
                self.caps.retain = false;
                true
            }
            _ => false,
        }
    }

    pub(super) fn is_v5(&self, slot: Slot) -> bool {
        slot < 8 && self.v5_slots & (1 << slot) != 0
    }

    pub(super) fn now_ms(&self) -> u64 {
        Instant::now().duration_since(self.start).as_millis() as u64
    }

    pub(super) fn seen_v5(&self, p: &crate::prop::conn::RawPublish) -> Option<SeenV5> {
        self.model.is_v5_conn(p.conn).then(|| SeenV5 {
            expiry: p.expiry,
            user: p.user.clone(),
            at_ms: p.at.duration_since(self.start).as_millis() as u64,
        })
    }

    /// Before an operation: waits out every timed event the model cannot place yet, then
    /// applies what has surely happened (delayed wills, expiries) and settles it.
    pub(super) async fn advance(&mut self) -> Result<(), Violation> {
        let started = self.now_ms();
        let mut waited = false;
        loop {
            let now = self.now_ms();
            self.model.set_now(now);
            match self.model.ambiguous_until() {
                Some(until) if until >= now => {
                    tokio::time::sleep(Duration::from_millis(until - now + 1)).await;
                    waited = true;
                }
                _ => break,
            }
        }
        self.model.begin_op(self.done.len());
        let published = self.model.sweep();
        if waited || published {
            let ms = if waited {
                self.now_ms().saturating_sub(started)
            } else {
                0
            };
            self.done.push((
                Op::V5(V5Op::Pass { c: 0, secs: 0 }),
                Done::V5(DoneV5::Wait { ms }),
            ));
            if let Some(v) = self.settle().await {
                return Err(v);
            }
        }
        Ok(())
    }

    /// At the end of a case: every delayed will due before the end is waited for.
    pub(super) async fn wait_wills(&mut self) -> Result<(), Violation> {
        for _ in 0..4 {
            let Some(last) = self.model.last_will_due() else {
                break;
            };
            let now = self.now_ms();
            if last >= now {
                tokio::time::sleep(Duration::from_millis(last - now + 1)).await;
            }
            self.advance().await?;
        }
        Ok(())
    }

    /// The Session Expiry Interval and Will Delay Interval of the next CONNECT of `slot`
    /// (5.0 clients only).
    pub(super) fn take_v5_connect(&mut self, slot: Slot, clean: bool) -> Option<(u32, u32)> {
        let planned = self.v5_connect.take();
        if !self.is_v5(slot) {
            return None;
        }
        Some(planned.unwrap_or((if clean { 0 } else { NEVER }, 0)))
    }

    pub(super) fn connect_packet_v5(
        &self,
        slot: Slot,
        clean: bool,
        will: Option<&WillSpec>,
        expiry: u32,
        delay: u32,
    ) -> Connect {
        let mut props = Properties::new();
        if expiry > 0 {
            props.push(Property::SessionExpiryInterval(expiry));
        }
        let mut will_props = Properties::new();
        if delay > 0 {
            will_props.push(Property::WillDelayInterval(delay));
        }
        Connect {
            version: ProtocolVersion::V5,
            clean_start: clean,
            keep_alive: 60,
            properties: props,
            client_id: self.client_id(slot).into(),
            will: will.map(|w| Will {
                topic: self.full_topic(&w.topic).into(),
                payload: w.payload.clone().into(),
                qos: qos(w.qos),
                retain: w.retain,
                properties: will_props,
            }),
            username: self.cfg.username.clone().map(Into::into),
            password: self
                .cfg
                .username
                .as_ref()
                .and(self.cfg.password.clone())
                .map(Into::into),
        }
    }

    /// Connects a client that is not connected (Clean Start 0, a session that does not
    /// expire), as the 3.1.1 operations do.
    async fn implied_connect(&mut self, op: &Op, slot: Slot) -> Result<(), Violation> {
        if self.conns.contains_key(&slot) {
            return Ok(());
        }
        let implied = Op::Connect {
            c: op.client(),
            clean: false,
            will: None,
            hold: Hold::No,
            keep_alive: 60,
        };
        self.connect(&implied, slot, false, None, Hold::No, 60)
            .await?;
        self.settle_or(op).await?;
        self.model.begin_op(self.done.len());
        Ok(())
    }

    pub(super) async fn apply_v5(
        &mut self,
        op: &Op,
        v: &V5Op,
        slot: Slot,
    ) -> Result<bool, Violation> {
        if let V5Op::Pass { secs, .. } = v {
            let ms = ops_v5::pass_secs(*secs) * 1000;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            self.done.push((op.clone(), Done::V5(DoneV5::Wait { ms })));
            // What became due while time passed is placed now, before the judging.
            self.advance().await?;
            return Ok(true);
        }
        if !self.is_v5(slot) {
            // A 3.1.1 client runs the 3.1.1 counterpart.
            let plain = match v {
                V5Op::Connect {
                    c,
                    clean,
                    will,
                    hold,
                    ..
                } => Op::Connect {
                    c: *c,
                    clean: *clean,
                    will: will.clone(),
                    hold: hold_mode(*hold),
                    keep_alive: 60,
                },
                V5Op::Subscribe { c, filters } => Op::Subscribe {
                    c: *c,
                    filters: filters.iter().map(|(f, q, _)| (*f, *q)).collect(),
                },
                V5Op::Disconnect { c, .. } => Op::Disconnect { c: *c },
                V5Op::Publish {
                    shared: false,
                    c,
                    topic,
                    qos,
                    retain,
                    count,
                    ..
                } => Op::Publish {
                    c: *c,
                    topic: *topic,
                    qos: *qos,
                    retain: *retain,
                    size: Size::Small,
                    count: *count,
                },
                V5Op::Publish { .. } => {
                    // Onto the shared space, without properties.
                    self.implied_connect(op, slot).await?;
                    return self.publish_v5(op, v, slot, false).await;
                }
                _ => return Ok(false),
            };
            return Box::pin(self.apply(&plain, slot)).await;
        }
        match v {
            V5Op::Connect {
                clean,
                expiry,
                will,
                will_delay,
                hold,
                ..
            } => {
                if !self.model.connect_is_modelled(slot, *clean) {
                    return Ok(false);
                }
                self.v5_connect = Some((ops_v5::expiry(*expiry), ops_v5::will_delay(*will_delay)));
                self.connect(op, slot, *clean, will.as_ref(), hold_mode(*hold), 60)
                    .await?;
                Ok(true)
            }
            V5Op::Disconnect {
                expiry, with_will, ..
            } => {
                let Some(c) = self.conns.remove(&slot) else {
                    return Ok(false);
                };
                let expiry = expiry.map(ops_v5::expiry);
                let mut d = Disconnect::default();
                if *with_will {
                    d.reason_code = Some(ReasonCode(0x04));
                }
                if let Some(e) = expiry {
                    d.properties = Some(Properties::new().with(Property::SessionExpiryInterval(e)));
                }
                c.send(Packet::Disconnect(d));
                c.shutdown();
                self.wait_closed(c.no).await;
                self.model.disconnect_v5(slot, expiry, *with_will);
                self.done.push((
                    op.clone(),
                    Done::V5(DoneV5::Disconnect {
                        slot,
                        conn: c.no,
                        expiry,
                        with_will: *with_will,
                    }),
                ));
                Ok(true)
            }
            V5Op::Subscribe { filters, .. } => {
                self.implied_connect(op, slot).await?;
                let mut list: Vec<(String, u8, SubOpts)> = Vec::new();
                for (f, q, o) in filters {
                    let f = filter(*f).to_owned();
                    let (no_local, retain_as_published, retain_handling) = ops_v5::opts(*o);
                    if !list.iter().any(|(g, _, _)| *g == f) {
                        list.push((
                            f,
                            *q,
                            SubOpts {
                                no_local,
                                retain_as_published,
                                retain_handling,
                            },
                        ));
                    }
                }
                if !self.caps.wildcard {
                    list.retain(|(f, _, _)| !has_wildcard(f));
                    if list.is_empty() {
                        return Ok(false);
                    }
                }
                let subs = list
                    .iter()
                    .map(|(f, q, o)| Subscription {
                        filter: format!("{}/{f}", self.cfg.topic_prefix).into(),
                        options: SubscribeOptions {
                            qos: qos(*q),
                            no_local: o.no_local,
                            retain_as_published: o.retain_as_published,
                            retain_handling: o.retain_handling,
                        },
                    })
                    .collect();
                let Some((no, codes)) = self.subscribe_packet(slot, subs).await? else {
                    return Ok(false);
                };
                if let Some(v) = check_grants(&codes, &list.iter().map(|x| x.1).collect::<Vec<_>>())
                {
                    return Err(v);
                }
                self.model.subscribe_v5(slot, &list, &codes);
                self.done.push((
                    op.clone(),
                    Done::V5(DoneV5::Subscribe {
                        slot,
                        conn: no,
                        filters: list,
                    }),
                ));
                Ok(true)
            }
            V5Op::Share { qos: q, .. } => {
                // The CONNACK tells (implied connect first): a broker that declined
                // shared subscriptions gets none (3.2.2.3.15).
                self.implied_connect(op, slot).await?;
                if !self.caps.shared {
                    return Ok(false);
                }
                let subs = vec![Subscription {
                    filter: self.shared_filter().into(),
                    options: SubscribeOptions {
                        qos: qos(*q),
                        ..SubscribeOptions::default()
                    },
                }];
                let Some((no, codes)) = self.subscribe_packet(slot, subs).await? else {
                    return Ok(false);
                };
                if let Some(v) = check_grants(&codes, &[*q]) {
                    return Err(v);
                }
                if let Some(&code) = codes.first() {
                    self.model.subscribe_shared(slot, code);
                }
                self.done.push((
                    op.clone(),
                    Done::V5(DoneV5::Share {
                        slot,
                        conn: no,
                        qos: *q,
                    }),
                ));
                Ok(true)
            }
            V5Op::Unshare { .. } => {
                if !self.caps.shared {
                    return Ok(false);
                }
                let filter = self.shared_filter();
                let Some(c) = self.conns.get_mut(&slot) else {
                    return Ok(false);
                };
                let no = c.no;
                let pid = c.next_packet_id();
                c.send(Packet::Unsubscribe(Unsubscribe {
                    packet_id: pid,
                    filters: vec![filter.into()],
                    ..Unsubscribe::default()
                }));
                self.ack(
                    no,
                    "UNSUBACK",
                    &["5.0/MQTT-3.10.4-4"],
                    |p| matches!(p, Packet::UnsubAck(a) if a.packet_id == pid),
                )
                .await?;
                self.model.unsubscribe_shared(slot);
                self.done
                    .push((op.clone(), Done::V5(DoneV5::Unshare { slot, conn: no })));
                Ok(true)
            }
            V5Op::Publish { .. } => {
                self.implied_connect(op, slot).await?;
                self.publish_v5(op, v, slot, true).await
            }
            V5Op::Pass { .. } => Ok(false),
        }
    }

    fn shared_filter(&self) -> String {
        format!("$share/g/{}", self.full_topic(SHARED_FILTER))
    }

    /// Sends a SUBSCRIBE and returns the connection and the SUBACK's codes.
    async fn subscribe_packet(
        &mut self,
        slot: Slot,
        subs: Vec<Subscription>,
    ) -> Result<Option<(ConnNo, Vec<u8>)>, Violation> {
        let Some(c) = self.conns.get_mut(&slot) else {
            return Ok(None);
        };
        let no = c.no;
        let pid = c.next_packet_id();
        c.send(Packet::Subscribe(Subscribe {
            packet_id: pid,
            subscriptions: subs,
            ..Subscribe::default()
        }));
        let p = self
            .ack(
                no,
                "SUBACK",
                &["5.0/MQTT-3.8.4-1"],
                |p| matches!(p, Packet::SubAck(a) if a.packet_id == pid),
            )
            .await?;
        let Packet::SubAck(a) = p else {
            return Ok(None);
        };
        Ok(Some((no, a.return_codes.iter().map(|c| c.0).collect())))
    }

    /// A 5.0 PUBLISH (with its properties when `v5`), `count` times.
    async fn publish_v5(
        &mut self,
        op: &Op,
        v: &V5Op,
        slot: Slot,
        v5: bool,
    ) -> Result<bool, Violation> {
        let V5Op::Publish {
            topic: t,
            qos: q,
            retain,
            expiry,
            users,
            shared,
            count,
            ..
        } = v
        else {
            return Ok(false);
        };
        let rel = if *shared {
            ops_v5::shared_topic(*t)
        } else {
            topic(*t)
        }
        .to_owned();
        // Nothing the broker declined (5.0/MQTT-3.2.2-11, -14); no retained messages on
        // the shared space (the cleanup clears the ordinary topics only).
        let q = if v5 { (*q).min(self.caps.max_qos) } else { *q };
        let retain = *retain && !*shared && (!v5 || self.caps.retain);
        let (expiry, user) = if v5 {
            (
                ops_v5::msg_expiry(*expiry).filter(|_| !retain),
                ops_v5::users(*users),
            )
        } else {
            (None, Vec::new())
        };
        for k in 0..(*count).max(1) {
            if k > 0 {
                self.model.begin_op(self.done.len());
            }
            let id = self.next_msg;
            let full = self.full_topic(&rel);
            let Some(c) = self.conns.get_mut(&slot) else {
                return Ok(false);
            };
            self.next_msg += 1;
            let no = c.no;
            let body = payload(id, Size::Small, false);
            let mut p = Publish::new(full, qos(q), body.clone());
            p.retain = retain;
            if let Some(e) = expiry {
                p.properties.push(Property::MessageExpiryInterval(e));
            }
            for (k, v) in &user {
                p.properties
                    .push(Property::UserProperty(k.clone().into(), v.clone().into()));
            }
            let pid = if q > 0 { c.next_packet_id() } else { 0 };
            p.packet_id = pid;
            let sent_ms = Instant::now().duration_since(self.start).as_millis() as u64;
            c.send(Packet::Publish(p));
            if q == 0 {
                c.send(Packet::PingReq);
            }
            let msg = Message {
                id,
                key: crate::model::key_for(id, &rel, &body),
                publisher: slot,
                topic: rel.clone(),
                qos: q,
                retain,
                payload: body,
                will: false,
            };
            let acked = self.publish_acks(no, q, pid).await;
            let acked_ms = self.now_ms();
            self.model.note_v5(
                id,
                MsgV5 {
                    expiry,
                    user: user.clone(),
                    sent_ms,
                    acked_ms,
                },
            );
            self.model.publish(msg.clone());
            self.done.push((
                op.clone(),
                Done::Publish {
                    slot,
                    conn: no,
                    msg,
                    twice: false,
                },
            ));
            acked?;
        }
        Ok(true)
    }
}

/// Whether a filter has a wildcard (a broker may decline those: 3.2.2.3.13).
pub(super) fn has_wildcard(f: &str) -> bool {
    f.contains(['+', '#'])
}

/// A SUBACK must have one code per filter, each granting at most the QoS asked or a
/// failure code (5.0/MQTT-3.9.3-1, 3.9.3).
fn check_grants(codes: &[u8], asked: &[u8]) -> Option<Violation> {
    if codes.len() != asked.len() || codes.iter().zip(asked).any(|(c, q)| *c < 0x80 && *c > *q) {
        return Some(protocol(
            "the SUBACK does not grant what was asked".into(),
            &["5.0/MQTT-3.8.4-6", "5.0/MQTT-3.9.3-1"],
            &format!(
                "{} codes, each at most the QoS asked, or a failure code",
                asked.len()
            ),
            format!("{codes:?}"),
        ));
    }
    None
}

/// A 5.0 connection holds all its acknowledgements or none.
fn hold_mode(hold: bool) -> Hold {
    if hold { Hold::All } else { Hold::No }
}
