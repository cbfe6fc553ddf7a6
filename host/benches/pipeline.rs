//! Sluice benchmarks: every pipeline against the plain-Rust limit (one
//! thread reading, parsing, mapping and writing the same records without
//! Sluice), the reference pipeline against Sluice's identity pipeline and
//! against native Rust, plugin call overhead, cold start, and run-log
//! overhead. The data is generated deterministically; every figure comes
//! from the same process so the ratios hold on a noisy machine.
//!
//! ```sh
//! cargo bench --bench pipeline                 # 100,000 records, median of 3
//! cargo bench --bench pipeline -- --quick      # small data, one iteration (CI)
//! cargo bench --bench pipeline -- --records 20000 --iterations 5
//! cargo bench --bench pipeline -- --pipelines-only   # pipelines only
//! cargo bench --bench pipeline -- --only identity    # one pipeline (and the limit), for `perf record`
//! cargo bench --bench pipeline -- --only identity,reference --records 10000000 --iterations 1
//! cargo bench --bench pipeline -- --only reference --cache-dir /tmp/c  # reuse compiled plugins (profiling)
//! cargo bench --bench pipeline -- --only reference --warmup 0 --records 20000 --iterations 1  # under callgrind
//! ```
//!
//! Each pipeline row reports records/s, MB/s, its throughput against the
//! plain-Rust limit of the same iteration, and the process's resident
//! memory (peak during the run, and at its end) from `/proc/self/status`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::bindings::Normalized;
use sluice::bindings::{ErrorCategory, PluginError, Value};
use sluice::plugin::{
    Artifact, Grants, Limits, NormalizerPlugin, Origin, Registry, Runtime, Sandbox,
    TransformerPlugin, WorldBinding,
};
use sluice::run::native::{NativeNormalize, NativeTransform};
use sluice::run::{Plan, run_plan};
use sluice::{Sluice, SluiceOptions, load_pipeline};

struct Args {
    records: usize,
    iterations: usize,
    quick: bool,
    pipelines_only: bool,
    /// Run only these pipelines (identity, reference, native, failing; a
    /// comma-separated list), each next to the plain-Rust limit, or only
    /// the run-log writer (runlog: a tenth of `--records` errors; ledger:
    /// `--records` loaded records into the target key ledger), for
    /// profiling and for runs at other sizes.
    only: Option<Vec<String>>,
    /// Keep compiled plugins here between runs (default: a fresh temporary
    /// directory, so every run compiles), for profiling runs that should
    /// not spend their time in the compiler.
    cache_dir: Option<PathBuf>,
    /// Records of the warm-up run that compiles every plugin before anything
    /// is timed (0 skips it: then every stage thread's instruction count is
    /// for `--records` records exactly, which callgrind runs need).
    warmup: usize,
}

fn args() -> Args {
    let mut a = Args {
        records: 100_000,
        iterations: 3,
        quick: false,
        pipelines_only: false,
        only: None,
        cache_dir: None,
        warmup: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => {
                a.quick = true;
                a.records = 2_000;
                a.iterations = 1;
            }
            "--pipelines-only" => a.pipelines_only = true,
            "--only" => {
                let list = it
                    .next()
                    .expect("--only identity|reference|native|failing|runlog[,...]");
                a.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "--cache-dir" => a.cache_dir = Some(it.next().expect("--cache-dir DIR").into()),
            "--warmup" => a.warmup = it.next().and_then(|v| v.parse().ok()).expect("--warmup N"),
            "--records" => a.records = it.next().and_then(|v| v.parse().ok()).expect("--records N"),
            "--iterations" => {
                a.iterations = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--iterations N")
            }
            // `cargo bench` passes `--bench`; ignore it and unknown filters.
            _ => {}
        }
    }
    a
}

/// A Sluice pipeline the benchmark runs, by its `--only` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pipeline {
    Identity,
    Reference,
    Native,
    Failing,
}

impl Pipeline {
    const ALL: [Pipeline; 4] = [
        Pipeline::Identity,
        Pipeline::Reference,
        Pipeline::Native,
        Pipeline::Failing,
    ];

    fn parse(name: &str) -> Pipeline {
        match name {
            "identity" => Pipeline::Identity,
            "reference" => Pipeline::Reference,
            "native" => Pipeline::Native,
            "failing" => Pipeline::Failing,
            other => {
                panic!(
                    "--only {other}: expected identity, reference, native, failing, runlog or ledger"
                )
            }
        }
    }

