//! The deterministic network simulator behind `mqttspec sim`: the reference broker and a
//! fleet of simulated devices inside turmoil (virtual time, one seed), network profiles
//! and outages on every device's link, and a checker that accounts for every message.

pub mod backend;
pub mod checker;
pub mod client;
pub mod device;
pub mod faults;
pub mod fleet;
pub mod history;
pub mod link;
pub mod profile;
pub mod realtime;
pub mod rng;
pub mod scenarios;
pub mod spread;
pub mod workload;
pub mod world;

pub use checker::{Accounting, Violation, ViolationKind};
pub use profile::Profile;
pub use workload::Workload;
pub use world::{SimOptions, SimOutcome, simulate, simulate_with_progress};
