use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::plugin::LimitsConfig;

/// One field transformer in a mapping's chain: either just a plugin name
/// (`"trim"`) or a table `{ plugin = "truncate", options = { max_length = 40 } }`.
#[derive(Debug, Clone, Serialize)]
pub struct TransformStep {
    /// The transformer plugin (name or `.wasm` path).
    pub plugin: String,
    /// Options passed to its `configure`.
    pub options: toml::Table,
    /// Resource limits for this step.
    pub limits: LimitsConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepTable {
    plugin: String,
    #[serde(default)]
    options: toml::Table,
    #[serde(default)]
    limits: LimitsConfig,
}

impl<'de> Deserialize<'de> for TransformStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;

        impl<'de> Visitor<'de> for StepVisitor {
            type Value = TransformStep;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a plugin name or a table with `plugin`, `options` and `limits`")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<TransformStep, E> {
                Ok(TransformStep {
                    plugin: name.to_owned(),
                    options: toml::Table::new(),
                    limits: LimitsConfig::default(),
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TransformStep, A::Error> {
                let t = StepTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(TransformStep {
                    plugin: t.plugin,
                    options: t.options,
                    limits: t.limits,
                })
            }
        }

        deserializer.deserialize_any(StepVisitor)
    }
}
