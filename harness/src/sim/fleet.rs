//! What a run does, whatever carries it: the plan drawn from a workload (who connects, with
//! which profile, what the checker expects), and the tasks of the backend and of the
//! devices. The simulator ([`super::world`]) runs them in turmoil hosts in virtual time;
//! `--target` ([`super::realtime`]) runs them on one tokio thread against a real broker.

use super::backend::Subscriber;
use super::checker::Expectations;
use super::client::Ctx;
use super::device::Device;
use super::faults::{self, Fault};
use super::history::What;
use super::link::{Link, new_link};
use super::profile::Profile;
use super::rng::Rng;
use super::spread;
use super::workload::{DeviceGroup, Workload};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// Subscribers connect before this, devices start after it.
pub const WARMUP: Duration = Duration::from_secs(2);
/// After the devices stop: time for the last deliveries, then for the retained audit.
pub const SETTLE: Duration = Duration::from_secs(20);
pub const AUDIT: Duration = Duration::from_secs(5);

/// How long the phases of a run last around the devices' own time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Subscribers connect before this, devices start after it.
    pub warmup: Duration,
    /// After the devices stop: time for the last deliveries.
    pub settle: Duration,
    /// Then time for the retained audit.
    pub audit: Duration,
    /// Added to 1.5 × keep alive + the longest backoff to make the quiet period.
    pub margin: Duration,
    /// After the audit, before the run ends.
    pub tail: Duration,
}

impl Timing {
    /// Virtual time costs little: generous margins.
    pub const SIM: Timing = Timing {
        warmup: WARMUP,
        settle: SETTLE,
        audit: AUDIT,
        margin: Duration::from_secs(30),
        tail: Duration::from_secs(5),
    };
    /// Real time against a broker over TCP: every second is waited for, and a run is meant
    /// to last about a minute. Loopback or LAN deliveries take milliseconds; the longest
    /// wait left is a device link's delay plus a retransmission timeout (under 2 s on every
    /// built-in profile).
    pub const REAL: Timing = Timing {
        warmup: Duration::from_secs(1),
        settle: Duration::from_secs(5),
        audit: Duration::from_secs(3),
        margin: Duration::from_secs(8),
        tail: Duration::from_secs(1),
    };
}

/// When devices stop causing outages: late enough that every device is back and every
/// will of the last outages has been published before the devices stop.
pub fn quiet_period(w: &Workload) -> Duration {
    quiet_period_with(w, Timing::SIM.margin)
}

pub fn quiet_period_with(w: &Workload, margin: Duration) -> Duration {
    w.devices
        .iter()
        .map(|g| g.keep_alive.0 * 3 / 2 + g.reconnect.max.0 + margin)
        .max()
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct SubPlan {
    pub name: String,
    pub filter: String,
    pub qos: u8,
    pub profile: Profile,
}

#[derive(Debug, Clone)]
pub struct DevicePlan {
    pub name: String,
    pub group: DeviceGroup,
    pub profile: Profile,
}

/// One run, drawn from a workload: everything but the transport.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub subscribers: Vec<SubPlan>,
    pub devices: Vec<DevicePlan>,
    pub has_retained: bool,
    /// The link of the retained audit.
    pub audit_profile: Profile,
    pub schedule: Vec<Fault>,
    pub expectations: Expectations,
    /// When the devices stop (from the start of the run).
    pub stop: Duration,
    /// When device outages stop.
    pub quiet: Duration,
    /// The whole run.
    pub total: Duration,
    pub timing: Timing,
}

impl Plan {
    /// `profile` applies to device groups that name none; subscribers default to `lan`.
    pub fn new(
        w: &Workload,
        seed: u64,
        duration: Duration,
        profile: &Profile,
    ) -> Result<Plan, String> {
        Self::with_timing(w, seed, duration, profile, Timing::SIM)
    }

    pub fn with_timing(
        w: &Workload,
        seed: u64,
        duration: Duration,
        profile: &Profile,
        timing: Timing,
    ) -> Result<Plan, String> {
        let quiet = quiet_period_with(w, timing.margin);
        faults::check_run(w, duration, quiet)?;
        let named = |p: &Option<String>, default: &Profile| match p {
            Some(p) => Profile::named(p).ok_or_else(|| format!("unknown profile {p}")),
            None => Ok(default.clone()),
        };
        let lan = Profile::named("lan").ok_or("no lan profile")?;
        let mut exp = Expectations {
            will_grace: w
                .devices
                .iter()
                .map(|g| g.keep_alive.0 * 3 / 2)
                .max()
                .unwrap_or_default()
                + Duration::from_secs(10),
            ..Expectations::default()
        };
        let mut subscribers = Vec::new();
        for s in &w.subscribers {
            subscribers.push(SubPlan {
                name: s.name.clone(),
                filter: s.filter.clone(),
                qos: s.qos,
                profile: named(&s.profile, &lan)?,
            });
            exp.subscribers
                .push((s.name.clone(), s.filter.clone(), s.qos));
        }
        let has_retained = w.devices.iter().any(|g| g.publish.retain);
        if has_retained {
            exp.auditor = Some("audit".into());
        }
        let mut devices = Vec::new();
        for g in &w.devices {
            let profile = named(&g.profile, profile)?;
            for n in 1..=g.count {
                let name = format!("{}-{n}", g.group);
                if let Some(will) = &g.will {
                    exp.wills.insert(name.clone(), will.qos);
                }
                devices.push(DevicePlan {
                    name,
                    group: g.clone(),
                    profile: profile.clone(),
                });
            }
        }
        let stop = timing.warmup + duration;
        Ok(Plan {
            seed,
            subscribers,
            devices,
            has_retained,
            audit_profile: lan,
            schedule: faults::resolve(w),
            expectations: exp,
            stop,
            quiet,
            total: stop + timing.settle + timing.audit + timing.tail,
            timing,
        })
    }
}

