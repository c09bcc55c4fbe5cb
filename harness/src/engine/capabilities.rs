//! Optional 5.0 features: what a scenario needs against what the broker declared in its
//! CONNACK (3.2.2.3: absent properties have defined defaults) or, for what a CONNACK cannot
//! say, what a capabilities file states. A declined feature makes the scenario not
//! applicable, with the declaration as the reason; a verdict that rests on the file says so.

use crate::scenario::model::Features;
use mqttspec_codec::{Properties, PropertyId};

/// Capabilities stated outside the CONNACK, and where they come from (for reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stated {
    pub features: Features,
    /// "the capabilities file caps.yaml", "the reference broker's configuration".
    pub source: String,
    /// The file it was read from, absolute, for rerun commands.
    pub file: Option<std::path::PathBuf>,
    /// An account the broker knows, for the enhanced-authentication steps (`scram`): the
    /// reference broker's own test user, or the run's `--username` and password. Never
    /// printed (its `Debug` masks the password).
    pub auth_user: Option<super::runner::Credentials>,
}

/// The features only a statement can give: checked before the scenario's first step.
/// `Ok` carries what the verdict rests on.
pub fn check_stated(needs: &Features, stated: Option<&Stated>) -> Result<Vec<String>, String> {
    let mut rests_on = Vec::new();
    let source = stated.map_or("no capabilities file (--capabilities)", |s| {
        s.source.as_str()
    });
    for method in &needs.auth_methods {
        match stated {
            Some(s) if s.features.auth_methods.contains(method) => {
                rests_on.push(format!("{}: authentication method {method}", s.source));
            }
            Some(s) => {
                return Err(format!(
                    "needs enhanced authentication method {method}, which {} does not list",
                    s.source
                ));
            }
            None => {
                return Err(format!(
                    "needs enhanced authentication method {method}, which only a capabilities \
                     file can declare ({source})"
                ));
            }
        }
    }
    if let Some(want) = needs.response_information {
        match stated.and_then(|s| s.features.response_information.map(|v| (v, s))) {
            Some((have, s)) if have == want => {
                rests_on.push(format!("{}: response information {have}", s.source));
            }
            Some((have, s)) => {
                return Err(format!(
                    "needs a broker that {} Response Information; {} says it does{}",
                    if want { "sends" } else { "does not send" },
                    s.source,
                    if have { "" } else { " not" }
                ));
            }
            None => {
                return Err(format!(
                    "needs to know whether the broker sends Response Information, which only a \
                     capabilities file can say ({source})"
                ));
            }
        }
    }
    Ok(rests_on)
}

/// The features a CONNACK declares, checked against what the scenario needs.
pub fn check_connack(needs: &Features, connack: &Properties) -> Result<(), String> {
    let flag = |id: PropertyId| connack.int(id).map_or(1, |v| v);
    let declared = |what: &str, value: String, default: bool| {
        if default {
            format!("the broker's CONNACK leaves out {what}, which means {value}")
        } else {
            format!("the broker's CONNACK declares {what} {value}")
        }
    };
    let max_qos = connack.int(PropertyId::MaximumQos);
    let broker_qos = max_qos.unwrap_or(2);
    if let Some(q) = needs.maximum_qos
        && broker_qos < u32::from(q)
    {
        return Err(declared(
            "Maximum QoS",
            broker_qos.to_string(),
            max_qos.is_none(),
        ));
    }
    if let Some(q) = needs.maximum_qos_below
        && broker_qos >= u32::from(q)
    {
        return Err(format!(
            "needs a broker whose Maximum QoS is below {q}; {}",
            declared("Maximum QoS", broker_qos.to_string(), max_qos.is_none())
        ));
    }
    let flags = [
        (
            needs.retain_available,
            PropertyId::RetainAvailable,
            "Retain Available",
        ),
        (
            needs.wildcard_subscriptions,
            PropertyId::WildcardSubscriptionAvailable,
            "Wildcard Subscription Available",
        ),
        (
            needs.subscription_identifiers,
            PropertyId::SubscriptionIdentifierAvailable,
            "Subscription Identifiers Available",
        ),
        (
            needs.shared_subscriptions,
            PropertyId::SharedSubscriptionAvailable,
            "Shared Subscription Available",
        ),
    ];
    for (want, id, what) in flags {
        if let Some(want) = want
            && (flag(id) == 1) != want
        {
            return Err(declared(
                what,
                flag(id).to_string(),
                connack.get(id).is_none(),
            ));
        }
    }
    let minimums = [
        (
            needs.topic_alias_maximum.map(u32::from),
            PropertyId::TopicAliasMaximum,
            "Topic Alias Maximum",
            0,
        ),
        (
            needs.receive_maximum.map(u32::from),
            PropertyId::ReceiveMaximum,
            "Receive Maximum",
            65_535,
        ),
        (
            needs.maximum_packet_size,
            PropertyId::MaximumPacketSize,
            "Maximum Packet Size",
            u32::MAX,
        ),
    ];
    for (want, id, what, default) in minimums {
        let have = connack.int(id);
        if let Some(want) = want
            && have.unwrap_or(default) < want
        {
            let shown = if have.is_none() && default == u32::MAX {
                "no limit".to_owned()
            } else {
                have.unwrap_or(default).to_string()
            };
            return Err(format!(
                "{} (the scenario needs at least {want})",
                declared(what, shown, have.is_none())
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqttspec_codec::Property;

    #[test]
    fn connack_declarations_and_their_defaults() {
        let needs = Features {
            shared_subscriptions: Some(true),
            ..Default::default()
        };
        assert_eq!(check_connack(&needs, &Properties::default()), Ok(()));
        let declined = Properties(vec![Property::SharedSubscriptionAvailable(0)]);
        let why = check_connack(&needs, &declined).unwrap_err();
        assert!(
            why.contains("declares Shared Subscription Available 0"),
            "{why}"
        );
        let alias = Features {
            topic_alias_maximum: Some(2),
            ..Default::default()
        };
        let why = check_connack(&alias, &Properties::default()).unwrap_err();
        assert!(
            why.contains("leaves out Topic Alias Maximum, which means 0"),
            "{why}"
        );
        let qos = Features {
            maximum_qos: Some(2),
            ..Default::default()
        };
        let one = Properties(vec![Property::MaximumQos(1)]);
        assert!(check_connack(&qos, &one).is_err());
        let below = Features {
            maximum_qos_below: Some(2),
            ..Default::default()
        };
        assert!(check_connack(&below, &Properties::default()).is_err());
        assert_eq!(check_connack(&below, &one), Ok(()));
    }

    #[test]
    fn stated_features_say_where_they_come_from() {
        let needs = Features {
            auth_methods: vec!["SCRAM-SHA-256".into()],
            ..Default::default()
        };
        let why = check_stated(&needs, None).unwrap_err();
        assert!(why.contains("SCRAM-SHA-256"), "{why}");
        let file = Stated {
            features: Features {
                auth_methods: vec!["SCRAM-SHA-256".into()],
                ..Default::default()
            },
            source: "the capabilities file caps.yaml".into(),
            file: None,
            auth_user: None,
        };
        let rests = check_stated(&needs, Some(&file)).unwrap();
        assert_eq!(
            rests,
            ["the capabilities file caps.yaml: authentication method SCRAM-SHA-256"]
        );
        let other = Stated {
            features: Features::default(),
            source: "the capabilities file caps.yaml".into(),
            file: None,
            auth_user: None,
        };
        let why = check_stated(&needs, Some(&other)).unwrap_err();
        assert!(why.contains("does not list"), "{why}");
    }
}