    /// Its pipeline file and whether its plugins are swapped for native Rust.
    fn file(self) -> (&'static str, bool) {
        match self {
            Pipeline::Identity => ("identity.toml", false),
            Pipeline::Reference => ("reference.toml", false),
            Pipeline::Native => ("reference.toml", true),
            Pipeline::Failing => ("reference-failing.toml", false),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Pipeline::Identity => "Sluice identity (8 mapped fields, no plugins between)",
            Pipeline::Reference => "reference (3 normalizers, 8 fields x 2 transformers, WASM)",
            Pipeline::Native => "reference, native Rust transforms",
            Pipeline::Failing => "reference, 10% of records failing",
        }
    }
}

/// The eight fields every pipeline maps, in the source's spelling.
const FIELDS: [&str; 8] = [
    "ID",
    "FirstName",
    "LastName",
    "EmailAddress",
    "Phone",
    "Company",
    "Title",
    "Country",
];

fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let only = args.only.clone().unwrap_or_default();
    let runlog_only = only.iter().any(|o| o == "runlog");
    let ledger_only = only.iter().any(|o| o == "ledger");
    let pipelines: Vec<Pipeline> = if only.is_empty() {
        Pipeline::ALL.to_vec()
    } else {
        only.iter()
            .filter(|o| *o != "runlog" && *o != "ledger")
            .map(|o| Pipeline::parse(o))
            .collect()
    };
    let clean = generate(&root.join("in/contacts.jsonl"), args.records, 0);
    if pipelines.contains(&Pipeline::Failing) {
        generate(&root.join("in-failing/contacts.jsonl"), args.records, 10);
    }
    // A small input to compile every plugin once before anything is timed.
    generate(&root.join("warm/contacts.jsonl"), args.warmup, 0);
    write_pipelines(root, clean);
    let sluice = Sluice::open(SluiceOptions {
        data_dir: root.join(".sluice"),
        cache_dir: Some(args.cache_dir.clone().unwrap_or_else(|| root.join("cache"))),
        plugin_path: Vec::new(),
        actor: None,
    })
    .expect("open sluice");

    println!(
        "# Sluice benchmarks: {} records ({:.1} MB JSONL), median of {} run(s){}\n",
        args.records,
        clean as f64 / 1e6,
        args.iterations,
        if args.quick { ", quick mode" } else { "" }
    );
    if ledger_only && pipelines.is_empty() && !runlog_only {
        for _ in 0..args.iterations {
            ledger_writer(root, args.records);
        }
        return;
    }
    // Compile every plugin once so pipelines measure steady state.
    if args.warmup > 0 {
        run(&sluice, &root.join("warmup.toml"), false);
    }
    if runlog_only && pipelines.is_empty() {
        for _ in 0..args.iterations {
            runlog_writer(root, args.records / 10);
        }
        return;
    }

    // Interleave the pipelines in every iteration so that drift of a noisy
    // machine hits all of them alike; ratios are taken within an iteration
    // (paired), then their median is reported with their range. The
    // plain-Rust limit runs first in every iteration.
    let input = root.join("in/contacts.jsonl");
    let plain_out = root.join("plain/contacts.jsonl");
    let mut limit: Vec<Sample> = Vec::new();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); pipelines.len()];
    for iteration in 0..args.iterations {
        limit.push(measure(|| plain_rust(&input, &plain_out)));
        for (pipeline, runs) in pipelines.iter().zip(&mut samples) {
            let (file, native) = pipeline.file();
            runs.push(measure(|| run(&sluice, &root.join(file), native)));
            if args.only.is_some() {
                println!(
                    "{:?}: {:.3} s (plain Rust {:.3} s)",
                    pipeline,
                    runs.last().unwrap().wall.as_secs_f64(),
                    limit.last().unwrap().wall.as_secs_f64()
                );
            }
            if iteration == 0 && *pipeline == Pipeline::Identity {
                // Same data, same mapping: the same bytes out.
                assert_same_file(&plain_out, &root.join("out/contacts.jsonl"));
            }
        }
    }

    println!("\n## Pipelines against the plain-Rust limit\n");
    println!(
        "| pipeline | time | CPU time | records/s | MB/s | throughput vs plain Rust | peak RSS | RSS at end |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, runs: &[Sample]| {
        let wall = median(runs.iter().map(|s| s.wall.as_secs_f64()).collect());
        let cpu = median(runs.iter().map(|s| s.cpu.as_secs_f64()).collect());
        let vs = median(
            runs.iter()
                .zip(&limit)
                .map(|(s, l)| l.wall.as_secs_f64() / s.wall.as_secs_f64())
                .collect(),
        );
        let peak = runs.iter().map(|s| s.peak_rss).max().unwrap_or(0);
        let end = median(runs.iter().map(|s| s.end_rss as f64).collect());
        println!(
            "| {name} | {wall:.3} s | {cpu:.2} s | {:.0} | {:.1} | {:.0}% | {:.0} MiB | {:.0} MiB |",
            args.records as f64 / wall,
            clean as f64 / 1e6 / wall,
            100.0 * vs,
            peak as f64 / 1048576.0,
            end / 1048576.0,
        );
    };
    row(
        "plain Rust, one thread (read lines, serde_json map, 8 fields, write; no Sluice)",
        &limit,
    );
    for (pipeline, runs) in pipelines.iter().zip(&samples) {
        row(pipeline.label(), runs);
    }
    let find = |p: Pipeline| {
        pipelines
            .iter()
            .position(|q| *q == p)
            .map(|i| samples[i].as_slice())
    };
    // Per-iteration ratios of `a`'s wall time to `b`'s.
    let ratio = |a: &[Sample], b: &[Sample]| -> Vec<f64> {
        a.iter()
            .zip(b)
            .map(|(a, b)| a.wall.as_secs_f64() / b.wall.as_secs_f64())
            .collect()
    };
    let report = |label: &str, values: Vec<f64>, show: &dyn Fn(f64) -> String| {
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "- {label}: {} (per-iteration range {} to {})",
            show(median(values)),
            show(low),
            show(high)
        );
    };
    let percent = |r: f64| format!("{:.0}%", 100.0 * r);
    println!();
    for p in Pipeline::ALL {
        if let Some(runs) = find(p) {
            let label = format!("{p:?} / plain Rust (throughput)");
            report(&label, ratio(&limit, runs), &percent);
        }
    }
    if let (Some(identity), Some(reference)) = (find(Pipeline::Identity), find(Pipeline::Reference))
    {
        report(
            "reference / identity (throughput)",
            ratio(identity, reference),
            &percent,
        );
    }
    if let (Some(wasm), Some(native)) = (find(Pipeline::Reference), find(Pipeline::Native)) {
        report("WASM / native (time)", ratio(wasm, native), &|r| {
            format!("{r:.2}x")
        });
    }
    if let (Some(failing), Some(reference)) = (find(Pipeline::Failing), find(Pipeline::Reference)) {
        report(
            "run-log overhead at 10% failures",
            ratio(failing, reference),
            &|r| format!("{:+.1}%", 100.0 * (r - 1.0)),
        );
    }
    println!();

    if runlog_only {
        for _ in 0..args.iterations {
            runlog_writer(root, (args.records / 10).max(1));
        }
    }
    if !args.pipelines_only && args.only.is_none() {
        call_overhead(&sluice, args.quick);
        cold_start(root, args.quick);
        println!("## Run-log writer (a tenth of the records failing, new entries then updates)\n");
        for _ in 0..2 {
            runlog_writer(root, (args.records / 10).max(1));
        }
        println!();
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One pipeline run: wall-clock time, the CPU time of the whole process
/// (all threads, user and system) over it, and the process's resident
/// memory: its peak during the run and what it held at the end.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    /// Peak resident set during the run, in bytes (`VmHWM`, reset before
    /// the run through `/proc/self/clear_refs`).
    peak_rss: u64,
    /// Resident set after the run, in bytes (`VmRSS`).
    end_rss: u64,
}

