//! Operations that let time pass or fail the network: a connection falling silent (the
//! broker's keep alive ends it) and a broker restart (simulator).

use super::*;

impl Exec {
    /// The client's connection falls silent (socket open): the broker must close it within
    /// 1.5 times the keep alive (3.1.1/MQTT-3.1.2-24), as if the network had failed, so its
    /// will is published (3.1.1/MQTT-3.1.2-8). Waits for the close (bounded), then the
    /// model takes it as a drop. A connection with the long keep alive is left alone.
    pub(super) async fn silence(&mut self, op: &Op, slot: Slot) -> Result<bool, Violation> {
        if self.conns.get(&slot).is_none_or(|c| c.keep_alive >= 60) {
            return Ok(false);
        }
        let Some(c) = self.conns.remove(&slot) else {
            return Ok(false);
        };
        c.silence();
        let keep_alive = c.keep_alive;
        self.done.push((
            op.clone(),
            Done::Silence {
                slot,
                conn: c.no,
                keep_alive,
            },
        ));
        let limit = Duration::from_millis(u64::from(keep_alive) * 1500) + self.cfg.ack_wait;
        let no = c.no;
        let closed = self
            .shared
            .wait_until(Instant::now() + limit, |i| i.closed.contains(&no))
            .await;
        if !closed {
            c.shutdown();
            return Err(protocol(
                format!("the broker left the silent connection #{no} of client c{slot} open"),
                &["3.1.1/MQTT-3.1.2-24"],
                &format!("a close within 1.5 times the keep alive of {keep_alive}s"),
                format!("still open after {limit:?}"),
            ));
        }
        self.model.drop_conn(slot);
        Ok(true)
    }
}

impl Exec {
    /// The broker's host crashes and restarts after `ms` (simulator only). Every
    /// connection is lost without a close (the host sends nothing), so the case stops
    /// using them; the model allows what the lost state may or may not bring
    /// ([`crate::model::Model::restart`]).
    pub(super) async fn restart(&mut self, op: &Op, ms: u16) -> Result<bool, Violation> {
        // The simulator knows the broker-runner link only once a connection made it (the
        // restart cuts that link while the host goes down).
        let Some(control) = self.cfg.broker_control.clone() else {
            return Ok(false);
        };
        if self.model.next_conn() == 0 {
            return Ok(false);
        }
        // What held connections owe arrives first (the restart would lose it unjudged).
        self.release_all();
        if let Some(v) = self.settle().await {
            return Err(v);
        }
        let down = Duration::from_millis(u64::from(ms));
        let before = control.request(down);
        let deadline = Instant::now() + down + Duration::from_secs(10);
        while control.done() == before {
            if Instant::now() >= deadline {
                return Err(protocol(
                    "the simulated broker did not restart".into(),
                    &[],
                    "the broker back",
                    format!("not back within {:?}", down + Duration::from_secs(10)),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let conns = std::mem::take(&mut self.conns);
        self.held.clear();
        {
            let mut inner = self.shared.lock();
            for c in conns.values() {
                // Half-open: nothing more is sent on it (no ping either), and it counts as
                // ended.
                c.silence();
                inner.closed.insert(c.no);
            }
        }
        self.model.restart();
        self.done
            .push((op.clone(), Done::Restart { ms: u64::from(ms) }));
        Ok(true)
    }
}
