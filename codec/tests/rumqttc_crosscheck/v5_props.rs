//! MQTT 5.0 properties: our ordered `Properties` list against rumqttc's one struct per
//! packet. rumqttc keeps one optional field per property (user properties and PUBLISH's
//! subscription identifiers in a `Vec`) and writes them in a fixed order, so:
//! - ours → rumqttc fills the struct whatever the order on the wire, and an empty block is
//!   `None` (rumqttc reads a zero Property Length as `None`);
//! - rumqttc → ours lists the properties in the order rumqttc writes them, so our decoder
//!   must give exactly that list, and our encoder the same bytes.

use mqttspec_codec::{ByteString, Properties, Property as P};
use rumqttc::v5::mqttbytes::v5 as r;

type UserProps = Vec<(String, String)>;

fn s(v: &ByteString) -> String {
    v.to_string()
}

fn b(v: &str) -> ByteString {
    ByteString::from(v)
}

fn user(out: &mut Vec<P>, props: &UserProps) {
    out.extend(props.iter().map(|(k, v)| P::UserProperty(b(k), b(v))));
}

fn unexpected(ctx: &str, p: &P) -> ! {
    panic!("{p:?} cannot be carried by rumqttc's {ctx} properties")
}

/// Defines the mapping of the property structs that hold only a Reason String and User
/// Properties (the acknowledgements and SUBACK / UNSUBACK).
macro_rules! reason_and_user {
    ($to_theirs:ident, $to_ours:ident, $ty:ident) => {
        pub fn $to_theirs(props: &Properties) -> Option<r::$ty> {
            if props.is_empty() {
                return None;
            }
            let mut out = r::$ty {
                reason_string: None,
                user_properties: Vec::new(),
            };
            for p in props.iter() {
                match p {
                    P::ReasonString(v) => out.reason_string = Some(s(v)),
                    P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
                    other => unexpected(stringify!($ty), other),
                }
            }
            Some(out)
        }

        pub fn $to_ours(props: &Option<r::$ty>) -> Properties {
            let mut out = Vec::new();
            if let Some(p) = props {
                out.extend(p.reason_string.as_deref().map(|v| P::ReasonString(b(v))));
                user(&mut out, &p.user_properties);
            }
            Properties(out)
        }
    };
}

reason_and_user!(puback_to_theirs, puback_to_ours, PubAckProperties);
reason_and_user!(pubrec_to_theirs, pubrec_to_ours, PubRecProperties);
reason_and_user!(pubrel_to_theirs, pubrel_to_ours, PubRelProperties);
reason_and_user!(pubcomp_to_theirs, pubcomp_to_ours, PubCompProperties);
reason_and_user!(suback_to_theirs, suback_to_ours, SubAckProperties);
reason_and_user!(unsuback_to_theirs, unsuback_to_ours, UnsubAckProperties);

pub fn connect_to_theirs(props: &Properties) -> Option<r::ConnectProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::ConnectProperties::new();
    for p in props.iter() {
        match p {
            P::SessionExpiryInterval(v) => out.session_expiry_interval = Some(*v),
            P::ReceiveMaximum(v) => out.receive_maximum = Some(*v),
            P::MaximumPacketSize(v) => out.max_packet_size = Some(*v),
            P::TopicAliasMaximum(v) => out.topic_alias_max = Some(*v),
            P::RequestResponseInformation(v) => out.request_response_info = Some(*v),
            P::RequestProblemInformation(v) => out.request_problem_info = Some(*v),
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            P::AuthenticationMethod(v) => out.authentication_method = Some(s(v)),
            P::AuthenticationData(v) => out.authentication_data = Some(v.clone()),
            other => unexpected("CONNECT", other),
        }
    }
    Some(out)
}

pub fn connect_to_ours(props: &Option<r::ConnectProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        out.extend(p.session_expiry_interval.map(P::SessionExpiryInterval));
        out.extend(p.receive_maximum.map(P::ReceiveMaximum));
        out.extend(p.max_packet_size.map(P::MaximumPacketSize));
        out.extend(p.topic_alias_max.map(P::TopicAliasMaximum));
        out.extend(p.request_response_info.map(P::RequestResponseInformation));
        out.extend(p.request_problem_info.map(P::RequestProblemInformation));
        user(&mut out, &p.user_properties);
        let method = p.authentication_method.as_deref();
        out.extend(method.map(|v| P::AuthenticationMethod(b(v))));
        out.extend(p.authentication_data.clone().map(P::AuthenticationData));
    }
    Properties(out)
}

