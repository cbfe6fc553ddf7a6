//! One run per pipeline, and per target, at a time.
//!
//! Every run (`run`, `rerun`, `replay`) holds, for as long as it runs, an
//! exclusive OS file lock (`flock`) on one file per pipeline and one per
//! target it writes, in `<data-dir>/locks/`. A second run that needs one of
//! them is refused, naming the run that holds it, or waits for it
//! (`wait`). The operating system releases the locks when the process
//! ends, however it ends, so a `running` run whose pipeline lock is free
//! has no process any more (see `run/interrupted.rs`).
//!
//! A target is the target connector's plugin, its directory or connection,
//! and the options one entity gives it: two pipelines that write the same
//! file or the same remote object with the same options cannot run at once.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::RunKind;
use super::plan::{merge, toml_to_json};
use crate::config::LoadedPipeline;
use crate::model::{StopLevel, StopSignal};

/// The directory under the data directory that holds the lock files.
pub const LOCK_DIR: &str = "locks";

/// How long a run keeps trying a lock that is taken before it gives up
/// (without `wait`): commands that only check whether a run is alive hold
/// a lock for an instant.
const GRACE: Duration = Duration::from_millis(500);

/// How often a run that can be stopped checks its lock and its stop signal
/// while it waits.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Who holds a lock: written into the lock file by its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The pipeline of the run.
    pub pipeline: String,
    /// `run`, `replay` or `rerun`.
    pub kind: String,
    /// The run's id, once it is recorded.
    pub run_id: Option<i64>,
    /// The process.
    pub pid: u32,
    /// When it took the lock (UTC).
    pub since: String,
}

impl LockHolder {
    fn describe(&self) -> String {
        let run = match self.run_id {
            Some(id) => format!("run {id}"),
            None => "a run".to_owned(),
        };
        format!(
            "{run} of pipeline `{}` ({}, process {}, since {})",
            self.pipeline, self.kind, self.pid, self.since
        )
    }
}

/// A lock another run holds.
#[derive(Debug, Clone)]
pub struct Busy {
    /// What is locked: ``pipeline `x` `` or the target of an entity.
    pub what: String,
    /// Who holds it, when the lock file says.
    pub holder: Option<LockHolder>,
    /// The lock file.
    pub path: PathBuf,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let by = match &self.holder {
            Some(h) => h.describe(),
            None => format!("another sluice process (lock file {})", self.path.display()),
        };
        write!(
            f,
            "{} is in use by {by}; two runs at once would write records twice. \
             Wait for it to end, or queue behind it with --wait",
            self.what
        )
    }
}

/// A run could not take its locks.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds one of them.
    #[error("{0}")]
    Busy(Box<Busy>),
    /// The run was asked to stop while it waited for a lock.
    #[error("asked to stop while waiting for {what} ({why})")]
    Stopped {
        /// What the run was waiting for.
        what: String,
        /// Why it was asked to stop.
        why: String,
    },
    /// A lock file could not be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The locks a run holds; dropping it (or the process ending) releases
/// them.
#[derive(Debug)]
pub struct RunLocks {
    held: Vec<File>,
    holder: LockHolder,
}

/// A lock a run needs: its file name and what it protects, for people.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Wanted {
    file: String,
    what: String,
}

