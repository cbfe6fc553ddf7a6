//! A field transformer that probes the filesystem, for the host's
//! sandboxing tests. Using `std::fs` makes the component import
//! `wasi:filesystem`.
//!
//! For every value it tries, in order:
//!
//! - `read-etc-passwd`: read `/etc/passwd`;
//! - `list-root`: list `/`;
//! - `list-cwd`: list `.`;
//! - `list-data`: list `/data`;
//! - `write-data`: write `x` to `/data/probe.txt`;
//!
//! and replaces the value with text: a compact JSON object mapping each
//! probe's name to `"ok"` or `"denied: <error>"`. It takes no options.

use std::fs;
use std::io;

use serde_json::{Map, Value as Json};
use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The filesystem probe.
#[derive(Debug)]
pub struct FsProbe;

impl FieldTransformer for FsProbe {
    type Options = sluice_sdk::NoOptions;

    fn configure(options: Options) -> Result<Self, PluginError> {
        options.none()?;
        Ok(FsProbe)
    }

    fn transform(&self, _value: Value) -> Result<Value, PluginError> {
        Ok(Value::Text(report(&PROBES)))
    }
}

/// One probe: its name in the report, and what it tries.
type Probe = (&'static str, fn() -> io::Result<()>);

/// Every probe, in the order they run.
const PROBES: [Probe; 5] = [
    ("read-etc-passwd", || {
        fs::read_to_string("/etc/passwd").map(drop)
    }),
    ("list-root", || list("/")),
    ("list-cwd", || list(".")),
    ("list-data", || list("/data")),
    ("write-data", || fs::write("/data/probe.txt", "x")),
];

/// Runs `probes`; returns the JSON report.
fn report(probes: &[Probe]) -> String {
    let report: Map<String, Json> = probes
        .iter()
        .map(|(name, probe)| ((*name).to_owned(), Json::String(outcome(probe()))))
        .collect();
    Json::Object(report).to_string()
}

/// Opens a directory and reads all its entries.
fn list(path: &str) -> io::Result<()> {
    for entry in fs::read_dir(path)? {
        entry?;
    }
    Ok(())
}

/// `ok`, or `denied: <error>`.
fn outcome(result: io::Result<()>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(error) => format!("denied: {error}"),
    }
}

sluice_sdk::export_field_transformer!(FsProbe);

#[cfg(test)]
mod tests {
    use super::*;

    // The real probes are not run here: natively they would touch the
    // machine's own filesystem.
    #[test]
    fn reports_each_outcome() {
        let probes: [Probe; 2] = [
            ("fine", || Ok(())),
            ("refused", || {
                Err(io::Error::new(io::ErrorKind::PermissionDenied, "nope"))
            }),
        ];
        assert_eq!(report(&probes), r#"{"fine":"ok","refused":"denied: nope"}"#);
    }

    #[test]
    fn probes_are_named() {
        let names: Vec<&str> = PROBES.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "read-etc-passwd",
                "list-root",
                "list-cwd",
                "list-data",
                "write-data"
            ]
        );
    }

    #[test]
    fn takes_no_options() {
        assert!(FsProbe::configure(Options::from_json(r#"{"x": 1}"#).unwrap()).is_err());
    }
}
