//! `memory_mb` bounds the total of all linear memories of a plugin
//! instance, not each one: a component with several memories, each under
//! the cap, is stopped once together they pass it; one that creates more
//! memories than `max_memories` is refused; and the peak reported is the
//! total.

use sluice::bindings::Value;
use sluice::plugin::{
    Artifact, FailureKind, Grants, LimitsConfig, Origin, Runtime, TransformerPlugin,
};

use super::wat_guest::{ABI, transformer_with};

/// `memories` linear memories of one page, each in its own core module
/// (as the pooling allocator allows one memory per module); every call
/// grows each by `pages` pages (64 KiB each) and traps if a grow is refused.
fn grower(memories: usize, pages: u32) -> Vec<u8> {
    let mut before = String::from(
        r#"(core module $memory
    (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"#,
    );
    let mut exports = String::new();
    let mut imports = String::new();
    let mut grows = format!(
        "    (if (i32.eq (memory.grow (i32.const {pages})) (i32.const -1)) (then unreachable))\n"
    );
    for i in 1..memories {
        before.push_str(&format!(
            "  (core instance $memory{i} (instantiate $memory))\n"
        ));
        exports.push_str(&format!(" (export \"grow{i}\" (func $memory{i} \"grow\"))"));
        imports.push_str(&format!(
            "  (import \"memories\" \"grow{i}\" (func $grow{i} (param i32) (result i32)))\n"
        ));
        grows.push_str(&format!(
            "    (if (i32.eq (call $grow{i} (i32.const {pages})) (i32.const -1)) (then unreachable))\n"
        ));
    }
    before.push_str(&format!("  (core instance $memories{exports})\n"));
    let module = format!(
        r#"(import "host" "subscribe" (func $subscribe (param i64) (result i32)))
  (import "host" "block" (func $block (param i32)))
{imports}
  (memory (export "memory") 1)
  (func $misbehave
{grows}  )
  {ABI}"#
    );
    transformer_with(
        &module,
        &before,
        r#"(with "memories" (instance $memories))"#,
    )
}

fn plugin(runtime: &Runtime, bytes: Vec<u8>, limits: LimitsConfig) -> TransformerPlugin {
    let artifact = Artifact::new("grower", bytes.into(), Origin::Builtin);
    TransformerPlugin::new(
        runtime,
        &artifact,
        limits.resolve(),
        Grants::default(),
        "{}".into(),
    )
    .unwrap()
}

#[test]
fn several_memories_under_the_cap_each_are_stopped_by_their_total() {
    let runtime = Runtime::with_instance_pool(None, 32).unwrap();
    // 8 memories of 1 + 64 pages (4 MiB) each: 32 MiB in all, over a
    // 16 MiB limit that each one alone stays well under.
    let mut p = plugin(
        &runtime,
        grower(8, 64),
        LimitsConfig {
            memory_mb: Some(16),
            ..LimitsConfig::default()
        },
    );
    let failure = p.transform(&[Value::Null]).unwrap_err();
    assert_eq!(failure.kind, FailureKind::MemoryLimit, "{failure:?}");
    assert!(failure.message.contains("16 MiB"), "{}", failure.message);
    assert!(p.stats().peak_memory_bytes <= 16 << 20, "{:?}", p.stats());
}

#[test]
fn the_peak_reported_is_the_total_of_all_memories() {
    let runtime = Runtime::with_instance_pool(None, 32).unwrap();
    // 4 memories of 1 + 31 pages (2 MiB) each: 8 MiB together.
    let mut p = plugin(
        &runtime,
        grower(4, 31),
        LimitsConfig {
            memory_mb: Some(16),
            ..LimitsConfig::default()
        },
    );
    p.transform(&[Value::Null]).unwrap();
    assert_eq!(p.stats().peak_memory_bytes, 8 << 20, "{:?}", p.stats());
    assert_eq!(p.last_call().peak_memory_bytes, 8 << 20);
}

#[test]
fn too_many_memories_are_refused_as_memory_limit() {
    let runtime = Runtime::with_instance_pool(None, 32).unwrap();
    // The default allows 8 memories per plugin.
    let mut p = plugin(&runtime, grower(12, 0), LimitsConfig::default());
    let failure = p.start().unwrap_err();
    assert_eq!(failure.kind, FailureKind::MemoryLimit, "{failure:?}");
    assert!(
        failure.message.contains("max_memories"),
        "{}",
        failure.message
    );
    // Raising the limit lets the same component run.
    let mut p = plugin(
        &runtime,
        grower(12, 0),
        LimitsConfig {
            max_memories: Some(12),
            ..LimitsConfig::default()
        },
    );
    p.transform(&[Value::Null]).unwrap();
}

#[test]
fn plugin_test_reports_the_total_of_all_memories() {
    let env = crate::support::TestEnv::new();
    std::fs::write(env.path().join("grower.wasm"), grower(4, 31)).unwrap();
    env.write("values.jsonl", "\"a\"\n");
    let args = [
        "plugin",
        "test",
        "grower.wasm",
        "--input",
        "values.jsonl",
        "--memory-mb",
        "16",
    ];
    let json = env.cli(&[&args[..], &["--json"]].concat());
    assert!(json.status.success(), "{json:?}");
    let report: serde_json::Value = serde_json::from_str(&crate::support::stdout(&json)).unwrap();
    assert_eq!(report["peak_memory_bytes"], 8 << 20, "{report:#}");
    assert_eq!(report["batches"][0]["peak_memory_bytes"], 8 << 20);
    let human = crate::support::stdout(&env.cli(&args));
    assert!(human.contains("PEAK MEM (TOTAL)"), "{human}");
    assert!(human.contains("8.0 MiB"), "{human}");
}
