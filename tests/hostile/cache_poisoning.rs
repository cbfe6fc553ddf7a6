//! A plugin granted a directory that holds Sluice's own state could rewrite
//! the compile cache, which holds native code the host executes. Such
//! grants are refused before any plugin runs, and a cache entry the host
//! did not write for that very component is never executed.

use std::path::{Path, PathBuf};

use sluice::bindings::Value;
use sluice::plugin::{
    Artifact, Grants, LimitsConfig, PluginKind, Registry, Runtime, TransformerPlugin,
};

use crate::support::TestEnv;

/// A pipeline whose target (`jsonl-file`) is granted `target_dir`; returns
/// the setup error's code and message.
fn refused_target_dir(env: &TestEnv, target_dir: &str) -> (String, String) {
    env.write("in/records.jsonl", "{\"id\": \"r1\"}\n");
    let path = env.write(
        "pipeline.toml",
        &format!(
            r#"name = "poison"

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "{target_dir}"

[[entity]]
name = "things"
key = "id"
source_options = {{ path = "records.jsonl" }}
target_options = {{ path = "records.jsonl" }}

[[entity.field]]
target = "id"
"#
        ),
    );
    let loaded = sluice::load_pipeline(&path).unwrap();
    let err = env.sluice().run(&loaded).unwrap_err();
    let sluice::RunError::Setup { source, .. } = err else {
        panic!("expected a setup failure, got {err:?}")
    };
    (source.code().to_owned(), source.to_string())
}

#[test]
fn a_grant_containing_the_data_directory_is_refused() {
    let env = TestEnv::new();
    // `dir = "."` with the data directory at `./.sluice`.
    let (code, message) = refused_target_dir(&env, ".");
    assert_eq!(code, "invalid-pipeline", "{message}");
    assert!(message.contains("pipeline.toml:"), "{message}");
    assert!(message.contains("data directory"), "{message}");
    assert!(message.contains("contains"), "{message}");
    assert!(!env.path().join("records.jsonl").exists());
}

#[test]
fn a_grant_inside_the_data_directory_is_refused_and_not_created() {
    let env = TestEnv::new();
    let (code, message) = refused_target_dir(&env, ".sluice/exports");
    assert_eq!(code, "invalid-pipeline", "{message}");
    assert!(message.contains("lies inside"), "{message}");
    assert!(!env.data_dir().join("exports").exists());
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_to_the_data_directory_is_refused() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::os::unix::fs::symlink(env.data_dir(), env.path().join("innocent")).unwrap();
    let (code, message) = refused_target_dir(&env, "innocent");
    assert_eq!(code, "invalid-pipeline", "{message}");
    assert!(message.contains("data directory"), "{message}");
}

#[test]
fn a_grant_containing_the_compile_cache_is_refused() {
    let env = TestEnv::new();
    // The shared test cache lives outside the data directory.
    let cache = env.options().cache_dir.unwrap();
    let (code, message) = refused_target_dir(&env, &cache.display().to_string());
    assert_eq!(code, "invalid-pipeline", "{message}");
    assert!(message.contains("compile cache"), "{message}");
}

fn builtin(name: &str) -> Artifact {
    Registry::default()
        .resolve(name, PluginKind::FieldTransformer, Path::new("."))
        .unwrap()
}

/// The cache file of `artifact` in `dir`.
fn entry(dir: &Path, artifact: &Artifact) -> PathBuf {
    let hex = artifact.id.digest.strip_prefix("sha256:").unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(hex))
        .unwrap_or_else(|| panic!("no cache entry for {}", artifact.id))
}

fn run(runtime: &Runtime, artifact: &Artifact, text: &str) -> Value {
    let limits = LimitsConfig::default().resolve();
    let mut plugin =
        TransformerPlugin::new(runtime, artifact, limits, Grants::default(), "{}".into()).unwrap();
    let mut out = plugin.transform(&[Value::Text(text.into())]).unwrap();
    out.remove(0).unwrap()
}

#[test]
fn a_swapped_cache_entry_is_not_executed() {
    let cache = tempfile::tempdir().unwrap();
    let upper = builtin("uppercase");
    let lower = builtin("lowercase");
    {
        let runtime = Runtime::with_instance_pool(Some(cache.path().to_owned()), 0).unwrap();
        assert!(matches!(run(&runtime, &upper, "Mixed"), Value::Text(t) if t == "MIXED"));
        assert!(matches!(run(&runtime, &lower, "Mixed"), Value::Text(t) if t == "mixed"));
    }
    // An attacker who can write the cache puts other compiled code (here:
    // a valid artifact of `lowercase`, compiled by this very engine) under
    // the name of the plugin a pipeline pins by digest.
    std::fs::copy(entry(cache.path(), &lower), entry(cache.path(), &upper)).unwrap();

    let runtime = Runtime::with_instance_pool(Some(cache.path().to_owned()), 0).unwrap();
    let answer = run(&runtime, &upper, "Mixed");
    assert!(
        matches!(&answer, Value::Text(t) if t == "MIXED"),
        "the swapped artifact ran: {answer:?}"
    );
    // The entry was replaced by a freshly compiled, valid one.
    let rewritten = std::fs::read(entry(cache.path(), &upper)).unwrap();
    let swapped = std::fs::read(entry(cache.path(), &lower)).unwrap();
    assert_ne!(rewritten, swapped);
}

#[test]
fn a_corrupted_cache_entry_is_compiled_again() {
    let cache = tempfile::tempdir().unwrap();
    let upper = builtin("uppercase");
    {
        let runtime = Runtime::with_instance_pool(Some(cache.path().to_owned()), 0).unwrap();
        run(&runtime, &upper, "x");
    }
    let path = entry(cache.path(), &upper);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let runtime = Runtime::with_instance_pool(Some(cache.path().to_owned()), 0).unwrap();
    assert!(matches!(run(&runtime, &upper, "abc"), Value::Text(t) if t == "ABC"));
}

#[test]
fn artifacts_are_not_read_from_a_file_a_plugin_could_rewrite() {
    // The loaded component no longer depends on its file: rewriting the
    // entry under a live runtime (as a plugin with a grant over the cache
    // would) changes nothing and cannot fault the host.
    let cache = tempfile::tempdir().unwrap();
    let upper = builtin("uppercase");
    {
        let runtime = Runtime::with_instance_pool(Some(cache.path().to_owned()), 0).unwrap();
        run(&runtime, &upper, "x");
    }
    let runtime = Runtime::with_instance_pool(Some(cache.path().to_owned()), 0).unwrap();
    let component = runtime.component(&upper).unwrap();
    let path = entry(cache.path(), &upper);
    // Truncate in place: a mapped file would fault on its next page access.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    drop(component);
    assert!(matches!(run(&runtime, &upper, "abc"), Value::Text(t) if t == "ABC"));
}