pub fn will_to_theirs(props: &Properties) -> Option<r::LastWillProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::LastWillProperties {
        delay_interval: None,
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    };
    for p in props.iter() {
        match p {
            P::WillDelayInterval(v) => out.delay_interval = Some(*v),
            P::PayloadFormatIndicator(v) => out.payload_format_indicator = Some(*v),
            P::MessageExpiryInterval(v) => out.message_expiry_interval = Some(*v),
            P::ContentType(v) => out.content_type = Some(s(v)),
            P::ResponseTopic(v) => out.response_topic = Some(s(v)),
            P::CorrelationData(v) => out.correlation_data = Some(v.clone()),
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            other => unexpected("Will", other),
        }
    }
    Some(out)
}

pub fn will_to_ours(props: &Option<r::LastWillProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        out.extend(p.delay_interval.map(P::WillDelayInterval));
        out.extend(p.payload_format_indicator.map(P::PayloadFormatIndicator));
        out.extend(p.message_expiry_interval.map(P::MessageExpiryInterval));
        out.extend(p.content_type.as_deref().map(|v| P::ContentType(b(v))));
        out.extend(p.response_topic.as_deref().map(|v| P::ResponseTopic(b(v))));
        out.extend(p.correlation_data.clone().map(P::CorrelationData));
        user(&mut out, &p.user_properties);
    }
    Properties(out)
}

pub fn connack_to_theirs(props: &Properties) -> Option<r::ConnAckProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::ConnAckProperties {
        session_expiry_interval: None,
        receive_max: None,
        max_qos: None,
        retain_available: None,
        max_packet_size: None,
        assigned_client_identifier: None,
        topic_alias_max: None,
        reason_string: None,
        user_properties: Vec::new(),
        wildcard_subscription_available: None,
        subscription_identifiers_available: None,
        shared_subscription_available: None,
        server_keep_alive: None,
        response_information: None,
        server_reference: None,
        authentication_method: None,
        authentication_data: None,
    };
    for p in props.iter() {
        match p {
            P::SessionExpiryInterval(v) => out.session_expiry_interval = Some(*v),
            P::ReceiveMaximum(v) => out.receive_max = Some(*v),
            P::MaximumQos(v) => out.max_qos = Some(*v),
            P::RetainAvailable(v) => out.retain_available = Some(*v),
            P::MaximumPacketSize(v) => out.max_packet_size = Some(*v),
            P::AssignedClientIdentifier(v) => out.assigned_client_identifier = Some(s(v)),
            P::TopicAliasMaximum(v) => out.topic_alias_max = Some(*v),
            P::ReasonString(v) => out.reason_string = Some(s(v)),
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            P::WildcardSubscriptionAvailable(v) => out.wildcard_subscription_available = Some(*v),
            P::SubscriptionIdentifierAvailable(v) => {
                out.subscription_identifiers_available = Some(*v)
            }
            P::SharedSubscriptionAvailable(v) => out.shared_subscription_available = Some(*v),
            P::ServerKeepAlive(v) => out.server_keep_alive = Some(*v),
            P::ResponseInformation(v) => out.response_information = Some(s(v)),
            P::ServerReference(v) => out.server_reference = Some(s(v)),
            P::AuthenticationMethod(v) => out.authentication_method = Some(s(v)),
            P::AuthenticationData(v) => out.authentication_data = Some(v.clone()),
            other => unexpected("CONNACK", other),
        }
    }
    Some(out)
}

pub fn connack_to_ours(props: &Option<r::ConnAckProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        out.extend(p.session_expiry_interval.map(P::SessionExpiryInterval));
        out.extend(p.receive_max.map(P::ReceiveMaximum));
        out.extend(p.max_qos.map(P::MaximumQos));
        out.extend(p.retain_available.map(P::RetainAvailable));
        out.extend(p.max_packet_size.map(P::MaximumPacketSize));
        let id = p.assigned_client_identifier.as_deref();
        out.extend(id.map(|v| P::AssignedClientIdentifier(b(v))));
        out.extend(p.topic_alias_max.map(P::TopicAliasMaximum));
        out.extend(p.reason_string.as_deref().map(|v| P::ReasonString(b(v))));
        user(&mut out, &p.user_properties);
        let wildcard = p.wildcard_subscription_available;
        out.extend(wildcard.map(P::WildcardSubscriptionAvailable));
        let sub_ids = p.subscription_identifiers_available;
        out.extend(sub_ids.map(P::SubscriptionIdentifierAvailable));
        let shared = p.shared_subscription_available;
        out.extend(shared.map(P::SharedSubscriptionAvailable));
        out.extend(p.server_keep_alive.map(P::ServerKeepAlive));
        let info = p.response_information.as_deref();
        out.extend(info.map(|v| P::ResponseInformation(b(v))));
        let reference = p.server_reference.as_deref();
        out.extend(reference.map(|v| P::ServerReference(b(v))));
        let method = p.authentication_method.as_deref();
        out.extend(method.map(|v| P::AuthenticationMethod(b(v))));
        out.extend(p.authentication_data.clone().map(P::AuthenticationData));
    }
    Properties(out)
}

