//! A few kilobytes of nested components, each instantiating the one inside
//! it several times, flatten into an astronomical number of instances: the
//! compiler would exhaust the machine's memory. Such a file is refused from
//! its bytes before anything compiles it, quickly and in little memory, and
//! compilation itself runs in a child process under memory and time bounds.

use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sluice::plugin::{
    Artifact, CompileBounds, Compiler, Grants, LimitsConfig, Origin, Registry, Runtime,
    TransformerPlugin,
};

use crate::support::{TestEnv, stdout};

/// `depth` levels of components, each defining the previous level and
/// instantiating it `fanout` times: fanout^depth core instances once
/// flattened, in a file of a few kilobytes.
pub fn bomb(depth: usize, fanout: usize) -> Vec<u8> {
    let mut body = String::from("(core module $m) (core instance (instantiate $m))");
    for _ in 0..depth {
        let instances = "(instance (instantiate $c)) ".repeat(fanout);
        body = format!("(component $c {body}) {instances}");
    }
    wat::parse_str(format!("(component {body})")).unwrap()
}

#[test]
fn a_nested_component_bomb_is_refused_before_compiling() {
    let bytes = bomb(10, 8);
    assert!(bytes.len() < 16 << 10, "{} bytes", bytes.len());
    let runtime = Runtime::with_instance_pool(None, 0).unwrap();
    let artifact = Artifact::new("bomb", bytes.into(), Origin::Builtin);
    let started = Instant::now();
    let error = TransformerPlugin::new(
        &runtime,
        &artifact,
        LimitsConfig::default().resolve(),
        Grants::default(),
        "{}".into(),
    )
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(error.code(), "invalid-component", "{error}");
    let message = error.to_string();
    assert!(message.contains("flattened"), "{message}");
    // Describing it (as `sluice plugins` does) is refused the same way.
    let error = runtime.describe(&artifact).unwrap_err();
    assert_eq!(error.code(), "invalid-component");
}

#[test]
fn too_deep_nesting_is_refused() {
    let bytes = bomb(40, 1);
    let runtime = Runtime::with_instance_pool(None, 0).unwrap();
    let artifact = Artifact::new("deep", bytes.into(), Origin::Builtin);
    let error = runtime.component(&artifact).unwrap_err();
    assert_eq!(error.code(), "invalid-component");
    assert!(error.to_string().contains("deep"), "{error}");
}

#[test]
fn listing_plugins_with_a_bomb_installed_is_quick() {
    let env = TestEnv::new();
    // Listing compiles every built-in once (the compile cache may be cold).
    assert!(env.cli(&["plugins", "--json"]).status.success());
    let plugins = env.data_dir().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("bomb.wasm"), bomb(10, 8)).unwrap();
    let started = Instant::now();
    let out = env.cli(&["plugins", "--json"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(out.status.success(), "{out:?}");
    let listed: Json = serde_json::from_str(&stdout(&out)).unwrap();
    let bomb = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bomb")
        .unwrap_or_else(|| panic!("{listed:#}"));
    assert!(
        bomb["error"].as_str().unwrap().contains("flattened"),
        "{bomb:#}"
    );
}

#[test]
fn compilation_runs_in_a_bounded_child_process() {
    let artifact = Registry::default()
        .resolve(
            "uppercase",
            sluice::plugin::PluginKind::FieldTransformer,
            std::path::Path::new("."),
        )
        .unwrap();
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_sluice"));
    // Within the default bounds it compiles, and the artifact runs (on an
    // engine with an instance pool, as in the `sluice` binary).
    let mut runtime = Runtime::with_instance_pool(None, 4).unwrap();
    runtime.set_compiler(Some(Compiler {
        exe: exe.clone(),
        bounds: CompileBounds::default(),
    }));
    let mut plugin = TransformerPlugin::new(
        &runtime,
        &artifact,
        LimitsConfig::default().resolve(),
        Grants::default(),
        "{}".into(),
    )
    .unwrap();
    let out = plugin
        .transform(&[sluice::bindings::Value::Text("abc".into())])
        .unwrap();
    assert!(matches!(&out[0], Ok(sluice::bindings::Value::Text(t)) if t == "ABC"));

    // Starved of memory, the compiler stops and the component is refused.
    let mut runtime = Runtime::with_instance_pool(None, 0).unwrap();
    runtime.set_compiler(Some(Compiler {
        exe,
        bounds: CompileBounds {
            memory_bytes: 8 << 20,
            ..CompileBounds::default()
        },
    }));
    let error = runtime.component(&artifact).unwrap_err();
    assert_eq!(error.code(), "invalid-component", "{error}");
    assert!(error.to_string().contains("memory"), "{error}");
}
