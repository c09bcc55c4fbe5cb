//! `mqttspec broker`: the reference broker on a TCP listener, and `mqttspec passwd`, which
//! writes lines of its users file.

use crate::report::exit;
use clap::{Args, ValueEnum};
use mqttspec_broker::Config;
use mqttspec_broker::auth::{self, Acl, Users};
use mqttspec_broker::config::Anonymous;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub listen: SocketAddr,
    /// Largest packet accepted from a client, in bytes, fixed header included.
    #[arg(long, default_value_t = Config::default().max_packet_size)]
    pub max_packet_size: u32,
    /// QoS 1/2 messages in flight to one client; more wait in its queue.
    #[arg(long, default_value_t = Config::default().max_inflight)]
    pub max_inflight: usize,
    /// Messages queued per session; newer QoS 1/2 messages beyond it are dropped.
    #[arg(long, default_value_t = Config::default().max_queued)]
    pub max_queued: usize,
    /// Open connections; the one past the limit is closed at once.
    #[arg(long, default_value_t = Config::default().max_connections)]
    pub max_connections: usize,
    /// Seconds a new connection may take to send CONNECT.
    #[arg(long, default_value_t = Config::default().connect_timeout.as_secs())]
    pub connect_timeout: u64,
    /// Who may connect without a user name.
    #[arg(long, value_enum, default_value_t = AnonymousArg::Loopback)]
    pub allow_anonymous: AnonymousArg,
    /// Users file (`user:$pbkdf2-sha256$…` lines, written by `mqttspec passwd`); with it,
    /// unknown users and wrong passwords get CONNACK 0x04.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// ACL file (`user NAME` and `topic [read|write|readwrite] FILTER` lines).
    #[arg(long)]
    pub acl: Option<PathBuf>,
}

/// `--allow-anonymous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnonymousArg {
    /// Never: a CONNECT without a user name gets CONNACK 0x05.
    Never,
    /// Only from loopback peers (the default).
    Loopback,
    /// From anywhere.
    Always,
}

impl BrokerArgs {
    /// The broker settings these flags give, with the users and ACL files loaded.
    pub fn config(&self) -> Result<Config, String> {
        let users = match &self.users {
            Some(p) => Some(Users::load(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => None,
        };
        let acl = match &self.acl {
            Some(p) => Some(Acl::load(p).map_err(|e| format!("{}: {e}", p.display()))?),
            None => None,
        };
        Ok(Config {
            max_packet_size: self.max_packet_size,
            max_inflight: self.max_inflight,
            max_queued: self.max_queued,
            max_connections: self.max_connections,
            connect_timeout: Duration::from_secs(self.connect_timeout),
            allow_anonymous: match self.allow_anonymous {
                AnonymousArg::Never => Anonymous::Never,
                AnonymousArg::Loopback => Anonymous::LoopbackOnly,
                AnonymousArg::Always => Anonymous::Always,
            },
            users,
            acl,
            ..Config::default()
        })
    }
}

pub async fn main(args: BrokerArgs) -> i32 {
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqttspec broker: {e}");
            return exit::USAGE;
        }
    };
    tracing::info!(?config, "starting the reference broker");
    let broker = match mqttspec_broker::driver::start(args.listen, config).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mqttspec broker: cannot listen on {}: {e}", args.listen);
            return exit::HARNESS;
        }
    };
    // The handlers are in place before the line scripts wait for: a SIGTERM sent as soon as
    // it appears must stop the broker cleanly, not kill it.
    let stop = Stop::listen();
    // Scripts wait for this line to learn the port.
    println!("listening on {}", broker.local_addr);
    stop.wait().await;
    tracing::info!("signal received, stopping");
    broker.shutdown().await;
    exit::OK
}

/// SIGTERM or SIGINT (Ctrl-C), registered when made.
struct Stop {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Stop {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                .ok();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// The user name of the line.
    pub user: String,
    /// PBKDF2 iterations.
    #[arg(long, default_value_t = auth::password::DEFAULT_ITERATIONS)]
    pub iterations: u32,
}

/// Reads a password from the first line of standard input and prints a users-file line.
pub fn passwd(args: PasswdArgs) -> i32 {
    let mut password = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut password) {
        eprintln!("mqttspec passwd: cannot read the password from standard input: {e}");
        return exit::HARNESS;
    }
    let password = password.trim_end_matches(['\n', '\r']);
    let salt = match auth::password::random_salt() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mqttspec passwd: {e}");
            return exit::HARNESS;
        }
    };
    match auth::password::hash_line(&args.user, password.as_bytes(), &salt, args.iterations) {
        Ok(line) => {
            println!("{line}");
            exit::OK
        }
        Err(e) => {
            eprintln!("mqttspec passwd: {e}");
            exit::USAGE
        }
    }
}
