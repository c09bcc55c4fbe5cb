//! Durations written with a unit (`500ms`, `2s`, `1.5s`, `1m`), so a bare number is never
//! misread as seconds or milliseconds.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (number, scale_ms) = if let Some(n) = s.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = s.strip_suffix('s') {
            (n, 1_000.0)
        } else if let Some(n) = s.strip_suffix('m') {
            (n, 60_000.0)
        } else if let Some(n) = s.strip_suffix('h') {
            (n, 3_600_000.0)
        } else {
            return None;
        };
        let value: f64 = number.trim().parse().ok()?;
        if !value.is_finite() || value < 0.0 {
            return None;
        }
        let ms = value * scale_ms;
        // A day is far beyond any wait a scenario should make.
        (ms <= 86_400_000.0).then(|| Dur(Duration::from_micros((ms * 1000.0).round() as u64)))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) && ms > 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, such as 500ms, 2s or 1m")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Dur, E> {
                Dur::parse(s).ok_or_else(|| {
                    E::custom(format!(
                        "expected a duration with a unit (ms, s, m, h), such as 500ms or 2s; got {s:?}"
                    ))
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write {v}ms or {v}s, not {v}"
                )))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Dur, E> {
                self.visit_u64(v.unsigned_abs())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write {v}s, not {v}"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$",
            "description": "A duration with a unit: 500ms, 2s, 1.5s, 1m, 1h"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(Dur::parse("500ms"), Some(Dur(Duration::from_millis(500))));
        assert_eq!(Dur::parse("1.5s"), Some(Dur(Duration::from_millis(1500))));
        assert_eq!(Dur::parse("2m"), Some(Dur(Duration::from_secs(120))));
        assert_eq!(Dur::parse("5"), None);
        assert_eq!(Dur::parse("-1s"), None);
        assert_eq!(Dur::parse("5xs"), None);
        assert_eq!(Dur::parse("2d"), None);
    }
}
