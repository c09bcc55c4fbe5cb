//! Test-only faults (cargo feature `faults`). Each flag breaks one behaviour on purpose so
//! that the conformance harness can prove a scenario fails on a broken broker. They are
//! checked with the `fault!` macro, which is the constant `false` without the feature.
//!
//! Names and meanings follow /work/notes/faults-needed.md, where scenario authors ask for
//! them. Faults that need lenient decoding (zero packet identifiers, empty SUBSCRIBE, invalid
//! filters, empty or wildcard topic names) decode packets after the CONNECT with the codec's
//! strict mode off and re-check, in [`validate`], every rule the active faults do not waive;
//! the codec's other optional checks (subscription option reserved bits, password without
//! user name) are then not re-checked.

pub(crate) mod matching;
pub(crate) mod patch;
pub(crate) mod v5;
pub(crate) mod validate;
pub mod variations;
pub(crate) mod wire;

use std::collections::BTreeMap;
use thiserror::Error;

/// A fault name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown fault {0:?}")]
pub struct UnknownFault(pub String);

/// State only faults need.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    /// `will_kept_across_connections`: the last will each client id set.
    pub kept_wills: BTreeMap<String, crate::core::will::StoredWill>,
    /// Counts session detachments, to find the most recently stored session.
    pub sequence: u64,
    /// Variation `pubrel_delayed`: PUBRELs to send later (when, where, packet identifier).
    pub delayed_pubrels: Vec<(super::Time, super::ConnId, u16)>,
    /// `topic_alias_kept_across_connections`: the aliases each client id set, alias → topic.
    pub kept_aliases: BTreeMap<String, BTreeMap<u16, bytestring::ByteString>>,
    /// `hang_after_second_connect`: the broker answers nothing any more.
    pub hung: bool,
    /// `stop_accepting_after_server_packet`: the driver is to stop accepting.
    pub stop_accepting: bool,
}

