//! After a case: stored sessions discarded, retained messages cleared.

use super::*;

impl Exec {
    /// Discards stored sessions and clears retained messages of the case's topics.
    pub(super) async fn cleanup(&mut self) {
        let wait = self.cfg.ack_wait.min(Duration::from_secs(1));
        let mut ids: Vec<String> = self.persistent.iter().map(|s| self.client_id(*s)).collect();
        ids.push(format!("{}z", self.cfg.client_prefix));
        for (n, id) in ids.iter().enumerate() {
            let no = 10_000 + n as ConnNo;
            let Ok(c) = Conn::open(
                &self.cfg.endpoint,
                no,
                crate::prop::conn::CLEANUP,
                Hold::No,
                None,
                self.shared.clone(),
                wait,
            )
            .await
            else {
                return;
            };
            c.send(Packet::Connect(Connect {
                clean_start: true,
                client_id: id.clone().into(),
                username: self.cfg.username.clone().map(Into::into),
                password: self
                    .cfg
                    .username
                    .as_ref()
                    .and(self.cfg.password.clone())
                    .map(Into::into),
                ..Connect::default()
            }));
            let deadline = Instant::now() + wait;
            let ok = self
                .shared
                .wait_until(deadline, |i| {
                    i.acks.get(&no).is_some_and(|q| !q.is_empty()) || i.closed.contains(&no)
                })
                .await;
            if ok && n + 1 == ids.len() {
                for (k, t) in crate::prop::ops::TOPICS.iter().enumerate() {
                    let mut p = Publish::new(self.full_topic(t), QoS::AtLeastOnce, Vec::new());
                    p.retain = true;
                    p.packet_id = k as u16 + 1;
                    c.send(Packet::Publish(p));
                }
                c.send(Packet::PingReq);
                let _ = self
                    .shared
                    .wait_until(Instant::now() + wait, |i| {
                        i.acks
                            .get(&no)
                            .is_some_and(|q| q.iter().any(|p| matches!(p, Packet::PingResp)))
                    })
                    .await;
            }
            c.send(Packet::Disconnect(Disconnect::default()));
            c.shutdown();
        }
    }
}
