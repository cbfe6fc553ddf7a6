//! `sluice plugin test`: run one plugin over sample input under the same
//! limits as production and show, batch by batch, what it did and used.
//! `sluice plugin docs`: what a plugin says about itself, and its options.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value as Json;

use super::render::{clip, esc, print_json, table};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::model::Category;
use sluice::plugin::{
    Artifact, GrantVia, Grants, Limits, LimitsConfig, Origin, PluginKind, describe_artifact,
};

use super::plugin_bench::{BatchReport, Bench, RecordResult};

/// `sluice plugin`.
#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Run a field transformer or normalizer over sample input and report
    /// results, errors, fuel, memory, time and output size per batch.
    Test(TestArgs),
    /// Show what a plugin says about itself and its options (from the
    /// option schema its `describe` returns), as a table.
    Docs(DocsArgs),
    /// Create a plugin project: source, build script, README and a
    /// `cases.toml` for `plugin test --cases`.
    New(super::plugin_new::NewArgs),
    /// Say which pieces of a language's plugin toolchain are missing, and
    /// how to get them.
    Doctor(super::plugin_doctor::DoctorArgs),
    #[command(flatten)]
    Store(super::plugin_store_cmd::StoreCommand),
}

#[derive(Debug, Args)]
struct DocsArgs {
    /// The plugin: a `.wasm` file, or a built-in or installed name.
    plugin: String,
    #[command(flatten)]
    format: Format,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// The plugin: a `.wasm` file, or a built-in or installed name.
    plugin: String,
    /// JSON Lines input: one value per line for a field transformer (or one
    /// object per line with `--field`), one object per line for a normalizer.
    #[arg(long, required_unless_present = "cases", conflicts_with = "cases")]
    input: Option<PathBuf>,
    /// A case file (TOML): inputs, options and the expected outputs or
    /// errors; every case is checked, mismatches are shown as diffs, and the
    /// command exits 1 if any case fails. See `sluice plugin new`.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Options for the plugin's `configure`, as a JSON object.
    #[arg(long, default_value = "{}")]
    options: String,
    /// Take each line's value from this field (field transformers).
    #[arg(long)]
    field: Option<String>,
    /// Records per call.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Fuel per call on top of the per-record allowance.
    #[arg(long)]
    fuel_per_call: Option<u64>,
    /// Fuel per record.
    #[arg(long)]
    fuel_per_record: Option<u64>,
    /// Wall-clock limit per call, in milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Memory cap in MiB: the total of all the plugin's linear memories.
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Output bytes allowed per record.
    #[arg(long)]
    output_bytes_per_record: Option<u64>,
    /// Interfaces to allow linking (`wasi:filesystem`, `wasi:sockets`).
    #[arg(long)]
    allow: Vec<String>,
    /// How many per-record results to print.
    #[arg(long, default_value_t = 20)]
    show: usize,
    #[command(flatten)]
    format: Format,
}

/// Dispatch `sluice plugin …`; `open` gives the library, which `new` and
/// `doctor` do not need (they neither create a data directory nor start
/// the engine).
pub fn plugin(
    open: impl FnOnce() -> anyhow::Result<Sluice>,
    args: &PluginArgs,
) -> anyhow::Result<Exit> {
    match &args.command {
        PluginCommand::Test(t) => test(&open()?, t),
        PluginCommand::Docs(d) => docs(&open()?, d),
        PluginCommand::New(n) => super::plugin_new::new(n),
        PluginCommand::Doctor(d) => super::plugin_doctor::doctor(d),
        PluginCommand::Store(c) => super::plugin_store_cmd::store(&open()?, c),
    }
}

fn docs(sluice: &Sluice, args: &DocsArgs) -> anyhow::Result<Exit> {
    let mut found = Vec::new();
    let path = Path::new(&args.plugin);
    if path.is_file() {
        found.push(find(sluice, &args.plugin)?);
    } else {
        for kind in PluginKind::ALL {
            if let Ok(a) = sluice
                .registry()
                .resolve(&args.plugin, kind, Path::new("."))
            {
                found.push(a);
            }
        }
    }
    if found.is_empty() {
        bail!(
            "no plugin file or built-in/installed plugin named `{}`",
            args.plugin
        );
    }
    let mut documented = Vec::new();
    for artifact in &found {
        let info = sluice.runtime().describe(artifact)?;
        let kind = info
            .kind
            .with_context(|| format!("`{}` implements no world of the contract", args.plugin))?;
        let descriptor = describe_artifact(sluice.runtime(), artifact, kind)?;
        documented.push((kind, info.contract, descriptor));
    }
    if args.format.json {
        let out: Vec<_> = documented
            .into_iter()
            .map(|(kind, contract, d)| {
                serde_json::json!({
                    "kind": kind,
                    "contract": contract,
                    "described": d.map(super::plugins_cmd::described),
                })
            })
            .collect();
        print_json(&out)?;
        return Ok(Exit::Success);
    }
    for (kind, contract, descriptor) in documented {
        let contract = contract.unwrap_or_default();
        let Some(d) = descriptor else {
            outln!(
                "{} ({kind}, sluice:plugin@{}): built for a contract version without `describe`; no documentation.",
                esc(&args.plugin),
                esc(&contract)
            );
            continue;
        };
        outln!(
            "{} {} ({kind}, sluice:plugin@{})",
            esc(&d.name),
            esc(&d.version),
            esc(&contract)
        );
        if !d.description.is_empty() {
            outln!("{}", esc(&d.description));
        }
        let schema: Json = serde_json::from_str(&d.options_schema).unwrap_or(Json::Null);
        outln!("{}", options_table(&schema));
    }
    Ok(Exit::Success)
}

