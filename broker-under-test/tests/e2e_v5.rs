//! End-to-end checks of MQTT 5.0 with independent 5.0 clients — `rumqttc`'s v5 client and
//! `mosquitto_pub`/`mosquitto_sub -V mqttv5` — each run against a private Mosquitto and
//! against our broker, so a check that passes on Mosquitto shows it tests real behaviour.
//! Mixed-version exchanges (3.1.1 and 5.0 clients on one broker) are here too.

// Tests run outside the sans-IO core, where wall-clock time is what they measure.
#![allow(clippy::disallowed_methods)]

#[macro_use]
mod common;

use bytes::Bytes;
use common::Target;
use common::cli::{Sub, publish_as};
use common::rumqtt5::{Client, options};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{
    Filter, LastWill, LastWillProperties, PublishProperties, RetainForwardRule,
};
use std::time::Duration;

both!(
    properties_pass_through,
    session_expiry_keeps_then_ends_the_session,
    retain_handling,
    no_local,
    shared_subscription_gives_each_message_to_one_member,
    will_delay_and_will_properties,
    mixed_versions_exchange_messages,
    cli_user_properties_and_response_topic,
    cli_session_expiry_queues_for_an_offline_client,
    cli_shared_subscription,
);

/// How long a check waits before concluding that a message was NOT sent.
const QUIET: Duration = Duration::from_millis(400);
const SUB_TIMEOUT_S: u32 = 20;

fn props() -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(1),
        content_type: Some("text/plain".into()),
        response_topic: Some("e2e/v5/reply".into()),
        correlation_data: Some(Bytes::from_static(b"\x00\x01corr")),
        user_properties: vec![
            ("b".into(), "2".into()),
            ("a".into(), "1".into()),
            ("b".into(), "3".into()),
        ],
        ..PublishProperties::default()
    }
}

