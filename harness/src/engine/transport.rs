//! Where a scripted client's connection goes: a real broker over TCP, or the reference
//! broker on its host inside the turmoil simulator (virtual time). Also the client's
//! [`Gate`], which holds a connection's bytes in both directions during a network fault.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;

/// The broker's address, as the engine's clients reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A real TCP connection (the embedded broker or `--target`).
    Tcp(SocketAddr),
    /// A host of the current turmoil simulation: only valid inside one of its hosts.
    Sim { host: String, port: u16 },
}

impl Endpoint {
    /// Whether connections go through the simulator, which network fault steps need.
    pub fn is_simulated(&self) -> bool {
        matches!(self, Self::Sim { .. })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{addr}"),
            Self::Sim { host, port } => write!(f, "{host}:{port} (simulated)"),
        }
    }
}

pub type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
pub type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// Opens a connection and splits it.
pub async fn connect(endpoint: &Endpoint) -> std::io::Result<(ReadHalf, WriteHalf)> {
    match endpoint {
        Endpoint::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            // Packets go out as the scenario sends them, as an MQTT client's would.
            let _ = stream.set_nodelay(true);
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Endpoint::Sim { host, port } => {
            let stream = turmoil::net::TcpStream::connect((host.as_str(), *port)).await?;
            let (r, w) = stream.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
    }
}

/// Whether a connection's bytes may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateState {
    Open,
    /// A partition: closed until this instant.
    Until(Instant),
    /// A hold: closed until a release.
    Held,
}

/// Holds one connection's traffic, both ways, while a fault is on. Bytes wait (TCP would
/// retransmit them), so they arrive in order once the fault ends; a close waits too.
#[derive(Debug, Clone)]
pub struct Gate {
    state: Arc<watch::Sender<GateState>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            state: Arc::new(watch::channel(GateState::Open).0),
        }
    }
}

impl Gate {
    /// Nothing passes until `until`.
    pub fn partition_until(&self, until: Instant) {
        self.state.send_replace(GateState::Until(until));
    }

    pub fn hold(&self) {
        self.state.send_replace(GateState::Held);
    }

    pub fn release(&self) {
        self.state.send_replace(GateState::Open);
    }

    /// Whether a fault holds the connection now.
    pub fn is_closed(&self) -> bool {
        match *self.state.borrow() {
            GateState::Open => false,
            GateState::Until(t) => t > Instant::now(),
            GateState::Held => true,
        }
    }

    /// Waits until bytes may pass.
    pub async fn passable(&self) {
        let mut rx = self.state.subscribe();
        loop {
            let state = *rx.borrow_and_update();
            match state {
                GateState::Open => return,
                GateState::Until(t) if t <= Instant::now() => return,
                GateState::Until(t) => {
                    tokio::select! {
                        biased;
                        () = tokio::time::sleep_until(t) => {}
                        _ = rx.changed() => {}
                    }
                }
                GateState::Held => {
                    // The sender lives in the gate we borrow from, so this cannot end.
                    let _ = rx.changed().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn gate_waits_for_the_partition_end_and_for_a_release() {
        let gate = Gate::default();
        gate.passable().await;
        let start = Instant::now();
        gate.partition_until(start + Duration::from_secs(3));
        gate.passable().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));

        gate.hold();
        let g = gate.clone();
        let waiter = tokio::spawn(async move {
            g.passable().await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiter.is_finished());
        gate.release();
        let passed = waiter.await.expect("the waiter ends");
        assert_eq!(passed - start, Duration::from_secs(8));
    }
}
