//! `mqttspec broker`: the reference broker on a TCP listener.

use crate::report::exit;
use clap::Args;
use mqttspec_broker::Config;
use std::net::SocketAddr;

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Address to listen on; port 0 picks a free port (printed).
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub listen: SocketAddr,
}

pub async fn main(args: BrokerArgs) -> i32 {
    let broker = match mqttspec_broker::driver::start(args.listen, Config::default()).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mqttspec: cannot listen on {}: {e}", args.listen);
            return exit::HARNESS;
        }
    };
    println!("listening on {}", broker.local_addr);
    wait_for_signal().await;
    broker.shutdown().await;
    exit::OK
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                biased;
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
