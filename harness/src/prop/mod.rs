//! `mqttspec prop`: model-based property tests. Operations are generated with proptest,
//! run against a broker and judged by the model of [`crate::model`]; a failing case is
//! shrunk and written out as an ordinary scenario file.

pub mod conn;
pub mod driver;
pub mod exec;
pub mod ops;
pub mod ops_v5;
pub mod report;
pub mod repro;
