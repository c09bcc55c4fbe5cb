//! Optional authentication and authorisation: a users file of salted PBKDF2 password hashes
//! ([`Users`]) and a per-user topic ACL file ([`Acl`]). Both are parsed from text here and
//! handed to the core through [`crate::Config`]; the core never reads a file.

pub mod acl;
pub mod enhanced;
pub mod password;
pub mod scram;

pub use acl::{Access, Acl};
pub use enhanced::{AuthExchange, AuthMethod, AuthMethods, AuthStep};
pub use password::{DEFAULT_ITERATIONS, Users, hash_line, random_salt};
pub use scram::ScramSha256;

use thiserror::Error;

/// A users or ACL file that cannot be used, with the 1-based line at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: String },
    #[error("line {line}: user {user:?} appears twice")]
    DuplicateUser { line: usize, user: String },
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("the operating system gave no random bytes for a salt: {0}")]
    Random(String),
    #[error("a user name may not be empty nor contain ':' or a line break")]
    BadUserName,
}

/// Reads a whole text file, for the `load` helpers of [`Users`] and [`Acl`].
pub(crate) fn read_file(path: &std::path::Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|e| AuthError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Lines that carry content: 1-based number and trimmed text, comments and blanks skipped.
pub(crate) fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}