fn measure(f: impl FnOnce() -> Duration) -> Sample {
    // Reset the peak resident set so it is this run's peak; where this is
    // not allowed, the peak is the process's so far.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = process_cpu();
    let wall = f();
    let cpu = process_cpu().saturating_sub(before);
    Sample {
        wall,
        cpu,
        peak_rss: status_kib("VmHWM") * 1024,
        end_rss: status_kib("VmRSS") * 1024,
    }
}

/// A `kB` field of `/proc/self/status`; zero where there is none.
fn status_kib(field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system time of this process so far, from `/proc/self/stat`
/// (clock ticks of 10 ms); zero where that file does not exist.
fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th of them.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The physical limit: what one thread of plain Rust does with the same
/// data and the same mapping, without Sluice. Read the file line by line,
/// parse each line with serde_json into a map, build a new map of the 8
/// mapped fields (a missing one becomes `null`, as in Sluice), serialize
/// it, write it as a line, and sync the file at the end as the `jsonl-file`
/// target does at its commit.
fn plain_rust(input: &Path, output: &Path) -> Duration {
    use std::io::{BufRead, BufReader, BufWriter, Write};
    type Map = serde_json::Map<String, serde_json::Value>;

    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    let started = Instant::now();
    let reader = BufReader::new(std::fs::File::open(input).expect("input"));
    let mut out = BufWriter::new(std::fs::File::create(output).expect("output"));
    for line in reader.lines() {
        let line = line.expect("read");
        if line.trim().is_empty() {
            continue;
        }
        let mut record: Map = serde_json::from_str(&line).expect("an object");
        let mut mapped = Map::new();
        for field in FIELDS {
            let value = record.remove(field).unwrap_or(serde_json::Value::Null);
            mapped.insert(field.to_owned(), value);
        }
        serde_json::to_writer(&mut out, &mapped).expect("write");
        out.write_all(b"\n").expect("write");
    }
    let file = out.into_inner().expect("flush");
    file.sync_all().expect("sync");
    started.elapsed()
}

/// Panics unless the two files hold the same bytes (read in chunks: the
/// files may be gigabytes).
fn assert_same_file(a: &Path, b: &Path) {
    use std::io::Read;
    let mut a_file = std::fs::File::open(a).expect("open");
    let mut b_file = std::fs::File::open(b).expect("open");
    let (mut a_buf, mut b_buf) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a_file, &mut a_buf);
        let m = read_full(&mut b_file, &mut b_buf);
        assert!(
            n == m && a_buf[..n] == b_buf[..m],
            "{} and {} differ: the plain-Rust limit and the identity pipeline must write the same records",
            a.display(),
            b.display()
        );
        if n == 0 {
            return;
        }
    }
    fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> usize {
        let mut filled = 0;
        while filled < buf.len() {
            match file.read(&mut buf[filled..]).expect("read") {
                0 => break,
                n => filled += n,
            }
        }
        filled
    }
}

