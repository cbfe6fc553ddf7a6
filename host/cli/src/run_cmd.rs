use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::render::{print_json, table};
use super::test_sync;
use super::{Exit, Format};
use sluice::run::{Plan, Progress, RunRequest, RunSummary, run_with};
use sluice::{Sluice, load_pipeline};

/// `sluice run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Capture every raw HTTP request and response of this run (redacted),
    /// whatever the connection profiles say.
    #[arg(long)]
    capture_http: bool,
    /// If a run of this pipeline (or of one of its targets) is in
    /// progress, wait for it to end instead of refusing.
    #[arg(long)]
    wait: bool,
    /// A test sync of the first N records of each entity, through every
    /// stage. Recorded as a run of kind `test`: it moves no cursor and
    /// neither adds nor resolves dead-letter entries.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    sample: Option<u64>,
    /// With `--sample N`: a random sample of N records of each entity
    /// instead of the first N, drawn from the whole source with this seed
    /// (the same seed over the same source data draws the same records).
    #[arg(long, value_name = "S", requires = "sample", conflicts_with = "random")]
    seed: Option<u64>,
    /// With `--sample N`: a random sample with a seed picked at random; the
    /// seed is printed and recorded with the run, to draw it again with
    /// `--seed`.
    #[arg(long, requires = "sample")]
    random: bool,
    /// Go through every stage but never call the target's `write`: report
    /// what would be created, updated or left unchanged (from this data
    /// directory's record of earlier loads) and what is rejected before
    /// the target. A test run, like `--sample` (alone, it reads the whole
    /// source).
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    format: Format,
}

/// `sluice validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The pipeline file.
    pipeline: PathBuf,
}

/// Run a pipeline and print its summary.
pub fn run(sluice: &Sluice, args: &RunArgs) -> anyhow::Result<Exit> {
    let mut loaded = load_pipeline(&args.pipeline)?;
    loaded.capture_http = args.capture_http;
    sluice.set_wait(args.wait);
    let progress = Arc::new(Progress::default());
    let display = (!args.format.json && std::io::stderr().is_terminal())
        .then(|| ProgressDisplay::start(progress.clone()));
    let test = args.sample.is_some() || args.dry_run;
    let seed = match (args.seed, args.random) {
        (Some(seed), _) => Some(seed),
        (None, true) => Some(random_seed()?),
        (None, false) => None,
    };
    let result = if test {
        run_with(
            sluice,
            &loaded,
            RunRequest::sample(args.sample, seed, args.dry_run),
            progress,
        )
    } else {
        sluice.run_with_progress(&loaded, progress)
    };
    if let Some(display) = display {
        display.finish();
    }
    let summary = result?;
    if test {
        return test_sync::report(
            sluice,
            &loaded.pipeline.name,
            &summary,
            test_sync::Sampled {
                records: args.sample,
                seed,
                dry_run: args.dry_run,
            },
            args.format.json,
            || report(&loaded.pipeline.name, &summary, false),
        );
    }
    report(&loaded.pipeline.name, &summary, args.format.json)
}

/// A seed for `--random`, from the operating system.
fn random_seed() -> anyhow::Result<u64> {
    let mut bytes = [0; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no random seed from the operating system: {e}"))?;
    // Below 2^53, so that every JSON reader gets it back exactly.
    Ok(u64::from_le_bytes(bytes) >> 11)
}

/// `sluice rerun`.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The failed, aborted or interrupted run, or `last`.
    run: String,
    /// If a run of the pipeline (or of one of its targets) is in progress,
    /// wait for it to end instead of refusing.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    format: Format,
}

/// Run the pipeline of a failed or aborted run again, with its current file.
pub fn rerun(sluice: &Sluice, args: &RerunArgs) -> anyhow::Result<Exit> {
    let id = sluice.run_log()?.resolve_run(&args.run)?;
    sluice.set_wait(args.wait);
    let summary = sluice.rerun(id)?;
    let pipeline = sluice.run_log()?.run(summary.run_id)?.pipeline;
    if !args.format.json {
        outln!("Re-ran run {id} as run {}.", summary.run_id);
    }
    report(&pipeline, &summary, args.format.json)
}

/// Print how a run went and pick the exit code.
fn report(pipeline: &str, summary: &RunSummary, json: bool) -> anyhow::Result<Exit> {
    if json {
        print_json(summary)?;
        return Ok(Exit::for_status(summary.status));
    }
    for interrupted in &summary.interrupted {
        outln!("{}", interrupted.describe());
    }
    let t = &summary.totals;
    outln!(
        "Run {} of `{}` finished {} in {:.1} s: {} extracted, {} loaded, {} failed, {} skipped.",
        summary.run_id,
        pipeline,
        summary.status,
        summary.duration.as_secs_f64(),
        t.extracted,
        t.loaded,
        t.failed,
        t.skipped
    );
    if summary.entities.len() > 1 {
        let mut tab = table(
            &["ENTITY", "EXTRACTED", "LOADED", "FAILED", "SKIPPED"],
            &["EXTRACTED", "LOADED", "FAILED", "SKIPPED"],
        );
        for (name, t) in &summary.entities {
            tab.add_row(vec![
                name.clone(),
                t.extracted.to_string(),
                t.loaded.to_string(),
                t.failed.to_string(),
                t.skipped.to_string(),
            ]);
        }
        outln!("{tab}");
    }
    if let Some(reason) = &summary.status_reason {
        outln!("Reason: {}", super::render::esc(reason));
    }
    if t.failed > 0 || summary.status_reason.is_some() {
        outln!(
            "See what failed and why: sluice runs show {}",
            summary.run_id
        );
    }
    Ok(Exit::for_status(summary.status))
}

/// Load the pipeline and configure every plugin, without reading records.
pub fn validate(sluice: &Sluice, args: &ValidateArgs) -> anyhow::Result<Exit> {
    let loaded = load_pipeline(&args.pipeline)?;
    let plan = Plan::build(&loaded, sluice.runtime(), sluice.registry())
        .with_context(|| format!("pipeline {} is not valid", args.pipeline.display()))?;
    let uses = plan.plugin_uses();
    outln!(
        "{}: pipeline `{}` is valid: {} entit{}, {} plugin instance(s) configured.",
        args.pipeline.display(),
        loaded.pipeline.name,
        plan.entity_names.len(),
        if plan.entity_names.len() == 1 {
            "y"
        } else {
            "ies"
        },
        uses.len()
    );
    Ok(Exit::Success)
}

/// A spinner on stderr with the live counts of a run.
struct ProgressDisplay {
    done: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl ProgressDisplay {
    fn start(progress: Arc<Progress>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let thread = thread::spawn(move || {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            while !stop.load(Ordering::Relaxed) {
                let t = progress.snapshot();
                bar.set_message(format!(
                    "{} read · {} loaded · {} failed · {} skipped",
                    t.extracted, t.loaded, t.failed, t.skipped
                ));
                bar.tick();
                thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        ProgressDisplay { done, thread }
    }

    fn finish(self) {
        self.done.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
