//! A transformer that sleeps in a host call (`wasi:clocks` timer, then
//! `wasi:io/poll` `pollable.block`, linked without any `allow`) is not
//! running WebAssembly, so the epoch deadline alone cannot stop it: the
//! wait itself must end at the call's deadline.

use std::time::{Duration, Instant};

use sluice::bindings::Value;
use sluice::plugin::{
    Artifact, FailureKind, Grants, LimitsConfig, Origin, Runtime, TransformerPlugin,
};

use super::wat_guest::{ABI, transformer};

/// Sleeps `seconds` on every call.
fn sleeper(seconds: u64) -> Vec<u8> {
    transformer(&format!(
        r#"
  (import "host" "subscribe" (func $subscribe (param i64) (result i32)))
  (import "host" "block" (func $block (param i32)))
  (memory (export "memory") 1)
  (func $misbehave
    (call $block (call $subscribe (i64.const {nanos}))))
  {ABI}
"#,
        nanos = seconds * 1_000_000_000
    ))
}

/// A transformer that sleeps `seconds` per call, under `timeout_ms = 1000`.
fn sleeper_under_one_second(name: &str, seconds: u64) -> TransformerPlugin {
    let runtime = Runtime::with_instance_pool(None, 0).unwrap();
    let artifact = Artifact::new(name, sleeper(seconds).into(), Origin::Builtin);
    let limits = LimitsConfig {
        timeout_ms: Some(1000),
        ..LimitsConfig::default()
    }
    .resolve();
    TransformerPlugin::new(&runtime, &artifact, limits, Grants::default(), "{}".into()).unwrap()
}

#[test]
fn sleeping_in_a_host_call_ends_at_the_deadline() {
    let mut plugin = sleeper_under_one_second("sleeper", 20);
    plugin.start().unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let failure = plugin.transform(&[Value::Null]).unwrap_err();
        let took = started.elapsed();
        assert_eq!(failure.kind, FailureKind::Timeout, "{failure:?}");
        assert!(failure.message.contains("1000 ms"), "{}", failure.message);
        assert!(
            took < Duration::from_secs(10),
            "the call ran {took:?} under a 1000 ms limit"
        );
    }
    // The blocked instance was discarded; the second call got a fresh one.
    assert_eq!(plugin.stats().instantiations, 2);
}

#[test]
fn a_short_sleep_within_the_limit_is_untouched() {
    let mut plugin = sleeper_under_one_second("napper", 0);
    let out = plugin.transform(&[Value::Null, Value::Integer(1)]).unwrap();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|r| matches!(r, Ok(Value::Null))));
}
