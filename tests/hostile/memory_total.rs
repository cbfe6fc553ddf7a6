//! `memory_mb` bounds the total of all linear memories of a plugin
//! instance, not each one: a component with several memories, each under
//! the cap, is stopped once together they pass it; one that creates more
//! memories than `max_memories` is refused; and the peak reported is the
//! total.

use sluice::bindings::current::Value;
use sluice::plugin::{
    Artifact, FailureKind, Grants, LimitsConfig, Origin, Runtime, TransformerPlugin,
};

use super::wat_guest::{ABI, transformer};

/// `memories` linear memories of one page; every call grows each by
/// `pages` pages (64 KiB each) and traps if a grow is refused.
fn grower(memories: usize, pages: u32) -> Vec<u8> {
    let mut module = String::from(
        r#"(import "host" "subscribe" (func $subscribe (param i64) (result i32)))
  (import "host" "block" (func $block (param i32)))
  (memory $m0 (export "memory") 1)
"#,
    );
    for i in 1..memories {
        module.push_str(&format!("  (memory $m{i} 1)\n"));
    }
    module.push_str("  (func $misbehave\n");
    for i in 0..memories {
        module.push_str(&format!(
            "    (if (i32.eq (memory.grow $m{i} (i32.const {pages})) (i32.const -1)) (then unreachable))\n"
        ));
    }
    module.push_str("  )\n");
    module.push_str(ABI);
    transformer(&module)
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
    let runtime = Runtime::with_instance_pool(None, 0).unwrap();
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
    let runtime = Runtime::with_instance_pool(None, 0).unwrap();
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
    let runtime = Runtime::with_instance_pool(None, 0).unwrap();
    // The default allows 8 memories per plugin.
    let mut p = plugin(&runtime, grower(12, 0), LimitsConfig::default());
    let failure = p.start().unwrap_err();
    assert_eq!(failure.kind, FailureKind::MemoryLimit, "{failure:?}");
    assert!(failure.message.contains("max_memories"), "{}", failure.message);
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