/// Run a pipeline file; with `native`, swap every transformer and normalizer
/// for its plain-Rust stand-in first.
fn run(sluice: &Sluice, pipeline: &Path, native: bool) -> Duration {
    let loaded = load_pipeline(pipeline).expect("pipeline loads");
    let started = Instant::now();
    let summary = if native {
        let mut plan = Plan::build(&loaded, sluice.runtime(), sluice.registry()).expect("plan");
        plan.use_native(native_transform, native_normalize);
        run_plan(sluice, &loaded, plan, Arc::default()).expect("run")
    } else {
        sluice.run(&loaded).expect("run")
    };
    let elapsed = started.elapsed();
    assert_eq!(
        summary.totals.extracted,
        summary.totals.loaded + summary.totals.failed + summary.totals.skipped
    );
    elapsed
}

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Write `count` contacts of about 300 bytes; `failing_percent` of them get
/// an invalid email. Returns the file size.
fn generate(path: &Path, count: usize, failing_percent: u64) -> u64 {
    const FIRST: &[&str] = &[
        "Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Tim", "Radia",
    ];
    const LAST: &[&str] = &[
        "Lovelace",
        "Hopper",
        "Torvalds",
        "Hamilton",
        "Thompson",
        "Liskov",
        "Ritchie",
        "Allen",
        "Berners-Lee",
        "Perlman",
    ];
    const COMPANY: &[&str] = &[
        "Acme Corp",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Stark Industries",
        "Wayne Enterprises",
    ];
    const TITLE: &[&str] = &[
        "Engineer",
        "Director of Sales",
        "Account Executive",
        "CTO",
        "Data Scientist",
        "Office Manager",
    ];
    const COUNTRY: &[&str] = &["us", "gb", "de", "fr", "ca", " au "];
    use std::io::Write;
    let mut rng = Rng(0x5EED_5EED_5EED_5EED);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Streamed: at 10 million records the file is about 3 GB.
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut size = 0u64;
    for i in 0..count {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let email = if rng.next() % 100 < failing_percent {
            format!("{first}.{last} at example.com")
        } else {
            format!("  {first}.{last}{i}@Example.COM ")
        };
        let record = serde_json::json!({
            "ID": format!(" c{i:07} "),
            "FirstName": format!(" {first}"),
            "LastName": format!("{last} "),
            "EmailAddress": email,
            "Phone": if i % 5 == 0 { String::new() } else { format!("+1 415 {:03} {:04}", 200 + rng.next() % 700, rng.next() % 10_000) },
            "Company": rng.pick(COMPANY),
            "Title": rng.pick(TITLE),
            "Country": rng.pick(COUNTRY),
            "Notes": "Met at the spring conference; follow up about the renewal, pricing and the integration timeline.",
        });
        let line = record.to_string();
        out.write_all(line.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
        size += line.len() as u64 + 1;
    }
    out.flush().unwrap();
    size
}

/// The target and entity; `{quota}` is the target's write quota.
const HEADER: &str = r#"
[target]
plugin = "jsonl-file"
dir = "out"
write_quota_mb = {quota}

[[entity]]
name = "contacts"
source_options = { path = "contacts.jsonl" }
target_options = { path = "contacts.jsonl" }
"#;

/// The pipeline files. The target's write quota (a sandbox limit, 1 GiB
/// by default) is sized to the input: at 10 million records the output
/// is about 1.7 GB.
fn write_pipelines(root: &Path, input_bytes: u64) {
    let quota = (input_bytes >> 20).max(1024) * 2;
    let header = HEADER.replace("{quota}", &quota.to_string());
    let header = header.as_str();
    let source = |dir: &str| format!("[source]\nplugin = \"jsonl-file\"\ndir = \"{dir}\"\n");
    let identity_fields: String = FIELDS
        .iter()
        .map(|f| format!("\n[[entity.field]]\ntarget = \"{f}\"\n"))
        .collect();
    std::fs::write(
        root.join("identity.toml"),
        format!(
            "name = \"identity\"\n{}{header}{identity_fields}",
            source("in")
        ),
    )
    .unwrap();
    let reference_body = r#"
[[entity.normalize]]
plugin = "reshape"
options = { trim_keys = true, lowercase_keys = true }

[[entity.normalize]]
plugin = "reshape"
options = { rename = { "firstname" = "first_name", "lastname" = "last_name", "emailaddress" = "email" } }

[[entity.normalize]]
plugin = "reshape"
options = { drop = ["notes"] }

[[entity.field]]
target = "id"
transform = ["trim", "uppercase"]

[[entity.field]]
target = "first_name"
transform = ["trim", { plugin = "truncate", options = { max_length = 40 } }]

[[entity.field]]
target = "last_name"
transform = ["trim", { plugin = "truncate", options = { max_length = 40 } }]

[[entity.field]]
target = "email"
transform = ["trim", "email"]

[[entity.field]]
target = "phone"
transform = ["trim", { plugin = "default", options = { value = "unknown" } }]

[[entity.field]]
target = "company"
transform = ["trim", { plugin = "truncate", options = { max_length = 60 } }]

[[entity.field]]
target = "title"
transform = ["trim", "lowercase"]

[[entity.field]]
target = "country"
transform = ["trim", "uppercase"]
"#;
    // The failing run is its own pipeline: under the reference's name, its
    // dead-lettered records would be resolved by the next reference run,
    // charging that run for the failing run's errors.
    // The warm-up compiles every plugin on a small input before anything
    // is timed.
    for (name, dir) in [
        ("reference", "in"),
        ("reference-failing", "in-failing"),
        ("warmup", "warm"),
    ] {
        std::fs::write(
            root.join(format!("{name}.toml")),
            format!("name = \"{name}\"\n{}{header}{reference_body}", source(dir)),
        )
        .unwrap();
    }
}

fn text_map(
    values: &[Value],
    f: impl Fn(&str) -> Result<Value, PluginError>,
) -> Vec<Result<Value, PluginError>> {
    values
        .iter()
        .map(|v| match v {
            Value::Text(s) => f(s),
            other => Ok(other.clone()),
        })
        .collect()
}

/// The reference pipeline's transformers, in plain Rust, with the same
/// semantics as the built-in plugins.
fn native_transform(role: &str) -> Option<NativeTransform> {
    let (field, step) = role.strip_prefix("transform:contacts.")?.split_once('#')?;
    let f: NativeTransform = match (field, step) {
        (_, "1") => Box::new(|v: &[Value]| text_map(v, |s| Ok(Value::Text(s.trim().to_owned())))),
        ("id" | "country", _) => {
            Box::new(|v: &[Value]| text_map(v, |s| Ok(Value::Text(s.to_uppercase()))))
        }
        ("title", _) => Box::new(|v: &[Value]| text_map(v, |s| Ok(Value::Text(s.to_lowercase())))),
        ("first_name" | "last_name" | "company", _) => {
            let max = if field == "company" { 60 } else { 40 };
            Box::new(move |v: &[Value]| {
                text_map(v, |s| Ok(Value::Text(s.chars().take(max).collect())))
            })
        }
        ("phone", _) => Box::new(|v: &[Value]| {
            v.iter()
                .map(|v| match v {
                    Value::Null => Ok(Value::Text("unknown".into())),
                    Value::Text(s) if s.trim().is_empty() => Ok(Value::Text("unknown".into())),
                    other => Ok(other.clone()),
                })
                .collect()
        }),
        ("email", _) => Box::new(|v: &[Value]| {
            text_map(v, |s| {
                let s = s.trim();
                match email_address::EmailAddress::from_str(s) {
                    Ok(_) => Ok(Value::Text(s.to_lowercase())),
                    Err(e) => Err(PluginError {
                        category: ErrorCategory::Validation,
                        code: "invalid-email".into(),
                        message: format!("{s:?} is not a valid email address: {e}"),
                        field: None,
                        retryable: false,
                        retry_after_ms: None,
                    }),
                }
            })
        }),
        _ => return None,
    };
    Some(f)
}

type Fields<'a> = Vec<sluice_sdk::Field<'a>>;

/// Runs `f` on each record's top-level fields, values left as JSON text,
/// as the `reshape` plugin does when it does not flatten.
fn reshape(
    records: &[String],
    f: impl Fn(Fields<'_>) -> Fields<'_>,
) -> Vec<Result<Normalized, PluginError>> {
    records
        .iter()
        .map(|r| {
            let mut fields = f(sluice_sdk::parse_fields(r).expect("records are objects"));
            fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            Ok(Normalized::Keep(sluice_sdk::write_fields(&fields)))
        })
        .collect()
}

/// The reference pipeline's normalizers, in plain Rust.
fn native_normalize(role: &str) -> Option<NativeNormalize> {
    let f: NativeNormalize = match role {
        "normalize:contacts#1" => Box::new(|r: &[String]| {
            reshape(r, |fields| {
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let key = k.trim();
                        if key.len() == k.len()
                            && key.is_ascii()
                            && !key.bytes().any(|b| b.is_ascii_uppercase())
                        {
                            (k, v)
                        } else {
                            (Cow::Owned(key.to_lowercase()), v)
                        }
                    })
                    .collect()
            })
        }),
        "normalize:contacts#2" => Box::new(|r: &[String]| {
            let renames: BTreeMap<&str, &str> = [
                ("firstname", "first_name"),
                ("lastname", "last_name"),
                ("emailaddress", "email"),
            ]
            .into();
            reshape(r, |fields| {
                fields
                    .into_iter()
                    .map(|(k, v)| match renames.get(k.as_ref()) {
                        Some(new) => (Cow::Borrowed(*new), v),
                        None => (k, v),
                    })
                    .collect()
            })
        }),
        "normalize:contacts#3" => Box::new(|r: &[String]| {
            reshape(r, |mut fields| {
                fields.retain(|(k, _)| k != "notes");
                fields
            })
        }),
        _ => return None,
    };
    Some(f)
}

