//! Routing a published message (or a will) to the sessions, as obligations.

use super::*;

impl Model {
    /// A PUBLISH the broker acknowledged (or, at QoS 0, read before a later PINGREQ).
    pub fn publish(&mut self, msg: Message) {
        let op = self.op;
        let id = msg.id;
        self.messages.insert(id, msg.clone());
        if msg.retain {
            let entry = self.retained.entry(msg.topic.clone()).or_default();
            if msg.payload.is_empty() {
                // An empty retained message removes the retained one and is not kept
                // (3.1.1/MQTT-3.3.1-10, -11).
                *entry = Retained::default();
                entry.certain = true;
            } else if msg.qos == 0 {
                // A retained QoS 0 message discards the old one; keeping the new one is
                // only recommended, and it may be discarded at any time (3.1.1/MQTT-3.3.1-7).
                *entry = Retained {
                    candidates: vec![id],
                    certain: false,
                };
            } else {
                // Stored, replacing the old one (3.1.1/MQTT-3.3.1-5).
                *entry = Retained {
                    candidates: vec![id],
                    certain: true,
                };
            }
        }
        // The message goes to every session with a matching subscription
        // (3.1.1/MQTT-4.5.0-1), with RETAIN 0 (3.1.1/MQTT-3.3.1-9) unless a 5.0
        // subscription has Retain As Published (5.0/MQTT-3.3.1-13).
        let slots: Vec<Slot> = self.sessions.keys().copied().collect();
        for slot in slots {
            let Some(session) = self.sessions.get_mut(&slot) else {
                continue;
            };
            let picks = Model::live_grants(session, &msg, slot);
            let grants: Vec<u8> = picks.iter().map(|p| p.0).collect();
            let Some(&max) = grants.iter().max() else {
                continue;
            };
            // Overlapping subscriptions with different Retain As Published: a single copy
            // may carry either RETAIN, so neither is demanded (see the end of the loop).
            let retain = picks[0].1;
            let mixed_retain = picks.iter().any(|p| p.1 != retain);
            // Overlapping subscriptions: one copy at the highest QoS, or one copy per
            // subscription, each at its own QoS (3.3, 3.1.1/MQTT-3.3.5-1). Either way a
            // copy at the highest QoS comes.
            let mut alt = grants.clone();
            alt.sort_unstable();
            alt.dedup();
            // A will sent to its own client's session: whether the old connection's
            // session sees it (queued, or before a takeover replaced it) depends on when
            // the broker publishes it relative to closing the session, which 3.1.2.5 does
            // not fix.
            let own_will = msg.will && msg.publisher == slot;
            match session.conn.as_ref() {
                Some(conn) => {
                    // A connection holding PUBCOMP holds only QoS 2 flows.
                    let held = (conn.hold && max > 0) || (conn.comp && max == 2);
                    let over = held && session.unacked.len() + session.released.len() >= HOLD_LIMIT;
                    let must = !own_will && !over && !mixed_retain;
                    if over {
                        session.lax.push(id);
                        if retain || mixed_retain {
                            self.v5.queued_retain.insert((slot, id), mixed_retain);
                        }
                    } else if held && must {
                        if conn.comp {
                            session.released.push(id);
                        } else {
                            session.unacked.push((id, max, retain));
                        }
                    }
                    let conn_no = conn.no;
                    if must && max > 0 && !msg.will {
                        // Same publisher, topic and QoS: in the order published
                        // (3.1.1/MQTT-4.6.0-6).
                        let k = (msg.publisher, msg.topic.clone(), msg.qos);
                        if let Some(prev) = session.last_in_order.insert(k, id) {
                            self.order.push(OrderRule {
                                slot,
                                first: prev,
                                second: id,
                            });
                        }
                    }
                    if mixed_retain {
                        self.obligations.push(Obligation {
                            slot,
                            msg: id,
                            key: msg.key.clone(),
                            cause: Cause::Live,
                            must: false,
                            must_qos: Some(max),
                            qos_alt: alt.clone(),
                            copies: grants.len(),
                            retain: !retain,
                            dup: false,
                            from_conn: conn_no,
                            op,
                            rule: &["5.0/MQTT-3.3.1-12", "5.0/MQTT-3.3.1-13"],
                        });
                    }
                    self.obligations.push(Obligation {
                        slot,
                        msg: id,
                        key: msg.key.clone(),
                        cause: Cause::Live,
                        must,
                        must_qos: Some(max),
                        qos_alt: alt,
                        copies: grants.len(),
                        retain,
                        dup: false,
                        from_conn: conn_no,
                        op,
                        rule: &[
                            "3.1.1/MQTT-4.5.0-1",
                            "3.1.1/MQTT-3.3.5-1",
                            "3.1.1/MQTT-3.8.4-6",
                            "3.1.1/MQTT-3.3.1-9",
                        ],
                    });
                }
                None => {
                    // Offline persistent session: QoS 1/2 kept (3.1.1/MQTT-3.1.2-5), QoS 0
                    // optionally (3.1.2.4). Copies per overlapping subscription are
                    // allowed as for live delivery. A session a restart may have lost
                    // ([`Model::restart`]) may get them or not.
                    if own_will || session.uncertain {
                        // One copy per matching subscription may come (3.3.5).
                        for _ in 0..grants.len() {
                            session.lax.push(id);
                        }
                        if retain || mixed_retain {
                            self.v5.queued_retain.insert((slot, id), mixed_retain);
                        }
                    } else {
                        if max > 0 && !msg.will {
                            let k = (msg.publisher, msg.topic.clone(), msg.qos);
                            if let Some(prev) = session.last_in_order.insert(k, id) {
                                self.order.push(OrderRule {
                                    slot,
                                    first: prev,
                                    second: id,
                                });
                            }
                        }
                        session.queued.push((id, max, max > 0));
                        if retain || mixed_retain {
                            self.v5.queued_retain.insert((slot, id), mixed_retain);
                        }
                        for _ in 1..grants.len() {
                            session.lax.push(id);
                        }
                    }
                }
            }
        }
        // The shared subscription's filter matches the shared-space topics only (v5.rs);
        // ordinary subscriptions may match them too (their obligations come first).
        if msg.topic.starts_with(v5::SHARED_SPACE) {
            self.route_shared(&msg);
        }
    }
}