impl Plan {
    /// The profile each device group runs on.
    pub fn group_profiles(&self) -> BTreeMap<String, Profile> {
        self.devices
            .iter()
            .map(|d| (d.group.group.clone(), d.profile.clone()))
            .collect()
    }

    /// Gives every device group a profile drawn within its named profile's ranges, from the
    /// seed (`--swarm`): one draw per group, so a group shares one kind of link.
    pub fn draw_profiles(&mut self) {
        let mut drawn: BTreeMap<String, Profile> = BTreeMap::new();
        for d in &mut self.devices {
            let p = drawn.entry(d.group.group.clone()).or_insert_with(|| {
                let mut rng = Rng::derive(self.seed, &format!("profile/{}", d.group.group));
                spread::draw(&d.profile, &mut rng)
            });
            d.profile = p.clone();
        }
    }
}

/// The backend: every subscriber for the whole run, then the retained audit. Returns at
/// the end of the run, so that the last DISCONNECTs and closes cross the links.
pub async fn run_backend(plan: Plan, ctx: Ctx) {
    let start = Instant::now();
    let (stop, Timing { settle, audit, .. }) = (plan.stop, plan.timing);
    let mut tasks = Vec::new();
    for s in plan.subscribers {
        let rng = Rng::derive(plan.seed, &format!("sub/{}", s.name));
        tasks.push(tokio::task::spawn_local(
            Subscriber {
                name: s.name,
                filter: s.filter,
                qos: s.qos,
                ctx: ctx.clone(),
                rng,
                stop_at: start + stop + settle,
                auditor: false,
                profile: s.profile,
            }
            .run(),
        ));
    }
    if plan.has_retained {
        sleep_until(start + stop + settle).await;
        tasks.push(tokio::task::spawn_local(
            Subscriber {
                name: "audit".into(),
                filter: "fleet/+/state".into(),
                qos: 1,
                ctx: ctx.clone(),
                rng: Rng::derive(plan.seed, "audit"),
                stop_at: start + stop + settle + audit,
                auditor: true,
                profile: plan.audit_profile,
            }
            .run(),
        ));
    }
    for t in tasks {
        let _ = t.await;
    }
    sleep_until(start + stop + settle + audit).await;
}

/// Some devices of the fleet, with their links' outages and the scheduled faults that hit
/// them. Returns at the end of the run, like [`run_backend`].
pub async fn run_devices(plan: Plan, devices: Vec<DevicePlan>, ctx: Ctx) {
    let start = Instant::now();
    let (stop, seed, timing) = (plan.stop, plan.seed, plan.timing);
    let mut tasks = Vec::new();
    let mut links = Vec::new();
    for d in devices {
        let link = new_link();
        links.push((d.name.clone(), d.group.group.clone(), link.clone()));
        let mut rng = Rng::derive(seed, &d.name);
        let offset = rng.between(Duration::ZERO, d.group.publish.every.0);
        tokio::task::spawn_local(outages(
            link.clone(),
            d.name.clone(),
            d.profile.clone(),
            Rng::new(rng.next_u64()),
            ctx.clone(),
            start + stop.saturating_sub(plan.quiet),
        ));
        tasks.push(tokio::task::spawn_local(
            Device {
                name: d.name,
                group: d.group,
                profile: d.profile,
                link,
                rng,
                ctx: ctx.clone(),
                start_at: start + timing.warmup + offset,
                stop_at: start + stop,
            }
            .run(),
        ));
    }
    tokio::task::spawn_local(faults::apply(
        plan.schedule,
        links,
        ctx,
        start + timing.warmup,
    ));
    for t in tasks {
        let _ = t.await;
    }
    sleep_until(start + stop + timing.settle + timing.audit).await;
}

/// Draws outages for one device's link until `until`, per its profile.
async fn outages(
    link: Link,
    device: String,
    profile: Profile,
    mut rng: Rng,
    ctx: Ctx,
    until: Instant,
) {
    let Some(o) = profile.outages.clone() else {
        return;
    };
    loop {
        let start = Instant::now() + rng.between(o.every.0, o.every.1);
        let len = rng.between(o.length.0, o.length.1);
        if start + len >= until {
            return;
        }
        sleep_until(start).await;
        let silent = rng.chance(o.silent_share);
        let kind = if silent { "silent" } else { "reset" };
        ctx.record(What::Fault {
            target: device.clone(),
            fault: format!("{kind} outage for {:.1}s", len.as_secs_f64()),
        });
        {
            let mut s = link.borrow_mut();
            let end = start + len;
            s.held_until = Some(s.held_until.map_or(end, |t| t.max(end)));
            if !silent {
                s.resets.send_modify(|n| *n += 1);
            }
            s.changed.notify_waiters();
        }
        sleep_until(start + len).await;
    }
}
