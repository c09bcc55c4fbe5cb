//! The seed corpora of the codec targets: a valid packet of every type of both versions
//! (built with the codec), hand-made malformed frames, and streams for `frames`.

use super::codec::FramesInput;
use bytes::Bytes;
use mqttspec_codec::{
    Auth, ConnAck, Connect, Disconnect, Packet, Properties, Property, ProtocolVersion, PubAck,
    PubComp, PubRec, PubRel, Publish, QoS, ReasonCode, SubAck, Subscribe, Subscription, UnsubAck,
    Unsubscribe, Will,
};

/// A valid packet of every type, in `version`, with the version's optional parts (5.0
/// properties, reason codes, wills, credentials): the seeds of the codec corpora.
pub fn seed_packets(version: ProtocolVersion) -> Vec<(&'static str, Packet)> {
    let v5 = version == ProtocolVersion::V5;
    let props = |list: Vec<Property>| {
        let mut p = Properties::new();
        if v5 {
            for x in list {
                p.push(x);
            }
        }
        p
    };
    let user = || Property::UserProperty("k".into(), "v".into());
    let reason = |code: u8| v5.then_some(ReasonCode(code));
    let ack_props = || v5.then(|| props(vec![Property::ReasonString("why".into()), user()]));
    let mut connect = Connect {
        version,
        clean_start: true,
        keep_alive: 60,
        properties: props(vec![
            Property::SessionExpiryInterval(30),
            Property::ReceiveMaximum(10),
            Property::MaximumPacketSize(65_535),
            Property::TopicAliasMaximum(4),
            Property::RequestProblemInformation(1),
            user(),
        ]),
        client_id: "seed".into(),
        will: None,
        username: None,
        password: None,
    };
    let minimal = connect.clone();
    connect.clean_start = false;
    connect.username = Some("user".into());
    connect.password = Some(Bytes::from_static(b"pass"));
    connect.will = Some(Will {
        topic: "will/t".into(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: props(vec![
            Property::WillDelayInterval(5),
            Property::PayloadFormatIndicator(1),
            Property::ContentType("text/plain".into()),
        ]),
    });
    let mut connack = ConnAck::new(true, ReasonCode(0));
    connack.properties = props(vec![
        Property::AssignedClientIdentifier("auto-1".into()),
        Property::ServerKeepAlive(30),
        Property::TopicAliasMaximum(2),
    ]);
    let mut publish0 = Publish::new("a/b", QoS::AtMostOnce, Bytes::from_static(b"hello"));
    publish0.retain = true;
    let mut publish1 = Publish::new("a/b", QoS::AtLeastOnce, Bytes::from_static(b"{}"));
    publish1.packet_id = 7;
    publish1.properties = props(vec![
        Property::PayloadFormatIndicator(1),
        Property::MessageExpiryInterval(60),
        Property::TopicAlias(1),
        Property::ResponseTopic("reply/to".into()),
        Property::CorrelationData(Bytes::from_static(b"\x01\x02")),
        user(),
    ]);
    let mut publish2 = Publish::new("x", QoS::ExactlyOnce, Bytes::new());
    publish2.packet_id = 65_535;
    publish2.dup = true;
    let mut sub = Subscription::new("a/+/#", QoS::ExactlyOnce);
    if v5 {
        sub.options.no_local = true;
        sub.options.retain_as_published = true;
        sub.options.retain_handling = 2;
    }
    let subscribe = Subscribe {
        packet_id: 1,
        properties: props(vec![Property::SubscriptionIdentifier(5), user()]),
        subscriptions: vec![sub, Subscription::new("$SYS/#", QoS::AtMostOnce)],
    };
    let suback = SubAck {
        packet_id: 1,
        properties: props(vec![Property::ReasonString("partly".into())]),
        return_codes: vec![ReasonCode(2), ReasonCode(0x80)],
    };
    let unsubscribe = Unsubscribe {
        packet_id: 2,
        properties: props(vec![user()]),
        filters: vec!["a/+/#".into(), "x".into()],
    };
    let mut unsuback = UnsubAck::new(2);
    if v5 {
        unsuback.reason_codes = vec![ReasonCode(0), ReasonCode(0x11)];
    }
    let acks = |id: u16| {
        let mut a = PubAck::new(id);
        a.reason_code = reason(0x10);
        a.properties = ack_props();
        a
    };
    let mut pubrec = PubRec::new(8);
    pubrec.reason_code = reason(0x10);
    let mut pubrel = PubRel::new(8);
    pubrel.reason_code = reason(0x92);
    pubrel.properties = ack_props();
    let mut pubcomp = PubComp::new(8);
    pubcomp.reason_code = reason(0);
    let mut out = vec![
        ("connect-minimal", Packet::Connect(minimal)),
        ("connect-full", Packet::Connect(connect)),
        ("connack", Packet::ConnAck(connack)),
        (
            "connack-refused",
            Packet::ConnAck(ConnAck::new(false, ReasonCode(if v5 { 0x87 } else { 5 }))),
        ),
        ("publish-qos0", Packet::Publish(publish0)),
        ("publish-qos1", Packet::Publish(publish1)),
        ("publish-qos2", Packet::Publish(publish2)),
        ("puback", Packet::PubAck(acks(7))),
        ("puback-plain", Packet::PubAck(PubAck::new(1))),
        ("pubrec", Packet::PubRec(pubrec)),
        ("pubrel", Packet::PubRel(pubrel)),
        ("pubcomp", Packet::PubComp(pubcomp)),
        ("subscribe", Packet::Subscribe(subscribe)),
        ("suback", Packet::SubAck(suback)),
        ("unsubscribe", Packet::Unsubscribe(unsubscribe)),
        ("unsuback", Packet::UnsubAck(unsuback)),
        ("pingreq", Packet::PingReq),
        ("pingresp", Packet::PingResp),
        (
            "disconnect",
            Packet::Disconnect(Disconnect {
                reason_code: None,
                properties: None,
            }),
        ),
    ];
    if v5 {
        out.push((
            "disconnect-reason",
            Packet::Disconnect(Disconnect {
                reason_code: Some(ReasonCode(0x04)),
                properties: Some(props(vec![
                    Property::SessionExpiryInterval(0),
                    Property::ReasonString("bye".into()),
                ])),
            }),
        ));
        out.push((
            "auth",
            Packet::Auth(Auth {
                reason_code: Some(ReasonCode(0x18)),
                properties: Some(props(vec![
                    Property::AuthenticationMethod("SCRAM-SHA-256".into()),
                    Property::AuthenticationData(Bytes::from_static(b"n,,n=u,r=abc")),
                ])),
            }),
        ));
        out.push((
            "auth-empty",
            Packet::Auth(Auth {
                reason_code: None,
                properties: None,
            }),
        ));
    }
    out
}

/// Hand-made malformed frames (name, version, bytes), each breaking one rule of the
/// codec, for the `decode` and `frames` seeds.
const MALFORMED: &[(&str, &[u8])] = &[
    ("reserved-type-0", &[0x00, 0x00]),
    ("type-15-in-311", &[0xF0, 0x00]),
    ("puback-reserved-flags", &[0x41, 0x02, 0x00, 0x01]),
    ("pingreq-reserved-flags", &[0xC1, 0x00]),
    ("pubrel-flags-0", &[0x60, 0x02, 0x00, 0x01]),
    ("publish-qos3", &[0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01]),
    (
        "remaining-length-5-bytes",
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    ),
    (
        "remaining-length-256mib",
        &[0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x01, b'a'],
    ),
    ("remaining-length-non-minimal", &[0xC0, 0x80, 0x00]),
    (
        "length-too-short",
        &[0x82, 0x04, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'b', 0x00],
    ),
    ("length-too-long-for-body", &[0x40, 0x03, 0x00, 0x01, 0x00]),
    (
        "publish-invalid-utf8",
        &[0x30, 0x05, 0x00, 0x03, b'a', 0xFF, b'b'],
    ),
    (
        "publish-overlong-utf8",
        &[0x30, 0x05, 0x00, 0x03, 0xC0, 0xAF, b'b'],
    ),
    (
        "publish-surrogate",
        &[0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80],
    ),
    (
        "publish-null-char",
        &[0x30, 0x05, 0x00, 0x03, b'a', 0x00, b'b'],
    ),
    (
        "publish-wildcard-topic",
        &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+'],
    ),
    (
        "publish-qos1-packet-id-0",
        &[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
    ),
    (
        "subscribe-packet-id-0",
        &[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'a', 0x00],
    ),
    ("subscribe-no-filter", &[0x82, 0x02, 0x00, 0x01]),
    (
        "subscribe-bad-filter",
        &[0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'#', b'b', 0x00],
    ),
    (
        "subscribe-qos3",
        &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x03],
    ),
    ("unsubscribe-no-filter", &[0xA2, 0x02, 0x00, 0x01]),
    (
        "connect-protocol-name",
        &[
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'X', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01,
            b'c',
        ],
    ),
    (
        "connect-level-3",
        &[
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x03, 0x02, 0x00, 0x3C, 0x00, 0x01,
            b'c',
        ],
    ),
    (
        "connect-reserved-flag",
        &[
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x03, 0x00, 0x3C, 0x00, 0x01,
            b'c',
        ],
    ),
    (
        "connect-password-without-user",
        &[
            0x10, 0x11, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x42, 0x00, 0x3C, 0x00, 0x01,
            b'c', 0x00, 0x02, b'p', b'w',
        ],
    ),
    (
        "connect-will-qos-without-will",
        &[
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x0A, 0x00, 0x3C, 0x00, 0x01,
            b'c',
        ],
    ),
    (
        "connect-v5-duplicate-property",
        &[
            0x10, 0x18, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x0A, 0x11,
            0x00, 0x00, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x06, 0x00, 0x01, b'c',
        ],
    ),
    (
        "connect-v5-receive-maximum-0",
        &[
            0x10, 0x11, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x03, 0x21,
            0x00, 0x00, 0x00, 0x01, b'c',
        ],
    ),
    (
        "connect-v5-property-length-lies",
        &[
            0x10, 0x0F, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x09, 0x00,
            0x01, b'c',
        ],
    ),
    (
        "publish-v5-wrong-property",
        &[
            0x30, 0x0A, 0x00, 0x01, b'a', 0x05, 0x11, 0x00, 0x00, 0x00, 0x05, b'x',
        ],
    ),
    (
        "publish-v5-duplicate-format-indicator",
        &[
            0x30, 0x08, 0x00, 0x01, b'a', 0x04, 0x01, 0x01, 0x01, 0x00, b'x',
        ],
    ),
    (
        "publish-v5-format-indicator-2",
        &[0x30, 0x06, 0x00, 0x01, b'a', 0x02, 0x01, 0x02, b'x'],
    ),
    (
        "publish-v5-topic-alias-0",
        &[0x30, 0x07, 0x00, 0x01, b'a', 0x03, 0x23, 0x00, 0x00],
    ),
    (
        "publish-v5-subscription-id-0",
        &[0x30, 0x06, 0x00, 0x01, b'a', 0x02, 0x0B, 0x00, b'x'],
    ),
    (
        "publish-v5-invalid-utf8-user-property",
        &[
            0x30, 0x0C, 0x00, 0x01, b'a', 0x07, 0x26, 0x00, 0x01, 0xFF, 0x00, 0x01, b'v', b'x',
        ],
    ),
    (
        "subscribe-v5-reserved-option-bits",
        &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0xC1],
    ),
    (
        "subscribe-v5-retain-handling-3",
        &[0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'a', 0x30],
    ),
    (
        "puback-v5-property-length-lies",
        &[0x40, 0x04, 0x00, 0x01, 0x10, 0x05],
    ),
    (
        "disconnect-v5-bad-property",
        &[0xE0, 0x03, 0x00, 0x01, 0x23],
    ),
    ("auth-v5-reserved-flags", &[0xF1, 0x00]),
    ("auth-v5-without-method", &[0xF0, 0x02, 0x18, 0x00]),
];

