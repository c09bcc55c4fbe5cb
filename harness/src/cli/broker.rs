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
    // MQTT 5.0 options. Each declined capability is announced in the CONNACK to 5.0
    // clients, and a 5.0 client using it anyway is disconnected with its reason code.
    /// Highest QoS accepted and granted (5.0 Maximum QoS; a 5.0 PUBLISH above it gets
    /// DISCONNECT 0x9B).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub maximum_qos: u8,
    /// Retained messages (5.0 Retain Available); `false` retains nothing.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub retain_available: bool,
    /// Wildcard subscriptions (5.0 Wildcard Subscription Available).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub wildcard_subscriptions: bool,
    /// Shared subscriptions, `$share/group/filter` (5.0 Shared Subscription Available).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub shared_subscriptions: bool,
    /// Subscription Identifiers (5.0 Subscription Identifier Available).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub subscription_identifiers: bool,
    /// Topic aliases a 5.0 client may set (CONNACK Topic Alias Maximum); 0 refuses them.
    #[arg(long, default_value_t = Config::default().topic_alias_maximum)]
    pub topic_alias_maximum: u16,
    /// Unacknowledged QoS 1/2 PUBLISH a 5.0 client may send (CONNACK Receive Maximum).
    #[arg(long, default_value_t = Config::default().receive_maximum, value_parser = clap::value_parser!(u16).range(1..))]
    pub receive_maximum: u16,
    /// Keep alive imposed on 5.0 clients, in seconds (CONNACK Server Keep Alive); by default
    /// the client's own.
    #[arg(long)]
    pub server_keep_alive: Option<u16>,
    /// Longest Session Expiry Interval granted, in seconds; 4294967295 means no cap.
    #[arg(long, default_value_t = Config::default().session_expiry_max)]
    pub session_expiry_max: u32,
    /// Response Information prefix for 5.0 clients that request it (the client id and '/'
    /// follow); an empty string sends none.
    #[arg(long, default_value = "response/")]
    pub response_information: String,
    /// Refuse every CONNECT with 0x9C (Use another server) and this Server Reference.
    #[arg(long)]
    pub server_reference: Option<String>,
    /// Enhanced authentication: SCRAM-SHA-256 against the --users file; a CONNECT naming
    /// another method gets CONNACK 0x8C.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub enhanced_auth: bool,
    /// Subscriptions one session may hold; more get SUBACK 0x97 (5.0) or 0x80 (3.1.1).
    #[arg(long, default_value_t = Config::default().max_subscriptions)]
    pub max_subscriptions: usize,
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
            maximum_qos: mqttspec_codec::QoS::from_u8(self.maximum_qos)
                .ok_or_else(|| format!("--maximum-qos {} is not 0, 1 or 2", self.maximum_qos))?,
            retain_available: self.retain_available,
            wildcard_subscriptions: self.wildcard_subscriptions,
            shared_subscriptions: self.shared_subscriptions,
            subscription_identifiers: self.subscription_identifiers,
            topic_alias_maximum: self.topic_alias_maximum,
            receive_maximum: self.receive_maximum,
            server_keep_alive: self.server_keep_alive,
            session_expiry_max: self.session_expiry_max,
            response_information: Some(self.response_information.clone()).filter(|r| !r.is_empty()),
            server_reference: self.server_reference.clone(),
            enhanced_auth: self.enhanced_auth,
            max_subscriptions: self.max_subscriptions,
            nonce_seed: nonce_seed(),
            ..Config::default()
        })
    }
}

/// A seed for the enhanced-authentication nonces from the operating system; a fixed one if
/// it has none to give (the nonces then repeat across runs, which only weakens SCRAM's
/// replay protection, and is logged).
fn nonce_seed() -> u64 {
    match auth::password::random_salt() {
        Ok(bytes) => u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()),
        Err(e) => {
            tracing::warn!("no random seed for authentication nonces: {e}");
            0
        }
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
    // Installed before the "listening" line, so a SIGTERM sent as soon as a script sees it
    // stops the broker cleanly rather than killing it.
    let signals = Signals::install();
    let broker = match mqttspec_broker::driver::start(args.listen, config).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("mqttspec broker: cannot listen on {}: {e}", args.listen);
            return exit::HARNESS;
        }
    };
    // Scripts wait for this line to learn the port.
    println!("listening on {}", broker.local_addr);
    signals.wait().await;
    tracing::info!("signal received, stopping");
    broker.shutdown().await;
    exit::OK
}

/// SIGTERM and SIGINT (Ctrl-C), both registered at [`Signals::install`].
struct Signals {
    #[cfg(unix)]
    both: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let both = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                .ok();
            Self { both }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.both {
            tokio::select! {
                biased;
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
