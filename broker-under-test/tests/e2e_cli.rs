//! End-to-end checks with the Mosquitto command-line clients (`mosquitto_pub`,
//! `mosquitto_sub`, protocol `mqttv311`), each run against a private Mosquitto and against
//! our broker.

// Tests and benches run outside the sans-IO core, where wall-clock time is what they measure.
#![allow(clippy::disallowed_methods)]

#[macro_use]
mod common;

use common::Target;
use common::cli::{self, CliMessage, Sub};

both!(cli_qos_levels, cli_retained, cli_will_on_sigkill);

/// `-W` for every `mosquitto_sub`: it exits by itself even if a check forgets it.
const SUB_TIMEOUT_S: u32 = 10;

/// A QoS 2 `mosquitto_sub` receives what `mosquitto_pub` sends at QoS 0, 1 and 2, each at
/// the QoS it was published with.
async fn cli_qos_levels(t: Target) {
    let mut sub = Sub::start(t.addr, &["-t", "e2e/cli/qos/#", "-q", "2"], SUB_TIMEOUT_S).await;
    for qos in ["0", "1", "2"] {
        let topic = format!("e2e/cli/qos/{qos}");
        let payload = format!("payload at qos {qos}");
        cli::publish(t.addr, &["-t", &topic, "-q", qos, "-m", &payload]).await;
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(sub.next_message().await);
    }
    got.sort_by(|a, b| a.topic.cmp(&b.topic));
    let expected: Vec<CliMessage> = (0..3u8)
        .map(|qos| CliMessage {
            topic: format!("e2e/cli/qos/{qos}"),
            qos,
            retain: false,
            payload: format!("payload at qos {qos}"),
            props: String::new(),
        })
        .collect();
    assert_eq!(got, expected);
}

/// `mosquitto_pub -r` leaves a retained message that a later `mosquitto_sub` receives with
/// the retain flag, at min(published QoS, granted QoS).
async fn cli_retained(t: Target) {
    cli::publish(
        t.addr,
        &["-t", "e2e/cli/retained", "-q", "1", "-r", "-m", "kept"],
    )
    .await;
    let mut sub = Sub::start(t.addr, &["-t", "e2e/cli/+", "-q", "2"], SUB_TIMEOUT_S).await;
    assert_eq!(
        sub.next_message().await,
        CliMessage {
            topic: "e2e/cli/retained".into(),
            qos: 1,
            retain: true,
            payload: "kept".into(),
            props: String::new(),
        }
    );
}

/// A `mosquitto_sub` with `--will-topic`, killed with SIGKILL, has its Will published to
/// another subscriber (3.1.1/MQTT-3.1.2-8).
async fn cli_will_on_sigkill(t: Target) {
    let mut watcher = Sub::start(t.addr, &["-t", "e2e/cli/will", "-q", "1"], SUB_TIMEOUT_S).await;
    let id = t.client_id("cli-victim");
    let victim = Sub::start(
        t.addr,
        &[
            "-i",
            &id,
            "-t",
            "e2e/cli/unused",
            "--will-topic",
            "e2e/cli/will",
            "--will-payload",
            "killed",
            "--will-qos",
            "1",
        ],
        SUB_TIMEOUT_S,
    )
    .await;
    victim.kill().await;
    assert_eq!(
        watcher.next_message().await,
        CliMessage {
            topic: "e2e/cli/will".into(),
            qos: 1,
            retain: false,
            payload: "killed".into(),
            props: String::new(),
        }
    );
}
