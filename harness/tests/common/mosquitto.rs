//! Starts a real Mosquitto on a free loopback port for a test and stops it by PID.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mosquitto {
    child: Child,
    pub addr: SocketAddr,
    _dir: TempDir,
}

/// A scratch folder removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn binary() -> Option<String> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).exists())
    .map(|p| (*p).to_owned())
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
}

impl Mosquitto {
    /// Starts Mosquitto with anonymous access and no persistence. Panics with install
    /// instructions when it is missing: a test that needs it must not pass without it.
    pub fn start() -> Self {
        let bin = binary().unwrap_or_else(|| {
            panic!("mosquitto is not installed: run scripts/setup (apt-get install mosquitto mosquitto-clients)")
        });
        for _attempt in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir()
                .join(format!("mqttspec-mosquitto-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("scratch folder");
            let conf = dir.join("mosquitto.conf");
            std::fs::write(
                &conf,
                format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n"),
            )
            .expect("write the configuration");
            let child = Command::new(&bin)
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start mosquitto");
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut m = Mosquitto {
                child,
                addr,
                _dir: TempDir(dir),
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = m.child.try_wait() {
                    break; // exited: probably the port was taken; try another
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                    return m;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = m.child.kill();
        }
        panic!("mosquitto did not start listening on a loopback port after 5 attempts");
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