impl RunLocks {
    /// Take the locks of a `kind` run of `loaded`: its pipeline's and one
    /// per distinct target of its entities, in a fixed order (so runs that
    /// wait cannot deadlock). A lock held by another run makes this fail
    /// with [`LockError::Busy`], unless `wait`, in which case it blocks
    /// until the lock is free, or until `stop` is pulled
    /// ([`LockError::Stopped`]).
    pub fn acquire(
        data_dir: &Path,
        loaded: &LoadedPipeline,
        kind: RunKind,
        wait: bool,
        stop: Option<&StopSignal>,
    ) -> Result<RunLocks, LockError> {
        let dir = data_dir.join(LOCK_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| LockError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut wanted = vec![Wanted {
            file: pipeline_lock_file(&loaded.pipeline.name),
            what: format!("pipeline `{}`", loaded.pipeline.name),
        }];
        wanted.extend(target_locks(loaded));
        wanted.sort();
        wanted.dedup_by(|a, b| a.file == b.file);
        let holder = LockHolder {
            pipeline: loaded.pipeline.name.clone(),
            kind: kind.as_str().to_owned(),
            run_id: None,
            pid: std::process::id(),
            since: utc_now(),
        };
        let mut held = Vec::with_capacity(wanted.len());
        for w in wanted {
            held.push(take(&dir.join(&w.file), &w.what, wait, stop)?);
        }
        let locks = RunLocks { held, holder };
        locks.write_holder();
        Ok(locks)
    }

    /// Name the run in the lock files, for runs refused while it holds them.
    pub fn set_run_id(&mut self, run_id: i64) {
        self.holder.run_id = Some(run_id);
        self.write_holder();
    }

    fn write_holder(&self) {
        let mut text = serde_json::to_string(&self.holder).expect("a holder serializes");
        text.push('\n');
        for mut file in &self.held {
            // Overwrite in place, then cut: a reader never sees an empty file
            // once a holder has been written.
            let written = file
                .seek(SeekFrom::Start(0))
                .and_then(|_| file.write_all(text.as_bytes()))
                .and_then(|()| file.set_len(text.len() as u64));
            if let Err(e) = written {
                tracing::warn!(error = %e, "Cannot record the run in its lock file.");
            }
        }
    }
}

/// Open and lock `path`.
fn take(path: &Path, what: &str, wait: bool, stop: Option<&StopSignal>) -> Result<File, LockError> {
    let io = |source| LockError::Io {
        path: path.to_owned(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::Error(e)) => return Err(io(e)),
            Err(TryLockError::WouldBlock) if wait => {
                let holder = read_holder(path);
                tracing::warn!(
                    "{what} is in use by {}; waiting for it to end.",
                    holder
                        .as_ref()
                        .map_or_else(|| "another sluice process".to_owned(), LockHolder::describe)
                );
                let Some(stop) = stop else {
                    file.lock().map_err(io)?;
                    return Ok(file);
                };
                // A run someone may stop polls instead of blocking, so a stop
                // asked for while it waits ends the wait.
                loop {
                    if stop.level() != StopLevel::None {
                        return Err(LockError::Stopped {
                            what: what.to_owned(),
                            why: stop.why(),
                        });
                    }
                    match file.try_lock() {
                        Ok(()) => return Ok(file),
                        Err(TryLockError::Error(e)) => return Err(io(e)),
                        Err(TryLockError::WouldBlock) => std::thread::sleep(STOP_POLL),
                    }
                }
            }
            Err(TryLockError::WouldBlock) if started.elapsed() < GRACE => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Busy(Box::new(Busy {
                    what: what.to_owned(),
                    holder: read_holder(path),
                    path: path.to_owned(),
                })));
            }
        }
    }
}

/// Who holds the lock at `path`, as its holder wrote it.
fn read_holder(path: &Path) -> Option<LockHolder> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// Whether a process holds the run lock of pipeline `pipeline` in
/// `data_dir`, i.e. a run of it is alive. Takes the lock shared for an
/// instant to find out.
pub fn pipeline_in_use(data_dir: &Path, pipeline: &str) -> std::io::Result<bool> {
    let path = data_dir.join(LOCK_DIR).join(pipeline_lock_file(pipeline));
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// The lock file of pipeline `name`: readable, and distinct for distinct
/// names.
fn pipeline_lock_file(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("pipeline-{slug}-{}.lock", short_hash(name.as_bytes()))
}

/// The target locks of `loaded`'s entities.
fn target_locks(loaded: &LoadedPipeline) -> Vec<Wanted> {
    let target = &loaded.pipeline.target;
    let reference = target.plugin.get_ref();
    let plugin = if reference.ends_with(".wasm") || reference.contains(['/', '\\']) {
        absolute(&loaded.base_dir.join(reference))
    } else {
        reference.clone()
    };
    let dir = target
        .dir
        .as_ref()
        .map(|d| absolute(&loaded.base_dir.join(d.get_ref())));
    let connection = target
        .connection
        .as_ref()
        .map(|c| (c.get_ref().clone(), absolute(&loaded.connections_path())));
    loaded
        .pipeline
        .entities
        .iter()
        .map(|entity| {
            let options = toml::Value::Table(merge(&target.options, &entity.target_options));
            let identity = serde_json::json!([plugin, dir, connection, toml_to_json(&options)]);
            let mut what = format!("the target of entity `{}` ({plugin}", entity.name.get_ref());
            if let Some(dir) = &dir {
                what.push_str(&format!(" in {dir}"));
            }
            if let Some((name, _)) = &connection {
                what.push_str(&format!(" through connection `{name}`"));
            }
            what.push(')');
            Wanted {
                file: format!(
                    "target-{}.lock",
                    short_hash(identity.to_string().as_bytes())
                ),
                what,
            }
        })
        .collect()
}

/// `path` made absolute and canonical (symbolic links and `..` resolved)
/// as far as it exists, so that one directory has one name whether or not
/// it was created yet.
fn absolute(path: &Path) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            let mut full = canonical;
            full.extend(rest.iter().rev());
            return full.display().to_string();
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path.display().to_string(),
        }
    }
}

