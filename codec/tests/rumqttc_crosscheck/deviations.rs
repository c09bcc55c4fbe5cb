//! Where rumqttc 0.25 departs from the specification, pinned byte for byte. Each test shows
//! what our codec does with the same bytes (the compliant behaviour) and what rumqttc does.
//! The strategies leave out exactly these shapes; if rumqttc is fixed, the test fails and
//! the shape can go back into the generated cases.

use super::{v4, v5};
use bytes::BytesMut;
use mqttspec_codec::ProtocolVersion::{V5, V311};
use mqttspec_codec::{
    Auth, Bytes, Connect, DecodeErrorKind, Decoder, Disconnect, Packet, Properties, Property,
    Publish, QoS, ReasonCode,
};
use rumqttc::mqttbytes::v4 as r4;
use rumqttc::v5::mqttbytes::Error as E5;
use rumqttc::v5::mqttbytes::v5 as r5;

fn decode_v5(bytes: &[u8]) -> (Packet, BytesMut) {
    let mut buf = BytesMut::from(bytes);
    let p = Decoder::new(V5).decode(&mut buf).unwrap().unwrap();
    (p, buf)
}

/// 5.0 section 3.14.2.1: a DISCONNECT with Remaining Length 0 is Normal disconnection.
/// rumqttc's `Packet::read` answers `PayloadRequired` for it (its `Disconnect::read` alone
/// would accept it).
#[test]
fn v5_disconnect_remaining_length_0_refused_by_packet_read() {
    let bytes = [0xE0, 0x00];
    assert_eq!(
        decode_v5(&bytes).0,
        Packet::Disconnect(Disconnect::default())
    );
    assert!(matches!(
        r5::Packet::read(&mut BytesMut::from(&bytes[..]), None),
        Err(E5::PayloadRequired)
    ));
    let header = r5::check(bytes.iter(), None).unwrap();
    let alone = r5::Disconnect::read(header, Bytes::copy_from_slice(&bytes)).unwrap();
    assert_eq!(
        alone,
        r5::Disconnect::new(r5::DisconnectReasonCode::NormalDisconnection)
    );
}

/// 5.0 section 3.14.2.2.1: "If the Remaining Length is less than 2, a value of 0 is used"
/// for the Property Length. rumqttc reads a Property Length whatever the Remaining Length.
#[test]
fn v5_disconnect_reason_code_alone_unreadable() {
    let bytes = [0xE0, 0x01, 0x8E];
    let ours = Disconnect::with_reason(ReasonCode::SESSION_TAKEN_OVER);
    assert_eq!(decode_v5(&bytes).0, Packet::Disconnect(ours));
    assert!(matches!(v5::read(&bytes), Err(E5::InsufficientBytes(1))));
}

/// 5.0 section 2.1.4: the Remaining Length counts every byte after it. rumqttc's
/// `Disconnect::len` counts 1 for a reason code without properties, but `write` then also
/// writes a zero Property Length: the packet says 1 and carries 2, and the stray 0x00 is
/// read as the first byte of the next packet (reserved type 0).
#[test]
fn v5_disconnect_written_with_wrong_remaining_length() {
    let theirs = r5::Packet::Disconnect(r5::Disconnect::new(
        r5::DisconnectReasonCode::SessionTakenOver,
    ));
    let bytes = v5::write(&theirs);
    assert_eq!(&bytes[..], [0xE0, 0x01, 0x8E, 0x00]);
    let (p, rest) = decode_v5(&bytes);
    assert_eq!(
        p,
        Packet::Disconnect(Disconnect::with_reason(ReasonCode(0x8E)))
    );
    assert_eq!(&rest[..], [0x00]);
    let mut rest = rest;
    let next = Decoder::new(V5).decode(&mut rest);
    assert!(
        matches!(next, Ok(None)),
        "one byte is not a frame yet: {next:?}"
    );
}

/// 5.0 section 2.1.2: packet type 15 is AUTH. rumqttc's `Packet::read` refuses it.
#[test]
fn v5_auth_refused_by_packet_read() {
    let ours = Packet::Auth(Auth {
        reason_code: Some(ReasonCode::CONTINUE_AUTHENTICATION),
        properties: Some(Properties::new()),
    });
    let bytes = ours.to_bytes(V5).unwrap();
    assert_eq!(&bytes[..], [0xF0, 0x02, 0x18, 0x00]);
    assert!(matches!(
        r5::Packet::read(&mut BytesMut::from(&bytes[..]), None),
        Err(E5::InvalidPacketType(15))
    ));
    // Through `Auth::read` it is fine, which is how the generated cases read AUTH.
    assert!(v5::read(&bytes).is_ok());
}

/// 5.0 section 3.15.2.1: an AUTH with Remaining Length 0 means Success. rumqttc's
/// `Auth::read` requires a reason code.
#[test]
fn v5_auth_remaining_length_0_unreadable() {
    let bytes = [0xF0, 0x00];
    assert_eq!(decode_v5(&bytes).0, Packet::Auth(Auth::default()));
    assert!(matches!(v5::read(&bytes), Err(E5::MalformedPacket)));
}

/// 5.0 sections 1.5.4 and 2.2.2.1: a UTF-8 string property is its identifier, a 2-byte length
/// and the string, all counted in the Property Length. rumqttc's `AuthProperties::read`
/// counts an Authentication Method without its 2 length bytes, so it cannot read our correct
/// encoding.
#[test]
fn v5_auth_method_misread() {
    let ours = Packet::Auth(Auth {
        reason_code: Some(ReasonCode::CONTINUE_AUTHENTICATION),
        properties: Some(
            Properties::new().with(Property::AuthenticationMethod("SCRAM-SHA-1".into())),
        ),
    });
    let bytes = ours.to_bytes(V5).unwrap();
    assert_eq!(bytes[..4], [0xF0, 0x10, 0x18, 0x0E]);
    assert_eq!(decode_v5(&bytes).0, ours);
    assert!(matches!(v5::read(&bytes), Err(E5::MalformedPacket)));
}

