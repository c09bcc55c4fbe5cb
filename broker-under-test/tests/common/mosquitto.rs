//! A private Mosquitto broker per test (or per benchmark run): generated config, ephemeral
//! loopback port, killed by PID when the guard drops.
//!
//! Shared with `benches/loopback.rs` through a `#[path]` module, so it depends on nothing but
//! std and tokio.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How to get the binaries; printed whenever one is missing.
pub const INSTALL_HINT: &str = "Mosquitto is required by the e2e tests and the loopback bench. \
     Install it with `apt-get install -y mosquitto mosquitto-clients` (Debian/Ubuntu; CI does \
     this), or point MOSQUITTO_BIN / MOSQUITTO_PUB_BIN / MOSQUITTO_SUB_BIN at the binaries.";

/// Finds `name` through `env_var`, then `PATH`, then the sbin folders Debian installs the
/// broker into (not on a normal user's `PATH`). Panics with [`INSTALL_HINT`] when absent:
/// a missing Mosquitto must fail the test, never skip it.
pub fn find_binary(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env_var}={} is not a file. {INSTALL_HINT}",
            path.display()
        );
        return path;
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let extra = [
        "/usr/sbin",
        "/usr/local/sbin",
        "/sbin",
        "/usr/bin",
        "/usr/local/bin",
    ];
    path_dirs
        .into_iter()
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{name}` not found. {INSTALL_HINT}"))
}

/// A running `mosquitto` child process. Dropping it kills the process (by PID) and removes
/// its config folder.
pub struct Mosquitto {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

/// Distinguishes the config folders of brokers started by one process.
static INSTANCE: AtomicU32 = AtomicU32::new(0);

const START_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(5);

impl Mosquitto {
    /// Starts Mosquitto with the base config (loopback listener, anonymous, no persistence)
    /// plus `extra_conf` lines, and waits until it accepts TCP connections.
    pub async fn start(extra_conf: &str) -> Mosquitto {
        let binary = find_binary("mosquitto", "MOSQUITTO_BIN");
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&binary, extra_conf).await {
                Ok(m) => return m,
                // Another process took the port between our probe and Mosquitto's bind.
                Err(log) if log.contains("Address already in use") => last_log = log,
                Err(log) => panic!("mosquitto failed to start:\n{log}"),
            }
        }
        panic!("mosquitto failed to start after {START_ATTEMPTS} port attempts:\n{last_log}");
    }

    async fn try_start(binary: &Path, extra_conf: &str) -> Result<Mosquitto, String> {
        let port = free_port().map_err(|e| format!("cannot pick a free port: {e}"))?;
        let dir = std::env::temp_dir().join(format!(
            "mqttspec-mosquitto-{}-{}",
            std::process::id(),
            INSTANCE.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let conf = dir.join("mosquitto.conf");
        let log = dir.join("mosquitto.log");
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             log_dest stderr\nlog_type error\nlog_type warning\n{extra_conf}\n"
        );
        fs::write(&conf, text).map_err(|e| format!("write {}: {e}", conf.display()))?;
        let log_file = fs::File::create(&log).map_err(|e| format!("create log: {e}"))?;
        let child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}. {INSTALL_HINT}", binary.display()))?;
        let mut broker = Mosquitto {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!("exited with {status}: {}", broker.log()));
            }
            if tokio::net::TcpStream::connect(broker.addr).await.is_ok() {
                // Still alive after the connect: it was Mosquitto that answered, not a
                // process that grabbed the port before it.
                match broker.child.try_wait() {
                    Ok(Some(_)) => continue,
                    _ => return Ok(broker),
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not accepting on {} within {READY_TIMEOUT:?}: {}",
                    broker.addr,
                    broker.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Process id, for profiling the broker during a benchmark.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the broker logged (errors and warnings), for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        // `Child::kill` is SIGKILL to this PID only; persistence is off, nothing to flush.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// An ephemeral loopback port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
