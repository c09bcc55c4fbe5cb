//! The reference broker of mqttspec.
//!
//! [`core`] is a sans-IO state machine: events and the current time go in, actions come out;
//! it owns no socket and reads no clock. [`driver`] runs it over tokio TCP; the same core runs
//! inside the turmoil simulator and under unit tests on a virtual clock.

pub mod auth;
pub mod config;
pub mod core;
pub mod driver;

pub use crate::config::Config;
pub use crate::core::{Action, Broker, ConnId, Event, Time};
