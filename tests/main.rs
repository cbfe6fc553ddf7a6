//! End-to-end tests of Sluice, built into one binary.
//!
//! They drive the real `sluice` binary and the library API against real
//! WebAssembly plugins: the built-ins, the hostile test plugin
//! (`tests/test-plugins`) and the Python plugin (`plugins/titlecase-py`).

mod support;

mod cases;
mod cli_output;
mod contract;
mod crash;
mod daemon;
mod dashboard;
mod dlq;
mod error_model;
mod example_contacts;
mod hostile;
mod http_connectors;
mod layering;
mod oversized_records;
mod pipeline_errors;
mod plugin_authoring;
mod plugin_store;
mod plugin_tools;
mod python_plugin;
mod test_sync;
