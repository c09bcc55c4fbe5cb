//! SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash) as an MQTT 5.0 enhanced authentication
//! method, against the users file: the file's PBKDF2-HMAC-SHA256 hash is SCRAM's
//! `SaltedPassword`, so the same file serves plain passwords and SCRAM.
//!
//! The exchange, each message in an Authentication Data property:
//! 1. CONNECT: `n,,n=<user>,r=<client nonce>`
//! 2. AUTH 0x18: `r=<client nonce><server nonce>,s=<salt, base64>,i=<iterations>`
//! 3. AUTH 0x18: `c=biws,r=<nonce>,p=<client proof, base64>`
//! 4. CONNACK 0x00: `v=<server signature, base64>` (or 0x86 for a wrong proof)
//!
//! Channel binding is not supported (`p=` in the header is refused). An unknown user gets a
//! made-up salt and fails at step 4 only, so the exchange does not tell which names exist.

use super::enhanced::{AuthExchange, AuthMethod, AuthStep};
use super::password::Users;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use mqttspec_codec::ReasonCode;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The method's name in the Authentication Method property.
pub const NAME: &str = "SCRAM-SHA-256";

/// SCRAM-SHA-256 against a users file.
#[derive(Debug, Clone)]
pub struct ScramSha256 {
    users: Arc<Users>,
}

impl ScramSha256 {
    pub fn new(users: Users) -> Self {
        Self {
            users: Arc::new(users),
        }
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Decodes a SCRAM `saslname` (`=2C` is ',', `=3D` is '='); `None` for a bad escape.
fn unescape_name(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code {
            "2C" => ',',
            "3D" => '=',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// The value of attribute `key` (as in `r=...`) among comma-separated attributes.
fn attr<'a>(attrs: &[&'a str], key: char) -> Option<&'a str> {
    attrs.iter().find_map(|a| {
        let mut chars = a.chars();
        (chars.next() == Some(key) && chars.next() == Some('=')).then(|| &a[2..])
    })
}

impl AuthMethod for ScramSha256 {
    fn name(&self) -> &str {
        NAME
    }

    fn start(&self, data: &[u8], nonce: [u8; 18]) -> (Box<dyn AuthExchange>, AuthStep) {
        match self.first(data, nonce) {
            Ok((exchange, server_first)) => (
                Box::new(exchange),
                AuthStep::Continue(Bytes::from(server_first.into_bytes())),
            ),
            Err(code) => (Box::new(Failed), AuthStep::Fail(code)),
        }
    }
}

impl ScramSha256 {
    /// Reads the client-first message and answers the server-first one.
    fn first(&self, data: &[u8], nonce: [u8; 18]) -> Result<(Exchange, String), ReasonCode> {
        let malformed = ReasonCode::NOT_AUTHORIZED;
        let text = std::str::from_utf8(data).map_err(|_| malformed)?;
        // gs2-header: "n,," or "y,," (no channel binding); an authzid is not supported.
        let bare = text
            .strip_prefix("n,,")
            .or_else(|| text.strip_prefix("y,,"))
            .ok_or(malformed)?;
        let header = &text[..3];
        let attrs: Vec<&str> = bare.split(',').collect();
        if attrs.first().is_some_and(|a| a.starts_with("m=")) {
            return Err(malformed);
        }
        let user = attr(&attrs, 'n').and_then(unescape_name).ok_or(malformed)?;
        let client_nonce = attr(&attrs, 'r')
            .filter(|r| !r.is_empty())
            .ok_or(malformed)?;
        let (iterations, salt, salted) = match self.users.scram_credentials(&user) {
            Some((i, salt, hash)) => (i, salt.to_vec(), Some(hash.to_vec())),
            // Unknown user: a salt that looks like any other, and certain failure later.
            None => (
                4096,
                sha256(&[user.as_bytes(), &nonce].concat())[..16].to_vec(),
                None,
            ),
        };
        let combined = format!("{client_nonce}{}", B64.encode(nonce));
        let server_first = format!("r={combined},s={},i={iterations}", B64.encode(&salt));
        let exchange = Exchange {
            user,
            header: header.to_owned(),
            client_first_bare: bare.to_owned(),
            server_first: server_first.clone(),
            nonce: combined,
            salted,
        };
        Ok((exchange, server_first))
    }
}

/// An exchange that already failed.
#[derive(Debug)]
struct Failed;

impl AuthExchange for Failed {
    fn step(&mut self, _: &[u8]) -> AuthStep {
        AuthStep::Fail(ReasonCode::NOT_AUTHORIZED)
    }
}

/// State between the server-first and the client-final messages.
struct Exchange {
    user: String,
    header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    /// `None` for an unknown user.
    salted: Option<Vec<u8>>,
}

/// No salted password in logs.
impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("user", &self.user)
            .finish()
    }
}

