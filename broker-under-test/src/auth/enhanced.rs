//! MQTT 5.0 enhanced authentication (section 4.12): a pluggable challenge-response method.
//!
//! A method is chosen by the Authentication Method of the CONNECT. [`AuthMethod::start`]
//! takes the CONNECT's Authentication Data and a nonce from the core; the exchange it returns
//! is then fed the data of each AUTH packet until it succeeds or fails. The core turns the
//! steps into AUTH (0x18), CONNACK, or, during re-authentication, AUTH 0x00 or DISCONNECT.
//! Methods are pure computations: no IO, no clock, no randomness of their own.

use bytes::Bytes;
use mqttspec_codec::ReasonCode;
use std::fmt;
use std::sync::Arc;

/// What an exchange asks the core to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// Send AUTH 0x18 (Continue authentication) with this data and wait for the client's.
    Continue(Bytes),
    /// Authenticated as `user`; `data` goes in the CONNACK (or final AUTH) if any.
    Success { user: String, data: Option<Bytes> },
    /// Refused with this reason code (0x86, 0x87, 0x8C ...).
    Fail(ReasonCode),
}

/// One run of a method with one client.
pub trait AuthExchange: Send + fmt::Debug {
    /// The client's next Authentication Data (absent data is empty).
    fn step(&mut self, data: &[u8]) -> AuthStep;
}

/// An authentication method, such as SCRAM-SHA-256.
pub trait AuthMethod: Send + Sync + fmt::Debug {
    /// The Authentication Method string that selects it.
    fn name(&self) -> &str;
    /// Starts an exchange with the CONNECT's (or the re-authenticating AUTH's) data.
    /// `nonce` is fresh bytes from the core, the only unpredictability a method may use.
    fn start(&self, data: &[u8], nonce: [u8; 18]) -> (Box<dyn AuthExchange>, AuthStep);
}

/// The methods a broker offers, compared and printed by name.
#[derive(Clone, Default)]
pub struct AuthMethods(pub Vec<Arc<dyn AuthMethod>>);

impl AuthMethods {
    pub fn find(&self, name: &str) -> Option<&Arc<dyn AuthMethod>> {
        self.0.iter().find(|m| m.name() == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|m| m.name()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for AuthMethods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl PartialEq for AuthMethods {
    fn eq(&self, other: &Self) -> bool {
        self.names() == other.names()
    }
}

impl Eq for AuthMethods {}
