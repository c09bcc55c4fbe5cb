//! The reference broker as `mqttspec run` starts it when no target is given (over TCP and in
//! the simulator), and what the harness knows of it beyond its CONNACK. The tests that run
//! the suite against the reference broker, with and without faults, start it the same way.

use crate::engine::capabilities::Stated;
use crate::engine::runner::Credentials;
use crate::scenario::model::Features;
use mqttspec_broker::Config;
use mqttspec_broker::auth::{Users, hash_line};
use std::sync::OnceLock;

/// The one user of the embedded broker's users file, for the enhanced-authentication
/// scenarios (the broker offers SCRAM-SHA-256 only with a users file). Clients without a
/// user name still connect, as before: anonymous clients are allowed from loopback.
const TEST_USER: &str = "mqttspec-user";

/// SCRAM's iteration count for the test user: RFC 7677's minimum.
const TEST_ITERATIONS: u32 = 4096;

struct TestUser {
    password: String,
    users: Users,
}

/// Made once per process, with a password drawn from the operating system that nothing
/// prints: the broker holds only its salted hash, the harness the password itself.
fn test_user() -> Option<&'static TestUser> {
    static USER: OnceLock<Option<TestUser>> = OnceLock::new();
    USER.get_or_init(|| {
        let secret = mqttspec_broker::auth::random_salt().ok()?;
        let salt = mqttspec_broker::auth::random_salt().ok()?;
        let password: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let line = hash_line(TEST_USER, password.as_bytes(), &salt, TEST_ITERATIONS).ok()?;
        let users = Users::parse(&line).ok()?;
        Some(TestUser { password, users })
    })
    .as_ref()
}

/// Longest client identifier the embedded broker accepts: a limit, so that the scenarios
/// on refused client identifiers (5.0/MQTT-3.1.3-8) have one to meet.
const MAX_CLIENT_ID_LEN: usize = 256;

/// The configuration of the embedded reference broker: the defaults, with the test user
/// and a limit on client identifiers.
pub fn config() -> Config {
    Config {
        users: test_user().map(|u| u.users.clone()),
        max_client_id_len: MAX_CLIENT_ID_LEN,
        ..Config::default()
    }
}

/// What the embedded broker supports that a CONNACK cannot announce, from its
/// configuration: the enhanced authentication methods it offers and whether it sends
/// Response Information; and the test user, when the configuration has it.
pub fn capabilities(config: &Config) -> Stated {
    let auth_user = test_user()
        .filter(|u| config.users.as_ref().is_some_and(|users| *users == u.users))
        .map(|u| Credentials {
            username: TEST_USER.to_owned(),
            password: Some(u.password.clone()),
        });
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
        auth_user,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_broker_offers_scram_to_its_test_user() {
        let config = config();
        let stated = capabilities(&config);
        assert_eq!(stated.features.auth_methods, ["SCRAM-SHA-256"]);
        let user = stated.auth_user.clone().expect("a test user");
        let password = user.password.clone().expect("a password");
        let users = config.users.as_ref().expect("a users file");
        assert!(users.verify(&user.username, password.as_bytes()));
        // The password never shows in what a report could print.
        assert!(!format!("{user:?} {config:?} {stated:?}").contains(&password));
        // Another configuration does not get the test user's account.
        let plain = capabilities(&Config::default());
        assert!(plain.auth_user.is_none());
        assert!(plain.features.auth_methods.is_empty());
    }
}
