//! Hot swap measurements (docs/PERFORMANCE.md, "Hot swap"): a run of
//! `--records` records in batches of `--batch-size` through a field
//! transformer named by store name (`casing`: the built-in `uppercase`
//! and `lowercase` installed as two versions), promoted back and forth
//! `--swaps` times while the run is in progress.
//!
//! ```sh
//! cargo bench --bench swap --profile test                    # 1,000,000 records, 1,000 swaps, batch 256
//! cargo bench --bench swap --profile test -- --records 100000 --swaps 100
//! ```
//!
//! It reports the swap latency (from `promote` returning to the first
//! batch on the new version, seen through `StoreEvent::Swapped`: median,
//! 95th percentile, maximum), the records lost or written twice, the
//! records not processed by exactly one version (every output is either
//! all capitals or all lowercase), the agreement of the outputs with the
//! run log's `run_step_versions`, and the resident memory after the first
//! and after the last swap. It exits 1 if a record was lost, written
//! twice or mixed.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use sluice::model::Progress;
use sluice::plugin::Registry;
use sluice::store::{PluginStore, StoreEvent};
use sluice::{Sluice, SluiceOptions, load_pipeline};

struct Args {
    records: usize,
    swaps: usize,
    batch_size: usize,
}

fn args() -> Args {
    let mut a = Args {
        records: 1_000_000,
        swaps: 1_000,
        batch_size: 256,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |what: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{what} N"))
        };
        match arg.as_str() {
            "--records" => a.records = value("--records"),
            "--swaps" => a.swaps = value("--swaps"),
            "--batch-size" => a.batch_size = value("--batch-size"),
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    a
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn builtin(dir: &Path, name: &str) -> std::path::PathBuf {
    let b = Registry::builtins()
        .iter()
        .find(|b| b.name == name)
        .expect("built-in");
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, b.bytes).unwrap();
    path
}

/// Swapped events seen so far: (when, the version swapped to).
#[derive(Default)]
struct Seen {
    events: Mutex<Vec<(Instant, String)>>,
    changed: Condvar,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join(".sluice");
    let sluice = Sluice::open(SluiceOptions {
        cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("swap-bench-cache")),
        ..SluiceOptions::new(&data_dir)
    })
    .expect("open");
    let store = PluginStore::new(&data_dir);
    let no_gate = |_: &_, _: &_| Ok(());
    let mut versions = Vec::new();
    for name in ["uppercase", "lowercase"] {
        let installed = store
            .install(
                sluice.runtime(),
                &builtin(dir.path(), name),
                Some("casing"),
                "bench",
                None,
                &[],
            )
            .expect("install");
        versions.push(installed.digest);
    }
    store
        .promote(
            sluice.runtime(),
            "casing",
            &versions[0],
            "bench",
            false,
            &[],
            &no_gate,
        )
        .expect("promote");

    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    let mut input =
        std::io::BufWriter::new(std::fs::File::create(dir.path().join("in/people.jsonl")).unwrap());
    for i in 0..a.records {
        writeln!(input, "{{\"id\":{i},\"name\":\"MiXeD{i}\"}}").unwrap();
    }
    input.flush().unwrap();
    drop(input);
    let pipeline = dir.path().join("pipeline.toml");
    std::fs::write(
        &pipeline,
        format!(
            r#"name = "swap-bench"
batch_size = {}

[source]
plugin = "jsonl-file"
dir = "in"

[target]
plugin = "jsonl-file"
dir = "out"

[[entity]]
name = "people"
key = "id"
source_options = {{ path = "people.jsonl" }}
target_options = {{ path = "people.jsonl" }}

[[entity.field]]
target = "id"

[[entity.field]]
target = "name"
transform = ["casing"]
"#,
            a.batch_size
        ),
    )
    .unwrap();

    let seen = Arc::new(Seen::default());
    let hook = seen.clone();
    sluice::store::on_event(move |e| {
        if let StoreEvent::Swapped { to, .. } = e {
            hook.events
                .lock()
                .unwrap()
                .push((Instant::now(), to.clone()));
            hook.changed.notify_all();
        }
    });

    let loaded = load_pipeline(&pipeline).expect("pipeline");
    let progress = Arc::new(Progress::default());
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut rss_after_first = 0;
    let mut rss_after_last = 0;
    let summary = std::thread::scope(|s| {
        let p = progress.clone();
        let sluice = &sluice;
        let loaded = &loaded;
        let run = s.spawn(move || sluice.run_with_progress(loaded, p).expect("run"));
        while progress.snapshot().loaded == 0 && !run.is_finished() {
            std::thread::sleep(Duration::from_millis(1));
        }
        for i in 0..a.swaps {
            if run.is_finished() {
                break;
            }
            let to = &versions[(i + 1) % 2];
            let before = seen.events.lock().unwrap().len();
            store
                .promote(
                    sluice.runtime(),
                    "casing",
                    to,
                    "bench",
                    false,
                    &[],
                    &no_gate,
                )
                .expect("promote");
            let promoted = Instant::now();
            let mut events = seen.events.lock().unwrap();
            loop {
                if let Some((at, _)) = events[before..].iter().find(|(_, d)| d == to) {
                    latencies.push(at.saturating_duration_since(promoted));
                    break;
                }
                let (e, timeout) = seen
                    .changed
                    .wait_timeout(events, Duration::from_millis(200))
                    .unwrap();
                events = e;
                if timeout.timed_out() && run.is_finished() {
                    break;
                }
            }
            drop(events);
            if i == 0 {
                rss_after_first = rss_kib();
            }
            rss_after_last = rss_kib();
        }
        run.join().unwrap()
    });
    let elapsed = started.elapsed();

    // Every record once, by exactly one version; the run log agrees.
    let out = std::fs::read_to_string(dir.path().join("out/people.jsonl")).unwrap();
    let mut ids = HashSet::new();
    let (mut duplicates, mut mixed, mut upper) = (0u64, 0u64, 0u64);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_i64().unwrap();
        if !ids.insert(id) {
            duplicates += 1;
        }
        let name = v["name"].as_str().unwrap();
        if name == format!("MIXED{id}") {
            upper += 1;
        } else if name != format!("mixed{id}") {
            mixed += 1;
        }
    }
    let lost = a.records as u64 - ids.len() as u64;
    let steps = sluice
        .run_log()
        .unwrap()
        .step_versions(summary.run_id)
        .unwrap();
    let upper_in_log: u64 = steps
        .iter()
        .filter(|s| s.digest == versions[0])
        .map(|s| s.records)
        .sum();
    let log_total: u64 = steps.iter().map(|s| s.records).sum();

    latencies.sort();
    println!(
        "records {}  batch size {}  run {:.1} s  ({:.0} records/s)  status {}",
        a.records,
        a.batch_size,
        elapsed.as_secs_f64(),
        a.records as f64 / elapsed.as_secs_f64(),
        summary.status
    );
    println!(
        "swaps {} of {} asked  ({} stretches in run_step_versions)",
        latencies.len(),
        a.swaps,
        steps.len()
    );
    println!(
        "swap latency (promote returned -> first batch on the new version): median {:.1} ms  p95 {:.1} ms  max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "lost {lost}  written twice {duplicates}  not exactly one version {mixed}  uppercase {upper} (run log {upper_in_log})  run log records {log_total}"
    );
    println!(
        "RSS after the first swap {} MiB  after the last {} MiB",
        rss_after_first / 1024,
        rss_after_last / 1024
    );
    let ok = lost == 0
        && duplicates == 0
        && mixed == 0
        && upper == upper_in_log
        && log_total == a.records as u64;
    if !ok {
        eprintln!("FAILED: a record was lost, written twice or mixed, or the run log disagrees");
        std::process::exit(1);
    }
}
