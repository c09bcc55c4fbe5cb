//! Network fault steps, which only the simulator can make: `partition`, `hold`, `release`
//! on one client's connection, and `restart_broker`. The runner refuses scenarios with
//! these steps on a real TCP target before any step runs (not applicable: "needs --sim").

use super::runner::{At, Run, StepResult, Stop};
use crate::scenario::model::{PartitionStep, RestartBrokerStep};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How long a restart may take beyond its `down` time before the step gives up.
const RESTART_GRACE: Duration = Duration::from_secs(10);
/// How often the step looks whether the simulation loop has restarted the broker.
const RESTART_POLL: Duration = Duration::from_millis(10);

/// The scenario's side of broker restarts: a host can only be crashed and restarted by
/// the loop that steps the simulation, so the step asks and the loop answers.
#[derive(Debug, Clone, Default)]
pub struct BrokerControl {
    inner: Arc<Mutex<Restarts>>,
}

#[derive(Debug, Default)]
struct Restarts {
    /// A restart asked for and not yet begun: how long the broker stays down.
    requested: Option<Duration>,
    /// Restarts completed (the broker is up again).
    done: u64,
}

impl BrokerControl {
    fn lock(&self) -> MutexGuard<'_, Restarts> {
        // The state stays consistent even if a holder panicked: plain values only.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for a restart; returns the count of restarts done so far.
    pub fn request(&self, down: Duration) -> u64 {
        let mut r = self.lock();
        r.requested = Some(down);
        r.done
    }

    /// For the simulation loop: the pending request, if any.
    pub fn take_request(&self) -> Option<Duration> {
        self.lock().requested.take()
    }

    /// For the simulation loop: the broker is up again.
    pub fn restarted(&self) {
        self.lock().done += 1;
    }

    pub fn done(&self) -> u64 {
        self.lock().done
    }
}

impl Run<'_> {
    pub(super) fn partition(&mut self, p: &PartitionStep, at: &At<'_>) -> StepResult {
        let until = Instant::now() + p.duration.0;
        self.client(&p.client, at)?.gate().partition_until(until);
        self.trace.event(
            &p.client,
            format!("partitioned for {}: nothing passes either way", p.duration),
        );
        Ok(())
    }

    pub(super) fn hold(&mut self, client: &str, at: &At<'_>) -> StepResult {
        self.client(client, at)?.gate().hold();
        self.trace
            .event(client, "held: nothing passes either way until released");
        Ok(())
    }

    pub(super) fn release(&mut self, client: &str, at: &At<'_>) -> StepResult {
        self.client(client, at)?.gate().release();
        self.trace
            .event(client, "released: held bytes go on, in order");
        Ok(())
    }

    pub(super) async fn restart_broker(
        &mut self,
        r: &RestartBrokerStep,
        at: &At<'_>,
    ) -> StepResult {
        let Some(control) = self.opts.broker_control.clone() else {
            return Err(self.bad_script(
                at,
                "`restart_broker` needs a simulated broker (run with --sim)".into(),
            ));
        };
        self.trace.event(
            "broker",
            format!("crash: the broker host stops, restarting after {}", r.down),
        );
        let before = control.request(r.down.0);
        let deadline = Instant::now() + r.down.0 + RESTART_GRACE;
        while control.done() == before {
            if Instant::now() >= deadline {
                return Err(Stop::Error(format!(
                    "the simulated broker did not restart within {:?}",
                    r.down.0 + RESTART_GRACE
                )));
            }
            tokio::time::sleep(RESTART_POLL).await;
        }
        self.trace.event("broker", "restarted, with no state kept");
        Ok(())
    }
}