/// 5.0/MQTT-3.3.2-4, -15, -16, -17, -18, -20: forwarded unchanged and in order; the
/// Message Expiry Interval at most as sent.
async fn properties_pass_through(t: Target) {
    let mut sub = Client::connect(options(t.addr, &t.client_id("v5sub"))).await;
    sub.subscribe("e2e/v5/props", QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(options(t.addr, &t.client_id("v5pub"))).await;
    let sent = PublishProperties {
        message_expiry_interval: Some(300),
        ..props()
    };
    publisher
        .publish(
            "e2e/v5/props",
            QoS::AtLeastOnce,
            false,
            b"hello",
            sent.clone(),
        )
        .await;
    let got = sub.next_publish().await;
    assert_eq!(&got.payload[..], b"hello");
    let p = got.properties.expect("properties forwarded");
    assert_eq!(p.user_properties, sent.user_properties);
    assert_eq!(p.content_type, sent.content_type);
    assert_eq!(p.response_topic, sent.response_topic);
    assert_eq!(p.correlation_data, sent.correlation_data);
    assert_eq!(p.payload_format_indicator, Some(1));
    assert!(
        p.message_expiry_interval
            .is_some_and(|e| (295..=300).contains(&e))
    );
}

/// 5.0/MQTT-3.1.2-23: a session with an expiry outlives its connection and queues QoS 1;
/// 5.0/MQTT-4.1.0-2: once the interval has passed it is gone.
async fn session_expiry_keeps_then_ends_the_session(t: Target) {
    let id = t.client_id("exp");
    let persistent = |secs| {
        let mut o = options(t.addr, &id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(secs));
        o
    };
    let mut sub = Client::connect(persistent(60)).await;
    sub.subscribe("e2e/v5/expiry", QoS::AtLeastOnce).await;
    sub.disconnect().await;
    let mut publisher = Client::connect(options(t.addr, &t.client_id("exppub"))).await;
    publisher
        .publish(
            "e2e/v5/expiry",
            QoS::AtLeastOnce,
            false,
            b"queued",
            PublishProperties::default(),
        )
        .await;
    let mut sub = Client::connect(persistent(1)).await;
    assert!(sub.session_present);
    assert_eq!(&sub.next_publish().await.payload[..], b"queued");
    sub.disconnect().await;
    // Expiry 1 s, set at the last CONNECT: gone after a few seconds.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let sub = Client::connect(persistent(0)).await;
    assert!(!sub.session_present);
}

/// 5.0/MQTT-3.3.1-9, -10, -11.
async fn retain_handling(t: Target) {
    let topic = format!("e2e/v5/rh/{}", t.client_id("t"));
    let mut publisher = Client::connect(options(t.addr, &t.client_id("rhpub"))).await;
    publisher
        .publish(
            &topic,
            QoS::AtLeastOnce,
            true,
            b"kept",
            PublishProperties::default(),
        )
        .await;
    let mut sub = Client::connect(options(t.addr, &t.client_id("rhsub"))).await;
    let filter = |rule| Filter {
        retain_forward_rule: rule,
        ..Filter::new(&topic, QoS::AtLeastOnce)
    };
    sub.subscribe_filter(filter(RetainForwardRule::Never)).await;
    assert!(sub.publish_within(QUIET).await.is_none(), "2: never");
    sub.subscribe_filter(filter(RetainForwardRule::OnNewSubscribe))
        .await;
    assert!(
        sub.publish_within(QUIET).await.is_none(),
        "1: the subscription existed"
    );
    sub.subscribe_filter(filter(RetainForwardRule::OnEverySubscribe))
        .await;
    let got = sub.next_publish().await;
    assert!(got.retain && &got.payload[..] == b"kept", "0: always");
    let mut fresh = Client::connect(options(t.addr, &t.client_id("rhnew"))).await;
    fresh
        .subscribe_filter(filter(RetainForwardRule::OnNewSubscribe))
        .await;
    assert_eq!(&fresh.next_publish().await.payload[..], b"kept", "1: new");
    // Clean up the retained message for other runs on the same broker.
    publisher
        .publish(
            &topic,
            QoS::AtLeastOnce,
            true,
            b"",
            PublishProperties::default(),
        )
        .await;
}

/// 5.0/MQTT-3.8.3-3.
async fn no_local(t: Target) {
    let topic = format!("e2e/v5/nl/{}", t.client_id("t"));
    let mut me = Client::connect(options(t.addr, &t.client_id("nl"))).await;
    me.subscribe_filter(Filter {
        nolocal: true,
        ..Filter::new(&topic, QoS::AtMostOnce)
    })
    .await;
    me.publish(
        &topic,
        QoS::AtLeastOnce,
        false,
        b"mine",
        PublishProperties::default(),
    )
    .await;
    assert!(me.publish_within(QUIET).await.is_none());
    let mut other = Client::connect(options(t.addr, &t.client_id("nlo"))).await;
    other
        .publish(
            &topic,
            QoS::AtLeastOnce,
            false,
            b"theirs",
            PublishProperties::default(),
        )
        .await;
    assert_eq!(&me.next_publish().await.payload[..], b"theirs");
}

/// 5.0 section 4.8.2: each message to one member of the group.
async fn shared_subscription_gives_each_message_to_one_member(t: Target) {
    let group = t.client_id("g").replace('-', "");
    let filter = format!("$share/{group}/e2e/v5/shared/#");
    let mut m1 = Client::connect(options(t.addr, &t.client_id("m1"))).await;
    let mut m2 = Client::connect(options(t.addr, &t.client_id("m2"))).await;
    m1.subscribe(&filter, QoS::AtLeastOnce).await;
    m2.subscribe(&filter, QoS::AtLeastOnce).await;
    let mut publisher = Client::connect(options(t.addr, &t.client_id("shpub"))).await;
    for i in 0..10 {
        publisher
            .publish(
                "e2e/v5/shared/x",
                QoS::AtLeastOnce,
                false,
                format!("{i}").as_bytes(),
                PublishProperties::default(),
            )
            .await;
    }
    let mut got = Vec::new();
    let mut counts = [0, 0];
    for (n, m) in [&mut m1, &mut m2].into_iter().enumerate() {
        while let Some(p) = m.publish_within(QUIET).await {
            got.push(String::from_utf8_lossy(&p.payload).into_owned());
            counts[n] += 1;
        }
    }
    got.sort_by_key(|s| s.parse::<u32>().unwrap_or(0));
    assert_eq!(got, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(
        counts[0] > 0 && counts[1] > 0,
        "both members served: {counts:?}"
    );
}

/// 5.0/MQTT-3.1.2-8, -3.1.3-10: a delayed will comes after its delay with its user
/// properties in order; 5.0/MQTT-3.1.3-9: not at all when the client is back in time.
async fn will_delay_and_will_properties(t: Target) {
    let topic = format!("e2e/v5/will/{}", t.client_id("t"));
    let mut watcher = Client::connect(options(t.addr, &t.client_id("watch"))).await;
    watcher.subscribe(&topic, QoS::AtLeastOnce).await;
    let willing = |id: &str| {
        let mut o = options(t.addr, id);
        o.set_clean_start(false);
        o.set_session_expiry_interval(Some(60));
        let props = LastWillProperties {
            delay_interval: Some(2),
            payload_format_indicator: None,
            message_expiry_interval: None,
            content_type: None,
            response_topic: None,
            correlation_data: None,
            user_properties: vec![("z".into(), "1".into()), ("y".into(), "2".into())],
        };
        o.set_last_will(LastWill::new(
            &topic,
            "gone",
            QoS::AtLeastOnce,
            false,
            Some(props),
        ));
        o
    };
    let id = t.client_id("will");
    let c = Client::connect(willing(&id)).await;
    c.drop_abruptly().await;
    assert!(
        watcher
            .publish_within(Duration::from_millis(1000))
            .await
            .is_none(),
        "not before 2 s"
    );
    let got = watcher.next_publish().await;
    assert_eq!(&got.payload[..], b"gone");
    let users = got
        .properties
        .map(|p| p.user_properties)
        .unwrap_or_default();
    assert_eq!(
        users,
        [("z".to_string(), "1".to_string()), ("y".into(), "2".into())]
    );
    // Back within the delay: no will.
    let id = t.client_id("back");
    let c = Client::connect(willing(&id)).await;
    c.drop_abruptly().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let back = Client::connect(willing(&id)).await;
    assert!(
        watcher
            .publish_within(Duration::from_millis(2500))
            .await
            .is_none()
    );
    back.disconnect().await;
}

/// A 5.0 publisher's message reaches a 3.1.1 subscriber without its properties, and a
/// 3.1.1 publisher's message reaches a 5.0 subscriber.
async fn mixed_versions_exchange_messages(t: Target) {
    use common::rumqtt as v311;
    let topic = format!("e2e/mix/{}", t.client_id("t"));
    let mut old = v311::Client::connect(v311::options(t.addr, &t.client_id("old"))).await;
    old.subscribe(&topic, rumqttc::QoS::AtLeastOnce).await;
    let mut new = Client::connect(options(t.addr, &t.client_id("new"))).await;
    new.subscribe(&topic, QoS::AtLeastOnce).await;
    new.publish(&topic, QoS::AtLeastOnce, false, b"from 5.0", props())
        .await;
    assert_eq!(&old.next_publish().await.payload[..], b"from 5.0");
    assert_eq!(&new.next_publish().await.payload[..], b"from 5.0");
    old.publish(&topic, rumqttc::QoS::AtLeastOnce, false, b"from 3.1.1")
        .await;
    let got = new.next_publish().await;
    assert_eq!(&got.payload[..], b"from 3.1.1");
    let p = got.properties.unwrap_or_default();
    assert!(p.user_properties.is_empty() && p.response_topic.is_none());
    assert_eq!(&old.next_publish().await.payload[..], b"from 3.1.1");
}

/// `mosquitto_pub -V mqttv5 -D publish ...` to `mosquitto_sub -V mqttv5`: user properties
/// in order, response topic, content type.
async fn cli_user_properties_and_response_topic(t: Target) {
    let topic = format!("e2e/cli5/{}", t.client_id("t"));
    let mut sub = Sub::start_as(t.addr, "mqttv5", &["-t", &topic, "-q", "1"], SUB_TIMEOUT_S).await;
    publish_as(
        t.addr,
        "mqttv5",
        &[
            "-t",
            &topic,
            "-q",
            "1",
            "-m",
            "payload",
            "-D",
            "publish",
            "user-property",
            "k",
            "v1",
            "-D",
            "publish",
            "user-property",
            "k",
            "v2",
            "-D",
            "publish",
            "response-topic",
            "e2e/cli5/reply",
            "-D",
            "publish",
            "content-type",
            "text/plain",
        ],
    )
    .await;
    let got = sub.next_message().await;
    assert_eq!(got.payload, "payload");
    assert_eq!(got.props, "k:v1 k:v2|e2e/cli5/reply|text/plain");
}

/// `mosquitto_sub -V mqttv5 -c -x 60`: the session outlives the client process and its
/// QoS 1 messages wait for it.
async fn cli_session_expiry_queues_for_an_offline_client(t: Target) {
    let topic = format!("e2e/cli5/queue/{}", t.client_id("t"));
    let id = t.client_id("cli5");
    let args = [
        "-t",
        topic.as_str(),
        "-q",
        "1",
        "-c",
        "-i",
        id.as_str(),
        "-x",
        "60",
    ];
    let sub = Sub::start_as(t.addr, "mqttv5", &args, SUB_TIMEOUT_S).await;
    sub.kill().await;
    publish_as(
        t.addr,
        "mqttv5",
        &["-t", &topic, "-q", "1", "-m", "while away"],
    )
    .await;
    let mut sub = Sub::start_as(t.addr, "mqttv5", &args, SUB_TIMEOUT_S).await;
    assert_eq!(sub.next_message().await.payload, "while away");
    // Leave no session behind on a shared broker.
    sub.kill().await;
    let clean = ["-t", topic.as_str(), "-i", id.as_str(), "-x", "0"];
    Sub::start_as(t.addr, "mqttv5", &clean, SUB_TIMEOUT_S)
        .await
        .kill()
        .await;
}

/// Two `mosquitto_sub -V mqttv5` in one share group: each message reaches one of them.
async fn cli_shared_subscription(t: Target) {
    let group = t.client_id("cg").replace('-', "");
    let filter = format!("$share/{group}/e2e/cli5/shared");
    let args = ["-t", filter.as_str(), "-q", "1"];
    let mut a = Sub::start_as(t.addr, "mqttv5", &args, SUB_TIMEOUT_S).await;
    let mut b = Sub::start_as(t.addr, "mqttv5", &args, SUB_TIMEOUT_S).await;
    for i in 0..6 {
        publish_as(
            t.addr,
            "mqttv5",
            &["-t", "e2e/cli5/shared", "-q", "1", "-m", &i.to_string()],
        )
        .await;
    }
    let mut got = Vec::new();
    for sub in [&mut a, &mut b] {
        while let Some(m) = sub.message_within(Duration::from_millis(600)).await {
            got.push(m.payload);
        }
    }
    got.sort();
    assert_eq!(got, ["0", "1", "2", "3", "4", "5"]);
}
