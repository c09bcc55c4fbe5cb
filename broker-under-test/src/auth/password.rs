//! The users file: one user per line, a salted slow hash of the password.
//!
//! ```text
//! # comment lines and blank lines are ignored
//! alice:$pbkdf2-sha256$100000$<salt hex>$<hash hex>
//! ```
//!
//! The hash is PBKDF2-HMAC-SHA256 of the password's bytes with the given salt and iteration
//! count, 32 bytes, written in lower-case hex like the salt. [`hash_line`] writes such a line
//! (a CLI can offer it as `mqttspec-broker passwd`); [`random_salt`] gives a fresh salt.

use super::{AuthError, content_lines, read_file};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Iterations [`hash_line`] callers should use for new lines unless they have a reason not
/// to (tests use fewer to stay fast).
pub const DEFAULT_ITERATIONS: u32 = 100_000;

const SCHEME: &str = "pbkdf2-sha256";
const HASH_LEN: usize = 32;

/// One user's stored hash.
#[derive(Clone, PartialEq, Eq)]
struct Entry {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// The parsed users file.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Users {
    users: BTreeMap<String, Entry>,
}

/// Names only: a configuration printed in a log must not carry the hashes.
impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.users.keys()).finish()
    }
}

impl Users {
    /// Parses the text of a users file.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let mut users = BTreeMap::new();
        for (line, content) in content_lines(text) {
            let syntax = |reason: &str| AuthError::Syntax {
                line,
                reason: reason.to_owned(),
            };
            // The user name ends at the last ':' before the hash, which starts with '$'.
            let (user, hash) = content
                .split_once(":$")
                .ok_or_else(|| syntax("expected user:$pbkdf2-sha256$..."))?;
            if user.is_empty() {
                return Err(syntax("empty user name"));
            }
            let entry = parse_hash(hash).ok_or_else(|| {
                syntax("expected $pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>")
            })?;
            if users.insert(user.to_owned(), entry).is_some() {
                return Err(AuthError::DuplicateUser {
                    line,
                    user: user.to_owned(),
                });
            }
        }
        Ok(Self { users })
    }

    /// Reads and parses a users file.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        Self::parse(&read_file(path)?)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// What SCRAM-SHA-256 needs of `user`: iterations, salt and the salted password
    /// (PBKDF2-HMAC-SHA256 of the password, which is what the file stores: RFC 5802's
    /// `SaltedPassword`).
    pub fn scram_credentials(&self, user: &str) -> Option<(u32, &[u8], &[u8])> {
        self.users
            .get(user)
            .map(|e| (e.iterations, e.salt.as_slice(), e.hash.as_slice()))
    }

    /// Whether `user` exists and `password` is theirs. Costs the user's iteration count of
    /// HMAC rounds, on purpose; an unknown user costs nothing.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        let Some(entry) = self.users.get(user) else {
            return false;
        };
        let computed = derive(password, &entry.salt, entry.iterations);
        constant_time_eq(&computed, &entry.hash)
    }
}

/// Reads `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` (the part after `:$`).
fn parse_hash(text: &str) -> Option<Entry> {
    let mut parts = text.split('$');
    if parts.next()? != SCHEME {
        return None;
    }
    let iterations: u32 = parts.next()?.parse().ok()?;
    let salt = from_hex(parts.next()?)?;
    let hash = from_hex(parts.next()?)?;
    if parts.next().is_some() || iterations == 0 || salt.is_empty() || hash.len() != HASH_LEN {
        return None;
    }
    Some(Entry {
        iterations,
        salt,
        hash,
    })
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> [u8; HASH_LEN] {
    pbkdf2::pbkdf2_hmac_array::<Sha256, HASH_LEN>(password, salt, iterations)
}

/// Compares without stopping at the first difference, so the time taken does not say how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A users-file line for `user` and `password`: `user:$pbkdf2-sha256$<iterations>$<salt>$<hash>`.
/// `salt` should be fresh random bytes, e.g. from [`random_salt`].
pub fn hash_line(
    user: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<String, AuthError> {
    if user.is_empty() || user.contains([':', '\n', '\r']) {
        return Err(AuthError::BadUserName);
    }
    let iterations = iterations.max(1);
    let hash = derive(password, salt, iterations);
    Ok(format!(
        "{user}:${SCHEME}${iterations}${}${}",
        to_hex(salt),
        to_hex(&hash)
    ))
}

/// 16 random bytes from the operating system, for [`hash_line`].
pub fn random_salt() -> Result<[u8; 16], AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(salt)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_sha256_known_answer() {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256("passwd", "salt", c = 1, dkLen = 64);
        // its first 32 bytes.
        assert_eq!(
            to_hex(&derive(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn line_round_trip_and_verify() {
        let line = hash_line("alice", b"s3cret", b"0123456789abcdef", 1000).unwrap();
        assert!(line.starts_with("alice:$pbkdf2-sha256$1000$30313233"));
        let users = Users::parse(&format!("# users\n\n{line}\n")).unwrap();
        assert_eq!(users.len(), 1);
        assert!(users.verify("alice", b"s3cret"));
        assert!(!users.verify("alice", b"s3cret "));
        assert!(!users.verify("bob", b"s3cret"));
        assert_eq!(format!("{users:?}"), r#"{"alice"}"#);
    }

    #[test]
    fn salt_changes_the_hash() {
        let a = hash_line("u", b"p", b"salt-a", 10).unwrap();
        let b = hash_line("u", b"p", b"salt-b", 10).unwrap();
        assert_ne!(a.rsplit('$').next(), b.rsplit('$').next());
        assert_ne!(random_salt().unwrap(), [0u8; 16]);
    }

    #[test]
    fn bad_files_name_the_line() {
        for bad in [
            "alice",
            "alice:$md5$1$00$00",
            "alice:$pbkdf2-sha256$x$00$00",
            "alice:$pbkdf2-sha256$0$00$",
            "alice:$pbkdf2-sha256$10$zz$00",
            ":$pbkdf2-sha256$10$00$00",
        ] {
            let text = format!("# first\n{bad}\n");
            assert!(
                matches!(Users::parse(&text), Err(AuthError::Syntax { line: 2, .. })),
                "{bad}"
            );
        }
        let line = hash_line("a", b"p", b"s", 1).unwrap();
        assert!(matches!(
            Users::parse(&format!("{line}\n{line}")),
            Err(AuthError::DuplicateUser { line: 2, .. })
        ));
        assert_eq!(hash_line("a:b", b"p", b"s", 1), Err(AuthError::BadUserName));
    }
}
