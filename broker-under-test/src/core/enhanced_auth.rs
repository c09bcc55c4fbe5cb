//! Enhanced authentication (5.0 section 4.12): the AUTH exchange of a CONNECT that names an
//! Authentication Method, and re-authentication of a connected client.

use super::close::CloseReason;
use super::connection::{AuthState, Phase};
use super::{Broker, ConnId, Time};
use crate::auth::AuthStep;
use bytes::Bytes;
use mqttspec_codec::{Auth, Connect, Properties, Property, PropertyId, ReasonCode};
use sha2::{Digest, Sha256};

impl Broker {
    /// A CONNECT with an Authentication Method: an unknown method gets CONNACK 0x8C
    /// (5.0/MQTT-4.12.0-1); a known one starts its exchange with the CONNECT's data.
    pub(super) fn start_connect_auth(
        &mut self,
        now: Time,
        conn: ConnId,
        connect: Connect,
        method: String,
    ) {
        let Some(m) = self.auth_methods.find(&method).cloned() else {
            tracing::debug!(?conn, method, "unknown authentication method");
            if fault!(self.config, unknown_auth_method_accepted) {
                return self.accept(now, conn, connect, None, None);
            }
            return self.refuse(now, conn, ReasonCode::BAD_AUTHENTICATION_METHOD);
        };
        let data = auth_data(&connect.properties);
        let nonce = self.next_nonce();
        let (exchange, step) = m.start(&data, nonce);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.auth_method = Some(method);
            c.auth = Some(AuthState { exchange });
        }
        self.after_connect_step(now, conn, connect, step);
    }

    fn after_connect_step(&mut self, now: Time, conn: ConnId, connect: Connect, step: AuthStep) {
        match step {
            AuthStep::Continue(data) => {
                // 5.0/MQTT-4.12.0-2: more data wanted, AUTH 0x18.
                self.send_auth(conn, ReasonCode::CONTINUE_AUTHENTICATION, Some(data));
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.phase = Phase::Authenticating {
                        connect: Box::new(connect),
                    };
                }
            }
            AuthStep::Success { user, data } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.auth = None;
                }
                self.accept(now, conn, connect, Some(user), data);
            }
            // 5.0/MQTT-4.12.0-4: refused, CONNACK and close.
            AuthStep::Fail(code) => self.refuse(now, conn, code),
        }
    }

    /// AUTH from the client: the next step of the CONNECT's exchange, or re-authentication
    /// (5.0 section 4.12.1) once connected.
    pub(super) fn on_auth(&mut self, now: Time, conn: ConnId, auth: Auth) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let method = auth
            .properties
            .as_ref()
            .and_then(|p| p.get(PropertyId::AuthenticationMethod))
            .and_then(|p| match p {
                Property::AuthenticationMethod(m) => Some(m.to_string()),
                _ => None,
            });
        #[cfg(feature = "faults")]
        if self.config.faults.auth_without_method
            && c.auth_method.is_none()
            && matches!(c.phase, Phase::Connected { .. })
            && method
                .as_deref()
                .is_some_and(|m| self.auth_methods.find(m).is_some())
        {
            c.auth_method = method.clone();
        }
        let same_method = method.is_some() && method == c.auth_method;
        let data = auth.properties.as_ref().map(auth_data).unwrap_or_default();
        match &c.phase {
            Phase::Authenticating { .. } => {
                let Phase::Authenticating { connect } =
                    std::mem::replace(&mut c.phase, Phase::AwaitingConnect)
                else {
                    return;
                };
                if auth.reason() != ReasonCode::CONTINUE_AUTHENTICATION || !same_method {
                    return self.refuse(now, conn, ReasonCode::PROTOCOL_ERROR);
                }
                let Some(state) = c.auth.as_mut() else {
                    return self.refuse(now, conn, ReasonCode::PROTOCOL_ERROR);
                };
                let step = state.exchange.step(&data);
                self.after_connect_step(now, conn, *connect, step);
            }
            Phase::Connected { .. } => {
                // 5.0/MQTT-4.12.1-1: re-authentication uses the CONNECT's method; AUTH on a
                // connection without one is a protocol error.
                if !same_method {
                    return self.close(now, conn, CloseReason::ProtocolError);
                }
                let step = match auth.reason() {
                    ReasonCode::RE_AUTHENTICATE => {
                        let Some(m) = c
                            .auth_method
                            .as_deref()
                            .and_then(|name| self.auth_methods.find(name))
                            .cloned()
                        else {
                            return self.close(now, conn, CloseReason::ProtocolError);
                        };
                        let nonce = self.next_nonce();
                        let (exchange, step) = m.start(&data, nonce);
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.auth = Some(AuthState { exchange });
                        }
                        step
                    }
                    ReasonCode::CONTINUE_AUTHENTICATION => match c.auth.as_mut() {
                        Some(state) => state.exchange.step(&data),
                        None => return self.close(now, conn, CloseReason::ProtocolError),
                    },
                    _ => return self.close(now, conn, CloseReason::ProtocolError),
                };
                self.after_reauth_step(now, conn, step);
            }
            _ => self.close(now, conn, CloseReason::ProtocolError),
        }
    }

    fn after_reauth_step(&mut self, now: Time, conn: ConnId, step: AuthStep) {
        match step {
            AuthStep::Continue(data) => {
                self.send_auth(conn, ReasonCode::CONTINUE_AUTHENTICATION, Some(data));
            }
            AuthStep::Success { user, data } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.auth = None;
                    c.username = Some(user);
                }
                self.send_auth(conn, ReasonCode::SUCCESS, data);
            }
            AuthStep::Fail(_) if fault!(self.config, reauth_failure_keeps_connection) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.auth = None;
                }
            }
            // 5.0/MQTT-4.12.1-2: DISCONNECT and close. 0x86 is not a DISCONNECT code.
            AuthStep::Fail(code) => {
                let code = if code.valid_for(mqttspec_codec::PacketType::Disconnect) {
                    code
                } else {
                    ReasonCode::NOT_AUTHORIZED
                };
                self.close(now, conn, CloseReason::Violation(code));
            }
        }
    }

    /// AUTH with the connection's method (5.0/MQTT-4.12.0-5) and `data`.
    fn send_auth(&mut self, conn: ConnId, code: ReasonCode, data: Option<Bytes>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let mut props = Properties::new();
        if let Some(m) = &c.auth_method
            && !fault!(self.config, auth_method_missing)
        {
            props.push(Property::AuthenticationMethod(m.as_str().into()));
        }
        if let Some(d) = data {
            props.push(Property::AuthenticationData(d));
        }
        // 5.0/MQTT-4.12.0-2: more data wanted is 0x18; 5.0/MQTT-3.15.2-1: a code of the table.
        let code = if code == ReasonCode::CONTINUE_AUTHENTICATION
            && fault!(self.config, auth_continue_wrong_reason)
        {
            ReasonCode::SUCCESS
        } else if fault!(self.config, auth_reason_code_invalid) {
            ReasonCode(0x01)
        } else {
            code
        };
        let auth = Auth {
            reason_code: Some(code),
            properties: Some(props),
        };
        let link = c.link;
        self.out.send(conn, &link, auth);
    }

    /// Fresh bytes for an exchange: SHA-256 of the configured seed and a counter, so runs
    /// are reproducible and no two exchanges share a nonce.
    fn next_nonce(&mut self) -> [u8; 18] {
        self.nonces += 1;
        let mut h = Sha256::new();
        h.update(self.config.nonce_seed.to_be_bytes());
        h.update(self.nonces.to_be_bytes());
        let digest = h.finalize();
        let mut nonce = [0u8; 18];
        nonce.copy_from_slice(&digest[..18]);
        nonce
    }
}

/// The Authentication Data of a property block, empty when absent.
fn auth_data(props: &Properties) -> Bytes {
    match props.get(PropertyId::AuthenticationData) {
        Some(Property::AuthenticationData(d)) => d.clone(),
        _ => Bytes::new(),
    }
}
