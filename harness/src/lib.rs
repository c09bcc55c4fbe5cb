//! The mqttspec harness library: statement catalogue, scenario format and engine, reports.

pub mod catalogue;
pub mod cli;
pub mod coverage;
pub mod embedded;
pub mod engine;
pub mod fuzz;
pub mod model;
pub mod probe;
pub mod prop;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sim;
