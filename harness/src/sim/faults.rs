//! Scheduled faults of a fleet workload (`faults:` in the YAML): which devices they hit,
//! when, and what they do to those devices' links. Broker restarts are carried out by the
//! simulation loop itself (see [`super::world`]), which alone can crash a host.

use super::client::Ctx;
use super::history::What;
use super::link::Link;
use super::workload::{FaultStep, Workload};
use crate::scenario::LoadError;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// Which devices a fault hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Group(String),
    Device(String),
}

impl Target {
    fn new(group: &Option<String>, device: &Option<String>) -> Self {
        match (group, device) {
            (Some(g), _) => Target::Group(g.clone()),
            (None, Some(d)) => Target::Device(d.clone()),
            (None, None) => Target::All,
        }
    }

    pub fn covers(&self, device: &str, group: &str) -> bool {
        match self {
            Target::All => true,
            Target::Group(g) => g == group,
            Target::Device(d) => d == device,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::All => f.write_str("all devices"),
            Target::Group(g) => write!(f, "group {g}"),
            Target::Device(d) => f.write_str(d),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Partition(Duration),
    Hold,
    Release,
    Drop,
    /// A drop of every device at once.
    Storm,
    Stall(Duration),
    RestartBroker {
        down: Duration,
    },
}

/// A fault with its time counted from the moment the devices start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub at: Duration,
    pub target: Target,
    pub action: Action,
}

impl Fault {
    fn from_step(step: &FaultStep) -> Fault {
        let (at, target, action) = match step {
            FaultStep::Partition(t) => (
                t.at.0,
                Target::new(&t.group, &t.device),
                Action::Partition(t.length.0),
            ),
            FaultStep::Stall(t) => (
                t.at.0,
                Target::new(&t.group, &t.device),
                Action::Stall(t.length.0),
            ),
            FaultStep::Hold(t) => (t.at.0, Target::new(&t.group, &t.device), Action::Hold),
            FaultStep::Release(t) => (t.at.0, Target::new(&t.group, &t.device), Action::Release),
            FaultStep::Drop(t) => (t.at.0, Target::new(&t.group, &t.device), Action::Drop),
            FaultStep::ReconnectStorm(t) => (t.at.0, Target::All, Action::Storm),
            FaultStep::RestartBroker(r) => (
                r.at.0,
                Target::All,
                Action::RestartBroker { down: r.down.0 },
            ),
        };
        Fault { at, target, action }
    }

