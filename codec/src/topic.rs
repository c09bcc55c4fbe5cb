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
    if wildcards_fill_levels(filter.as_bytes()) {
        return Ok(());
    }
    diagnose_filter(filter)
}

/// One pass over the bytes: every `+` is a whole level and every `#` is a whole level at
/// the end. This is the hot path of every SUBSCRIBE and UNSUBSCRIBE; [`diagnose_filter`]
/// names the error only once a filter is known to be bad.
fn wildcards_fill_levels(filter: &[u8]) -> bool {
    let last = filter.len().wrapping_sub(1);
    filter.iter().enumerate().all(|(i, &b)| {
        if b != b'+' && b != b'#' {
            return true;
        }
        let starts_level = i == 0 || filter.get(i - 1) == Some(&b'/');
        let ends_level = i == last || filter.get(i + 1) == Some(&b'/');
        starts_level && ends_level && (b == b'+' || i == last)
    })
}

/// The error of a filter whose wildcards are misplaced, as the specification words it:
/// level by level, `#` before `+` within a level.
fn diagnose_filter(filter: &str) -> Result<(), FilterError> {
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
    fn fast_check_agrees_with_diagnosis() {
        // Every string of up to six characters over the bytes that matter.
        let alphabet = [b'a', b'/', b'+', b'#'];
        let mut filters = vec![Vec::new()];
        for _ in 0..6 {
            let longer: Vec<Vec<u8>> = filters
                .iter()
                .filter(|f| f.len() == filters.last().map_or(0, Vec::len))
                .flat_map(|f| {
                    alphabet.iter().map(move |&b| {
                        let mut g = f.clone();
                        g.push(b);
                        g
                    })
                })
                .collect();
            filters.extend(longer);
        }
        for f in filters.iter().filter(|f| !f.is_empty()) {
            let s = std::str::from_utf8(f).unwrap();
            assert_eq!(wildcards_fill_levels(f), diagnose_filter(s).is_ok(), "{s}");
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