pub fn publish_to_theirs(props: &Properties) -> Option<r::PublishProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::PublishProperties::default();
    for p in props.iter() {
        match p {
            P::PayloadFormatIndicator(v) => out.payload_format_indicator = Some(*v),
            P::MessageExpiryInterval(v) => out.message_expiry_interval = Some(*v),
            P::TopicAlias(v) => out.topic_alias = Some(*v),
            P::ResponseTopic(v) => out.response_topic = Some(s(v)),
            P::CorrelationData(v) => out.correlation_data = Some(v.clone()),
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            P::SubscriptionIdentifier(v) => out.subscription_identifiers.push(*v as usize),
            P::ContentType(v) => out.content_type = Some(s(v)),
            other => unexpected("PUBLISH", other),
        }
    }
    Some(out)
}

pub fn publish_to_ours(props: &Option<r::PublishProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        out.extend(p.payload_format_indicator.map(P::PayloadFormatIndicator));
        out.extend(p.message_expiry_interval.map(P::MessageExpiryInterval));
        out.extend(p.topic_alias.map(P::TopicAlias));
        out.extend(p.response_topic.as_deref().map(|v| P::ResponseTopic(b(v))));
        out.extend(p.correlation_data.clone().map(P::CorrelationData));
        user(&mut out, &p.user_properties);
        let ids = p.subscription_identifiers.iter();
        out.extend(ids.map(|id| P::SubscriptionIdentifier(*id as u32)));
        out.extend(p.content_type.as_deref().map(|v| P::ContentType(b(v))));
    }
    Properties(out)
}

pub fn subscribe_to_theirs(props: &Properties) -> Option<r::SubscribeProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::SubscribeProperties {
        id: None,
        user_properties: Vec::new(),
    };
    for p in props.iter() {
        match p {
            P::SubscriptionIdentifier(v) => out.id = Some(*v as usize),
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            other => unexpected("SUBSCRIBE", other),
        }
    }
    Some(out)
}

pub fn subscribe_to_ours(props: &Option<r::SubscribeProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        out.extend(p.id.map(|id| P::SubscriptionIdentifier(id as u32)));
        user(&mut out, &p.user_properties);
    }
    Properties(out)
}

pub fn unsubscribe_to_theirs(props: &Properties) -> Option<r::UnsubscribeProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::UnsubscribeProperties {
        user_properties: Vec::new(),
    };
    for p in props.iter() {
        match p {
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            other => unexpected("UNSUBSCRIBE", other),
        }
    }
    Some(out)
}

pub fn unsubscribe_to_ours(props: &Option<r::UnsubscribeProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        user(&mut out, &p.user_properties);
    }
    Properties(out)
}

pub fn disconnect_to_theirs(props: &Properties) -> Option<r::DisconnectProperties> {
    if props.is_empty() {
        return None;
    }
    let mut out = r::DisconnectProperties {
        session_expiry_interval: None,
        reason_string: None,
        user_properties: Vec::new(),
        server_reference: None,
    };
    for p in props.iter() {
        match p {
            P::SessionExpiryInterval(v) => out.session_expiry_interval = Some(*v),
            P::ReasonString(v) => out.reason_string = Some(s(v)),
            P::UserProperty(k, v) => out.user_properties.push((s(k), s(v))),
            P::ServerReference(v) => out.server_reference = Some(s(v)),
            other => unexpected("DISCONNECT", other),
        }
    }
    Some(out)
}

pub fn disconnect_to_ours(props: &Option<r::DisconnectProperties>) -> Properties {
    let mut out = Vec::new();
    if let Some(p) = props {
        out.extend(p.session_expiry_interval.map(P::SessionExpiryInterval));
        out.extend(p.reason_string.as_deref().map(|v| P::ReasonString(b(v))));
        user(&mut out, &p.user_properties);
        out.extend(
            p.server_reference
                .as_deref()
                .map(|v| P::ServerReference(b(v))),
        );
    }
    Properties(out)
}