fn version_name(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::V5 => "v5",
        _ => "v311",
    }
}

/// The seed corpus of `decode`: every valid packet of both versions, each also cut short
/// by one byte (the decoder must wait), and the malformed frames.
pub fn seed_corpus_decode() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for (name, packet) in seed_packets(version) {
            let Ok(bytes) = packet.to_bytes(version) else {
                continue;
            };
            let v = version_name(version);
            out.push((format!("{v}-{name}"), bytes.to_vec()));
            if name.ends_with("full") || name == "publish-qos1" || name == "subscribe" {
                out.push((
                    format!("{v}-{name}-truncated"),
                    bytes[..bytes.len() - 1].to_vec(),
                ));
            }
        }
    }
    for (name, bytes) in MALFORMED {
        out.push((format!("malformed-{name}"), bytes.to_vec()));
    }
    out
}

/// The seed corpus of `frames`: per version, streams of valid packets whole, cut in a few
/// places, cut at every byte, followed by a malformed frame, and ending inside a frame.
pub fn seed_corpus_frames() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let v5 = version == ProtocolVersion::V5;
        let v = version_name(version);
        let frames: Vec<Vec<u8>> = seed_packets(version)
            .iter()
            .filter_map(|(_, p)| p.to_bytes(version).ok().map(|b| b.to_vec()))
            .collect();
        let session: Vec<u8> = [0usize, 4, 5, 12, 16, 18]
            .iter()
            .filter_map(|i| frames.get(*i))
            .flatten()
            .copied()
            .collect();
        let all: Vec<u8> = frames.iter().flatten().copied().collect();
        let input = |cuts: Vec<u16>, stream: Vec<u8>| FramesInput { v5, cuts, stream }.to_bytes();
        out.push((format!("{v}-all-whole"), input(Vec::new(), all.clone())));
        out.push((
            format!("{v}-session-cuts"),
            input(vec![1, 3, 7, 2, 40, 11], session.clone()),
        ));
        let small: Vec<u8> = [16usize, 17, 7, 18]
            .iter()
            .filter_map(|i| frames.get(*i))
            .flatten()
            .copied()
            .collect();
        out.push((
            format!("{v}-byte-at-a-time"),
            input(vec![1; small.len().min(255)], small.clone()),
        ));
        let mut bad = small.clone();
        bad.extend_from_slice(&[0x41, 0x02, 0x00, 0x01]);
        bad.extend_from_slice(&small);
        out.push((format!("{v}-then-malformed"), input(vec![3, 5, 2], bad)));
        let mut partial = session;
        partial.extend_from_slice(&[0x30, 0x0A, 0x00, 0x01]);
        out.push((
            format!("{v}-ends-inside-a-frame"),
            input(vec![9, 30], partial),
        ));
        let mut long_length = small;
        long_length.extend_from_slice(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0x00]);
        out.push((
            format!("{v}-256mib-length"),
            input(vec![2, 2, 2], long_length),
        ));
    }
    out
}
