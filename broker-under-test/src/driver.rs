//! Thin tokio driver over TCP. INTERFACE SKELETON: filled in by the driver's author.

use crate::config::Config;
use std::io;
use std::net::SocketAddr;

/// A broker serving on a TCP listener until shut down.
pub struct RunningBroker {
    pub local_addr: SocketAddr,
}

/// Binds `addr` (port 0 for an ephemeral port) and serves the broker on it in the background
/// of the current tokio runtime.
pub async fn start(addr: SocketAddr, config: Config) -> io::Result<RunningBroker> {
    let _ = (addr, config);
    todo!("driver")
}

impl RunningBroker {
    /// Stops accepting, closes every connection and waits for the broker task to end.
    pub async fn shutdown(self) {
        todo!("driver")
    }
}
