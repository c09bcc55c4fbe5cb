//! Variables of a scenario run: the unique topic and client-id prefixes that keep scenarios
//! apart on a shared broker, the loop counter, and values saved from received packets.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    pub fn new(topic_prefix: &str, client_prefix: &str) -> Self {
        let mut values = BTreeMap::new();
        values.insert("topic".to_owned(), topic_prefix.to_owned());
        values.insert("client".to_owned(), client_prefix.to_owned());
        Self { values }
    }

    pub fn set(&mut self, name: &str, value: impl ToString) {
        self.values.insert(name.to_owned(), value.to_string());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces every `${name}`. An unknown name is an error, never silently kept.
    ///
    /// Two generators write long strings without long files: `${fill:N}` is N filler
    /// characters, and `${pad_to:N}` (once per string) is as many as make the whole
    /// expanded string N bytes long, for checks at an exact length limit.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut pad_at: Option<(usize, usize)> = None;
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
            let name = &after[..end];
            if let Some(n) = name.strip_prefix("fill:") {
                out.push_str(&filler(count(n, text)?));
            } else if let Some(n) = name.strip_prefix("pad_to:") {
                if pad_at.is_some() {
                    return Err(format!("`${{pad_to:…}}` appears twice in {text:?}"));
                }
                pad_at = Some((out.len(), count(n, text)?));
            } else {
                let value = self
                    .get(name)
                    .ok_or_else(|| format!("`${{{name}}}` is not defined here (in {text:?})"))?;
                out.push_str(value);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        if let Some((at, total)) = pad_at {
            let missing = total.checked_sub(out.len()).ok_or_else(|| {
                format!(
                    "{text:?} is already {} bytes, longer than its pad_to of {total}",
                    out.len()
                )
            })?;
            out.insert_str(at, &filler(missing));
        }
        Ok(out)
    }
}

/// Large enough for any MQTT string; larger is a mistake in the scenario.
const MAX_FILL: usize = 1 << 20;

fn count(n: &str, text: &str) -> Result<usize, String> {
    n.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= MAX_FILL)
        .ok_or_else(|| format!("{n:?} in {text:?} is not a length from 0 to {MAX_FILL}"))
}

fn filler(n: usize) -> String {
    const PATTERN: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|i| char::from(PATTERN[i % PATTERN.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_refuses_unknown() {
        let mut v = Vars::new("mqttspec/r1/s2", "ms1x2");
        v.set("i", 3);
        assert_eq!(v.expand("${topic}/a/${i}").unwrap(), "mqttspec/r1/s2/a/3");
        assert_eq!(v.expand("plain").unwrap(), "plain");
        assert!(v.expand("${nope}").is_err());
        assert!(v.expand("${topic").is_err());
    }

    #[test]
    fn generators() {
        let v = Vars::new("p", "c");
        assert_eq!(v.expand("${fill:3}/x").unwrap(), "abc/x");
        let padded = v.expand("${topic}/${pad_to:10}/z").unwrap();
        assert_eq!(padded, "p/abcdef/z");
        assert_eq!(padded.len(), 10);
        assert!(v.expand("${pad_to:2}xyz").is_err());
        assert!(v.expand("${fill:x}").is_err());
        assert!(v.expand("${pad_to:5}${pad_to:5}").is_err());
    }
}
