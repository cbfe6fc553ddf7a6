use std::sync::Arc;

use sluice::bindings::Value;
use sluice::plugin::{
    Artifact, FailureKind, Grants, Limits, Origin, Registry, Runtime, TransformerPlugin,
};

fn trim(runtime: &Runtime) -> TransformerPlugin {
    let builtin = Registry::builtins()
        .iter()
        .find(|b| b.name == "trim")
        .expect("trim is built in");
    let artifact = Artifact::new(builtin.name, Arc::from(builtin.bytes), Origin::Builtin);
    TransformerPlugin::new(
        runtime,
        &artifact,
        Limits::default(),
        Grants::default(),
        "{}".into(),
    )
    .expect("trim links")
}

/// When more instances are live than the pool holds, the next one fails
/// with its own kind and a message naming the setting, is not retried in
/// smaller parts, and a slot freed by another plugin is used again.
#[test]
fn a_full_instance_pool_is_reported_and_freed_slots_are_reused() {
    let runtime = Runtime::with_instance_pool(None, 2).expect("runtime");
    let mut first = trim(&runtime);
    let mut second = trim(&runtime);
    let mut third = trim(&runtime);
    first.start().expect("first instance");
    second.start().expect("second instance");

    let failure = third.start().expect_err("the pool holds two instances");
    assert_eq!(failure.kind, FailureKind::InstancePoolFull);
    assert!(!failure.kind.is_isolatable());
    assert!(
        failure.message.contains("SLUICE_INSTANCE_POOL") && failure.message.contains("`trim`"),
        "{}",
        failure.message
    );
    let failed_call = third
        .transform(&[Value::Text(" a ".into())])
        .expect_err("still no slot");
    assert_eq!(failed_call.kind, FailureKind::InstancePoolFull);

    drop(first);
    let out = third
        .transform(&[Value::Text(" a ".into())])
        .expect("the freed slot is used");
    assert!(
        matches!(out.as_slice(), [Ok(Value::Text(text))] if text == "a"),
        "{out:?}"
    );
    assert_eq!(second.stats().instantiations, 1);
}

/// Without a pool, memory is mapped per instance and there is no such cap.
#[test]
fn without_a_pool_instances_are_not_capped() {
    let runtime = Runtime::with_instance_pool(None, 0).expect("runtime");
    let mut plugins: Vec<TransformerPlugin> = (0..4).map(|_| trim(&runtime)).collect();
    for plugin in &mut plugins {
        plugin.start().expect("an instance");
    }
}
