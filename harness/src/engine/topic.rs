//! Topic filter matching (3.1.1 section 4.7, 5.0 section 4.7), written from the
//! specification for the harness's own use: patterns with `topic_matches` and telling a
//! scenario's own traffic from what the broker should never have sent it.

/// Whether `topic` matches `filter`. With `dollar_rule`, a filter starting with a wildcard
/// never matches a topic starting with `$` (4.7.2); without it, it does (the question
/// "could any subscription of this filter explain this topic, on a broker that got the `$`
/// rule wrong?").
pub fn filter_matches(filter: &str, topic: &str, dollar_rule: bool) -> bool {
    if dollar_rule && topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            // `#` matches its parent level too: `a/#` matches `a` (4.7.1.2).
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::filter_matches as m;

    #[test]
    fn levels_and_wildcards() {
        assert!(m("a/b", "a/b", true));
        assert!(!m("a/b", "a/c", true));
        assert!(!m("a/b", "a/b/c", true));
        assert!(m("a/+", "a/b", true));
        assert!(m("a/+", "a/", true));
        assert!(!m("a/+", "a/b/c", true));
        assert!(!m("a/+", "a", true));
        assert!(m("a/#", "a", true));
        assert!(m("a/#", "a/b/c", true));
        assert!(m("#", "a/b", true));
        assert!(m("+/+", "/x", true));
        assert!(m("a//b", "a//b", true));
        assert!(!m("a/b", "A/b", true));
    }

    #[test]
    fn dollar_topics() {
        assert!(!m("#", "$SYS/x", true));
        assert!(!m("+/x", "$SYS/x", true));
        assert!(m("$SYS/#", "$SYS/x", true));
        assert!(m("#", "$SYS/x", false));
    }
}
