//! Crash safety: `sluice` killed with SIGKILL at seeded random points of
//! `run`, `dlq replay`, `review approve` and `rerun`, then run to the end.
//!
//! After every kill: no record is in the target twice, no dead-letter
//! entry is resolved as loaded for a record the target does not hold, and
//! the run log passes `PRAGMA integrity_check`. At the end, every source
//! record is in the target exactly once or open in the DLQ (or skipped),
//! and no run is left `running`.
//!
//! The kill points come from one seed, printed by each test
//! (`SLUICE_CRASH_SEED=N` replays it; timing still varies a little).
//! `SLUICE_CRASH_KILLS=N` sets the kills per command (default: about 32 in
//! all, a minute or two on two cores).

mod interrupted;
mod one_run_at_a_time;
mod replay;
mod rerun;
mod review_approve;
mod run;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::support::{TestEnv, jsonl, stderr, stdout, test_plugin};

/// Source records of every scenario.
pub const RECORDS: usize = 3_000;

/// Records whose email is invalid: they fail under [`pipeline`]`(true, …)`.
pub fn invalid(i: usize) -> bool {
    i % 2 == 1
}

pub fn key(i: usize) -> String {
    format!("k{i:05}")
}

/// The source file: `RECORDS` contacts, half of them with a broken email.
pub fn contacts() -> String {
    (0..RECORDS)
        .map(|i| {
            let email = if invalid(i) {
                format!("person{i}.example.com")
            } else {
                format!("person{i}@example.com")
            };
            format!("{}\n", serde_json::json!({"id": key(i), "email": email}))
        })
        .collect()
}

/// A pipeline writing `out/contacts.jsonl` idempotently (append, by `id`).
/// With `validate`, emails are checked and the broken ones fail; without,
/// they pass (the "fixed" pipeline replays use). `extra` goes at the top
/// (`[errors]` settings). With `slow_ms`, every batch takes that long (so
/// that a kill lands while records are being written).
pub fn pipeline(validate: bool, incremental: bool, extra: &str, slow_ms: u64) -> String {
    let email = if validate {
        r#"["trim", "email"]"#
    } else {
        r#"["trim"]"#
    };
    let id = if slow_ms > 0 {
        format!(
            "[{{ plugin = {:?}, options = {{ behaviour = \"slow\", slow_ms = {slow_ms} }} }}]",
            test_plugin().display().to_string()
        )
    } else {
        "[]".to_owned()
    };
    format!(
        r#"name = "crashy"
batch_size = 10
{extra}

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"
options = {{ mode = "append", key_field = "id" }}

[[entity]]
name = "contacts"
key = "id"
incremental = {incremental}
source_options = {{ path = "contacts.jsonl" }}
target_options = {{ path = "contacts.jsonl" }}

[[entity.field]]
target = "id"
transform = {id}

[[entity.field]]
target = "email"
transform = {email}
"#
    )
}

/// The seed of this test's kill points: `SLUICE_CRASH_SEED`, or a fresh
/// one. Printed so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("SLUICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("{test}: crash seed {seed} (rerun with SLUICE_CRASH_SEED={seed})");
    seed
}