impl AuthExchange for Exchange {
    fn step(&mut self, data: &[u8]) -> AuthStep {
        match self.last(data) {
            Ok(server_final) => AuthStep::Success {
                user: self.user.clone(),
                data: Some(Bytes::from(server_final.into_bytes())),
            },
            Err(code) => AuthStep::Fail(code),
        }
    }
}

impl Exchange {
    /// Checks the client-final message's proof; returns the server-final message.
    fn last(&mut self, data: &[u8]) -> Result<String, ReasonCode> {
        let refused = ReasonCode::NOT_AUTHORIZED;
        let text = std::str::from_utf8(data).map_err(|_| refused)?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(refused)?;
        let attrs: Vec<&str> = without_proof.split(',').collect();
        if attr(&attrs, 'c') != Some(B64.encode(&self.header).as_str())
            || attr(&attrs, 'r') != Some(self.nonce.as_str())
        {
            return Err(refused);
        }
        let proof = B64.decode(proof).map_err(|_| refused)?;
        let salted = self
            .salted
            .as_deref()
            .ok_or(ReasonCode::BAD_USER_NAME_OR_PASSWORD)?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let stored_key = sha256(&hmac(salted, b"Client Key"));
        let signature = hmac(&stored_key, auth_message.as_bytes());
        if proof.len() != 32 {
            return Err(ReasonCode::BAD_USER_NAME_OR_PASSWORD);
        }
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let same = sha256(&client_key)
            .iter()
            .zip(stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if !same {
            return Err(ReasonCode::BAD_USER_NAME_OR_PASSWORD);
        }
        let server_key = hmac(salted, b"Server Key");
        Ok(format!(
            "v={}",
            B64.encode(hmac(&server_key, auth_message.as_bytes()))
        ))
    }
}

/// The client side of the exchange, for tests and tools: builds the messages a client sends.
pub mod client {
    use super::*;

    /// A client's SCRAM-SHA-256 state.
    pub struct ScramClient {
        user: String,
        password: Vec<u8>,
        nonce: String,
        client_first_bare: String,
        server_signature: Option<[u8; 32]>,
    }

    impl ScramClient {
        pub fn new(user: &str, password: &[u8], nonce: &str) -> Self {
            let escaped = user.replace('=', "=3D").replace(',', "=2C");
            Self {
                user: user.to_owned(),
                password: password.to_vec(),
                nonce: nonce.to_owned(),
                client_first_bare: format!("n={escaped},r={nonce}"),
                server_signature: None,
            }
        }

        pub fn user(&self) -> &str {
            &self.user
        }

        /// The client-first message.
        pub fn first(&self) -> Vec<u8> {
            format!("n,,{}", self.client_first_bare).into_bytes()
        }

