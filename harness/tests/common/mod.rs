//! Helpers shared by the harness's end-to-end tests.

pub mod mosquitto;
