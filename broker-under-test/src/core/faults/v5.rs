//! Faults that damage the 5.0 properties of a message on its way through the broker.

use super::Faults;
use crate::core::message::Message;
use mqttspec_codec::{Properties, Property};
use std::sync::Arc;

/// `msg` as the active property faults forward it; `received` is the PUBLISH's own block.
pub(crate) fn damage(mut msg: Message, received: &Properties, f: &Faults) -> Message {
    if f.message_expiry_not_reduced
        && let Some(secs) = received.iter().find_map(|p| match p {
            Property::MessageExpiryInterval(s) => Some(*s),
            _ => None,
        })
    {
        // Forwarded as a fixed property: never counted down, never applied.
        msg.expires_at = None;
        let mut props = msg.props.as_deref().cloned().unwrap_or_default();
        props.0.insert(0, Property::MessageExpiryInterval(secs));
        msg.props = Some(Arc::new(props));
    }
    let Some(props) = msg.props.as_deref() else {
        return msg;
    };
    let mut kept: Vec<Property> = props
        .iter()
        .filter(|p| match p {
            Property::UserProperty(..) => !f.user_properties_dropped,
            Property::ResponseTopic(_) => !f.response_topic_dropped,
            Property::CorrelationData(_) => !f.correlation_data_dropped,
            Property::ContentType(_) => !f.content_type_dropped,
            Property::PayloadFormatIndicator(_) => !f.payload_format_indicator_dropped,
            _ => true,
        })
        .cloned()
        .collect();
    if f.user_properties_reordered {
        // The user properties, in reverse order, in the places they held.
        let users: Vec<Property> = kept
            .iter()
            .filter(|p| matches!(p, Property::UserProperty(..)))
            .cloned()
            .rev()
            .collect();
        let mut users = users.into_iter();
        for p in kept.iter_mut() {
            if matches!(p, Property::UserProperty(..))
                && let Some(u) = users.next()
            {
                *p = u;
            }
        }
    }
    msg.props = (!kept.is_empty()).then(|| Arc::new(Properties(kept)));
    msg
}
