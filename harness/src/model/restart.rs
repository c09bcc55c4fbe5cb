//! A broker restart that may lose what the broker held in memory.

use super::*;

impl Model {
    /// The broker restarted without the state it held in memory (simulator): every
    /// connection is gone. A broker may keep sessions and retained messages across a
    /// restart or lose them (3.1.1 section 4.1 leaves the storage of session state to the
    /// implementation), so until each client's next CONNACK says whether its session is
    /// there, messages for it are allowed, not required; each retained message may or may
    /// not be there; and the wills of the lost connections may or may not be published.
    pub fn restart(&mut self) {
        let slots: Vec<Slot> = self.sessions.keys().copied().collect();
        let mut wills = Vec::new();
        for slot in slots {
            let Some(s) = self.sessions.get_mut(&slot) else {
                continue;
            };
            let conn = s.conn.take();
            if !s.persistent {
                self.sessions.remove(&slot);
            } else {
                s.uncertain = true;
                if conn.as_ref().is_some_and(|c| !c.hold) {
                    s.unacked.clear();
                }
            }
            if let Some(w) = conn.and_then(|c| c.will) {
                wills.push((slot, w));
            }
        }
        for r in self.retained.values_mut() {
            r.certain = false;
        }
        for (slot, w) in wills {
            let before = self.retained.get(&w.topic).cloned();
            self.publish(Message {
                id: w.id,
                key: key_for(w.id, &w.topic, &w.payload),
                publisher: slot,
                topic: w.topic.clone(),
                qos: w.qos,
                retain: w.retain,
                payload: w.payload,
                will: true,
            });
            // Every session is uncertain now, so no copy is required; a retained will may
            // or may not have replaced the retained message.
            if w.retain {
                let entry = self.retained.entry(w.topic).or_default();
                if let Some(b) = before {
                    for c in b.candidates {
                        if !entry.candidates.contains(&c) {
                            entry.candidates.push(c);
                        }
                    }
                }
                entry.certain = false;
            }
        }
    }

    /// Whether a restart may have lost the client's session ([`Model::restart`]).
    pub fn session_uncertain(&self, slot: Slot) -> bool {
        self.sessions.get(&slot).is_some_and(|s| s.uncertain)
    }

    /// The broker's CONNACK says the session is gone (Session Present 0 after a restart).
    pub fn forget_session(&mut self, slot: Slot) {
        if self.sessions.get(&slot).is_some_and(|s| s.conn.is_none()) {
            self.sessions.remove(&slot);
        }
    }
}
