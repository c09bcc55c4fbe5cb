//! The reference broker as `mqttspec run` starts it when no target is given (over TCP and in
//! the simulator), and what the harness knows of it beyond its CONNACK. The tests that run
//! the suite against the reference broker, with and without faults, start it the same way.

use crate::engine::capabilities::Stated;
use crate::scenario::model::Features;
use mqttspec_broker::Config;

/// The configuration of the embedded reference broker.
pub fn config() -> Config {
    Config::default()
}

/// What the embedded broker supports that a CONNACK cannot announce, from its
/// configuration: the enhanced authentication methods it offers and whether it sends
/// Response Information.
pub fn capabilities(config: &Config) -> Stated {
    Stated {
        features: Features {
            auth_methods: config
                .offered_auth_methods()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            response_information: Some(config.response_information.is_some()),
            ..Features::default()
        },
        source: "the reference broker's configuration".to_owned(),
        file: None,
    }
}