/// One component call on batches of 1, 16, 256 and 4096 short strings:
/// through `transform-text` (every value text, packed), and through
/// `transform` (the same batch with a `null` added, which makes it mixed:
/// one string per value crosses on its own).
fn call_overhead(sluice: &Sluice, quick: bool) {
    let artifact = builtin("trim");
    let mut trim = TransformerPlugin::new(
        sluice.runtime(),
        &artifact,
        Limits::default(),
        Grants::default(),
        "{}".into(),
    )
    .expect("trim loads");
    trim.start().expect("trim starts");
    let budget = if quick {
        Duration::from_millis(20)
    } else {
        Duration::from_millis(300)
    };
    let mut per_call = |values: &[Value]| {
        let started = Instant::now();
        let mut calls = 0u64;
        while started.elapsed() < budget {
            let out = trim.transform(values).expect("trim works");
            assert_eq!(out.len(), values.len());
            calls += 1;
        }
        (calls, started.elapsed().as_nanos() as f64 / calls as f64)
    };
    println!("## Call overhead (`trim`, short strings)\n");
    println!(
        "| batch | calls | ns per call | ns per record | ns per record via `transform` (a `null` added) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for batch in [1usize, 16, 256, 4096] {
        let mut values = vec![Value::Text("  hello  ".into()); batch];
        let (calls, ns) = per_call(&values);
        values.push(Value::Null);
        let (_, mixed) = per_call(&values);
        let batch_f = batch as f64;
        println!(
            "| {batch} | {calls} | {ns:.0} | {:.1} | {:.1} |",
            ns / batch_f,
            mixed / batch_f
        );
    }
    println!();
}