        /// The client-final message for the server-first one; `None` if it is not valid.
        pub fn last(&mut self, server_first: &[u8]) -> Option<Vec<u8>> {
            let text = std::str::from_utf8(server_first).ok()?;
            let attrs: Vec<&str> = text.split(',').collect();
            let nonce = attr(&attrs, 'r').filter(|r| r.starts_with(&self.nonce))?;
            let salt = B64.decode(attr(&attrs, 's')?).ok()?;
            let iterations: u32 = attr(&attrs, 'i')?.parse().ok()?;
            let salted = pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(&self.password, &salt, iterations);
            let without_proof = format!("c=biws,r={nonce}");
            let auth_message = format!("{},{text},{without_proof}", self.client_first_bare);
            let client_key = hmac(&salted, b"Client Key");
            let signature = hmac(&sha256(&client_key), auth_message.as_bytes());
            let proof: Vec<u8> = client_key
                .iter()
                .zip(signature)
                .map(|(k, s)| k ^ s)
                .collect();
            self.server_signature =
                Some(hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes()));
            Some(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
        }

        /// Whether the server-final message proves the server knows the password.
        pub fn verify(&self, server_final: &[u8]) -> bool {
            let expected = self
                .server_signature
                .map(|s| format!("v={}", B64.encode(s)));
            expected.is_some_and(|e| e.as_bytes() == server_final)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::client::ScramClient;
    use super::*;
    use crate::auth::hash_line;

    fn method() -> ScramSha256 {
        let line = hash_line("al,ice", b"pencil", b"salty-salt", 64).unwrap();
        ScramSha256::new(Users::parse(&line).unwrap())
    }

    fn run(password: &[u8], user: &str) -> (AuthStep, ScramClient) {
        let mut client = ScramClient::new(user, password, "rOprNGfwEbeRWgbNEkqO");
        let (mut exchange, step) = method().start(&client.first(), [7; 18]);
        let AuthStep::Continue(server_first) = step else {
            panic!("{step:?}")
        };
        let last = client.last(&server_first).unwrap();
        (exchange.step(&last), client)
    }

    #[test]
    fn right_password_is_accepted_and_server_proves_itself() {
        let (step, client) = run(b"pencil", "al,ice");
        let AuthStep::Success { user, data } = step else {
            panic!("{step:?}")
        };
        assert_eq!(user, "al,ice");
        assert!(client.verify(&data.unwrap()));
    }

    #[test]
    fn wrong_password_and_unknown_user_fail_at_the_end() {
        assert_eq!(
            run(b"pen", "al,ice").0,
            AuthStep::Fail(ReasonCode::BAD_USER_NAME_OR_PASSWORD)
        );
        assert_eq!(
            run(b"pencil", "bob").0,
            AuthStep::Fail(ReasonCode::BAD_USER_NAME_OR_PASSWORD)
        );
    }

    #[test]
    fn malformed_messages_fail() {
        for bad in [
            &b"p=tls,,n=a,r=x"[..],
            b"n,,r=x",
            b"n,,n=a",
            b"\xff",
            b"n,,n=a=ZZ,r=x",
        ] {
            let (_, step) = method().start(bad, [0; 18]);
            assert!(matches!(step, AuthStep::Fail(_)), "{bad:?}");
        }
        let client = ScramClient::new("al,ice", b"pencil", "abc");
        let (mut ex, _) = method().start(&client.first(), [0; 18]);
        // Wrong nonce in the final message.
        assert!(matches!(ex.step(b"c=biws,r=abc,p=AAAA"), AuthStep::Fail(_)));
    }

    /// RFC 7677 section 3's example, checked through the same primitives.
    #[test]
    fn rfc7677_example() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(b"pencil", &salt, 4096);
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
                    r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                    s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
                    c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let client_key = hmac(&salted, b"Client Key");
        let sig = hmac(&sha256(&client_key), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(sig).map(|(k, s)| k ^ s).collect();
        assert_eq!(
            B64.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        let server = hmac(&hmac(&salted, b"Server Key"), auth.as_bytes());
        assert_eq!(
            B64.encode(server),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }
}
