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
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
            let name = &after[..end];
            let value = self
                .get(name)
                .ok_or_else(|| format!("`${{{name}}}` is not defined here (in {text:?})"))?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
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
}
