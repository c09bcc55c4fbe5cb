//! `mqttspec broker` as a process: the Mosquitto command-line clients (an independent
//! implementation) exchange QoS 0/1/2 messages, retained messages and a will through it;
//! users files are enforced; SIGTERM stops it with exit code 0; bad flags exit with 2.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Lines of a child's stdout, read on a thread so every wait can time out.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let out = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line that `pick` accepts, within [`WAIT`]; `seen` keeps the others.
fn wait_line(rx: &Receiver<String>, seen: &mut Vec<String>, pick: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if pick(&line) => return line,
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                panic!("the awaited line did not come; lines so far: {seen:#?}")
            }
        }
    }
}

struct BrokerProcess {
    child: Child,
    addr: SocketAddr,
}

impl BrokerProcess {
    fn start(extra: &[&str]) -> BrokerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mqttspec"))
            .args(["broker", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mqttspec broker");
        let rx = lines_of(&mut child);
        let line = wait_line(&rx, &mut Vec::new(), |l| l.starts_with("listening on "));
        let addr = line["listening on ".len()..]
            .parse()
            .expect("the listening line names an address");
        BrokerProcess { child, addr }
    }

    fn terminate(&mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().expect("wait for the broker") {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the broker did not stop within {WAIT:?} of SIGTERM");
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn endpoint(addr: SocketAddr) -> Vec<String> {
    vec![
        "-h".into(),
        addr.ip().to_string(),
        "-p".into(),
        addr.port().to_string(),
        "-V".into(),
        "mqttv311".into(),
    ]
}

fn mosquitto_pub(addr: SocketAddr, args: &[&str]) -> std::process::Output {
    Command::new("mosquitto_pub")
        .args(endpoint(addr))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mosquitto_pub (package mosquitto-clients)")
}

/// A `mosquitto_sub -d` whose stdout is line-buffered (`stdbuf`), so its "received SUBACK"
/// line says when publishing may start.
struct Sub {
    child: Child,
    rx: Receiver<String>,
    seen: Vec<String>,
}

impl Sub {
    fn start(addr: SocketAddr, args: &[&str]) -> Sub {
        let mut child = Command::new("stdbuf")
            .args([
                "-oL",
                "mosquitto_sub",
                "-d",
                "-W",
                "20",
                "-F",
                "MSG|%t|%q|%r|%p",
            ])
            .args(endpoint(addr))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run mosquitto_sub");
        let rx = lines_of(&mut child);
        let mut seen = Vec::new();
        wait_line(&rx, &mut seen, |l| l.contains("received SUBACK"));
        Sub { child, rx, seen }
    }

    fn next_message(&mut self) -> String {
        wait_line(&self.rx, &mut self.seen, |l| l.starts_with("MSG|"))
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn real_clients_exchange_qos_levels_retained_messages_and_wills() {
    let broker = BrokerProcess::start(&[]);
    let a = broker.addr;
    let ok = |out: std::process::Output| assert!(out.status.success(), "{out:?}");
    ok(mosquitto_pub(
        a,
        &["-t", "cli/ret", "-m", "kept", "-q", "1", "-r"],
    ));

    let mut sub = Sub::start(a, &["-t", "cli/#", "-q", "2"]);
    assert_eq!(sub.next_message(), "MSG|cli/ret|1|1|kept");
    for qos in ["0", "1", "2"] {
        ok(mosquitto_pub(
            a,
            &["-t", &format!("cli/q{qos}"), "-m", "m", "-q", qos],
        ));
        assert_eq!(sub.next_message(), format!("MSG|cli/q{qos}|{qos}|0|m"));
    }
    // A retained message forwarded to a live subscription has RETAIN 0.
    ok(mosquitto_pub(
        a,
        &["-t", "cli/ret", "-m", "new", "-q", "2", "-r"],
    ));
    assert_eq!(sub.next_message(), "MSG|cli/ret|2|0|new");

    let victim = Sub::start(
        a,
        &[
            "-t",
            "other",
            "--will-topic",
            "cli/will",
            "--will-payload",
            "gone",
            "--will-qos",
            "1",
        ],
    );
    drop(victim); // SIGKILL: no DISCONNECT, so the will must be published.
    assert_eq!(sub.next_message(), "MSG|cli/will|1|0|gone");

    // The retained message replaced above is the one a new subscriber gets.
    let mut late = Sub::start(a, &["-t", "cli/ret", "-q", "1"]);
    assert_eq!(late.next_message(), "MSG|cli/ret|1|1|new");
}

#[test]
fn users_file_is_enforced() {
    let mut passwd = Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .args(["passwd", "alice", "--iterations", "1000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run mqttspec passwd");
    passwd
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"s3cret\n")
        .expect("write the password");
    let out = passwd.wait_with_output().expect("mqttspec passwd output");
    assert!(out.status.success());
    let dir = std::env::temp_dir().join(format!("mqttspec-cli-broker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let users = dir.join("users");
    std::fs::write(&users, &out.stdout).expect("write the users file");

    let broker = BrokerProcess::start(&[
        "--users",
        users.to_str().expect("utf-8 path"),
        "--allow-anonymous",
        "never",
    ]);
    let publish = |extra: &[&str]| {
        let mut args = vec!["-t", "auth/t", "-m", "x"];
        args.extend_from_slice(extra);
        mosquitto_pub(broker.addr, &args).status.success()
    };
    assert!(
        publish(&["-u", "alice", "-P", "s3cret"]),
        "the right password is accepted"
    );
    assert!(
        !publish(&["-u", "alice", "-P", "wrong"]),
        "a wrong password is refused"
    );
    assert!(
        !publish(&["-u", "mallory", "-P", "s3cret"]),
        "an unknown user is refused"
    );
    assert!(
        !publish(&[]),
        "anonymous clients are refused with --allow-anonymous never"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_stops_the_broker_with_exit_code_0() {
    let mut broker = BrokerProcess::start(&[]);
    assert_eq!(broker.terminate(), Some(0));
}

#[test]
fn bad_flags_and_files_exit_with_code_2() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mqttspec"))
            .arg("broker")
            .args(args)
            .output()
            .expect("run mqttspec broker")
    };
    let out = run(&["--max-inflight", "many"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = run(&["--listen", "127.0.0.1:0", "--users", "/nonexistent/users"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/users"),
        "the error names the file: {stderr}"
    );
}

/// A blocking 5.0 client on our codec: CONNECT, then the packets it receives.
struct Raw5 {
    stream: std::net::TcpStream,
    buf: bytes::BytesMut,
}

impl Raw5 {
    fn connect(addr: SocketAddr) -> (Raw5, mqttspec_codec::ConnAck) {
        use mqttspec_codec::{Connect, Packet, ProtocolVersion};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to the broker");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        let connect = Packet::Connect(Connect {
            version: ProtocolVersion::V5,
            client_id: "cli-v5".into(),
            ..Connect::default()
        });
        stream
            .write_all(&connect.to_bytes(ProtocolVersion::V5).expect("encode"))
            .expect("send CONNECT");
        let mut raw = Raw5 {
            stream,
            buf: bytes::BytesMut::new(),
        };
        match raw.next() {
            Some(Packet::ConnAck(ack)) => (raw, ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// The next packet, or `None` at the close.
    fn next(&mut self) -> Option<mqttspec_codec::Packet> {
        use std::io::Read;
        let decoder = mqttspec_codec::Decoder::new(mqttspec_codec::ProtocolVersion::V5);
        loop {
            if let Some(p) = decoder.decode(&mut self.buf).expect("decodable packet") {
                return Some(p);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

#[test]
fn v5_options_reach_the_connack_and_sigterm_says_0x8b() {
    use mqttspec_codec::{Packet, PropertyId, ReasonCode};
    let mut broker = BrokerProcess::start(&[
        "--maximum-qos",
        "1",
        "--retain-available",
        "false",
        "--shared-subscriptions",
        "false",
        "--topic-alias-maximum",
        "5",
        "--receive-maximum",
        "10",
        "--server-keep-alive",
        "30",
    ]);
    let (mut client, ack) = Raw5::connect(broker.addr);
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    let p = &ack.properties;
    assert_eq!(p.int(PropertyId::MaximumQos), Some(1));
    assert_eq!(p.int(PropertyId::RetainAvailable), Some(0));
    assert_eq!(p.int(PropertyId::SharedSubscriptionAvailable), Some(0));
    assert_eq!(p.int(PropertyId::WildcardSubscriptionAvailable), None);
    assert_eq!(p.int(PropertyId::TopicAliasMaximum), Some(5));
    assert_eq!(p.int(PropertyId::ReceiveMaximum), Some(10));
    assert_eq!(p.int(PropertyId::ServerKeepAlive), Some(30));
    assert_eq!(broker.terminate(), Some(0));
    match client.next() {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason(), ReasonCode::SERVER_SHUTTING_DOWN),
        other => panic!("expected DISCONNECT 0x8B, got {other:?}"),
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mqttspec"))
        .args(["broker", "--maximum-qos", "3"])
        .output()
        .expect("run mqttspec broker");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
