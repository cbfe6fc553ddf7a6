//! The text fast path of 0.2.0 field transformers: a batch whose values
//! are all text goes through `transform-text` (packed as one string with
//! end offsets) and gives exactly what `transform` gives; any other batch
//! goes through `transform`.

use std::sync::Arc;

use serde_json::json;
use sluice::bindings::{ErrorCategory, PluginError, Value};
use sluice::plugin::{
    Artifact, FailureKind, Grants, Limits, Origin, Registry, Runtime, TransformerPlugin,
};

use crate::hostile::test_component;

fn forger(runtime: &Runtime, options: serde_json::Value) -> TransformerPlugin {
    let path = test_component("sluice_test_forger.wasm");
    let bytes = std::fs::read(&path).expect("the forger test component");
    let artifact = Artifact::new("forger", Arc::from(bytes), Origin::File(path));
    TransformerPlugin::new(
        runtime,
        &artifact,
        Limits::default(),
        Grants::default(),
        options.to_string(),
    )
    .expect("forger loads")
}

fn texts(items: &[&str]) -> Vec<Value> {
    items.iter().map(|s| Value::Text((*s).into())).collect()
}

type Results = Vec<Result<Value, PluginError>>;

/// The generated types have no `PartialEq`; their `Debug` shows every field.
fn show<T: std::fmt::Debug>(x: &T) -> String {
    format!("{x:?}")
}

/// `plugin`'s results for `values` through `transform-text`, and through
/// `transform` (the same values with a `null` after them, which makes the
/// batch mixed).
fn both_paths(plugin: &mut TransformerPlugin, values: &[Value]) -> (Results, Results) {
    let packed = plugin.transform(values).expect("text path");
    let mut mixed = values.to_vec();
    mixed.push(Value::Null);
    let mut unpacked = plugin.transform(&mixed).expect("value path");
    assert!(matches!(unpacked.pop(), Some(Ok(Value::Null))));
    (packed, unpacked)
}

#[test]
fn a_text_batch_gives_what_transform_gives() {
    let runtime = Runtime::new(None).expect("runtime");
    let values = texts(&["a", "boom", "é ü 😀", "", "boom", "z"]);
    let cases = [
        (
            json!({ "trigger": "boom", "error": { "category": "validation", "code": "forged", "message": "no" } }),
            Err(ErrorCategory::Validation),
        ),
        (
            json!({ "trigger": "boom", "json": "{\"a\": 1}" }),
            Ok(Value::Json("{\"a\": 1}".into())),
        ),
        (
            json!({ "trigger": "boom", "decimal": "1.50" }),
            Ok(Value::Decimal("1.50".into())),
        ),
        (json!({ "trigger": "boom" }), Ok(Value::Text("boom".into()))),
    ];
    for (options, at_trigger) in cases {
        let mut plugin = forger(&runtime, options.clone());
        let (packed, unpacked) = both_paths(&mut plugin, &values);
        assert_eq!(show(&packed), show(&unpacked), "{options}");
        assert_eq!(packed.len(), values.len());
        for (i, result) in packed.iter().enumerate() {
            if matches!(&values[i], Value::Text(t) if t == "boom") {
                match (&at_trigger, result) {
                    (Err(category), Err(e)) => {
                        assert_eq!((e.category, e.code.as_str()), (*category, "forged"))
                    }
                    (Ok(expected), Ok(got)) => assert_eq!(show(got), show(expected)),
                    _ => panic!("{options}: result {i} is {result:?}"),
                }
            } else {
                assert_eq!(show(result), show(&Ok::<_, ()>(&values[i])), "{options}");
            }
        }
    }

    // A built-in, on texts of several sizes and characters.
    let trim = Registry::builtins()
        .iter()
        .find(|b| b.name == "trim")
        .expect("trim is built in");
    let artifact = Artifact::new(trim.name, Arc::from(trim.bytes), Origin::Builtin);
    let mut trim = TransformerPlugin::new(
        &runtime,
        &artifact,
        Limits::default(),
        Grants::default(),
        "{}".into(),
    )
    .expect("trim loads");
    let long = format!("  {}  ", "ß".repeat(5000));
    let values = texts(&["  a ", "", "\t😀\n", &long, "b"]);
    let (packed, unpacked) = both_paths(&mut trim, &values);
    assert_eq!(show(&packed), show(&unpacked));
    assert!(matches!(&packed[2], Ok(Value::Text(t)) if t == "😀"));
    assert!(matches!(&packed[3], Ok(Value::Text(t)) if *t == "ß".repeat(5000)));
}

#[test]
fn only_all_text_batches_take_the_text_path() {
    let runtime = Runtime::new(None).expect("runtime");
    // The forger breaks `transform-text`'s answer for a batch holding the
    // trigger, and leaves `transform` alone: which export the host calls
    // shows in whether the batch fails.
    let mut plugin = forger(
        &runtime,
        json!({ "trigger": "boom", "text_answer": "past-end" }),
    );
    let failure = plugin
        .transform(&texts(&["a", "boom"]))
        .expect_err("all text: the broken text path");
    assert_eq!(failure.kind, FailureKind::ContractViolation, "{failure:?}");
    assert!(
        failure.message.contains("`transform-text`"),
        "{}",
        failure.message
    );

    let mixed = [
        Value::Text("a".into()),
        Value::Text("boom".into()),
        Value::Integer(3),
    ];
    let out = plugin.transform(&mixed).expect("mixed: `transform`");
    assert_eq!(show(&out), show(&mixed.map(Ok::<_, PluginError>)));
    // A text batch without the trigger is packed and answered correctly.
    let out = plugin.transform(&texts(&["x", "y"])).expect("no trigger");
    let expected: Results = texts(&["x", "y"]).into_iter().map(Ok).collect();
    assert_eq!(show(&out), show(&expected));
}
