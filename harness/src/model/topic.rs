//! Topic matching by the rules of 3.1.1 section 4.7 (not shared with the reference broker:
//! a mistake made twice would hide itself), with the model's own tests of each rule.

/// Whether `filter` matches `topic` (3.1.1/MQTT-4.7.1-2, 3.1.1/MQTT-4.7.1-3,
/// 3.1.1/MQTT-4.7.2-1, 3.1.1/MQTT-4.7.3-4).
///
/// - Levels are split on every `/`; an empty level is a level like any other (4.7.1.1: "a/"
///   and "a//b" have empty levels, and "+" matches an empty level).
/// - `+` matches exactly one level (4.7.1.3).
/// - `#` matches its parent level and any number of child levels (4.7.1.2: "sport/#" also
///   matches "sport").
/// - A filter starting with a wildcard does not match a topic starting with `$` (4.7.2).
/// - Comparison is by exact characters: no case folding or normalisation (4.7.3).
pub fn matches(filter: &str, topic: &str) -> bool {
    // The harness's own matcher (engine/topic.rs), written from the same text and shared on
    // purpose: only the reference broker's code must stay out of the model.
    crate::engine::topic::filter_matches(filter, topic, true)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn plus_matches_exactly_one_level_even_an_empty_one() {
        assert!(matches("a/+", "a/b"));
        assert!(matches("a/+", "a/"));
        assert!(!matches("a/+", "a"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(matches("+/b", "a/b"));
        assert!(matches("a/+/b", "a//b"));
        assert!(matches("+/+", "a/"));
        assert!(matches("+", "a"));
        assert!(!matches("+", "a/b"));
    }

    #[test]
    fn hash_matches_the_parent_and_every_child() {
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b"));
        assert!(matches("a/#", "a//b"));
        assert!(matches("a/#", "a/"));
        assert!(!matches("a/#", "ab"));
        assert!(matches("#", "a/b"));
    }

    #[test]
    fn empty_levels_are_levels() {
        assert!(matches("a//b", "a//b"));
        assert!(!matches("a/b", "a//b"));
        assert!(!matches("a", "a/"));
        assert!(!matches("a/b", "a/"));
    }

    #[test]
    fn leading_wildcards_skip_dollar_topics() {
        assert!(!matches("#", "$x/a"));
        assert!(!matches("+/a", "$x/a"));
        assert!(matches("$x/+", "$x/a"));
        assert!(matches("$x/#", "$x/a"));
    }

    #[test]
    fn case_and_spaces_count() {
        assert!(!matches("A", "a"));
        assert!(!matches("a ", "a"));
    }
}