/// Kills per command: `SLUICE_CRASH_KILLS`, or `default`.
pub fn kills(default: usize) -> usize {
    std::env::var("SLUICE_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// When to kill a `sluice` process.
#[derive(Clone, Copy, Debug)]
pub enum Kill {
    /// Never: let it finish.
    Never,
    /// This long after it started.
    After(Duration),
    /// Once the target file has at least this many lines.
    AtLines(usize),
    /// Once the run log has more entries resolved as loaded than this (the
    /// moment a resolution that ran ahead of the target would show).
    AtResolved(usize),
}

impl Kill {
    /// A random kill point for a command that writes to a target that has
    /// `written` lines, and resolves entries when `resolves` (`resolved` so
    /// far): at a random time from its start (start-up included), once a
    /// few more lines reached the target, or once it resolved some more.
    /// The steps are small next to the work of a command (1,500 records to
    /// replay), so a fast machine still gets its budget of kills in before
    /// the work runs out.
    pub fn random(rng: &mut fastrand::Rng, written: usize, resolves: Option<usize>) -> Kill {
        match (rng.u8(0..3), resolves) {
            (0, _) => Kill::After(Duration::from_millis(rng.u64(10..400))),
            (1, Some(resolved)) => Kill::AtResolved(resolved + rng.usize(0..100)),
            _ => Kill::AtLines(written + rng.usize(1..=120)),
        }
    }
}

/// Run `args` and kill it at random points until `budget` processes were
/// killed part-way, or `done` says nothing is left to do; after each kill,
/// [`check_after_kill`]. `resolves`: whether the command resolves entries.
/// Returns how many were killed.
pub fn kill_repeatedly(
    env: &TestEnv,
    rng: &mut fastrand::Rng,
    budget: usize,
    resolves: bool,
    mut args: impl FnMut() -> Vec<String>,
    mut done: impl FnMut() -> bool,
) -> usize {
    let mut killed = 0;
    for attempt in 0..budget * 3 {
        if killed == budget || done() {
            break;
        }
        let written = lines_written(env);
        let resolved = resolves.then(|| watch(env).map_or(0, |c| resolved_loaded(&c)));
        let kill = Kill::random(rng, written, resolved);
        let args = args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if !run_or_kill(env, &args, kill) {
            killed += 1;
        }
        check_after_kill(
            env,
            &format!("{} attempt {attempt} ({kill:?})", args[..2].join(" ")),
        );
    }
    killed
}

/// The target's lines.
pub fn lines_written(env: &TestEnv) -> usize {
    std::fs::read(env.path().join("out/contacts.jsonl"))
        .map(|t| t.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0)
}

/// A read-only connection to the run log, for watching it while `sluice`
/// writes.
pub fn watch(env: &TestEnv) -> Option<Connection> {
    let path = env.data_dir().join("runs.db");
    if !path.exists() {
        return None;
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    Some(conn)
}

/// A connection to the run log for checking it once no `sluice` runs: read
/// and write (never create), so that SQLite can roll back the journal a
/// killed process left behind, as the next `sluice` command would; a
/// read-only connection refuses such a database (`SQLITE_READONLY_ROLLBACK`).
pub fn inspect(env: &TestEnv) -> Option<Connection> {
    let path = env.data_dir().join("runs.db");
    if !path.exists() {
        return None;
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
    conn.busy_timeout(Duration::from_secs(5)).ok()?;
    Some(conn)
}

/// Entries resolved as loaded so far.
pub fn resolved_loaded(conn: &Connection) -> usize {
    conn.query_row(
        "SELECT count(*) FROM dlq WHERE status = 'resolved' AND resolution = 'loaded'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap_or(0) as usize
}

/// Run `sluice args` and kill it (SIGKILL) as `kill` says, unless it ends
/// first. True if it ran to the end (with an exit code of a finished run).
pub fn run_or_kill(env: &TestEnv, args: &[&str], kill: Kill) -> bool {
    let mut child = env
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut conn = None;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut err);
            }
            assert!(
                matches!(status.code(), Some(0 | 3)),
                "sluice {args:?} ended with {status}: {err}"
            );
            return true;
        }
        let due = match kill {
            Kill::Never => false,
            Kill::After(after) => started.elapsed() >= after,
            Kill::AtLines(n) => lines_written(env) >= n,
            Kill::AtResolved(n) => {
                if conn.is_none() {
                    conn = watch(env);
                }
                conn.as_ref().is_some_and(|c| resolved_loaded(c) > n)
            }
        };
        if due {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            eprintln!(
                "  sluice {} killed after {} ms ({kill:?}); the target has {} lines",
                args[..2].join(" "),
                started.elapsed().as_millis(),
                lines_written(env)
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Target keys and how often each was written.
pub fn target_keys(env: &TestEnv) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    let text = std::fs::read_to_string(env.path().join("out/contacts.jsonl")).unwrap_or_default();
    // A process killed mid-write can leave a last line unfinished; the
    // target cuts it off when it next opens the file.
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    for r in jsonl(complete) {
        *seen
            .entry(r["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    seen
}

/// What must hold after every kill: no record twice in the target, no
/// entry resolved as loaded whose record the target lacks, an intact run
/// log. `when` says which kill, for messages.
pub fn check_after_kill(env: &TestEnv, when: &str) {
    let target = target_keys(env);
    let twice: Vec<_> = target.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{when}: written twice: {twice:?}");
    let Some(conn) = inspect(env) else { return };
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{when}: run log integrity");
    let has_dlq: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'dlq'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if !has_dlq {
        // Killed before the run log was first set up (its migration is one
        // transaction, so nothing of it was kept).
        return;
    }
    let mut stmt = conn
        .prepare(
            "SELECT record_key, resolved_by_run FROM dlq WHERE status = 'resolved' AND resolution = 'loaded'",
        )
        .unwrap();
    let lost: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .filter(|(k, _)| !target.contains_key(k))
        .collect();
    assert!(
        lost.is_empty(),
        "{when}: {} entries resolved as loaded but not in the target, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

/// What must hold at the end: every source key is in the target exactly
/// once or has an open DLQ entry (the broken ones, when `broken_open`),
/// not both; no run is left `running` once `sluice runs` has looked; and
/// each interrupted run balances.
pub fn check_final(env: &TestEnv, broken_open: bool) {
    check_after_kill(env, "at the end");
    let target = target_keys(env);
    let conn = inspect(env).unwrap();
    let mut stmt = conn
        .prepare("SELECT record_key FROM dlq WHERE status = 'open'")
        .unwrap();
    let open: HashSet<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for i in 0..RECORDS {
        let k = key(i);
        let expect_open = broken_open && invalid(i);
        assert_eq!(
            (target.contains_key(&k), open.contains(&k)),
            (!expect_open, expect_open),
            "record {k}: (in the target, open in the DLQ)"
        );
    }
    assert_eq!(target.len() + open.len(), RECORDS);

    let out = env.cli(&["runs", "--json", "--limit", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    for run in &runs {
        let status = run["status"].as_str().unwrap();
        assert_ne!(status, "running", "{run}");
        let n = |f: &str| run[f].as_i64().unwrap();
        if status == "interrupted" {
            assert_eq!(
                n("extracted"),
                n("loaded") + n("failed") + n("skipped"),
                "{run}"
            );
        }
    }
}
