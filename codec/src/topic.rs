//! Topic names and topic filters (section 4.7; shared subscriptions 5.0 section 4.8.2).

use crate::error::{DecodeErrorKind, FilterError};

/// Checks a topic name: at least one character, no wildcard.
pub fn check_topic_name(name: &str) -> Result<(), DecodeErrorKind> {
    if name.is_empty() {
        return Err(DecodeErrorKind::EmptyTopicName);
    }
    if name.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(DecodeErrorKind::WildcardInTopicName(name.to_owned()));
    }
    Ok(())
}

/// Checks the wildcard placement of a plain (not shared) filter.
pub fn check_filter_syntax(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(FilterError::MultiLevelWildcard);
        }
        if level.contains('+') && level != "+" {
            return Err(FilterError::SingleLevelWildcard);
        }
    }
    Ok(())
}

/// A filter split into its share name (for `$share/name/filter`) and the filter proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFilter<'a> {
    pub share_name: Option<&'a str>,
    pub filter: &'a str,
}

/// Parses and checks a filter. `shared` says whether `$share/` has its 5.0 meaning.
pub fn parse_filter(filter: &str, shared: bool) -> Result<ParsedFilter<'_>, FilterError> {
    if shared && let Some(rest) = filter.strip_prefix("$share/") {
        let (name, inner) = rest
            .split_once('/')
            .ok_or(FilterError::SharedSubscription)?;
        if name.is_empty() || name.contains(['+', '#']) {
            return Err(FilterError::SharedSubscription);
        }
        check_filter_syntax(inner).map_err(|e| match e {
            FilterError::Empty => FilterError::SharedSubscription,
            other => other,
        })?;
        return Ok(ParsedFilter {
            share_name: Some(name),
            filter: inner,
        });
    }
    check_filter_syntax(filter)?;
    Ok(ParsedFilter {
        share_name: None,
        filter,
    })
}

/// Whether a topic name matches a (plain) filter. Names starting with `$` are not matched by
/// a filter whose first level is a wildcard (MQTT-4.7.2-1).
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut n = name.split('/');
    loop {
        match (f.next(), n.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(nl)) if fl == nl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_rules() {
        for ok in [
            "#",
            "+",
            "a/#",
            "a/+/b",
            "+/+",
            "/",
            "a//b",
            "sport/tennis/#",
            "+/tennis/#",
        ] {
            assert_eq!(check_filter_syntax(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", FilterError::Empty),
            ("a#", FilterError::MultiLevelWildcard),
            ("a/#/b", FilterError::MultiLevelWildcard),
            ("#/", FilterError::MultiLevelWildcard),
            ("a+", FilterError::SingleLevelWildcard),
            ("a/b+/c", FilterError::SingleLevelWildcard),
        ] {
            assert_eq!(check_filter_syntax(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn shared_filters() {
        assert_eq!(
            parse_filter("$share/g/a/+", true),
            Ok(ParsedFilter {
                share_name: Some("g"),
                filter: "a/+"
            })
        );
        for bad in [
            "$share/",
            "$share/g",
            "$share//a",
            "$share/g+/a",
            "$share/g/",
        ] {
            assert!(parse_filter(bad, true).is_err(), "{bad}");
        }
        // In 3.1.1 the prefix has no meaning.
        assert_eq!(parse_filter("$share/g", false).unwrap().share_name, None);
    }

    #[test]
    fn names() {
        assert!(check_topic_name("a/b").is_ok());
        assert_eq!(check_topic_name(""), Err(DecodeErrorKind::EmptyTopicName));
        assert!(check_topic_name("a/+").is_err());
        assert!(check_topic_name("a/#").is_err());
    }

    #[test]
    fn matching() {
        assert!(matches("sport/tennis/#", "sport/tennis"));
        assert!(matches("sport/tennis/#", "sport/tennis/player1/ranking"));
        assert!(matches("sport/+", "sport/"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(matches("#", "a"));
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("+/monitor", "$SYS/monitor"));
        assert!(matches("$SYS/#", "$SYS/x"));
        assert!(!matches("a/b", "a/B"));
    }
}
