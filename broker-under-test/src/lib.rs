//! The reference broker of mqttspec. Issue 3 builds it: a sans-IO core with a tokio driver.
