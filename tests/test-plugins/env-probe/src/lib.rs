//! A field transformer that reports what it can see of its process
//! environment, for the host's sandboxing tests.
//!
//! Every value is replaced with text: a compact JSON object mapping every
//! environment variable `std::env::vars()` yields to its value, plus the
//! key `__args` holding the number of arguments `std::env::args()` yields.
//! Inside a sandbox that grants nothing the result is `{"__args":0}`. It
//! takes no options.

use serde_json::{Map, Value as Json};
use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The environment probe.
#[derive(Debug)]
pub struct EnvProbe;

impl FieldTransformer for EnvProbe {
    type Options = sluice_sdk::NoOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        options.none()?;
        Ok(EnvProbe)
    }

    fn transform(&self, _value: Value) -> Result<Value, PluginError> {
        Ok(Value::Text(report()))
    }
}

/// The JSON report of the environment and the argument count.
fn report() -> String {
    let mut seen: Map<String, Json> = std::env::vars()
        .map(|(key, value)| (key, Json::String(value)))
        .collect();
    seen.insert("__args".to_owned(), Json::from(std::env::args().count()));
    Json::Object(seen).to_string()
}

sluice_sdk::export_field_transformer!(EnvProbe);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_variables_and_argument_count() {
        let report: Json = serde_json::from_str(&report()).unwrap();
        let report = report.as_object().unwrap();
        assert_eq!(report["__args"], Json::from(std::env::args().count()));
        for (key, value) in std::env::vars() {
            assert_eq!(report[&key], Json::String(value), "{key}");
        }
    }
}