/// The options a JSON Schema describes, one row per property.
fn options_table(schema: &Json) -> String {
    let props = schema.get("properties").and_then(Json::as_object);
    let Some(props) = props.filter(|p| !p.is_empty()) else {
        return if schema.get("additionalProperties") == Some(&Json::Bool(false)) {
            "Takes no options.".to_owned()
        } else {
            "Options: not described (any JSON object is passed to the plugin).".to_owned()
        };
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let mut t = table(
        &["OPTION", "TYPE", "REQUIRED", "DEFAULT", "DESCRIPTION"],
        &[],
    );
    for (name, prop) in props {
        t.add_row(vec![
            esc(name),
            clip(&type_of(schema, prop), 40),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            prop.get("default")
                .map_or_else(|| "-".to_owned(), |d| clip(&d.to_string(), 30)),
            prop.get("description")
                .and_then(Json::as_str)
                .map_or_else(|| "-".to_owned(), |d| clip(d, 100)),
        ]);
    }
    let mut out = t.to_string();
    if schema.get("additionalProperties") == Some(&Json::Bool(false)) {
        out.push_str("\nOther options are refused.");
    }
    out
}

/// A property's type for people: its `type`, its `enum` values, or the
/// type of what it refers to.
pub(crate) fn type_of(root: &Json, prop: &Json) -> String {
    if let Some(values) = prop.get("enum").and_then(Json::as_array) {
        return values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(value) = prop.get("const") {
        return value.to_string();
    }
    match prop.get("type") {
        Some(Json::String(t)) => return t.clone(),
        Some(Json::Array(ts)) => {
            return ts
                .iter()
                .filter_map(Json::as_str)
                .collect::<Vec<_>>()
                .join(" | ");
        }
        _ => {}
    }
    if let Some(target) = prop
        .get("$ref")
        .and_then(Json::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        return type_of(root, target);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = prop.get(key).and_then(Json::as_array) {
            return options
                .iter()
                .map(|o| type_of(root, o))
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    if prop.as_bool() == Some(true) || prop.as_object().is_some_and(|o| o.is_empty()) {
        return "any".to_owned();
    }
    "see schema (--json)".to_owned()
}

fn test(sluice: &Sluice, args: &TestArgs) -> anyhow::Result<Exit> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let artifact = find(sluice, &args.plugin)?;
    // The world comes from the bytes: refused imports are reported before
    // anything compiles the plugin.
    let info = sluice.runtime().describe_uncompiled(&artifact)?;
    let limits = LimitsConfig {
        fuel_per_call: args.fuel_per_call,
        fuel_per_record: args.fuel_per_record,
        timeout_ms: args.timeout_ms,
        memory_mb: args.memory_mb,
        output_bytes_per_record: args.output_bytes_per_record,
        ..LimitsConfig::default()
    }
    .resolve();
    let grants = Grants {
        allow: args.allow.clone(),
        grant_via: GrantVia::CommandLine,
        ..Grants::default()
    };
    let kind = match info.kind {
        Some(kind @ (PluginKind::FieldTransformer | PluginKind::Normalizer)) => kind,
        other => bail!(
            "plugin `{}` is a {}; `plugin test` runs field transformers and normalizers",
            args.plugin,
            other.map_or("component of no known world", PluginKind::world)
        ),
    };
    let bench = Bench {
        sluice,
        artifact: &artifact,
        kind,
        limits,
        grants,
        batch_size: args.batch_size,
    };
    if let Some(cases) = &args.cases {
        return super::plugin_cases::run_cases(&bench, cases, args.format.json);
    }
    let input = args.input.as_deref().context(
        "give `--input FILE` (sample values) or `--cases FILE` (cases with expected results)",
    )?;
    let options: Json =
        serde_json::from_str(&args.options).context("--options is not valid JSON")?;
    if !options.is_object() {
        bail!("--options must be a JSON object, like '{{\"max_length\": 10}}'");
    }
    let inputs = read_input(input, args.field.as_deref())?;
    let (batches, results) = match bench.run(&options, &inputs) {
        Ok(ran) => ran,
        Err(setup) => {
            if args.format.json {
                print_json(&serde_json::json!({
                    "plugin": artifact.id, "kind": kind,
                    "setup_error": setup,
                }))?;
            } else {
                outln!(
                    "Plugin {} could not be set up: [{}] {}: {}",
                    esc(&artifact.id.name),
                    setup.category,
                    esc(&setup.code),
                    esc(&setup.message)
                );
            }
            return Ok(Exit::Failure);
        }
    };
    let failed = batches.iter().any(|b| b.failure.is_some());
    if args.format.json {
        // The peak of the total of all linear memories, over every batch.
        let peak_memory_bytes = batches
            .iter()
            .map(|b| b.usage.peak_memory_bytes)
            .max()
            .unwrap_or(0);
        print_json(&serde_json::json!({
            "plugin": artifact.id, "kind": kind, "limits": format!("{limits:?}"),
            "peak_memory_bytes": peak_memory_bytes, "memory_limit_bytes": limits.memory_bytes,
            "batches": batches, "records": results,
        }))?;
    } else {
        print_human(
            &artifact,
            Some(kind),
            &limits,
            &batches,
            &results,
            args.show,
        );
    }
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

fn find(sluice: &Sluice, plugin: &str) -> anyhow::Result<Artifact> {
    let path = Path::new(plugin);
    if path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Artifact::new(
            plugin,
            Arc::from(bytes),
            Origin::File(path.to_owned()),
        ));
    }
    for kind in [PluginKind::FieldTransformer, PluginKind::Normalizer] {
        if let Ok(a) = sluice.registry().resolve(plugin, kind, Path::new(".")) {
            return Ok(a);
        }
    }
    bail!("no plugin file or built-in/installed field transformer or normalizer named `{plugin}`")
}

fn read_input(path: &Path, field: Option<&str>) -> anyhow::Result<Vec<(usize, Json)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read input {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Json = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not valid JSON", path.display(), i + 1))?;
        let v = match field {
            Some(f) => v.get(f).cloned().unwrap_or(Json::Null),
            None => v,
        };
        out.push((i + 1, v));
    }
    Ok(out)
}

fn print_human(
    artifact: &Artifact,
    kind: Option<PluginKind>,
    limits: &Limits,
    batches: &[BatchReport],
    results: &[RecordResult],
    show: usize,
) {
    outln!(
        "Plugin {} ({}) · {}",
        artifact.id.name,
        artifact.id.digest,
        kind.map_or("?", PluginKind::world)
    );
    outln!(
        "Limits: fuel {} per call + {} per record · timeout {} ms · memory {} MiB (all memories together) · output {} B per record",
        limits.fuel_per_call,
        limits.fuel_per_record,
        limits.timeout.as_millis(),
        limits.memory_bytes >> 20,
        limits.output_bytes_per_record
    );
    let mut t = table(
        &[
            "BATCH",
            "RECORDS",
            "OK",
            "ERRORS",
            "FUEL USED",
            "FUEL %",
            "PEAK MEM (TOTAL)",
            "TIME",
            "OUTPUT",
            "RESULT",
        ],
        &[
            "BATCH",
            "RECORDS",
            "OK",
            "ERRORS",
            "FUEL USED",
            "FUEL %",
            "PEAK MEM (TOTAL)",
            "TIME",
            "OUTPUT",
        ],
    );
    for b in batches {
        let u = &b.usage;
        t.add_row(vec![
            b.batch.to_string(),
            u.records.to_string(),
            b.ok.to_string(),
            b.errors.to_string(),
            u.fuel.to_string(),
            format!("{:.1}%", 100.0 * u.fuel as f64 / u.fuel_limit.max(1) as f64),
            format!("{:.1} MiB", u.peak_memory_bytes as f64 / (1 << 20) as f64),
            format!("{:.2} ms", u.wall.as_secs_f64() * 1000.0),
            format!("{} B", u.output_bytes),
            match &b.failure {
                None => "ok".to_owned(),
                Some(f) => format!("{}: {}", f.kind, clip(&f.message, 60)),
            },
        ]);
    }
    outln!("{t}");
    for b in batches.iter().filter(|b| b.failure.is_some()) {
        let f = b.failure.as_ref().expect("filtered");
        outln!(
            "Batch {} stopped: {} — {}",
            b.batch,
            f.kind,
            esc(&f.message)
        );
    }
    let mut t = table(&["LINE", "INPUT", "RESULT"], &["LINE"]);
    for r in results.iter().take(show) {
        let result = match (&r.output, &r.skipped, &r.error) {
            (Some(o), _, _) => o.to_string(),
            (_, Some(s), _) => format!("skipped: {s}"),
            (_, _, Some(e)) => format!("error [{}] {e}", r.category.map_or("-", Category::as_str)),
            _ => "-".to_owned(),
        };
        t.add_row(vec![
            r.line.to_string(),
            clip(&r.input.to_string(), 40),
            clip(&result, 70),
        ]);
    }
    outln!("{t}");
    if results.len() > show {
        outln!(
            "({} of {} records shown; --show N for more, --json for all)",
            show,
            results.len()
        );
    }
}