macro_rules! faults {
    ($($(#[doc = $doc:literal])+ $name:ident,)*) => {
        /// Test-only faults; all off by default. See the module documentation.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Faults {
            $($(#[doc = $doc])+ pub $name: bool,)*
        }

        impl Faults {
            /// Every fault name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Turns on the fault called `name`.
            pub fn set(&mut self, name: &str) -> Result<(), UnknownFault> {
                match name {
                    $(stringify!($name) => self.$name = true,)*
                    _ => return Err(UnknownFault(name.to_owned())),
                }
                Ok(())
            }

            /// The names of the faults that are on.
            pub fn enabled(&self) -> Vec<&'static str> {
                let mut on = Vec::new();
                $(if self.$name { on.push(stringify!($name)); })*
                on
            }

            /// What the fault called `name` does.
            pub fn describe(name: &str) -> Option<&'static str> {
                match name {
                    $(stringify!($name) => Some(concat!($($doc),+)),)*
                    _ => None,
                }
            }
        }
    };
}

impl Faults {
    /// Faults with only `name` on.
    pub fn only(name: &str) -> Result<Self, UnknownFault> {
        let mut f = Self::default();
        f.set(name)?;
        Ok(f)
    }

    /// Whether packets after the CONNECT are decoded with the codec's strict mode off.
    pub(crate) fn needs_lenient_decoder(&self) -> bool {
        self.accept_zero_packet_id
            || self.accept_empty_subscribe
            || self.accept_invalid_filters
            || self.suback_v5_failure_code
            || self.accept_empty_topic
            || self.accept_wildcards_in_topic_name
            || self.wildcard_response_topic_accepted
            || self.no_local_on_shared_accepted
    }

    /// Whether topic matching is broken.
    pub(crate) fn alters_matching(&self) -> bool {
        self.plus_matches_multiple_levels
            || self.wildcards_unsupported_but_granted
            || self.empty_levels_dropped
            || self.hash_skips_parent
            || self.hash_string_prefix
            || self.case_insensitive_matching
            || self.topic_whitespace_trimmed
            || self.unicode_normalised_matching
            || self.wildcard_matches_dollar_topics
            || self.hash_matches_dollar_topics
            || self.accept_invalid_filters
    }

    /// Whether routing must scan every subscription instead of using the index.
    pub(crate) fn needs_linear_routing(&self) -> bool {
        self.alters_matching()
            || self.session_dropped_while_connected
            || self.resubscribe_adds_duplicate
    }
}

/// Faults `payloads_truncated_over_100_bytes` and `long_topics_truncated`: the copy a
/// session receives is cut (the message routed and retained is whole).
pub(crate) fn truncate_delivery(
    mut msg: crate::core::message::Message,
    f: &Faults,
) -> crate::core::message::Message {
    if f.payloads_truncated_over_100_bytes && msg.payload.len() > 100 {
        msg.payload.truncate(100);
    }
    if f.long_topics_truncated && msg.topic.len() > 1024 {
        let mut end = 1024;
        while !msg.topic.is_char_boundary(end) {
            end -= 1;
        }
        msg.topic = bytestring::ByteString::from(&msg.topic[..end]);
    }
    msg
}

faults! {

    // Delivery (added with the publish/qos/retain scenarios)
    /// A forwarded QoS 0 PUBLISH has DUP 1 (3.1.1/MQTT-3.3.1-2, 3.1.1/MQTT-4.3.1-1).
    qos0_dup_set,
    /// A QoS 1/2 PUBLISH sent for the first time has DUP 1 (3.1.1/MQTT-3.3.1-3, 3.1.1/MQTT-4.3.2-1).
    new_delivery_dup_set,
    /// A message forwarded to an existing subscription keeps the publisher's RETAIN 1 (3.1.1/MQTT-3.3.1-9).
    retain_flag_kept_on_forward,
    /// Messages are delivered at their published QoS whatever QoS the subscription was granted (3.1.1/MQTT-3.8.4-6).
    ignore_granted_qos,
    /// A retained QoS 0 PUBLISH neither replaces nor clears the topic's retained message (3.1.1/MQTT-3.3.1-7).
    qos0_retained_ignored,
    /// A retained PUBLISH with an empty payload is stored as the retained message (3.1.1/MQTT-3.3.1-10, -11).
    empty_retained_stored,
    /// A PUBLISH with RETAIN 0 clears the topic's retained message (3.1.1/MQTT-3.3.1-12).
    retain0_clears_retained,
    /// Each message goes only to the first matching subscriber (3.1.1/MQTT-4.5.0-1).
    deliver_to_one_subscriber,
    /// PUBREL is not answered with PUBCOMP (3.1.1/MQTT-4.3.3-2).
    no_pubcomp,
    /// Messages queued for a session go out newest first (3.1.1/MQTT-4.6.0-6).
    queue_lifo,
    /// Stateful: an offline session that already holds two or more queued messages drops a further one whose topic differs from the last queued one (3.1.1/MQTT-3.1.2-5).
    offline_queue_drops_topic_change,
    /// Stateful: from the second resumption of a session on, the messages queued while it was offline are discarded (3.1.1/MQTT-3.1.2-5, 3.1.1/MQTT-4.5.0-1).
    queue_lost_on_second_resume,
    /// Stateful: on a topic with an empty level ("a//b", "a/") a retained message is not replaced by a later one (3.1.1/MQTT-3.3.1-5).
    retained_not_replaced_on_empty_level,
    /// The broker gives every QoS 1/2 PUBLISH it sends packet identifier 1 (3.1.1/MQTT-2.3.1-4).
    reuse_packet_id,
    // CONNECT
    /// A second CONNECT on an established connection is answered with CONNACK 0 and the connection stays open (3.1.1/MQTT-3.1.0-2).
    accept_second_connect,
    /// A CONNECT whose protocol name is not "MQTT" is processed as MQTT 3.1.1 and accepted (3.1.1/MQTT-3.1.2-1).
    ignore_protocol_name,
    /// A CONNECT with any protocol level is accepted with CONNACK 0 instead of 0x01 (3.1.1/MQTT-3.1.2-2).
    accept_any_protocol_level,
    /// After a CONNACK with a non-zero return code the connection stays open (3.1.1/MQTT-3.2.2-5).
    no_close_after_refused_connack,
    /// The reserved bit 0 of the CONNECT flags is not checked (3.1.1/MQTT-3.1.2-3).
    ignore_connect_reserved_flag,
    /// Will Flag 1 with Will QoS 3 is accepted, the will stored at QoS 2 (3.1.1/MQTT-3.1.4-1).
    accept_will_qos_3,
    /// Will QoS or Will Retain bits with Will Flag 0 are ignored instead of closing (3.1.1/MQTT-3.1.4-1).
    ignore_will_bits_without_will_flag,
    /// An empty client id with CleanSession 0 is accepted with a generated id (3.1.1/MQTT-3.1.3-8).
    accept_empty_client_id_persistent,
    /// Every empty client id gets the same generated id, so a second such client takes the first over (3.1.1/MQTT-3.1.3-6).
    empty_client_id_shared,
    /// Client ids longer than 16 bytes are refused with CONNACK 0x02 (3.1.1/MQTT-3.1.3-5).
    reject_client_id_over_16_bytes,
    /// A CONNECT with the id of a connected client is accepted and the existing connection left open (3.1.1/MQTT-3.1.4-2).
    no_takeover,
    /// A CONNECT with the id of a connected client is refused with CONNACK 0x02; the existing connection stays (3.1.1/MQTT-3.1.4-2).
    reject_duplicate_client_id,
    /// Packets after a refused CONNECT are processed (a PUBLISH is routed and retained) and the close comes 500 ms later (3.1.1/MQTT-3.1.4-5).
    process_packets_after_refused_connect,
    /// Every accepted CONNACK has Session Present 1 (3.1.1/MQTT-3.2.2-1, -3).
    session_present_always_set,
    /// Every CONNACK has Session Present 0, even for a resumed session (3.1.1/MQTT-3.2.2-2).
    session_present_never_set,
    // Sessions
    /// A CleanSession 0 session is discarded when its connection ends (3.1.1/MQTT-3.1.2-4).
    forget_session_on_disconnect,
    /// A CleanSession 0 session is resumed but its subscriptions were dropped when the connection ended (3.1.1/MQTT-3.1.2-4).
    forget_subscriptions_on_disconnect,
    /// QoS 1/2 messages for a disconnected session are dropped instead of queued (3.1.1/MQTT-3.1.2-5).
    no_offline_queue,
    /// On a resumed session the pending messages are sent before the CONNACK (3.1.1/MQTT-3.2.0-1).
    queued_before_connack,
    /// A CleanSession 1 CONNECT is handled as CleanSession 0 (3.1.1/MQTT-3.1.2-6).
    clean_session_ignored,
    /// A CleanSession 1 session is kept when its connection ends and resumed by a later CleanSession 0 CONNECT (3.1.1/MQTT-3.1.2-6).
    keep_clean_session_state,
    /// Retained messages a client published are deleted when its session ends (3.1.1/MQTT-3.1.2-7).
    retained_tied_to_session,
    /// A CleanSession 0 CONNECT without a stored session of its own resumes the most recently stored session of any client (3.1.1/MQTT-3.1.3-2).
    session_shared_across_client_ids,
    /// A connected client's subscriptions stop matching 1 s after they were made (3.1.1/MQTT-4.1.0-2).
    session_dropped_while_connected,
    /// Unacknowledged PUBLISH packets are not resent on a CleanSession 0 reconnect (3.1.1/MQTT-4.4.0-1).
    no_redelivery_on_reconnect,
    /// PUBLISH packets resent on reconnect have DUP 0 (3.1.1/MQTT-3.3.1-1).
    redelivery_without_dup,
    /// PUBLISH packets resent on reconnect get a new packet identifier (3.1.1/MQTT-4.4.0-1).
    redelivery_new_packet_id,
    /// PUBRELs not answered by PUBCOMP are not resent on reconnect (3.1.1/MQTT-4.4.0-1).
    no_pubrel_resend_on_reconnect,
    // Wills
    /// The will of a CONNECT is never stored nor published (3.1.1/MQTT-3.1.2-8).
    no_will,
    /// A keep alive timeout does not publish the will (3.1.1/MQTT-3.1.2-8).
    no_will_on_keepalive_timeout,
    /// A close for a protocol error or malformed packet does not publish the will (3.1.1/MQTT-3.1.2-8).
    no_will_on_protocol_error,
    /// A takeover does not publish the old connection's will (3.1.1/MQTT-3.1.2-8).
    no_will_on_takeover,
    /// The will is always published at QoS 0 (3.1.1/MQTT-3.1.2-8).
    will_qos_ignored,
    /// The will is published non-retained even with Will Retain 1 (3.1.1/MQTT-3.1.2-17).
    will_retain_ignored,
    /// The will is published retained even with Will Retain 0 (3.1.1/MQTT-3.1.2-16).
    will_always_retained,
    /// The last will a client id set outlives its connection (even one ended by DISCONNECT) and is published when a later connection of that id without a will closes abnormally (3.1.1/MQTT-3.1.2-10, -12).
    will_kept_across_connections,
    /// The will is published even after a DISCONNECT (3.1.1/MQTT-3.14.4-3).
    will_sent_after_disconnect,
    /// A DISCONNECT with non-zero fixed-header flags is a normal DISCONNECT (3.1.1/MQTT-3.14.1-1).
    ignore_disconnect_reserved_flags,
    // Keep alive
    /// The keep alive is never enforced (3.1.1/MQTT-3.1.2-24).
    ignore_keepalive,
    /// A silent client is closed after 3 times its keep alive instead of 1.5 (3.1.1/MQTT-3.1.2-24).
    keepalive_close_at_3x,
    /// Packets after the CONNECT do not push the keep alive deadline back (3.1.1/MQTT-3.1.2-24).
    keepalive_not_reset_by_packets,
    /// Only PINGREQ pushes the keep alive deadline back (3.1.1/MQTT-3.1.2-24).
    keepalive_reset_only_by_pingreq,
    /// PINGREQ is never answered (3.1.1/MQTT-3.12.4-1).
    no_pingresp,
    // PUBLISH
    /// The PUBACK carries the PUBLISH's packet identifier plus one (3.1.1/MQTT-2.3.1-6).
    wrong_puback_packet_id,
    /// A QoS 2 PUBLISH received again with an identifier awaiting PUBREL is delivered again (3.1.1/MQTT-4.3.3-2).
    dup_qos2_delivery,
    /// A PUBLISH with QoS bits 11 is read as QoS 1 (3.1.1/MQTT-3.3.1-4).
    lenient_decoding,
    // SUBSCRIBE, UNSUBSCRIBE
    /// The SUBACK carries the SUBSCRIBE's packet identifier plus one (3.1.1/MQTT-3.8.4-2).
    suback_wrong_packet_id,
    /// A SUBSCRIBE whose filters are all already subscribed gets no SUBACK (3.1.1/MQTT-3.8.4-1).
    no_suback_for_existing_filter,
    /// A new subscription does not receive the retained messages it matches (3.1.1/MQTT-3.3.1-6).
    skip_retained_on_subscribe,
    /// A new subscription receives every retained message on the broker, whether its filter matches the topic or not (3.1.1/MQTT-3.3.2-3).
    leak_retained_on_subscribe,
    /// A repeated identical subscription does not resend the retained messages (3.1.1/MQTT-3.8.4-3).
    resubscribe_skips_retained,
    /// A repeated identical subscription is answered with the new QoS but the old one stays in force (3.1.1/MQTT-3.8.4-3).
    resubscribe_keeps_old_subscription,
    /// A repeated identical subscription adds a second one, so each message is delivered twice (3.1.1/MQTT-3.8.4-3).
    resubscribe_adds_duplicate,
    /// Only the first filter of a SUBSCRIBE is handled; the SUBACK has one code (3.1.1/MQTT-3.8.4-4, -5).
    subscribe_first_filter_only,
    /// One SUBACK per filter (3.1.1/MQTT-3.8.4-4).
    suback_per_filter,
    /// SUBACK codes in reverse filter order (3.1.1/MQTT-3.9.3-1).
    suback_codes_reversed,
    /// An invalid filter is refused with SUBACK 0x8F instead of a close (3.1.1/MQTT-3.9.3-2).
    suback_v5_failure_code,
    /// Filters with misplaced wildcards are granted and matched literally (3.1.1/MQTT-4.7.1-2, -3).
    accept_invalid_filters,
    /// SUBSCRIBE and UNSUBSCRIBE with packet identifier 0 are processed (3.1.1/MQTT-2.3.1-1).
    accept_zero_packet_id,
    /// A SUBSCRIBE or UNSUBSCRIBE without filters is answered instead of closing (3.1.1/MQTT-3.8.3-3, 3.10.3-2).
    accept_empty_subscribe,
    /// The requested-QoS byte is masked to its low two bits and QoS 3 clamped to 2 (3.1.1/MQTT-3.8.3-4).
    lenient_subscribe_options,
    /// The UNSUBACK carries the UNSUBSCRIBE's packet identifier plus one (3.1.1/MQTT-3.10.4-4).
    unsuback_wrong_packet_id,
    /// An UNSUBSCRIBE that removed nothing gets no UNSUBACK (3.1.1/MQTT-3.10.4-5).
    no_unsuback_when_nothing_removed,
    /// UNSUBSCRIBE is answered but removes nothing (3.1.1/MQTT-3.10.4-2).
    unsubscribe_ignored,
    /// UNSUBSCRIBE removes every subscription its filter matches or is matched by (3.1.1/MQTT-3.10.4-1).
    unsubscribe_matches_wildcards,
    /// Only the first filter of an UNSUBSCRIBE is removed (3.1.1/MQTT-3.10.4-6).
    unsubscribe_first_filter_only,
    /// One UNSUBACK per filter (3.1.1/MQTT-3.10.4-6).
    unsuback_per_filter,
    /// Removing a subscription discards the QoS 1/2 messages in flight on topics it matched (3.1.1/MQTT-3.10.4-3).
    unsubscribe_drops_inflight,
    // Topics
    /// '+' matches one or more levels (3.1.1/MQTT-4.7.1-3).
    plus_matches_multiple_levels,
    /// Wildcard filters are granted but compared as literal strings (3.1.1/MQTT-3.8.3-2).
    wildcards_unsupported_but_granted,
    /// Empty topic levels are removed before matching (3.1.1/MQTT-4.7.1-3).
    empty_levels_dropped,
    /// "x/#" does not match "x" (3.1.1/MQTT-4.7.1-2).
    hash_skips_parent,
    /// "x/#" matches any topic starting with "x", such as "xy" (3.1.1/MQTT-4.7.1-2).
    hash_string_prefix,
    /// Topics and filters are compared ignoring ASCII case (3.1.1/MQTT-4.7.3-4).
    case_insensitive_matching,
    /// Trailing spaces of each level are ignored in matching (3.1.1/MQTT-4.7.3-4).
    topic_whitespace_trimmed,
    /// Topics and filters are normalised before matching: fullwidth ASCII folded, "e" + U+0301 composed (an NFKC subset) (3.1.1/MQTT-4.7.3-4).
    unicode_normalised_matching,
    /// Leading wildcards also match topics starting with '$' (3.1.1/MQTT-4.7.2-1).
    wildcard_matches_dollar_topics,
    /// An empty filter is granted and a PUBLISH with an empty topic accepted (3.1.1/MQTT-4.7.3-1).
    accept_empty_topic,
    /// A PUBLISH whose topic has '+' or '#' is accepted and routed literally (3.1.1/MQTT-4.7.1-1).
    accept_wildcards_in_topic_name,
    /// Only '#' at the start of a filter, not '+', also matches topics starting with '$' (3.1.1/MQTT-4.7.2-1).
    hash_matches_dollar_topics,
    /// Topic names longer than 1024 bytes are cut to their first 1024 bytes on delivery (3.1.1/MQTT-4.5.0-1).
    long_topics_truncated,
    // Payloads
    /// Payloads longer than 100 bytes are cut to their first 100 bytes on delivery (3.1.1/MQTT-4.5.0-1).
    payloads_truncated_over_100_bytes,
    // Encoding and framing
    /// Ill-formed UTF-8 in topic names and filters is replaced by U+FFFD instead of closing (3.1.1/MQTT-1.5.3-1).
    accept_invalid_utf8,
    /// U+0000 in topic names and filters is accepted (replaced by U+FFFD) instead of closing (3.1.1/MQTT-1.5.3-2).
    accept_null_character,
    /// The bytes EF BB BF are removed from topic names and filters (3.1.1/MQTT-1.5.3-3).
    strip_byte_order_mark,
    /// Fixed-header flags of every packet but PUBLISH are not checked (3.1.1/MQTT-2.2.2-1, -2).
    ignore_reserved_flags,
    /// A fifth remaining-length byte is accepted and packets whose fields do not fit their length are dropped silently (3.1.1/MQTT-4.8.0-1).
    lenient_remaining_length,
    /// Packets of the reserved types 0 and 15 are ignored (3.1.1/MQTT-4.8.0-1).
    ignore_unknown_packet_types,
    /// CONNACK, SUBACK, UNSUBACK and PINGRESP from a client are ignored (3.1.1/MQTT-4.8.0-1).
    ignore_server_only_packets,
    // MQTT 5.0: sessions, CONNECT and CONNACK
    /// A session with a non-zero Session Expiry Interval ends with its connection, like one with 0 (5.0/MQTT-3.1.2-23).
    session_expiry_ignored,
    /// A session whose Session Expiry Interval has passed is kept and resumed (5.0/MQTT-4.1.0-2).
    session_never_expires,
    /// A DISCONNECT raising the Session Expiry Interval from 0 is accepted instead of being a protocol error (5.0 section 3.14.2.2.2, 5.0/MQTT-4.13.1-1).
    session_expiry_raised_from_zero,
    /// The CONNACK for an empty client id lacks the Assigned Client Identifier (5.0/MQTT-3.1.3-7, 5.0/MQTT-3.2.2-16).
    assigned_client_id_missing,
    /// The CONNACK carries Response Information though the client did not request it (5.0/MQTT-3.1.2-28).
    response_information_unrequested,
    /// Reason strings are sent on every packet although the client set Request Problem Information 0 (5.0/MQTT-3.1.2-29).
    problem_information_ignored,
    /// The broker closes 5.0 connections without a DISCONNECT first, also on takeover (5.0/MQTT-3.1.4-3).
    no_server_disconnect,
    // MQTT 5.0: wills
    /// The will is published as soon as the connection ends, whatever its Will Delay Interval (5.0/MQTT-3.1.2-8).
    will_delay_ignored,
    /// A will waiting for its delay is still published after the client reconnected in time (5.0/MQTT-3.1.3-9).
    delayed_will_sent_after_reconnect,
    /// DISCONNECT with reason 0x04 (Disconnect with Will Message) discards the will (5.0/MQTT-3.1.2-8).
    disconnect_with_will_ignored,
    /// The will's properties are published in reverse order (5.0/MQTT-3.1.3-10).
    will_user_properties_reversed,
    // MQTT 5.0: PUBLISH properties
    /// Messages are delivered after their Message Expiry Interval ran out (5.0/MQTT-3.3.2-5).
    message_expiry_ignored,
    /// The Message Expiry Interval is forwarded as received, not reduced by the time the message waited, and not applied (5.0/MQTT-3.3.2-6).
    message_expiry_not_reduced,
    /// User Properties are not forwarded (5.0/MQTT-3.3.2-17).
    user_properties_dropped,
    /// User Properties are forwarded in reverse order (5.0/MQTT-3.3.2-18).
    user_properties_reordered,
    /// The Response Topic is not forwarded (5.0/MQTT-3.3.2-15).
    response_topic_dropped,
    /// Correlation Data is not forwarded (5.0/MQTT-3.3.2-16).
    correlation_data_dropped,
    /// The Content Type is not forwarded (5.0/MQTT-3.3.2-20).
    content_type_dropped,
    /// The Payload Format Indicator is not forwarded (5.0/MQTT-3.3.2-4).
    payload_format_indicator_dropped,
    // MQTT 5.0: topic aliases, flow control, packet size
    /// A Topic Alias of 0 or above the broker's Topic Alias Maximum is accepted (5.0 section 3.3.2.3.4, 5.0/MQTT-4.13.1-1).
    invalid_topic_alias_accepted,
    /// A Topic Alias the client sets is not remembered, so using it later is refused (5.0/MQTT-3.3.2-12).
    topic_alias_mapping_ignored,
    /// The broker sends Topic Aliases to a client that allowed none (5.0/MQTT-3.1.2-27).
    topic_alias_without_client_consent,
    /// The broker's Topic Aliases exceed the client's Topic Alias Maximum (5.0/MQTT-3.1.2-26, 5.0/MQTT-3.3.2-11).
    topic_alias_over_maximum,
    /// The broker sends more unacknowledged QoS 1/2 PUBLISH packets than the client's Receive Maximum (5.0/MQTT-3.3.4-9).
    receive_maximum_ignored,
    /// A client exceeding the broker's Receive Maximum is not disconnected with 0x93 (5.0 section 3.3.4, 5.0/MQTT-4.13.1-1).
    receive_maximum_not_enforced,
    /// The broker sends PUBLISH packets larger than the client's Maximum Packet Size (5.0/MQTT-3.1.2-24).
    max_packet_size_ignored,
    // MQTT 5.0: subscriptions
    /// No Local is ignored: a client gets its own messages back (5.0/MQTT-3.8.3-3).
    no_local_ignored,
    /// Retain As Published is ignored: forwarded messages always have RETAIN 0 (5.0/MQTT-3.3.1-13).
    retain_as_published_ignored,
    /// Retain Handling 1 and 2 are read as 0: retained messages are sent on every subscribe (5.0/MQTT-3.3.1-10, 5.0/MQTT-3.3.1-11).
    retain_handling_ignored,
    /// Deliveries carry no Subscription Identifier (5.0/MQTT-3.3.4-3).
    subscription_identifier_missing,
    /// Every member of a shared subscription gets each message, not one of them (5.0 section 4.8.2; 5.0/MQTT-4.5.0-1).
    shared_delivered_to_every_member,
    // MQTT 5.0: enhanced authentication
    /// A CONNECT with an unknown Authentication Method is accepted (5.0/MQTT-4.12.0-1).
    unknown_auth_method_accepted,
    /// AUTH packets and the CONNACK lack the Authentication Method (5.0/MQTT-4.12.0-5).
    auth_method_missing,
    // 5.0 suite, part A
    /// The broker asks for more authentication data with AUTH reason 0x00 (Success) instead of 0x18 (5.0/MQTT-4.12.0-2).
    auth_continue_wrong_reason,
    /// AUTH packets from the broker carry reason code 0x01, which the AUTH table lacks (5.0/MQTT-3.15.2-1).
    auth_reason_code_invalid,
    /// A connection whose CONNECT named no Authentication Method is offered one: its CONNACK names the broker's first method, and an AUTH from it starts that method's exchange (5.0/MQTT-4.12.0-6).
    auth_without_method,
    /// A failed re-authentication is ignored: no DISCONNECT, the connection stays open (5.0/MQTT-4.12.1-2).
    reauth_failure_keeps_connection,
    /// DISCONNECT packets from the broker carry reason 0x86 (Bad User Name or Password), which the DISCONNECT table lacks (5.0/MQTT-3.14.2-1).
    server_disconnect_reason_not_in_table,
    /// DISCONNECT packets from the broker carry the session's Session Expiry Interval (5.0/MQTT-3.14.2-2).
    server_disconnect_session_expiry,
    /// A PINGRESP follows the broker's DISCONNECT (5.0/MQTT-3.14.4-1).
    packets_after_server_disconnect,
    /// After its DISCONNECT the broker leaves the network connection open (5.0/MQTT-3.14.4-2).
    no_close_after_server_disconnect,
    /// A CONNACK refusing a 5.0 CONNECT is followed by a DISCONNECT (5.0/MQTT-3.14.0-1).
    disconnect_after_refused_connack,
    /// A CONNACK refusing the connection has Session Present 1 (5.0/MQTT-3.2.2-6).
    session_present_on_refusal,
    /// A refused 5.0 CONNECT gets CONNACK 0x05, a 3.1.1 return code the 5.0 table lacks (5.0/MQTT-3.2.2-8).
    connack_reason_not_in_table,
    /// CONNACK acknowledge flags have reserved bit 1 set (5.0/MQTT-3.2.2-1).
    connack_reserved_flags_set,
    /// Refusing CONNACKs, AUTH and DISCONNECT carry a 200-byte Reason String and a User Property even when that takes them past the client's Maximum Packet Size (5.0/MQTT-3.2.2-19, -20, 5.0/MQTT-3.14.2-3, -4, 5.0/MQTT-3.15.2-2, -3).
    oversize_diagnostics,
    /// Every fifth packet the broker writes is lost, as on an unreliable transport (5.0/MQTT-4.2.0-1).
    lossy_transport,
    // 5.0 suite, part B
    /// PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK packets from the broker carry reason code 0x01, which their tables lack (5.0/MQTT-3.4.2-1, 3.5.2-1, 3.6.2-1, 3.7.2-1, 3.11.3-2).
    ack_reason_code_not_in_table,
    /// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK carry a 200-byte Reason String and a User Property even past the client's Maximum Packet Size (5.0/MQTT-3.4.2-2, -3, 3.5.2-2, -3, 3.6.2-2, -3, 3.7.2-2, -3, 3.9.2-1, -2, 3.11.2-1, -2).
    oversize_ack_diagnostics,
    /// Topic aliases a client set are kept for its client id and still stand for their topics on its next connection (5.0/MQTT-3.3.2-7).
    topic_alias_kept_across_connections,
    /// A QoS 2 packet identifier stays remembered after the PUBCOMP, so the next PUBLISH with it is taken for a duplicate and not forwarded (5.0/MQTT-4.3.3-12).
    qos2_id_kept_after_pubcomp,
    /// A PUBACK with a reason code of 0x80 or more leaves the message unacknowledged, so it is sent again on reconnect (5.0/MQTT-4.4.0-2).
    error_puback_ignored,
    /// A PUBLISH from the client with a Subscription Identifier is accepted instead of being a protocol error (5.0/MQTT-3.3.4-6).
    subscription_identifier_from_client_accepted,
    /// A Response Topic with wildcard characters is accepted (5.0/MQTT-3.3.2-14).
    wildcard_response_topic_accepted,
    /// No Local 1 on a shared subscription is accepted instead of being a protocol error (5.0/MQTT-3.8.3-4).
    no_local_on_shared_accepted,
    /// A shared subscription's message refused by its member with a PUBACK of 0x80 or more is offered to another member (5.0/MQTT-4.8.2-6).
    shared_error_ack_redistributed,
    /// When a shared subscription member's connection closes, the QoS 2 messages in flight to it are taken from its session and offered to another member (5.0/MQTT-4.8.2-4, -5).
    shared_qos2_handed_to_other_member,
    /// UNSUBACK reason codes in reverse filter order (5.0/MQTT-3.11.3-1).
    unsuback_codes_reversed,
    /// The broker's PINGRESP has its remaining length in two bytes, 0x80 0x00 (5.0/MQTT-1.5.5-1).
    non_minimal_remaining_length,
    /// A 5.0 SUBACK without properties leaves out its Property Length (5.0/MQTT-2.2.2-1).
    property_length_omitted,
    /// The identifier of a QoS 2 PUBLISH refused with PUBREC 0x80 or more is remembered, so the next PUBLISH with it is taken for a duplicate and not forwarded (5.0/MQTT-4.3.3-9).
    refused_qos2_id_remembered,
    /// Unacknowledged PUBLISH packets whose Message Expiry Interval has passed are dropped instead of resent on reconnect (5.0/MQTT-4.3.3-7).
    inflight_message_expires,
    /// Ill-formed UTF-8 in the string properties of a 5.0 PUBLISH (Content Type, Response Topic, User Properties) is replaced by U+FFFD instead of closing (5.0/MQTT-1.5.7-1, 3.3.2-13, 3.3.2-19).
    accept_invalid_utf8_in_properties,
    // Fuzzing (`mqttspec fuzz`): faults a network fuzzer must find.
    /// A packet with ill-formed UTF-8 or U+0000 in a string makes the core panic; the driver takes the whole broker down with it, as a crash would (3.1.1/MQTT-1.5.3-1, 5.0/MQTT-1.5.4-1).
    panic_on_invalid_utf8,
    /// A second CONNECT on a connection makes the broker hang: from then on it takes every event and answers none, and accepted connections get no CONNACK (3.1.1/MQTT-3.1.0-2, 5.0/MQTT-3.1.0-2).
    hang_after_second_connect,
    /// A packet only a server sends (CONNACK, SUBACK, UNSUBACK, PINGRESP) from a client makes the driver stop accepting connections: they wait in the listen backlog unserved (3.1.1/MQTT-4.8.0-1, 5.0/MQTT-4.13.1-1).
    stop_accepting_after_server_packet,
    /// A malformed packet with reserved fixed-header flags after the CONNECT is dropped with the rest of the bytes read and the connection stays open (3.1.1/MQTT-2.2.2-2, 5.0/MQTT-2.1.3-1).
    reserved_flags_keep_connection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert!(Faults::NAMES.len() > 70);
        for name in Faults::NAMES {
            let f = Faults::only(name).unwrap();
            assert_eq!(f.enabled(), [*name]);
            assert!(Faults::describe(name).is_some_and(|d| d.contains("MQTT-")));
        }
        assert_eq!(
            Faults::only("no_such_fault"),
            Err(UnknownFault("no_such_fault".into()))
        );
        assert!(Faults::default().enabled().is_empty());
    }
}
