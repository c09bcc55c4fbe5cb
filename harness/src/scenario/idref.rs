//! A number written literally or as a reference to a value saved earlier in the scenario
//! (`${pid}`), such as a packet identifier the broker chose.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRef {
    Lit(u16),
    Var(String),
}

impl<'de> Deserialize<'de> for IdRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IdRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number from 0 to 65535 or a saved value such as \"${pid}\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IdRef, E> {
                u16::try_from(v)
                    .map(IdRef::Lit)
                    .map_err(|_| E::custom(format!("{v} does not fit in 16 bits (0 to 65535)")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IdRef, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is negative; expected 0 to 65535")))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<IdRef, E> {
                let name = s
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|n| {
                        !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    });
                match name {
                    Some(n) => Ok(IdRef::Var(n.to_owned())),
                    None => Err(E::custom(format!(
                        "expected a number or a saved value written as \"${{name}}\"; got {s:?}"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for IdRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IdRef::Lit(v) => s.serialize_u16(*v),
            IdRef::Var(n) => s.collect_str(&format_args!("${{{n}}}")),
        }
    }
}

impl JsonSchema for IdRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IdRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": 65535},
                {"type": "string", "pattern": "^\\$\\{[A-Za-z0-9_]+\\}$"}
            ]
        })
    }
}
