use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::plugin::LimitsConfig;

/// Interfaces a pipeline may `allow` a plugin to link although the host
/// grants nothing through them.
pub const ALLOWABLE_INTERFACES: [&str; 2] = ["wasi:filesystem", "wasi:sockets"];

/// One plugin in a chain (a normalizer, or a field transformer): either just
/// a plugin name (`"trim"`, `"email@sha256:…"`) or a table
/// `{ plugin = "truncate", options = { max_length = 40 } }`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PluginStep {
    /// The plugin: a built-in or installed name, or a `.wasm` path relative
    /// to the pipeline file. `name@sha256:<hex>` pins the digest.
    pub plugin: String,
    /// Refuse to run unless the plugin's sha256 digest is exactly this
    /// (`sha256:` followed by 64 hex digits).
    pub digest: Option<String>,
    /// Options passed to its `configure`.
    pub options: toml::Table,
    /// Resource limits for this step.
    pub limits: LimitsConfig,
    /// Interfaces the plugin may link although nothing is granted through
    /// them: `wasi:filesystem` (no directory is mounted) and `wasi:sockets`
    /// (no address is reachable). Needed by some language runtimes (Python).
    pub allow: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepTable {
    plugin: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    options: toml::Table,
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    allow: Vec<String>,
}

impl PluginStep {
    /// The plugin reference without a `@sha256:` pin, and the pin from
    /// either form.
    pub fn reference(&self) -> (&str, Option<&str>) {
        split_pin(&self.plugin, self.digest.as_deref())
    }
}

/// Split `name@sha256:…` into the name and the pinned digest; an explicit
/// `digest` wins.
pub fn split_pin<'a>(plugin: &'a str, digest: Option<&'a str>) -> (&'a str, Option<&'a str>) {
    match plugin.split_once("@sha256:") {
        Some((name, _)) => (
            name,
            digest.or_else(|| plugin.find("sha256:").map(|i| &plugin[i..])),
        ),
        None => (plugin, digest),
    }
}

impl<'de> Deserialize<'de> for PluginStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;

        impl<'de> Visitor<'de> for StepVisitor {
            type Value = PluginStep;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a plugin name or a table with `plugin`, `digest`, `options`, `limits` and `allow`")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<PluginStep, E> {
                Ok(PluginStep {
                    plugin: name.to_owned(),
                    ..PluginStep::default()
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PluginStep, A::Error> {
                let t = StepTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PluginStep {
                    plugin: t.plugin,
                    digest: t.digest,
                    options: t.options,
                    limits: t.limits,
                    allow: t.allow,
                })
            }
        }

        deserializer.deserialize_any(StepVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_in_either_form() {
        let hex = "a".repeat(64);
        let bare = format!("email@sha256:{hex}");
        assert_eq!(
            split_pin(&bare, None),
            ("email", Some(format!("sha256:{hex}").as_str()))
        );
        assert_eq!(
            split_pin("email", Some("sha256:b")),
            ("email", Some("sha256:b"))
        );
        assert_eq!(split_pin("email", None), ("email", None));
    }
}
