//! The scenario engine: runs a loaded scenario against a broker with scripted clients and
//! returns a verdict with the evidence behind it.

pub mod client;
pub mod describe;
pub mod matcher;
pub mod packets;
pub mod result;
pub mod runner;
pub mod trace;
pub mod vars;

pub use result::{Failure, ScenarioResult, Verdict};
pub use runner::{RunOptions, run_scenario};
