//! Fleet workloads (`scenarios/sim/*.yaml`): device groups and backend subscribers.
//!
//! ```yaml
//! name: meters on a flaky cellular link
//! devices:
//!   - group: meter
//!     count: 100
//!     clean_session: false
//!     keep_alive: 30s
//!     will: {qos: 1}
//!     publish: {every: 10s, qos: 1, payload_bytes: 64}
//!     reconnect: {min: 1s, max: 60s, jitter: 0.5}
//!     profile: cellular-flaky
//! subscribers:
//!   - name: backend
//!     filter: "fleet/#"
//!     qos: 2
//! ```
//!
//! Topics are fixed by the simulator so the checker can read them: device `D` publishes on
//! `fleet/D/data` (or `fleet/D/state` with `retain: true`) and its will goes to `fleet/D/will`.

use super::profile::Profile;
use crate::scenario::LoadError;
use crate::scenario::duration::Dur;
use crate::scenario::load::first_line;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub devices: Vec<DeviceGroup>,
    #[serde(default)]
    pub subscribers: Vec<SubscriberSpec>,
    /// Scheduled network and broker faults (see [`super::faults`]).
    #[serde(default)]
    pub faults: Vec<Spanned<FaultStep>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceGroup {
    /// Client ids are `<group>-<n>`, n from 1.
    pub group: String,
    pub count: u32,
    #[serde(default = "yes")]
    pub clean_session: bool,
    #[serde(default = "default_keep_alive")]
    pub keep_alive: Dur,
    #[serde(default)]
    pub will: Option<WillSpec>,
    pub publish: PublishSpec,
    #[serde(default)]
    pub reconnect: ReconnectSpec,
    /// A profile name; the command line's `--profile` applies to groups without one.
    #[serde(default)]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WillSpec {
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    pub every: Dur,
    #[serde(default)]
    pub qos: u8,
    #[serde(default = "default_payload")]
    pub payload_bytes: usize,
    /// Publish retained messages (on `fleet/D/state`).
    #[serde(default)]
    pub retain: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconnectSpec {
    pub min: Dur,
    pub max: Dur,
    /// Each wait varies by up to this fraction either way.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

impl Default for ReconnectSpec {
    fn default() -> Self {
        Self {
            min: Dur(Duration::from_secs(1)),
            max: Dur(Duration::from_secs(60)),
            jitter: default_jitter(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberSpec {
    pub name: String,
    pub filter: String,
    #[serde(default = "two")]
    pub qos: u8,
    /// The subscriber's link: delay, bandwidth and loss of this profile, without its
    /// outages (a backend is not a roaming device). Default: `lan`.
    #[serde(default)]
    pub profile: Option<String>,
}

/// One scheduled fault. `at` counts from the moment the devices start (after the
/// subscribers are in place); targets name a device group or one device, all devices when
/// neither is given.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultStep {
    /// Nothing passes either way on the targets' links for `for`; bytes wait, as TCP
    /// retransmits them, and flow again afterwards unless a side gave up meanwhile.
    Partition(Timed),
    /// Like a partition, but until a later `release` of the same targets.
    Hold(Targeted),
    Release(Targeted),
    /// The targets' connections are reset at once (no DISCONNECT); they may reconnect.
    Drop(Targeted),
    /// The targets' software freezes for `for`: it neither reads nor writes nor pings,
    /// while its connection stays open.
    Stall(Timed),
    /// Every device's connection is reset at the same instant.
    ReconnectStorm(AtOnly),
    /// The broker crashes (no wills, no state kept: the reference broker does not persist)
    /// and comes back after `down`.
    RestartBroker(Restart),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targeted {
    pub at: Dur,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timed {
    pub at: Dur,
    #[serde(rename = "for")]
    pub length: Dur,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtOnly {
    pub at: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    pub at: Dur,
    #[serde(default = "default_down")]
    pub down: Dur,
}

fn default_down() -> Dur {
    Dur(Duration::from_secs(5))
}

fn yes() -> bool {
    true
}
fn two() -> u8 {
    2
}
fn default_keep_alive() -> Dur {
    Dur(Duration::from_secs(30))
}
fn default_payload() -> usize {
    32
}
fn default_jitter() -> f64 {
    0.5
}

/// The workload shipped with the binary, used when no file is given.
pub const DEFAULT_PATH: &str = "scenarios/sim/fleet.yaml";
pub const DEFAULT_TEXT: &str = include_str!("../../../scenarios/sim/fleet.yaml");

impl Workload {
    /// Parses and checks a workload file's text; errors carry file:line:column.
    pub fn load_str(path: &str, text: &str) -> Result<Workload, LoadError> {
        let w: Workload = serde_saphyr::from_str(text).map_err(|e| {
            let loc = e.location().unwrap_or(Location::UNKNOWN);
            LoadError::at(path, text, loc, first_line(&e.to_string()))
        })?;
        let fail = |msg: String| Err(LoadError::at(path, text, Location::UNKNOWN, msg));
        if w.devices.is_empty() {
            return fail("a workload needs at least one device group".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for g in &w.devices {
            if g.group.is_empty()
                || !g
                    .group
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return fail(format!(
                    "device group {:?}: use letters, digits and _ only",
                    g.group
                ));
            }
            if !names.insert(g.group.clone()) {
                return fail(format!("device group {:?} is defined twice", g.group));
            }
            if g.count == 0 {
                return fail(format!(
                    "device group {}: count must be at least 1",
                    g.group
                ));
            }
            if g.publish.qos > 2 || g.will.as_ref().is_some_and(|w| w.qos > 2) {
                return fail(format!("device group {}: QoS must be 0, 1 or 2", g.group));
            }
            if g.publish.every.0.is_zero() {
                return fail(format!(
                    "device group {}: publish.every must be positive",
                    g.group
                ));
            }
            if g.keep_alive.0.as_secs() > u64::from(u16::MAX) {
                return fail(format!("device group {}: keep_alive over 65535 s", g.group));
            }
            if g.publish.payload_bytes < 24 {
                return fail(format!(
                    "device group {}: payload_bytes must be at least 24 (the message id lives there)",
                    g.group
                ));
            }
            if g.reconnect.min.0 > g.reconnect.max.0 || !(0.0..=1.0).contains(&g.reconnect.jitter) {
                return fail(format!(
                    "device group {}: reconnect needs min <= max and jitter in 0..=1",
                    g.group
                ));
            }
            if let Some(p) = &g.profile
                && Profile::named(p).is_none()
            {
                return fail(format!(
                    "device group {}: unknown profile {p:?} (known: {})",
                    g.group,
                    Profile::names().join(", ")
                ));
            }
        }
        for s in &w.subscribers {
            if s.qos > 2 {
                return fail(format!("subscriber {}: QoS must be 0, 1 or 2", s.name));
            }
            if let Some(p) = &s.profile
                && Profile::named(p).is_none()
            {
                return fail(format!("subscriber {}: unknown profile {p:?}", s.name));
            }
            if mqttspec_codec::topic::check_filter_syntax(&s.filter).is_err() {
                return fail(format!(
                    "subscriber {}: {:?} is not a topic filter",
                    s.name, s.filter
                ));
            }
        }
        super::faults::check(&w, path, text)?;
        Ok(w)
    }

    pub fn device_count(&self) -> u32 {
        self.devices.iter().map(|g| g.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_workload_loads() {
        let w = Workload::load_str(DEFAULT_PATH, DEFAULT_TEXT).expect("loads");
        assert!(w.device_count() > 0);
    }

    #[test]
    fn mistakes_name_the_place() {
        let text = "name: x\ndevices:\n  - group: a\n    count: 1\n    publish: {every: 10s, qos: 1}\n    colour: red\n";
        let e = Workload::load_str("w.yaml", text).expect_err("unknown field");
        assert_eq!((e.line, e.path.as_str()), (6, "w.yaml"), "{e}");
        let text =
            "name: x\ndevices:\n  - group: a\n    count: 1\n    publish: {every: 10s, qos: 3}\n";
        let e = Workload::load_str("w.yaml", text).expect_err("qos 3");
        assert!(e.message.contains("QoS"), "{e}");
    }
}