fn builtin(name: &str) -> Artifact {
    let b = Registry::builtins()
        .iter()
        .find(|b| b.name == name)
        .expect("built-in exists");
    Artifact::new(b.name, Arc::from(b.bytes), Origin::Builtin)
}

/// Compile vs load from the disk cache, and instantiation, per built-in.
fn cold_start(root: &Path, quick: bool) {
    let cache: PathBuf = root.join("cold-cache");
    let compiling = Runtime::new(Some(cache.clone())).expect("runtime");
    println!("## Cold start per built-in plugin\n");
    println!(
        "| plugin | size | compile | load from cache | instantiate | configure | discard + instantiate + configure |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let rounds = if quick { 5 } else { 200 };
    for b in Registry::builtins() {
        let artifact = Artifact::new(b.name, Arc::from(b.bytes), Origin::Builtin);
        let started = Instant::now();
        compiling.component(&artifact).expect("compiles");
        let compile = started.elapsed();
        // A new runtime has an empty in-memory map: this is a disk-cache load.
        let loading = Runtime::new(Some(cache.clone())).expect("runtime");
        let started = Instant::now();
        loading.component(&artifact).expect("loads");
        let load = started.elapsed();
        let instantiate = match b.kind {
            sluice::plugin::PluginKind::FieldTransformer => {
                let options = if b.name == "truncate" {
                    r#"{"max_length": 10}"#
                } else if b.name == "default" {
                    r#"{"value": "x"}"#
                } else {
                    "{}"
                };
                let mut p = TransformerPlugin::new(
                    &loading,
                    &artifact,
                    Limits::default(),
                    Grants::default(),
                    options.into(),
                )
                .expect("links");
                Some(time_starts(rounds, &mut p))
            }
            sluice::plugin::PluginKind::Normalizer => {
                let mut p = NormalizerPlugin::new(
                    &loading,
                    &artifact,
                    Limits::default(),
                    Grants::default(),
                    "{}".into(),
                )
                .expect("links");
                Some(time_starts(rounds, &mut p))
            }
            _ => None,
        };
        let micros = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
        let [instantiate, configure, cycle] = match instantiate {
            Some(starts) => [starts.instantiate, starts.configure, starts.cycle].map(micros),
            None => ["-".to_owned(), "-".to_owned(), "-".to_owned()],
        };
        println!(
            "| {} ({}) | {:.0} KiB | {:.1} ms | {:.2} ms | {instantiate} | {configure} | {cycle} |",
            b.name,
            b.kind,
            b.bytes.len() as f64 / 1024.0,
            compile.as_secs_f64() * 1e3,
            load.as_secs_f64() * 1e3,
        );
    }
    println!();
}

/// Per-round times of dropping an instance and starting a fresh one.
struct Starts {
    /// Creating the instance (store, WASI context, memory, start functions).
    instantiate: Duration,
    /// Its `configure` call.
    configure: Duration,
    /// The whole round: dropping the old instance, instantiating, configuring.
    cycle: Duration,
}

fn time_starts<W: WorldBinding>(rounds: u32, plugin: &mut Sandbox<W>) -> Starts {
    let round = |plugin: &mut Sandbox<W>| {
        plugin.discard_instance();
        plugin.start().expect("starts");
    };
    round(plugin);
    let before = plugin.stats().clone();
    let started = Instant::now();
    for _ in 0..rounds {
        round(plugin);
    }
    let cycle = started.elapsed() / rounds;
    let after = plugin.stats();
    Starts {
        instantiate: (after.instantiate_wall - before.instantiate_wall) / rounds,
        configure: (after.configure_wall - before.configure_wall) / rounds,
        cycle,
    }
}

/// The target key ledger alone: `count` loaded records, sent in batches of
/// 256 as the execute stage sends them, written as new keys, then in a
/// second run as updates of the same keys (another body), then in a third
/// as the same bodies again.
fn ledger_writer(root: &Path, count: usize) {
    use sluice::runlog::{LedgerEntry, LoadOutcome, LogEvent, RunContext, RunLog, spawn_writer};

    let path = root.join("ledger-bench.db");
    let body = format!("{{\"id\": \"r1\", \"notes\": \"{}\"}}", "x".repeat(280));
    for pass in ["new keys", "updates", "unchanged"] {
        let log = RunLog::open(&path).expect("run log");
        let run_id = log
            .start_run("ledger-bench", "bench.toml", "sha256:0")
            .expect("run");
        // Entries (their digests included) are built before the clock
        // starts: this measures the writer.
        let batches: Vec<Vec<LedgerEntry>> = (0..count)
            .map(|i| {
                LedgerEntry::new(
                    &format!("c{i:07}"),
                    &format!("{body}{}", pass == "new keys"),
                    LoadOutcome::Created,
                    Some(&format!("crm-{i}")),
                )
            })
            .collect::<Vec<_>>()
            .chunks(256)
            .map(<[_]>::to_vec)
            .collect();
        let started = Instant::now();
        let writer = spawn_writer(
            path.clone(),
            RunContext {
                run_id,
                pipeline: "ledger-bench".into(),
                config_hash: "sha256:0".into(),
                test: false,
            },
        )
        .expect("writer");
        for entries in batches {
            writer
                .tx
                .send(LogEvent::Loaded {
                    entity: "contacts".into(),
                    target: "crm".into(),
                    entries,
                })
                .expect("send");
        }
        drop(writer.tx);
        writer
            .thread
            .join()
            .expect("writer thread")
            .expect("written");
        let elapsed = started.elapsed();
        println!(
            "ledger ({pass}): {count} loaded records in {:.3} s, {:.2} µs per record",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / count as f64
        );
    }
    let _ = std::fs::remove_file(&path);
}

/// The run-log writer alone: `count` record errors (payloads like the
/// reference pipeline's), sent in batches of 26 as the transform stage
/// sends them, written with their dead-letter entries.
fn runlog_writer(root: &Path, count: usize) {
    use sluice::errors::{Category, RecordError};
    use sluice::runlog::{LogEvent, RunContext, RunLog, spawn_writer};
    use sluice::stages::Stage;

    let path = root.join("runlog-bench.db");
    let log = RunLog::open(&path).expect("run log");
    let run_id = log
        .start_run("runlog-bench", "bench.toml", "sha256:0")
        .expect("run");
    let payload = format!("{{\"id\": \"r1\", \"notes\": \"{}\"}}", "x".repeat(280));
    let errors: Vec<RecordError> = (0..count)
        .map(|i| RecordError {
            record_key: Some(format!("c{i:06}")),
            source_position: Some(format!("contacts.jsonl:{i}")),
            payload: Some(payload.clone()),
            source_payload: Some(payload.clone()),
            ..RecordError::new(
                Stage::Transform,
                "contacts",
                Category::Validation,
                "invalid-email",
                format!("\"user{i}@@example\" is not a valid email address: invalid character"),
            )
            .on_field("email")
        })
        .collect();
    // Batches are built before the clock starts: this measures the writer.
    let batches: Vec<Vec<RecordError>> = errors.chunks(26).map(<[_]>::to_vec).collect();
    let started = Instant::now();
    let writer = spawn_writer(
        path.clone(),
        RunContext {
            run_id,
            pipeline: "runlog-bench".into(),
            config_hash: "sha256:0".into(),
            test: false,
        },
    )
    .expect("writer");
    for batch in batches {
        writer.tx.send(LogEvent::Errors(batch)).expect("send");
    }
    drop(writer.tx);
    writer
        .thread
        .join()
        .expect("writer thread")
        .expect("written");
    let elapsed = started.elapsed();
    println!(
        "runlog: {count} errors in {:.3} s, {:.1} µs per error",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / count as f64
    );
}
