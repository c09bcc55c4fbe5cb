//! The mqttspec harness library.
