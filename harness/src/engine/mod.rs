//! The scenario engine: runs a loaded scenario against a broker with scripted clients and
//! returns a verdict with the evidence behind it.

pub mod attribution;
pub mod capabilities;
mod cleanup;
pub mod client;
pub mod describe;
mod expect;
pub mod matcher;
pub mod netfault;
pub mod packets;
pub mod result;
pub mod runner;
mod save;
mod scram;
mod steps;
pub mod topic;
pub mod trace;
pub mod transport;
pub mod vars;

pub use netfault::BrokerControl;
pub use result::{Failure, ForeignDelivery, ScenarioResult, Verdict};
pub use runner::{RunOptions, run_scenario};
pub use transport::Endpoint;
