//! MQTT 5.0 properties in scenario files: the values a packet to send carries, and the
//! checks a pattern makes on a received packet's properties (only the properties given
//! are compared; user properties as an ordered list; `absent`, `present` and numeric bounds
//! where the specification allows a range, such as a Message Expiry Interval reduced by
//! the time the message waited).

use crate::engine::vars::Vars;
use crate::scenario::load::parse_hex;
use bytes::Bytes;
use mqttspec_codec::{Properties, Property, PropertyId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Declares the single-valued properties once: their YAML names and types, the codec's
/// variant, and whether their value is text (variables expanded) or a number.
macro_rules! single_properties {
    ($( $(#[doc = $doc:literal])* $field:ident: $ty:ty => $variant:ident, $kind:ident; )*) => {
        /// Properties of a packet to send. Every field is optional; user properties keep
        /// their order.
        #[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct PropertiesSpec {
            $( $(#[doc = $doc])*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>, )*
            /// Correlation Data as text.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub correlation_data: Option<String>,
            /// Correlation Data as hex bytes.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub correlation_data_hex: Option<String>,
            /// Authentication Data as text.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub authentication_data: Option<String>,
            /// Authentication Data as hex bytes.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub authentication_data_hex: Option<String>,
            /// Subscription Identifier (SUBSCRIBE).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub subscription_identifier: Option<u32>,
            /// `[name, value]` pairs, sent in this order.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub user_properties: Vec<[String; 2]>,
        }

        /// Checks on a received packet's properties: only what is given is compared.
        #[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct PropertiesPattern {
            $( $(#[doc = $doc])*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>, )*
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub correlation_data: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub correlation_data_hex: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub authentication_data: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub authentication_data_hex: Option<String>,
            /// The Subscription Identifiers of a PUBLISH, in any order.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub subscription_identifiers: Option<Vec<u32>>,
            /// The user properties, exactly, in this order (`[]`: none).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub user_properties: Option<Vec<[String; 2]>>,
            /// Properties that must not be there.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub absent: Vec<PropName>,
            /// Properties that must be there, with any value.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub present: Vec<PropName>,
            /// Numeric properties that must be there and at most this value.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            pub at_most: BTreeMap<PropName, u32>,
            /// Numeric properties that must be there and at least this value.
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            pub at_least: BTreeMap<PropName, u32>,
        }

        /// The single-valued properties a spec or pattern gives, as codec values.
        macro_rules! singles_of {
            ($s:expr, $vars:expr) => {{
                let mut out: Vec<Property> = Vec::new();
                $( if let Some(v) = &$s.$field {
                    out.push(single_properties!(@value $kind, $variant, v, $vars));
                } )*
                out
            }};
        }
    };
    (@value int, $variant:ident, $v:expr, $vars:expr) => { Property::$variant(*$v) };
    (@value text, $variant:ident, $v:expr, $vars:expr) => {
        Property::$variant($vars.expand($v)?.into())
    };
}

single_properties! {
    payload_format_indicator: u8 => PayloadFormatIndicator, int;
    message_expiry_interval: u32 => MessageExpiryInterval, int;
    content_type: String => ContentType, text;
    response_topic: String => ResponseTopic, text;
    session_expiry_interval: u32 => SessionExpiryInterval, int;
    assigned_client_identifier: String => AssignedClientIdentifier, text;
    server_keep_alive: u16 => ServerKeepAlive, int;
    authentication_method: String => AuthenticationMethod, text;
    request_problem_information: u8 => RequestProblemInformation, int;
    will_delay_interval: u32 => WillDelayInterval, int;
    request_response_information: u8 => RequestResponseInformation, int;
    response_information: String => ResponseInformation, text;
    server_reference: String => ServerReference, text;
    reason_string: String => ReasonString, text;
    receive_maximum: u16 => ReceiveMaximum, int;
    topic_alias_maximum: u16 => TopicAliasMaximum, int;
    topic_alias: u16 => TopicAlias, int;
    maximum_qos: u8 => MaximumQos, int;
    retain_available: u8 => RetainAvailable, int;
    maximum_packet_size: u32 => MaximumPacketSize, int;
    wildcard_subscription_available: u8 => WildcardSubscriptionAvailable, int;
    subscription_identifier_available: u8 => SubscriptionIdentifierAvailable, int;
    shared_subscription_available: u8 => SharedSubscriptionAvailable, int;
}

/// Every property by its YAML name, for `absent`, `present`, `at_most` and `at_least`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PropName {
    PayloadFormatIndicator,
    MessageExpiryInterval,
    ContentType,
    ResponseTopic,
    CorrelationData,
    SubscriptionIdentifier,
    SessionExpiryInterval,
    AssignedClientIdentifier,
    ServerKeepAlive,
    AuthenticationMethod,
    AuthenticationData,
    RequestProblemInformation,
    WillDelayInterval,
    RequestResponseInformation,
    ResponseInformation,
    ServerReference,
    ReasonString,
    ReceiveMaximum,
    TopicAliasMaximum,
    TopicAlias,
    MaximumQos,
    RetainAvailable,
    UserProperty,
    MaximumPacketSize,
    WildcardSubscriptionAvailable,
    SubscriptionIdentifierAvailable,
    SharedSubscriptionAvailable,
}

impl PropName {
    pub fn id(self) -> PropertyId {
        use PropName as N;
        use PropertyId as P;
        match self {
            N::PayloadFormatIndicator => P::PayloadFormatIndicator,
            N::MessageExpiryInterval => P::MessageExpiryInterval,
            N::ContentType => P::ContentType,
            N::ResponseTopic => P::ResponseTopic,
            N::CorrelationData => P::CorrelationData,
            N::SubscriptionIdentifier => P::SubscriptionIdentifier,
            N::SessionExpiryInterval => P::SessionExpiryInterval,
            N::AssignedClientIdentifier => P::AssignedClientIdentifier,
            N::ServerKeepAlive => P::ServerKeepAlive,
            N::AuthenticationMethod => P::AuthenticationMethod,
            N::AuthenticationData => P::AuthenticationData,
            N::RequestProblemInformation => P::RequestProblemInformation,
            N::WillDelayInterval => P::WillDelayInterval,
            N::RequestResponseInformation => P::RequestResponseInformation,
            N::ResponseInformation => P::ResponseInformation,
            N::ServerReference => P::ServerReference,
            N::ReasonString => P::ReasonString,
            N::ReceiveMaximum => P::ReceiveMaximum,
            N::TopicAliasMaximum => P::TopicAliasMaximum,
            N::TopicAlias => P::TopicAlias,
            N::MaximumQos => P::MaximumQos,
            N::RetainAvailable => P::RetainAvailable,
            N::UserProperty => P::UserProperty,
            N::MaximumPacketSize => P::MaximumPacketSize,
            N::WildcardSubscriptionAvailable => P::WildcardSubscriptionAvailable,
            N::SubscriptionIdentifierAvailable => P::SubscriptionIdentifierAvailable,
            N::SharedSubscriptionAvailable => P::SharedSubscriptionAvailable,
        }
    }

    /// The YAML name, for messages.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{self:?}"))
    }
}

fn binary(
    text: &Option<String>,
    hex: &Option<String>,
    vars: &Vars,
) -> Result<Option<Bytes>, String> {
    match (text, hex) {
        (Some(_), Some(_)) => Err("give a binary property as text or as hex, not both".into()),
        (Some(t), None) => Ok(Some(Bytes::from(vars.expand(t)?))),
        (None, Some(h)) => Ok(Some(Bytes::from(parse_hex(h)?))),
        (None, None) => Ok(None),
    }
}

impl PropertiesSpec {
    /// The codec's property list, in a fixed order (identifier order, then user properties
    /// as given), with variables expanded.
    pub fn build(&self, vars: &Vars) -> Result<Properties, String> {
        let mut props: Vec<Property> = singles_of!(self, vars);
        if let Some(b) = binary(&self.correlation_data, &self.correlation_data_hex, vars)? {
            props.push(Property::CorrelationData(b));
        }
        if let Some(b) = binary(
            &self.authentication_data,
            &self.authentication_data_hex,
            vars,
        )? {
            props.push(Property::AuthenticationData(b));
        }
        if let Some(id) = self.subscription_identifier {
            props.push(Property::SubscriptionIdentifier(id));
        }
        props.sort_by_key(|p| p.id() as u8);
        for [k, v] in &self.user_properties {
            props.push(Property::UserProperty(
                vars.expand(k)?.into(),
                vars.expand(v)?.into(),
            ));
        }
        Ok(Properties(props))
    }
}

impl PropertiesPattern {
    /// Whether `got` satisfies every check; the first difference otherwise.
    pub fn check(&self, got: &Properties, vars: &Vars) -> Result<(), String> {
        let mut want: Vec<Property> = singles_of!(self, vars);
        if let Some(b) = binary(&self.correlation_data, &self.correlation_data_hex, vars)? {
            want.push(Property::CorrelationData(b));
        }
        if let Some(b) = binary(
            &self.authentication_data,
            &self.authentication_data_hex,
            vars,
        )? {
            want.push(Property::AuthenticationData(b));
        }
        for w in &want {
            match got.get(w.id()) {
                Some(g) if g == w => {}
                Some(g) => return Err(format!("property {g:?}, expected {w:?}")),
                None => return Err(format!("no {:?} property, expected {w:?}", w.id())),
            }
        }
        if let Some(ids) = &self.subscription_identifiers {
            let mut got_ids: Vec<u32> = got
                .iter()
                .filter_map(|p| match p {
                    Property::SubscriptionIdentifier(i) => Some(*i),
                    _ => None,
                })
                .collect();
            let mut want_ids = ids.clone();
            got_ids.sort_unstable();
            want_ids.sort_unstable();
            if got_ids != want_ids {
                return Err(format!(
                    "subscription identifiers {got_ids:?}, expected {want_ids:?} (in any order)"
                ));
            }
        }
        if let Some(list) = &self.user_properties {
            let got_up: Vec<(String, String)> = got
                .user_properties()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let want_up = list
                .iter()
                .map(|[k, v]| Ok((vars.expand(k)?, vars.expand(v)?)))
                .collect::<Result<Vec<_>, String>>()?;
            if got_up != want_up {
                return Err(format!(
                    "user properties {got_up:?}, expected {want_up:?} (in this order)"
                ));
            }
        }
        for name in &self.absent {
            if let Some(p) = got.get(name.id()) {
                return Err(format!("{} must be absent, got {p:?}", name.name()));
            }
        }
        for name in &self.present {
            if got.get(name.id()).is_none() {
                return Err(format!("{} must be present", name.name()));
            }
        }
        for (name, max) in &self.at_most {
            match got.int(name.id()) {
                Some(v) if v <= *max => {}
                Some(v) => return Err(format!("{} is {v}, expected at most {max}", name.name())),
                None => return Err(format!("{} must be present (at most {max})", name.name())),
            }
        }
        for (name, min) in &self.at_least {
            match got.int(name.id()) {
                Some(v) if v >= *min => {}
                Some(v) => return Err(format!("{} is {v}, expected at least {min}", name.name())),
                None => return Err(format!("{} must be present (at least {min})", name.name())),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars::new("t", "c")
    }

    #[test]
    fn a_spec_builds_in_order_with_user_properties_last_and_kept_in_order() {
        let spec = PropertiesSpec {
            message_expiry_interval: Some(10),
            content_type: Some("${topic}/x".into()),
            correlation_data_hex: Some("01 02".into()),
            user_properties: vec![["b".into(), "2".into()], ["a".into(), "1".into()]],
            ..Default::default()
        };
        let p = spec.build(&vars()).unwrap();
        assert_eq!(
            p.0,
            vec![
                Property::MessageExpiryInterval(10),
                Property::ContentType("t/x".into()),
                Property::CorrelationData(Bytes::from_static(&[1, 2])),
                Property::UserProperty("b".into(), "2".into()),
                Property::UserProperty("a".into(), "1".into()),
            ]
        );
    }

    #[test]
    fn patterns_compare_only_what_they_give() {
        let got = Properties(vec![
            Property::MessageExpiryInterval(8),
            Property::SubscriptionIdentifier(2),
            Property::SubscriptionIdentifier(1),
            Property::UserProperty("a".into(), "1".into()),
        ]);
        let v = vars();
        let ok = PropertiesPattern {
            subscription_identifiers: Some(vec![1, 2]),
            absent: vec![PropName::TopicAlias],
            at_most: BTreeMap::from([(PropName::MessageExpiryInterval, 10)]),
            user_properties: Some(vec![["a".into(), "1".into()]]),
            ..Default::default()
        };
        assert_eq!(ok.check(&got, &v), Ok(()));
        let too_long = PropertiesPattern {
            at_most: BTreeMap::from([(PropName::MessageExpiryInterval, 5)]),
            ..Default::default()
        };
        assert!(too_long.check(&got, &v).is_err());
        let must_be_absent = PropertiesPattern {
            absent: vec![PropName::UserProperty],
            ..Default::default()
        };
        assert!(must_be_absent.check(&got, &v).is_err());
        let order = PropertiesPattern {
            user_properties: Some(vec![]),
            ..Default::default()
        };
        assert!(order.check(&got, &v).is_err());
        let value = PropertiesPattern {
            message_expiry_interval: Some(9),
            ..Default::default()
        };
        assert!(value.check(&got, &v).is_err());
        assert_eq!(PropName::TopicAliasMaximum.name(), "topic_alias_maximum");
    }
}
