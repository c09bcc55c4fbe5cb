//! The operations of a case, one by one.

use super::*;

impl Exec {
    pub(super) async fn apply(&mut self, op: &Op, slot: Slot) -> Result<bool, Violation> {
        if self.held.contains(&slot)
            && !matches!(
                op,
                Op::Release { .. }
                    | Op::Idle { .. }
                    | Op::Restart { .. }
                    | Op::V5(crate::prop::ops_v5::V5Op::Pass { .. })
            )
        {
            // A held client does nothing until its release (its packets could not pass).
            return Ok(false);
        }
        if let Op::V5(v) = op {
            return self.apply_v5(op, v, slot).await;
        }
        let connected = self.conns.contains_key(&slot);
        if !connected
            && matches!(
                op,
                Op::Subscribe { .. }
                    | Op::Unsubscribe { .. }
                    | Op::Publish { .. }
                    | Op::PublishTwice { .. }
            )
        {
            // A client that is not connected connects first (a persistent session, which
            // is what the stateful rules are about), so that every operation counts.
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
        }
        match op {
            Op::Connect {
                clean,
                will,
                hold,
                keep_alive,
                ..
            } => {
                if !self.model.connect_is_modelled(slot, *clean) {
                    return Ok(false);
                }
                self.connect(op, slot, *clean, will.as_ref(), *hold, *keep_alive)
                    .await?;
            }
            Op::Disconnect { .. } | Op::Drop { .. } | Op::Partition { .. } | Op::Silence { .. }
                if !connected =>
            {
                return Ok(false);
            }
            Op::Idle { ms, .. } => {
                // Time passes; connections with a short keep alive ping on their own.
                let ms = u64::from(*ms);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                self.done.push((op.clone(), Done::Idle { ms }));
            }
            Op::Silence { .. } => return self.silence(op, slot).await,
            Op::Restart { ms, .. } => return self.restart(op, *ms).await,
            Op::Hold { .. } => {
                // Only in the simulator, and not on a short keep alive, whose pings would
                // wait too and let the broker close the connection.
                let Some(c) = self.conns.get(&slot) else {
                    return Ok(false);
                };
                if self.cfg.broker_control.is_none() || c.keep_alive < 60 {
                    return Ok(false);
                }
                c.hold();
                let conn = c.no;
                self.held.insert(slot);
                self.done.push((op.clone(), Done::Hold { slot, conn }));
            }
            Op::Release { .. } => {
                if !self.held.remove(&slot) {
                    return Ok(false);
                }
                let Some(c) = self.conns.get(&slot) else {
                    return Ok(false);
                };
                c.release();
                let conn = c.no;
                self.done.push((op.clone(), Done::Release { slot, conn }));
            }
            Op::PublishTwice {
                topic: t,
                retain,
                size,
                ..
            } => {
                if !self.publish_one(op, slot, *t, 2, *retain, *size).await? {
                    return Ok(false);
                }
            }
            Op::Partition { ms, .. } => {
                let Some(c) = self.conns.get(&slot) else {
                    return Ok(false);
                };
                // A stall, not a loss: TCP delivers what waited, in order, and the keep
                // alive (60 s) is far away, so the model has nothing to change. Kept under
                // half the delivery wait, so that what is delayed still counts as on time.
                let ms = u64::from(*ms).min(self.cfg.must_wait.as_millis() as u64 / 2);
                c.partition(Duration::from_millis(ms));
                let conn = c.no;
                self.done
                    .push((op.clone(), Done::Partition { slot, conn, ms }));
            }
            Op::Disconnect { .. } => {
                let Some(c) = self.conns.remove(&slot) else {
                    return Ok(false);
                };
                c.send(Packet::Disconnect(Disconnect::default()));
                c.shutdown();
                self.wait_closed(c.no).await;
                self.model.disconnect(slot);
                self.done
                    .push((op.clone(), Done::Disconnect { slot, conn: c.no }));
            }
            Op::Drop { .. } => {
                let Some(c) = self.conns.remove(&slot) else {
                    return Ok(false);
                };
                c.shutdown();
                self.wait_closed(c.no).await;
                self.model.drop_conn(slot);
                self.done
                    .push((op.clone(), Done::Drop { slot, conn: c.no }));
            }
            Op::Subscribe { filters, .. } => {
                let mut list: Vec<(String, u8)> = Vec::new();
                for (f, q) in filters {
                    let f = filter(*f).to_owned();
                    if !list.iter().any(|(g, _)| *g == f) {
                        list.push((f, *q));
                    }
                }
                // A 5.0 broker that declined wildcards gets none (3.2.2.3.13).
                if self.is_v5(slot) && !self.caps.wildcard {
                    list.retain(|(f, _)| !super::v5::has_wildcard(f));
                    if list.is_empty() {
                        return Ok(false);
                    }
                }
                let Some(c) = self.conns.get_mut(&slot) else {
                    return Ok(false);
                };
                let no = c.no;
                let pid = c.next_packet_id();
                let subs = list
                    .iter()
                    .map(|(f, q)| {
                        Subscription::new(format!("{}/{f}", self.cfg.topic_prefix), qos(*q))
                    })
                    .collect();
                c.send(Packet::Subscribe(Subscribe {
                    packet_id: pid,
                    subscriptions: subs,
                    ..Subscribe::default()
                }));
                let p = self
                    .ack(
                        no,
                        "SUBACK",
                        &["3.1.1/MQTT-3.8.4-1"],
                        |p| matches!(p, Packet::SubAck(a) if a.packet_id == pid),
                    )
                    .await?;
                let Packet::SubAck(a) = p else {
                    return Ok(true);
                };
                let codes: Vec<u8> = a.return_codes.iter().map(|c| c.0).collect();
                // 5.0 has more failure codes than 0x80 (3.9.3).
                let v5 = self.is_v5(slot);
                if codes.len() != list.len()
                    || codes
                        .iter()
                        .zip(&list)
                        .any(|(c, (_, q))| *c != 0x80 && !(v5 && *c > 0x80) && *c > *q)
                {
                    // The SUBSCRIBE is a step of the reproducer, which states the codes a
                    // correct SUBACK may have; the model takes the filters as granted.
                    let asked: Vec<u8> = list.iter().map(|(_, q)| *q).collect();
                    self.model.subscribe(slot, &list, &asked);
                    self.done.push((
                        op.clone(),
                        Done::Subscribe {
                            slot,
                            conn: no,
                            filters: list.clone(),
                            suback_checked: true,
                        },
                    ));
                    return Err(protocol(
                        "the SUBACK does not grant what was asked".into(),
                        &["3.1.1/MQTT-3.8.4-5", "3.1.1/MQTT-3.9.3-1"],
                        &format!("{} codes, each at most the QoS asked, or 0x80", list.len()),
                        format!("{codes:?}"),
                    ));
                }
                self.model.subscribe(slot, &list, &codes);
                self.done.push((
                    op.clone(),
                    Done::Subscribe {
                        slot,
                        conn: no,
                        filters: list,
                        suback_checked: false,
                    },
                ));
            }
            Op::Unsubscribe { filters, .. } => {
                let mut list: Vec<String> = Vec::new();
                for f in filters {
                    let f = filter(*f).to_owned();
                    if !list.contains(&f) {
                        list.push(f);
                    }
                }
                let Some(c) = self.conns.get_mut(&slot) else {
                    return Ok(false);
                };
                let no = c.no;
                let pid = c.next_packet_id();
                let filters = list
                    .iter()
                    .map(|f| format!("{}/{f}", self.cfg.topic_prefix).into())
                    .collect();
                c.send(Packet::Unsubscribe(Unsubscribe {
                    packet_id: pid,
                    filters,
                    ..Unsubscribe::default()
                }));
                self.ack(
                    no,
                    "UNSUBACK",
                    &["3.1.1/MQTT-3.10.4-4"],
                    |p| matches!(p, Packet::UnsubAck(a) if a.packet_id == pid),
                )
                .await?;
                self.model.unsubscribe(slot, &list);
                self.done.push((
                    op.clone(),
                    Done::Unsubscribe {
                        slot,
                        conn: no,
                        filters: list,
                    },
                ));
            }
            Op::V5(_) => return Ok(false),
            Op::Publish {
                topic: t,
                qos: q,
                retain,
                size,
                count,
                ..
            } => {
                for k in 0..(*count).max(1) {
                    if k > 0 {
                        self.model.begin_op(self.done.len());
                    }
                    if !self.publish_one(op, slot, *t, *q, *retain, *size).await? {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// One PUBLISH, acknowledged; `Ok(false)` if the client is not connected.
    async fn publish_one(
        &mut self,
        op: &Op,
        slot: Slot,
        t: u8,
        q: u8,
        retain: bool,
        size: Size,
    ) -> Result<bool, Violation> {
        // A 5.0 client keeps within what the broker's CONNACK declined.
        let (q, retain) = if self.is_v5(slot) {
            (q.min(self.caps.max_qos), retain && self.caps.retain)
        } else {
            (q, retain)
        };
        if matches!(op, Op::PublishTwice { .. }) && q < 2 {
            // The broker declined QoS 2: there is no QoS 2 flow to send twice.
            return Ok(false);
        }
        let id = self.next_msg;
        let rel = topic(t).to_owned();
        let full = self.full_topic(&rel);
        let Some(c) = self.conns.get_mut(&slot) else {
            return Ok(false);
        };
        self.next_msg += 1;
        let no = c.no;
        let body = payload(id, size, false);
        let mut p = Publish::new(full, qos(q), body.clone());
        p.retain = retain;
        let pid = if q > 0 { c.next_packet_id() } else { 0 };
        p.packet_id = pid;
        let twice = matches!(op, Op::PublishTwice { .. });
        let again = twice.then(|| {
            let mut again = p.clone();
            again.dup = true;
            again
        });
        match again {
            // In one write with the first, so that the broker reads it before the PUBREL
            // the connection sends on the first PUBREC.
            Some(again) => c.send_batch(vec![Packet::Publish(p), Packet::Publish(again)]),
            None => c.send(Packet::Publish(p)),
        }
        if q == 0 {
            // A PINGRESP after the PUBLISH: the broker has read it.
            c.send(Packet::PingReq);
        }
        let msg = Message {
            id,
            key: crate::model::key_for(id, &rel, &body),
            publisher: slot,
            topic: rel,
            qos: q,
            retain,
            payload: body,
            will: false,
        };
        let acked = if twice {
            self.publish_twice_acks(no, pid).await
        } else {
            self.publish_acks(no, q, pid).await
        };
        if let Err(v) = acked {
            // The PUBLISH went out: the reproducer sends it and expects the acknowledgement
            // that did not come (no PUBACK, no PUBCOMP, a wrong packet identifier). The
            // broker may have routed it: the model knows it, so the reproducer allows it.
            self.model.publish(msg.clone());
            self.done.push((
                op.clone(),
                Done::Publish {
                    slot,
                    conn: no,
                    msg,
                    twice,
                },
            ));
            return Err(v);
        }
        self.model.publish(msg.clone());
        self.done.push((
            op.clone(),
            Done::Publish {
                slot,
                conn: no,
                msg,
                twice,
            },
        ));
        Ok(true)
    }

    /// A QoS 2 PUBLISH sent twice before PUBREL: PUBREC for each (the receiver answers a
    /// duplicate with PUBREC and does not deliver it again, 3.1.1/MQTT-4.3.3-2), then
    /// PUBCOMP for the one PUBREL the connection sends.
    async fn publish_twice_acks(&mut self, no: ConnNo, pid: u16) -> Result<(), Violation> {
        let pubrec = |p: &Packet| matches!(p, Packet::PubRec(a) if a.packet_id == pid);
        let rule = &["3.1.1/MQTT-4.3.3-2"];
        self.ack(no, "PUBREC", rule, pubrec).await?;
        self.ack(no, "PUBREC", rule, pubrec).await?;
        self.ack(
            no,
            "PUBCOMP",
            rule,
            |p| matches!(p, Packet::PubComp(a) if a.packet_id == pid),
        )
        .await?;
        Ok(())
    }

    /// The broker's acknowledgements of a PUBLISH at QoS `q` (the PINGRESP to the PINGREQ
    /// sent after a QoS 0 one).
    pub(super) async fn publish_acks(
        &mut self,
        no: ConnNo,
        q: u8,
        pid: u16,
    ) -> Result<(), Violation> {
        match q {
            0 => {
                self.ack(no, "PINGRESP", &["3.1.1/MQTT-3.12.4-1"], |p| {
                    matches!(p, Packet::PingResp)
                })
                .await?;
            }
            1 => {
                self.ack(
                    no,
                    "PUBACK",
                    &["3.1.1/MQTT-4.3.2-2"],
                    |p| matches!(p, Packet::PubAck(a) if a.packet_id == pid),
                )
                .await?;
            }
            _ => {
                self.ack(
                    no,
                    "PUBREC",
                    &["3.1.1/MQTT-4.3.3-2"],
                    |p| matches!(p, Packet::PubRec(a) if a.packet_id == pid),
                )
                .await?;
                self.ack(
                    no,
                    "PUBCOMP",
                    &["3.1.1/MQTT-4.3.3-2"],
                    |p| matches!(p, Packet::PubComp(a) if a.packet_id == pid),
                )
                .await?;
            }
        }
        Ok(())
    }

    pub(super) async fn connect(
        &mut self,
        op: &Op,
        slot: Slot,
        clean: bool,
        will: Option<&crate::prop::ops::WillOp>,
        hold: Hold,
        keep_alive: u16,
    ) -> Result<(), Violation> {
        let will = will.map(|w| {
            let id = self.next_msg;
            self.next_msg += 1;
            WillSpec {
                id,
                topic: topic(w.topic).to_owned(),
                qos: w.qos,
                retain: w.retain,
                payload: payload(id, if w.empty { Size::Empty } else { Size::Small }, true),
            }
        });
        let no = self.model.next_conn();
        // A short keep alive: pings four times per period, so that partitions (at most
        // half the delivery wait) and idle time do not let it run out.
        let ping = (keep_alive < 60).then(|| Duration::from_millis(u64::from(keep_alive) * 250));
        let v5 = self.take_v5_connect(slot, clean);
        // Nothing a 5.0 broker declined (5.0/MQTT-3.2.2-12, -13).
        let will = will.map(|w| self.will_within_caps(w, v5.is_some()));
        self.model.conn_opened(no, self.now_ms());
        let mut conn = Conn::open_v(
            &self.cfg.endpoint,
            no,
            slot,
            hold,
            ping,
            self.shared.clone(),
            self.cfg.ack_wait,
            if v5.is_some() {
                ProtocolVersion::V5
            } else {
                ProtocolVersion::V311
            },
        )
        .await
        .map_err(|e| {
            protocol(
                "the broker took no connection".into(),
                &["3.1.1/MQTT-3.1.4-1"],
                "a TCP connection",
                e,
            )
        })?;
        let _ = conn.next_packet_id();
        conn.keep_alive = keep_alive;
        let connect = Connect {
            version: ProtocolVersion::V311,
            clean_start: clean,
            keep_alive,
            client_id: self.client_id(slot).into(),
            will: will.as_ref().map(|w| Will {
                topic: self.full_topic(&w.topic).into(),
                payload: w.payload.clone().into(),
                qos: qos(w.qos),
                retain: w.retain,
                properties: Default::default(),
            }),
            username: self.cfg.username.clone().map(Into::into),
            password: self
                .cfg
                .username
                .as_ref()
                .and(self.cfg.password.clone())
                .map(Into::into),
            ..Connect::default()
        };
        let connect = match v5 {
            Some((expiry, delay)) => {
                self.connect_packet_v5(slot, clean, will.as_ref(), expiry, delay)
            }
            None => connect,
        };
        conn.send(Packet::Connect(connect));
        let p = self
            .ack(
                no,
                "CONNACK",
                &["3.1.1/MQTT-3.2.0-1", "3.1.1/MQTT-3.1.4-4"],
                |p| matches!(p, Packet::ConnAck(_)),
            )
            .await?;
        let Packet::ConnAck(ack) = p else {
            return Ok(());
        };
        if v5.is_some()
            && let Some(w) = &will
            && self.declined_will(ack.code.0, w)
        {
            // Refused for what the will asked: the broker's right (5.0/MQTT-3.2.2-12,
            // -13). Later wills keep within what it takes; this CONNECT did not happen.
            self.model.burn_conn();
            return Ok(());
        }
        if ack.code.0 != 0 {
            // The CONNECT is a step of the reproducer, which expects it accepted: the model
            // takes it as a correct broker would.
            let outcome = self.model.connect_holding(slot, clean, will.clone(), hold);
            self.done.push((
                op.clone(),
                Done::Connect {
                    slot,
                    conn: no,
                    clean,
                    will,
                    hold,
                    keep_alive,
                    session_present: outcome.session_present,
                    took_over: outcome.took_over,
                },
            ));
            return Err(protocol(
                format!("the broker refused client c{slot}"),
                &["3.1.1/MQTT-3.1.4-4"],
                "CONNACK 0",
                format!("CONNACK {:#04x}", ack.code.0),
            ));
        }
        if v5.is_some() && !self.caps_seen {
            self.caps = super::v5::Caps::from_connack(&ack.properties);
            self.caps_seen = true;
        }
        let old = self.conns.insert(slot, conn);
        if !clean && !ack.session_present && self.model.session_uncertain(slot) {
            // After a restart the broker may have lost the session: its CONNACK says.
            self.model.forget_session(slot);
        }
        let outcome = match v5 {
            Some((expiry, will_delay)) => self.model.connect_v5(
                slot,
                crate::model::v5::ConnectV5 {
                    clean_start: clean,
                    expiry,
                    will: will.clone(),
                    will_delay,
                    hold,
                },
            ),
            None => self.model.connect_holding(slot, clean, will.clone(), hold),
        };
        if !clean && !self.persistent.contains(&slot) {
            self.persistent.push(slot);
        }
        self.done.push((
            op.clone(),
            Done::Connect {
                slot,
                conn: no,
                clean,
                will,
                hold,
                keep_alive,
                session_present: outcome.session_present,
                took_over: outcome.took_over,
            },
        ));
        if ack.session_present != outcome.session_present {
            return Err(Violation {
                kind: ViolationKind::SessionPresent,
                slot: Some(slot),
                msg: None,
                rule: if clean {
                    vec!["3.1.1/MQTT-3.2.2-1".into()]
                } else if outcome.session_present {
                    vec!["3.1.1/MQTT-3.2.2-2".into(), "3.1.1/MQTT-3.1.2-4".into()]
                } else {
                    vec!["3.1.1/MQTT-3.2.2-3".into()]
                },
                summary: format!("wrong Session Present for client c{slot}"),
                expected: format!("Session Present {}", u8::from(outcome.session_present)),
                got: format!("Session Present {}", u8::from(ack.session_present)),
            });
        }
        if let Some(old) = old {
            // The existing client must be disconnected (3.1.1/MQTT-3.1.4-2).
            let closed = self
                .shared
                .wait_until(Instant::now() + self.cfg.ack_wait, |i| {
                    i.closed.contains(&old.no)
                })
                .await;
            if !closed {
                return Err(protocol(
                    format!(
                        "the broker left connection #{} of client c{slot} open after a takeover",
                        old.no
                    ),
                    &["3.1.1/MQTT-3.1.4-2"],
                    "the old connection closed by the broker",
                    format!("still open after {:?}", self.cfg.ack_wait),
                ));
            }
        }
        Ok(())
    }
}