/// The first 16 hex digits of the sha256 of `bytes`.
fn short_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// Now as UTC ISO-8601 text with seconds, like `2026-12-06T01:02:03Z`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(dir: &Path, name: &str, target_path: &str) -> LoadedPipeline {
        std::fs::create_dir_all(dir.join("in")).unwrap();
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!(
                r#"name = "{name}"
[source]
plugin = "jsonl-file"
dir = "in"
[target]
plugin = "jsonl-file"
dir = "out"
[[entity]]
name = "contacts"
source_options = {{ path = "c.jsonl" }}
target_options = {{ path = "{target_path}" }}
[[entity.field]]
target = "id"
"#
            ),
        )
        .unwrap();
        crate::load_pipeline(&file).unwrap()
    }

    #[test]
    fn a_second_run_of_a_pipeline_or_of_its_target_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(".sluice");
        let a = pipeline(dir.path(), "a", "c.jsonl");
        let same_target = pipeline(dir.path(), "b", "c.jsonl");
        let other_target = pipeline(dir.path(), "c", "other.jsonl");

        let mut first = RunLocks::acquire(&data, &a, RunKind::Run, false, None).unwrap();
        first.set_run_id(12);
        assert!(pipeline_in_use(&data, "a").unwrap());
        assert!(!pipeline_in_use(&data, "b").unwrap());

        let Err(LockError::Busy(busy)) = RunLocks::acquire(&data, &a, RunKind::Replay, false, None)
        else {
            panic!("a second run of the pipeline got its lock");
        };
        assert_eq!(busy.what, "pipeline `a`");
        let holder = busy.holder.clone().unwrap();
        assert_eq!(
            (holder.run_id, holder.pid, holder.kind.as_str()),
            (Some(12), std::process::id(), "run")
        );
        let message = busy.to_string();
        assert!(
            message.contains("run 12 of pipeline `a` (run, process") && message.contains("--wait"),
            "{message}"
        );

        let Err(LockError::Busy(busy)) =
            RunLocks::acquire(&data, &same_target, RunKind::Run, false, None)
        else {
            panic!("another pipeline writing the same target got its lock");
        };
        assert!(
            busy.what
                .starts_with("the target of entity `contacts` (jsonl-file in "),
            "{}",
            busy.what
        );
        // A pipeline writing another file runs alongside.
        let other = RunLocks::acquire(&data, &other_target, RunKind::Run, false, None).unwrap();
        drop(other);

        // Once the first run ends, the next one gets the locks.
        drop(first);
        assert!(!pipeline_in_use(&data, "a").unwrap());
        RunLocks::acquire(&data, &same_target, RunKind::Run, false, None).unwrap();
    }

    #[test]
    fn a_waiting_run_starts_when_the_lock_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(".sluice");
        let a = pipeline(dir.path(), "a", "c.jsonl");
        let first = RunLocks::acquire(&data, &a, RunKind::Run, false, None).unwrap();
        let waiter = std::thread::spawn({
            let (data, a) = (data.clone(), a.clone());
            move || {
                let started = Instant::now();
                RunLocks::acquire(&data, &a, RunKind::Run, true, None).unwrap();
                started.elapsed()
            }
        });
        std::thread::sleep(Duration::from_millis(700));
        drop(first);
        assert!(waiter.join().unwrap() >= Duration::from_millis(600));
    }

    #[test]
    fn a_stop_ends_the_wait_for_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join(".sluice");
        let a = pipeline(dir.path(), "a", "c.jsonl");
        let _held = RunLocks::acquire(&data, &a, RunKind::Run, false, None).unwrap();
        let stop = std::sync::Arc::new(StopSignal::new());
        let waiter = std::thread::spawn({
            let (data, a, stop) = (data.clone(), a.clone(), stop.clone());
            move || RunLocks::acquire(&data, &a, RunKind::Run, true, Some(&stop))
        });
        std::thread::sleep(Duration::from_millis(300));
        stop.request(StopLevel::Drain, "the daemon is stopping (SIGTERM)");
        // The lock is still held: only the stop can end the wait.
        match waiter.join().unwrap() {
            Err(LockError::Stopped { what, why }) => {
                assert!(what.contains("pipeline `a`"), "{what}");
                assert!(why.contains("SIGTERM"), "{why}");
            }
            other => panic!("expected a stopped wait, got {other:?}"),
        }
    }

    #[test]
    fn lock_file_names_are_safe_and_distinct() {
        let a = pipeline_lock_file("../etc/passwd");
        assert!(a.starts_with("pipeline-___etc_passwd-") && !a.contains('/'));
        assert_ne!(pipeline_lock_file("a b"), pipeline_lock_file("a_b"));
    }

    #[test]
    fn a_directory_has_one_name_before_and_after_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        let before = absolute(&dir.path().join("a/../out/x"));
        std::fs::create_dir_all(dir.path().join("out/x")).unwrap();
        assert_eq!(before, absolute(&dir.path().join("out/x")));
    }

    #[test]
    fn utc_now_is_iso() {
        let now = utc_now();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
