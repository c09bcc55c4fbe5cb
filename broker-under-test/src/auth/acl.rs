//! The ACL file: which topics each user may read (subscribe to) and write (publish to).
//!
//! ```text
//! # Rules before the first `user` line apply to clients without a user name.
//! topic read public/#
//!
//! user alice
//! topic readwrite alice/#
//! topic write cmd/+/set
//! # no access word: readwrite
//! topic sensors/#
//!
//! user bob
//! topic read #
//! ```
//!
//! Comments are whole lines starting with `#`. A rule's pattern is a topic filter (`+` and `#` allowed). A PUBLISH is allowed when one
//! of the user's `write`/`readwrite` patterns matches its topic; a SUBSCRIBE filter when one
//! of the `read`/`readwrite` patterns covers every topic the filter can match (so `a/#`
//! allows `a/+/b`, but `a/+` does not allow `a/#`). A user without rules may do nothing.
//! As in topic matching, a pattern starting with a wildcard does not reach `$` topics.

use super::{AuthError, content_lines, read_file};
use mqttspec_codec::topic::{check_filter_syntax, matches};
use std::collections::BTreeMap;
use std::path::Path;

/// What a rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    fn reads(self) -> bool {
        matches!(self, Self::Read | Self::ReadWrite)
    }

    fn writes(self) -> bool {
        matches!(self, Self::Write | Self::ReadWrite)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    access: Access,
    pattern: String,
}

/// The parsed ACL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    anonymous: Vec<Rule>,
    users: BTreeMap<String, Vec<Rule>>,
}

impl Acl {
    /// Parses the text of an ACL file.
    pub fn parse(text: &str) -> Result<Self, AuthError> {
        let mut acl = Self::default();
        let mut current: Option<String> = None;
        for (line, content) in content_lines(text) {
            let syntax = |reason: String| AuthError::Syntax { line, reason };
            let mut words = content.split_whitespace();
            match words.next() {
                Some("user") => {
                    let name = words
                        .next()
                        .ok_or_else(|| syntax("`user` needs a name".into()))?;
                    if words.next().is_some() {
                        return Err(syntax("`user` takes one name".into()));
                    }
                    if acl.users.contains_key(name) {
                        return Err(AuthError::DuplicateUser {
                            line,
                            user: name.to_owned(),
                        });
                    }
                    acl.users.insert(name.to_owned(), Vec::new());
                    current = Some(name.to_owned());
                }
                Some("topic") => {
                    let rest: Vec<&str> = words.collect();
                    let (access, pattern) = match rest.as_slice() {
                        [pattern] => (Access::ReadWrite, *pattern),
                        ["read", pattern] => (Access::Read, *pattern),
                        ["write", pattern] => (Access::Write, *pattern),
                        ["readwrite", pattern] => (Access::ReadWrite, *pattern),
                        _ => {
                            return Err(syntax(
                                "expected `topic [read|write|readwrite] <filter>`".into(),
                            ));
                        }
                    };
                    check_filter_syntax(pattern)
                        .map_err(|e| syntax(format!("pattern {pattern:?}: {e}")))?;
                    let rule = Rule {
                        access,
                        pattern: pattern.to_owned(),
                    };
                    match &current {
                        Some(user) => acl.users.entry(user.clone()).or_default().push(rule),
                        None => acl.anonymous.push(rule),
                    }
                }
                _ => return Err(syntax("expected `user <name>` or `topic ...`".into())),
            }
        }
        Ok(acl)
    }

    /// Reads and parses an ACL file.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        Self::parse(&read_file(path)?)
    }

    fn rules(&self, user: Option<&str>) -> &[Rule] {
        match user {
            None => &self.anonymous,
            Some(u) => self.users.get(u).map_or(&[], Vec::as_slice),
        }
    }

    /// Whether `user` (`None`: anonymous) may publish to `topic`.
    pub fn can_publish(&self, user: Option<&str>, topic: &str) -> bool {
        self.rules(user)
            .iter()
            .any(|r| r.access.writes() && matches(&r.pattern, topic))
    }

    /// Whether `user` (`None`: anonymous) may subscribe to `filter`.
    pub fn can_subscribe(&self, user: Option<&str>, filter: &str) -> bool {
        self.rules(user)
            .iter()
            .any(|r| r.access.reads() && covers(&r.pattern, filter))
    }
}

/// Whether every topic `filter` can match is matched by `pattern`.
fn covers(pattern: &str, filter: &str) -> bool {
    if filter.starts_with('$') && pattern.starts_with(['+', '#']) {
        return false;
    }
    let mut p = pattern.split('/');
    let mut f = filter.split('/');
    loop {
        match (p.next(), f.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(level)) if level != "#" => {}
            (Some(pl), Some(fl)) if pl == fl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# anonymous
topic read public/#

user alice
topic readwrite alice/#
topic write cmd/+/set
user bob
topic read #
topic $SYS/#
";

    #[test]
    fn publish_rules() {
        let acl = Acl::parse(FILE).unwrap();
        assert!(acl.can_publish(Some("alice"), "alice/x/y"));
        assert!(acl.can_publish(Some("alice"), "cmd/lamp/set"));
        assert!(!acl.can_publish(Some("alice"), "cmd/lamp/get"));
        assert!(!acl.can_publish(Some("bob"), "alice/x"));
        assert!(!acl.can_publish(None, "public/x"));
        assert!(!acl.can_publish(Some("carol"), "alice/x"));
    }

    #[test]
    fn subscribe_rules() {
        let acl = Acl::parse(FILE).unwrap();
        assert!(acl.can_subscribe(None, "public/+/x"));
        assert!(acl.can_subscribe(None, "public"));
        assert!(!acl.can_subscribe(None, "#"));
        assert!(acl.can_subscribe(Some("alice"), "alice/#"));
        assert!(!acl.can_subscribe(Some("alice"), "cmd/+/set"));
        assert!(acl.can_subscribe(Some("bob"), "a/+/c"));
        // A leading wildcard does not reach `$` topics; an explicit rule does.
        assert!(acl.can_subscribe(Some("bob"), "$SYS/broker/#"));
        assert!(!acl.can_subscribe(Some("alice"), "$SYS/x"));
    }

    #[test]
    fn coverage() {
        assert!(covers("a/#", "a/+/b"));
        assert!(covers("a/#", "a"));
        assert!(covers("a/+", "a/+"));
        assert!(!covers("a/+", "a/#"));
        assert!(!covers("a/+", "a/b/c"));
        assert!(!covers("#", "$x/y"));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for bad in [
            "topic",
            "topic read a b",
            "topic read a#",
            "user",
            "frobnicate x",
        ] {
            assert!(
                matches!(
                    Acl::parse(&format!("\n{bad}")),
                    Err(AuthError::Syntax { line: 2, .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Acl::parse("user a\nuser a"),
            Err(AuthError::DuplicateUser { line: 2, .. })
        ));
    }
}