/// Same sections: rumqttc's `AuthProperties::len` sizes a User Property as `1 + key + value`
/// (without its two 2-byte lengths), so the AUTH it writes has a Property Length 4 short and
/// our decoder refuses it. (rumqttc's AUTH types are not public: the packet comes from its
/// reader, which handles User Properties correctly.)
#[test]
fn v5_auth_user_property_written_short() {
    let ours = Packet::Auth(Auth {
        reason_code: Some(ReasonCode::CONTINUE_AUTHENTICATION),
        properties: Some(Properties::new().with(Property::UserProperty("k".into(), "v".into()))),
    });
    let bytes = ours.to_bytes(V5).unwrap();
    assert_eq!(bytes[..4], [0xF0, 0x09, 0x18, 0x07]);
    let theirs = v5::read(&bytes).unwrap();
    let written = v5::write(&theirs);
    assert_eq!(written[..4], [0xF0, 0x05, 0x18, 0x03]);
    assert_ne!(written, bytes);
    assert!(
        Decoder::new(V5)
            .decode(&mut BytesMut::from(&written[..]))
            .is_err()
    );
}

/// 5.0 sections 1.5.6 and 2.2.2.1: Authentication Data is a 2-byte length and the data, and
/// the Property Length is a Variable Byte Integer. rumqttc's `AuthProperties::len` sizes the
/// data's length as `len_len(n)` (1 below 128 bytes) and `Auth::len` counts the Property
/// Length as one byte, so an AUTH with Authentication Data always comes out 1 byte short.
#[test]
fn v5_auth_data_written_short() {
    for n in [16usize, 200] {
        let ours = Packet::Auth(Auth {
            reason_code: Some(ReasonCode::CONTINUE_AUTHENTICATION),
            properties: Some(
                Properties::new().with(Property::AuthenticationData(vec![0xA5; n].into())),
            ),
        });
        let bytes = ours.to_bytes(V5).unwrap();
        let theirs = v5::read(&bytes).unwrap();
        let written = v5::write(&theirs);
        assert_eq!(written.len(), bytes.len(), "same bytes, different header");
        assert_ne!(written, bytes);
        assert!(
            Decoder::new(V5)
                .decode(&mut BytesMut::from(&written[..]))
                .is_err()
        );
    }
}

/// 5.0 section 3.3.2.3.8: a PUBLISH may carry several Subscription Identifiers. rumqttc
/// counts each identifier's property byte twice, so after two of them it stops one property
/// early and the Payload Format Indicator ends up in the payload.
#[test]
fn v5_publish_two_subscription_ids_shift_the_payload() {
    let mut p = Publish::new("t", QoS::AtMostOnce, Bytes::from_static(b"x"));
    p.properties = Properties(vec![
        Property::SubscriptionIdentifier(1),
        Property::SubscriptionIdentifier(2),
        Property::PayloadFormatIndicator(1),
    ]);
    let bytes = Packet::Publish(p.clone()).to_bytes(V5).unwrap();
    assert_eq!(decode_v5(&bytes).0, Packet::Publish(p));
    let Ok(r5::Packet::Publish(theirs)) = v5::read(&bytes) else {
        panic!("rumqttc read a PUBLISH")
    };
    let props = theirs.properties.unwrap();
    assert_eq!(props.subscription_identifiers, [1, 2]);
    assert_eq!(props.payload_format_indicator, None);
    assert_eq!(&theirs.payload[..], [0x01, 0x01, b'x']);
}

fn connect_v311(username: Option<&str>, password: Option<&[u8]>) -> Packet {
    Packet::Connect(Connect {
        client_id: "c".into(),
        username: username.map(Into::into),
        password: password.map(Bytes::copy_from_slice),
        ..Connect::default()
    })
}

/// 3.1.1 section 3.1.3.4 allows an empty User Name. rumqttc's `Login` has no "absent" and
/// reads an empty user name with no password as no login at all.
#[test]
fn empty_user_name_becomes_no_login() {
    let bytes = connect_v311(Some(""), None).to_bytes(V311).unwrap();
    let Ok(r4::Packet::Connect(theirs)) = v4::read(&bytes) else {
        panic!("rumqttc read a CONNECT")
    };
    assert_eq!(theirs.login, None);
}

/// 3.1.1/MQTT-3.1.2-22: no Password Flag without the User Name Flag. rumqttc writes a login
/// with an empty user name as a password alone, which our strict decoder refuses.
#[test]
fn login_with_empty_user_name_breaks_3_1_2_22() {
    let theirs = r4::Packet::Connect(r4::Connect {
        login: Some(r4::Login::new("", "pw")),
        ..r4::Connect::new("c")
    });
    let bytes = v4::write(&theirs);
    let err = Decoder::new(V311)
        .decode(&mut BytesMut::from(&bytes[..]))
        .unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::PasswordWithoutUsername);
}

/// 3.1.1 section 3.1.3.5 (5.0 section 3.1.3.6): the Password is Binary Data. rumqttc reads
/// it as a UTF-8 string and refuses other bytes.
#[test]
fn binary_password_refused() {
    let bytes = connect_v311(Some("u"), Some(&[0xFF, 0x00]))
        .to_bytes(V311)
        .unwrap();
    assert!(
        Decoder::new(V311)
            .decode(&mut BytesMut::from(&bytes[..]))
            .is_ok()
    );
    assert!(matches!(
        v4::read(&bytes),
        Err(rumqttc::mqttbytes::Error::TopicNotUtf8)
    ));
}