    /// What the trace says of it.
    pub fn describe(&self) -> String {
        match &self.action {
            Action::Partition(d) => format!("partition for {:.1}s", d.as_secs_f64()),
            Action::Hold => "hold".into(),
            Action::Release => "release".into(),
            Action::Drop => "drop".into(),
            Action::Storm => "reconnect storm".into(),
            Action::Stall(d) => format!("stall for {:.1}s", d.as_secs_f64()),
            Action::RestartBroker { down } => {
                format!("broker restart, down {:.1}s", down.as_secs_f64())
            }
        }
    }
}

/// The faults of a workload in time order (stable for equal times). [`check`] them first.
pub fn resolve(w: &Workload) -> Vec<Fault> {
    let mut out: Vec<Fault> = w
        .faults
        .iter()
        .map(|s| Fault::from_step(&s.value))
        .collect();
    out.sort_by_key(|f| f.at);
    out
}

/// Checks the faults of a workload against its device groups; errors name the line.
pub fn check(w: &Workload, path: &str, text: &str) -> Result<(), LoadError> {
    let mut out: Vec<Fault> = Vec::new();
    for step in &w.faults {
        let err = |msg: String| Err(LoadError::at(path, text, step.referenced, msg));
        let (group, device) = match &step.value {
            FaultStep::Partition(t) | FaultStep::Stall(t) => (&t.group, &t.device),
            FaultStep::Hold(t) | FaultStep::Release(t) | FaultStep::Drop(t) => {
                (&t.group, &t.device)
            }
            FaultStep::ReconnectStorm(_) | FaultStep::RestartBroker(_) => (&None, &None),
        };
        if group.is_some() && device.is_some() {
            return err("a fault names a group or a device, not both".into());
        }
        if let Some(g) = group
            && !w.devices.iter().any(|d| &d.group == g)
        {
            return err(format!("no device group {g:?}"));
        }
        if let Some(d) = device
            && !device_exists(w, d)
        {
            return err(format!(
                "no device {d:?} (devices are named <group>-<n>, n from 1 to the group's count)"
            ));
        }
        let fault = Fault::from_step(&step.value);
        match &fault.action {
            Action::Partition(d) | Action::Stall(d) if d.is_zero() => {
                return err("`for` must be positive".into());
            }
            Action::RestartBroker { down } if down.is_zero() => {
                return err("`down` must be positive".into());
            }
            _ => {}
        }
        out.push(fault);
    }
    out.sort_by_key(|f| f.at);
    // Every hold needs a later release of the same targets, or the devices could not
    // finish the run cleanly.
    for (i, f) in out.iter().enumerate() {
        if f.action == Action::Hold
            && !out[i + 1..]
                .iter()
                .any(|r| r.action == Action::Release && r.target == f.target)
        {
            let step = w
                .faults
                .iter()
                .find(|s| Fault::from_step(&s.value) == *f)
                .map(|s| s.referenced);
            return Err(LoadError::at(
                path,
                text,
                step.unwrap_or(serde_saphyr::Location::UNKNOWN),
                format!("hold of {} at {:?} has no later release", f.target, f.at),
            ));
        }
    }
    Ok(())
}

/// Checks what depends on the run: devices named by number exist at this scale, and every
/// fault is over `quiet` before the devices stop, so that they can all come back, publish
/// and be accounted for (a fault still going on at the end would make the accounting of
/// its devices' last messages and wills a guess).
pub fn check_run(w: &Workload, duration: Duration, quiet: Duration) -> Result<(), String> {
    let faults = resolve(w);
    for f in &faults {
        if let Target::Device(d) = &f.target {
            let known = d.rsplit_once('-').is_some_and(|(g, n)| {
                n.parse::<u32>().is_ok_and(|n| {
                    w.devices
                        .iter()
                        .any(|x| x.group == g && n >= 1 && n <= x.count)
                })
            });
            if !known {
                return Err(format!("fault on {d}: no such device in this run"));
            }
        }
    }
    let end = last_end(&faults);
    if !faults.is_empty() && end + quiet > duration {
        return Err(format!(
            "the last fault ends at {:.0}s, but faults must end {:.0}s before the devices stop \
             (at --duration {:.0}s) so that every device can recover: lengthen --duration",
            end.as_secs_f64(),
            quiet.as_secs_f64(),
            duration.as_secs_f64()
        ));
    }
    Ok(())
}

fn device_exists(w: &Workload, device: &str) -> bool {
    let Some((group, n)) = device.rsplit_once('-') else {
        return false;
    };
    let Ok(n) = n.parse::<u32>() else {
        return false;
    };
    w.devices.iter().any(|g| g.group == group && n >= 1)
}

/// When the last fault's effect ends (a hold at its release), counted like `at`.
pub fn last_end(faults: &[Fault]) -> Duration {
    faults
        .iter()
        .map(|f| match &f.action {
            Action::Partition(d) | Action::Stall(d) => f.at + *d,
            Action::RestartBroker { down } => f.at + *down,
            _ => f.at,
        })
        .max()
        .unwrap_or_default()
}

/// Applies the device faults to the devices of one host, each at its time from `origin`.
pub async fn apply(
    faults: Vec<Fault>,
    links: Vec<(String, String, Link)>,
    ctx: Ctx,
    origin: Instant,
) {
    for f in faults {
        if matches!(f.action, Action::RestartBroker { .. }) {
            continue;
        }
        let hit: Vec<&(String, String, Link)> = links
            .iter()
            .filter(|(device, group, _)| f.target.covers(device, group))
            .collect();
        if hit.is_empty() {
            continue;
        }
        sleep_until(origin + f.at).await;
        for (device, _, link) in hit {
            ctx.record(What::Fault {
                target: device.clone(),
                fault: f.describe(),
            });
            let mut s = link.borrow_mut();
            let now = Instant::now();
            match f.action {
                Action::Partition(d) => {
                    s.held_until = Some(s.held_until.map_or(now + d, |t| t.max(now + d)));
                }
                Action::Hold => s.held = true,
                Action::Release => s.held = false,
                Action::Drop | Action::Storm => s.resets.send_modify(|n| *n += 1),
                Action::Stall(d) => s.stalled_until = Some(now + d),
                Action::RestartBroker { .. } => {}
            }
            s.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(faults: &str) -> Result<Vec<Fault>, LoadError> {
        let text = format!(
            "name: x\ndevices:\n  - group: meter\n    count: 2\n    publish: {{every: 10s, qos: 1}}\nfaults:\n{faults}"
        );
        let w = Workload::load_str("w.yaml", &text)?;
        Ok(resolve(&w))
    }

    #[test]
    fn every_kind_parses_in_time_order() {
        let f = load(
            "  - restart_broker: {at: 9m}\n  - partition: {at: 1m, for: 30s, group: meter}\n  - stall: {at: 2m, for: 10s, device: meter-2}\n  - hold: {at: 3m}\n  - release: {at: 4m}\n  - drop: {at: 5m, group: meter}\n  - reconnect_storm: {at: 6m}\n",
        )
        .expect("loads");
        let actions: Vec<_> = f.iter().map(|f| f.action.clone()).collect();
        assert_eq!(
            actions,
            vec![
                Action::Partition(Duration::from_secs(30)),
                Action::Stall(Duration::from_secs(10)),
                Action::Hold,
                Action::Release,
                Action::Drop,
                Action::Storm,
                Action::RestartBroker {
                    down: Duration::from_secs(5)
                },
            ]
        );
        assert_eq!(f[1].target, Target::Device("meter-2".into()));
        assert_eq!(last_end(&f), Duration::from_secs(9 * 60 + 5));
    }

    #[test]
    fn mistakes_name_the_line() {
        for (faults, line, says) in [
            (
                "  - partition: {at: 1m, for: 30s, group: pump}\n",
                7,
                "no device group",
            ),
            (
                "  - stall: {at: 1m, for: 30s, device: meter-x}\n",
                7,
                "no device",
            ),
            (
                "  - drop: {at: 1m}\n  - hold: {at: 2m, group: meter}\n",
                8,
                "no later release",
            ),
            ("  - partition: {at: 1m, for: 0s}\n", 7, "positive"),
            (
                "  - drop: {at: 1m, group: meter, device: meter-1}\n",
                7,
                "not both",
            ),
            ("  - explode: {at: 1m}\n", 7, "explode"),
        ] {
            let e = load(faults).expect_err(faults);
            assert_eq!(e.line, line, "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }
}
