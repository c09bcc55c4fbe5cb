//! The packet trace of a scenario: every packet each client sent and received, with time,
//! decoded form and hex, so a verdict can be checked by a person.

use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Harness to broker.
    Sent,
    /// Broker to harness.
    Received,
    /// Connection events: opened, closed, timeouts.
    Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    /// Since the scenario started.
    #[serde(rename = "at_ms")]
    #[serde(serialize_with = "as_millis")]
    pub at: Duration,
    pub client: String,
    pub direction: Direction,
    /// The decoded packet, or a description of the event.
    pub decoded: String,
    /// The bytes on the wire, spaced hex; empty for events.
    pub hex: String,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// A trace shared by every client of one scenario.
#[derive(Debug, Clone)]
pub struct Trace {
    start: Instant,
    entries: Arc<Mutex<Vec<TraceEntry>>>,
}

impl Trace {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            entries: Arc::default(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn record(&self, client: &str, direction: Direction, decoded: String, bytes: &[u8]) {
        self.record_hex(client, direction, decoded, hex(bytes));
    }

    /// Records an entry whose hex is already rendered (with secrets masked).
    pub fn record_hex(&self, client: &str, direction: Direction, decoded: String, hex: String) {
        let entry = TraceEntry {
            at: self.elapsed(),
            client: client.to_owned(),
            direction,
            decoded,
            hex,
        };
        // A poisoned lock only means another task panicked mid-push; the entries are intact.
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.push(entry);
    }

    pub fn event(&self, client: &str, what: impl Into<String>) {
        self.record(client, Direction::Event, what.into(), &[]);
    }

    pub fn snapshot(&self) -> Vec<TraceEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

/// Spaced lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}
