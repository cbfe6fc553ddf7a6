//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod echo_server;
pub mod webhook_receiver;

use sluice::runlog::RunLog;
use sluice::{RunSummary, Sluice, SluiceOptions, load_pipeline};
use tempfile::TempDir;

/// The workspace root: the nearest directory above the tests' crate
/// (`host/cli`) with a `Cargo.lock`.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .expect("a workspace root above the crate")
        .to_owned()
}

/// Compiled components are cached here across tests and test runs.
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sluice-compile-cache")
}

/// The hostile test plugin.
pub fn test_plugin() -> PathBuf {
    Path::new(sluice_test_programs_artifacts::TEST_PLUGIN_DIR).join("sluice_test_plugins.wasm")
}

/// A scratch directory with its own data directory.
pub struct TestEnv {
    pub dir: TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path().join(".sluice")
    }

    pub fn options(&self) -> SluiceOptions {
        SluiceOptions {
            data_dir: self.data_dir(),
            cache_dir: Some(shared_cache()),
            plugin_path: Vec::new(),
            actor: None,
        }
    }

    pub fn sluice(&self) -> Sluice {
        Sluice::open(self.options()).unwrap()
    }

    /// Write a file under the scratch directory.
    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// Run a pipeline file through the library.
    pub fn run(&self, pipeline: &Path) -> RunSummary {
        let loaded = load_pipeline(pipeline).unwrap();
        self.sluice().run(&loaded).unwrap()
    }

    pub fn run_log(&self) -> RunLog {
        RunLog::open(&self.data_dir().join("runs.db")).unwrap()
    }

    /// Run the `sluice` binary with this environment's data directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_env(args, &[])
    }

    /// Run the `sluice` binary with extra environment variables.
    pub fn cli_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.command(args)
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    }

    /// The `sluice` binary with `args`, set up to run in this environment
    /// (its directory, data directory and the shared compile cache), for
    /// tests that spawn it themselves.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .args(args)
            .current_dir(self.path())
            .env("SLUICE_DATA_DIR", self.data_dir())
            .env("SLUICE_CACHE_DIR", shared_cache())
            .env_remove("SLUICE_PLUGIN_PATH")
            .env("NO_COLOR", "1");
        command
    }
}

/// Copy a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Parse JSON Lines.
pub fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The fault-injecting test target.
pub fn fault_target() -> PathBuf {
    Path::new(sluice_test_programs_artifacts::TEST_PLUGIN_DIR).join("sluice_test_fault_target.wasm")
}

/// The HTTP probe test target.
pub fn http_probe() -> PathBuf {
    Path::new(sluice_test_programs_artifacts::TEST_PLUGIN_DIR).join("sluice_test_http_probe.wasm")
}
