//! `mosquitto_pub` and `mosquitto_sub` (package mosquitto-clients) as independent clients.
//! Every run has both the tool's own timeout (`-W`) and ours, and is killed on drop.

use super::mosquitto::find_binary;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

/// `mosquitto_sub` prints each message as one line in this format: topic, QoS, retain,
/// payload.
const FORMAT: &str = "MSG|%t|%q|%r|%p";
/// With `-V mqttv5`, also the user properties (`k:v` pairs), response topic and content type
/// after the payload.
const FORMAT_V5: &str = "MSG|%t|%q|%r|%p|props=%P|%R|%C";

fn base_args(addr: SocketAddr, version: &str) -> Vec<String> {
    vec![
        "-h".into(),
        addr.ip().to_string(),
        "-p".into(),
        addr.port().to_string(),
        "-V".into(),
        version.into(),
    ]
}

/// Runs `mosquitto_pub` with `args` and asserts it succeeded.
pub async fn publish(addr: SocketAddr, args: &[&str]) {
    publish_as(addr, "mqttv311", args).await;
}

/// [`publish`] with `-V version` (`mqttv311` or `mqttv5`).
pub async fn publish_as(addr: SocketAddr, version: &str, args: &[&str]) {
    let bin = find_binary("mosquitto_pub", "MOSQUITTO_PUB_BIN");
    let mut cmd = Command::new(bin);
    cmd.args(base_args(addr, version))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = super::within(
        Duration::from_secs(10),
        "mosquitto_pub to exit",
        cmd.output(),
    )
    .await
    .expect("run mosquitto_pub");
    assert!(
        out.status.success(),
        "mosquitto_pub {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One message as `mosquitto_sub` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliMessage {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub payload: String,
    /// 5.0 only: `user properties|response topic|content type` as printed.
    pub props: String,
}

/// A running `mosquitto_sub`.
///
/// Its stdout is a pipe, so the tool buffers it and flushes only when it prints a message:
/// a "SUBACK" debug line cannot be waited for. Readiness is proven instead by a probe
/// topic, subscribed last, that [`Sub::start`] publishes to until a probe message shows up.
pub struct Sub {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    probe_topic: String,
    /// Every line read so far, for failure messages.
    transcript: Vec<String>,
    /// Message lines (not probes) read while waiting for a probe.
    unread: VecDeque<String>,
}

/// Distinguishes the probe topics of concurrent subscribers.
static PROBE: AtomicU32 = AtomicU32::new(0);

impl Sub {
    /// Starts `mosquitto_sub` with `args` (topics, QoS, will, …), exiting by itself after
    /// `timeout_s` seconds (`-W`), and waits until its subscriptions are in place. Do not
    /// pass `-C`: probe messages count towards it. The process is killed on drop.
    pub async fn start(addr: SocketAddr, args: &[&str], timeout_s: u32) -> Sub {
        Self::start_as(addr, "mqttv311", args, timeout_s).await
    }

    /// [`Sub::start`] with `-V version`; with `mqttv5` the properties are printed too.
    pub async fn start_as(addr: SocketAddr, version: &str, args: &[&str], timeout_s: u32) -> Sub {
        let format = if version == "mqttv5" {
            FORMAT_V5
        } else {
            FORMAT
        };
        let bin = find_binary("mosquitto_sub", "MOSQUITTO_SUB_BIN");
        let probe_topic = format!(
            "e2e/probe/{}/{}",
            std::process::id(),
            PROBE.fetch_add(1, Ordering::Relaxed)
        );
        let mut child = Command::new(bin)
            .args(base_args(addr, version))
            .args(["-F", format, "-W", &timeout_s.to_string()])
            .args(args)
            .args(["-t", &probe_topic])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mosquitto_sub");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut sub = Sub {
            child,
            lines: BufReader::new(stdout).lines(),
            probe_topic,
            transcript: Vec::new(),
            unread: VecDeque::new(),
        };
        sub.wait_ready(addr).await;
        sub
    }

    async fn wait_ready(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let probe_prefix = format!("MSG|{}|", self.probe_topic);
        while Instant::now() < deadline {
            let topic = self.probe_topic.clone();
            publish(addr, &["-t", &topic, "-m", "probe"]).await;
            let retry_at = (Instant::now() + Duration::from_millis(200)).min(deadline);
            while let Some(line) = self.read_line(retry_at).await {
                if line.starts_with(&probe_prefix) {
                    return;
                }
                if line.starts_with("MSG|") {
                    self.unread.push_back(line);
                }
            }
        }
        panic!(
            "mosquitto_sub received no probe on {} within 5 s; output: {:#?}",
            self.probe_topic, self.transcript
        );
    }

    /// The next output line, or `None` at `deadline`. Panics if the tool exited.
    async fn read_line(&mut self, deadline: Instant) -> Option<String> {
        match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                self.transcript.push(line.clone());
                Some(line)
            }
            Ok(Ok(None)) => panic!("mosquitto_sub exited; output: {:#?}", self.transcript),
            Ok(Err(e)) => panic!("reading mosquitto_sub output: {e}"),
            Err(_) => None,
        }
    }

    /// The next message printed, probes skipped; panics after 5 s.
    pub async fn next_message(&mut self) -> CliMessage {
        let deadline = Instant::now() + Duration::from_secs(5);
        let probe_prefix = format!("MSG|{}|", self.probe_topic);
        let line = loop {
            if let Some(line) = self.unread.pop_front() {
                break line;
            }
            match self.read_line(deadline).await {
                Some(line) if line.starts_with("MSG|") && !line.starts_with(&probe_prefix) => {
                    break line;
                }
                Some(_) => {}
                None => panic!(
                    "mosquitto_sub printed no message within 5 s; output: {:#?}",
                    self.transcript
                ),
            }
        };
        let mut fields = line.splitn(5, '|').skip(1);
        let mut field = || fields.next().unwrap_or_default().to_string();
        let (topic, qos, retain, rest) = (field(), field(), field(), field());
        let (payload, props) = match rest.split_once("|props=") {
            Some((p, props)) => (p.to_owned(), props.to_owned()),
            None => (rest, String::new()),
        };
        CliMessage {
            topic,
            qos: qos.parse().expect("QoS digit"),
            retain: retain == "1",
            payload,
            props,
        }
    }

    /// The next message printed within `within`, or `None`.
    pub async fn message_within(&mut self, within: Duration) -> Option<CliMessage> {
        let deadline = Instant::now() + within;
        let probe_prefix = format!("MSG|{}|", self.probe_topic);
        let line = loop {
            if let Some(line) = self.unread.pop_front() {
                break line;
            }
            match self.read_line(deadline).await {
                Some(line) if line.starts_with("MSG|") && !line.starts_with(&probe_prefix) => {
                    break line;
                }
                Some(_) => {}
                None => return None,
            }
        };
        self.unread.push_front(line);
        Some(self.next_message().await)
    }

    /// SIGKILL: the client gets no chance to send DISCONNECT.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill mosquitto_sub");
    }
}
