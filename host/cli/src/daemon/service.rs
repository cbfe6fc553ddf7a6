//! The daemon process: the scheduler loop, runs on blocking threads,
//! reloads, and the graceful stop.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use jiff::Timestamp;
use serde::Serialize;
use sluice::daemon::{Action, Fire, JobSpec, ReloadOutcome, Scheduler, Ticket};
use sluice::model::{RunStatus, StopLevel, StopSignal};
use sluice::notify::{self, Event as Notification, Notifier, RunFacts};
use sluice::project::{Project, load_project};
use sluice::run::{Progress, RunError};
use sluice::runlog::{JobRunRow, RunLog};
use sluice::schedule::{Clock, SystemClock, test_clock_from_env};
use sluice::{Sluice, SluiceOptions};
use tokio::sync::Notify;

use super::signals::{self, Signal};
use super::{DAEMON_FILE, api};
use crate::Exit;
use crate::http::token;

/// Longest the scheduler loop sleeps without looking at the clock (a clock
/// set forward is noticed within this).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Events kept for the API.
const MAX_EVENTS: usize = 200;

/// Everything the API and the loop share.
#[derive(Debug)]
pub struct Shared {
    /// The library: runtime, registry, data directory.
    pub sluice: Arc<Sluice>,
    /// The clock the scheduler reads.
    pub clock: Arc<dyn Clock>,
    /// Longest the scheduler loop sleeps without looking at the clock.
    max_sleep: Duration,
    /// Sends events to the webhooks.
    pub notifier: Notifier,
    /// The project file.
    pub project_file: PathBuf,
    /// The project's key in the run log: its file, canonical (one key
    /// however the path was spelled).
    pub project_key: String,
    /// The API token.
    pub token: String,
    /// Mutable state.
    state: Mutex<State>,
    /// Wakes the scheduler loop (a trigger, a resume, a reload).
    pub wake: Notify,
    /// Signalled whenever a run ends.
    run_ended: Notify,
    /// Held for a whole reload, so reloads (SIGHUP, the API, the file
    /// watch) apply one at a time and in the order they read the files.
    reloading: tokio::sync::Mutex<()>,
    /// When the daemon started.
    pub started_at: Timestamp,
}

#[derive(Debug)]
pub struct State {
    pub project: Project,
    pub scheduler: Scheduler,
    pub runs: HashMap<Ticket, ActiveRun>,
    /// Set once a stop was asked for: no run starts any more.
    pub stopping: Option<StopLevel>,
    pub events: VecDeque<Event>,
    pub last_reload: Option<ReloadReport>,
    /// Waiting fires already reported late (job, scheduled time), so
    /// neither another look nor their start reports them again.
    late_reported: HashSet<(String, Timestamp)>,
    log: RunLog,
}

/// A run in progress.
#[derive(Debug, Clone)]
pub struct ActiveRun {
    pub fire: Fire,
    pub stop: Arc<StopSignal>,
    pub progress: Arc<Progress>,
    pub started_at: Timestamp,
}

/// Something the daemon did or declined to do, for the API.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: Timestamp,
    pub job: String,
    pub what: String,
}

/// The result of a reload.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadReport {
    pub at: Timestamp,
    pub ok: bool,
    /// What changed, when it worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ReloadOutcome>,
    /// Why the file was refused (`file:line:column: …`); the daemon keeps
    /// the configuration it had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn event(&mut self, at: Timestamp, job: &str, what: String) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(Event {
            at,
            job: job.to_owned(),
            what,
        });
    }

    /// Store the schedule state in the run log.
    pub fn persist(&mut self, project_key: &str) {
        let rows = self.scheduler.rows();
        let names: Vec<String> = rows.iter().map(|r| r.job.clone()).collect();
        if let Err(e) = self
            .log
            .save_job_schedules(project_key, &rows, Some(&names))
        {
            tracing::error!(error = %e, "Cannot store the schedule state.");
        }
    }

    /// Open the run log connection this state reads with.
    pub fn log(&self) -> &RunLog {
        &self.log
    }
}

fn specs(project: &Project) -> Vec<JobSpec> {
    project.jobs.iter().map(JobSpec::from).collect()
}

/// Run the daemon until it is stopped.
pub async fn serve(
    options: SluiceOptions,
    project_file: PathBuf,
    project: Project,
    listen: SocketAddr,
) -> anyhow::Result<Exit> {
    let data_dir = options.data_dir.clone();
    let mut signals = signals::listen().context("cannot listen for signals")?;
    let sluice = Sluice::open(options)?;
    // One daemon per data directory: two would run every job twice.
    let lock_path = data_dir.join("daemon.lock");
    let daemon_lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    if daemon_lock.try_lock().is_err() {
        let running = std::fs::read_to_string(data_dir.join(DAEMON_FILE)).unwrap_or_default();
        anyhow::bail!(
            "another sluice daemon runs with the data directory {} ({})",
            data_dir.display(),
            running.trim()
        );
    }
    // Runs of one pipeline exclude each other through the run lock: a run
    // the daemon starts waits for one in progress instead of failing.
    sluice.set_wait(true);
    let (token, token_from) = token::load_or_create(project.token_file.as_deref(), &data_dir)?;
    let project_key = std::fs::canonicalize(&project_file)
        .or_else(|_| std::path::absolute(&project_file))
        .unwrap_or_else(|_| project_file.clone())
        .display()
        .to_string();
    // A test hook: a clock the end-to-end tests set by writing a file (only
    // in test builds), looked at every 50 ms.
    let (clock, max_sleep): (Arc<dyn Clock>, Duration) = match test_clock_from_env() {
        Some(c) => {
            tracing::warn!(file = %c.path().display(), "TEST HOOK: the scheduler reads its time from a file.");
            (Arc::new(c), Duration::from_millis(50))
        }
        None => (Arc::new(SystemClock), MAX_SLEEP),
    };
    let now = clock.now();
    let log = sluice.run_log()?;
    let notifier = notify::spawn(
        sluice.run_log()?,
        project_key.clone(),
        project.webhooks.clone(),
    );
    // Rollbacks made by any process using the data directory go to the
    // webhooks.
    super::rollback_watch::spawn(sluice.run_log()?, notifier.clone())
        .context("the operating system refused the rollback watcher thread")?;
    let stored = log.job_schedules(&project_key)?;
    let (scheduler, initial) = Scheduler::new(specs(&project), &stored, now);
    let shared = Arc::new(Shared {
        sluice: Arc::new(sluice),
        clock,
        max_sleep,
        notifier,
        project_file,
        project_key,
        token,
        state: Mutex::new(State {
            project,
            scheduler,
            runs: HashMap::new(),
            stopping: None,
            events: VecDeque::new(),
            last_reload: None,
            late_reported: HashSet::new(),
            log,
        }),
        wake: Notify::new(),
        run_ended: Notify::new(),
        reloading: tokio::sync::Mutex::new(()),
        started_at: now,
    });
    shared.lock().persist(&shared.project_key);

    // What the files look like now, before anyone is told the daemon runs.
    let seen = watched(&shared.lock().project);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let daemon_file = data_dir.join(DAEMON_FILE);
    std::fs::write(
        &daemon_file,
        serde_json::json!({
            "pid": std::process::id(),
            "listen": addr.to_string(),
            "project": shared.project_key,
        })
        .to_string(),
    )
    .with_context(|| format!("cannot write {}", daemon_file.display()))?;
    let jobs = shared.lock().project.jobs.len();
    outln!(
        "Sluice daemon listening on http://{addr} ({jobs} job(s) from {}; API token in {token_from}).",
        shared.project_file.display()
    );
    tracing::info!(%addr, jobs, "Daemon started.");

    let http_stop = Arc::new(Notify::new());
    let server = {
        let control: Arc<dyn crate::ui::DaemonControl> =
            Arc::new(super::dashboard_control::DashboardControl(shared.clone()));
        let dashboard =
            crate::ui::UiState::new(shared.sluice.clone(), &shared.token, Some(control));
        let app = api::router(shared.clone()).merge(crate::ui::routes(Arc::new(dashboard)));
        let stop = http_stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.notified().await })
                .await
        })
    };
    apply(&shared, initial);
    let scheduler_loop = tokio::spawn(schedule_loop(shared.clone()));
    let watcher = tokio::spawn(watch_loop(shared.clone(), seen));

    // Wait for signals; after the first stop, also for the runs to end.
    let mut stops = 0;
    loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                None => break,
                Some(Signal::Reload) => {
                    let report = reload(&shared).await;
                    match &report.error {
                        None => tracing::info!(outcome = ?report.outcome, "Reloaded on SIGHUP."),
                        Some(e) => tracing::error!(error = %e, "Reload on SIGHUP refused; the previous configuration keeps running."),
                    }
                }
                Some(Signal::Stop(name)) => {
                    stops += 1;
                    begin_stop(&shared, if stops == 1 { StopLevel::Drain } else { StopLevel::Halt }, name);
                }
            },
            _ = wait_for_runs(&shared), if stops > 0 => break,
        }
    }
    scheduler_loop.abort();
    watcher.abort();
    wait_for_runs(&shared).await;
    {
        let mut state = shared.lock();
        let key = shared.project_key.clone();
        state.persist(&key);
    }
    // Attempts in flight get a few seconds; pending deliveries stay in the
    // run log for the next start.
    shared.notifier.shutdown(Duration::from_secs(5)).await;
    http_stop.notify_one();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let _ = std::fs::remove_file(&daemon_file);
    drop(daemon_lock);
    tracing::info!("Daemon stopped.");
    outln!("Sluice daemon stopped.");
    Ok(Exit::Success)
}

/// Ask every run to stop at `level` because of `signal`, and start no
/// more.
fn begin_stop(shared: &Shared, level: StopLevel, signal: &str) {
    let mut state = shared.lock();
    if state.stopping.is_some_and(|l| l >= level) {
        return;
    }
    state.stopping = Some(level);
    let why = match level {
        StopLevel::Halt => format!("the daemon received a second stop signal ({signal})"),
        _ => format!("the daemon is stopping ({signal})"),
    };
    for run in state.runs.values() {
        run.stop.request(level, why.clone());
    }
    tracing::warn!(runs = state.runs.len(), ?level, "Stopping: {why}.");
    shared.wake.notify_one();
}

async fn wait_for_runs(shared: &Shared) {
    loop {
        let ended = shared.run_ended.notified();
        if shared.lock().runs.is_empty() {
            return;
        }
        ended.await;
    }
}

/// Fire jobs when they are due, sleeping until the next fire.
async fn schedule_loop(shared: Arc<Shared>) {
    loop {
        let woken = shared.wake.notified();
        let now = shared.clock.now();
        let (actions, next) = {
            let mut state = shared.lock();
            if state.stopping.is_some() {
                return;
            }
            let actions = state.scheduler.tick(now);
            if !actions.is_empty() {
                state.persist(&shared.project_key);
            }
            late_waiting(&shared, &mut state, now);
            (actions, state.scheduler.next_wakeup())
        };
        apply(&shared, actions);
        let sleep = next
            .map(|n| {
                let d = n.duration_since(now);
                Duration::try_from(d).unwrap_or(Duration::ZERO)
            })
            .unwrap_or(shared.max_sleep)
            .clamp(Duration::from_millis(5), shared.max_sleep);
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = woken => {}
        }
    }
}

/// Most waiting fires remembered as reported late.
const MAX_LATE_REPORTED: usize = 1024;

/// Report fires still waiting (for a run of their job to end) past their
/// job's `late_after`, once each.
fn late_waiting(shared: &Shared, state: &mut State, now: Timestamp) {
    for fire in state.scheduler.waiting() {
        let (Some(at), Some(job)) = (fire.scheduled_for, state.project.job(&fire.job)) else {
            continue;
        };
        let key = (fire.job.clone(), at);
        if state.late_reported.contains(&key) {
            continue;
        }
        if let Some(late) = notify::alerts::late_waiting(&fire.job, at, now, &job.alerts) {
            tracing::warn!(job = %fire.job, scheduled_for = %at, "A scheduled fire is still waiting past its job's late_after.");
            if state.late_reported.len() >= MAX_LATE_REPORTED {
                state.late_reported.clear();
            }
            state.late_reported.insert(key);
            shared.notifier.send(late);
        }
    }
}

/// How often the files of the project are looked at for changes.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What a file looks like from outside: its modification time and size.
type Stamp = Option<(std::time::SystemTime, u64)>;

/// The stamps of `files`, and them.
fn watched(project: &Project) -> (Vec<Stamp>, Vec<PathBuf>) {
    let files = project.files();
    (stamps(&files), files)
}

fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .map(|m| (m.modified().unwrap_or(std::time::UNIX_EPOCH), m.len()))
        })
        .collect()
}

/// Reload when a file of the project changes (`[daemon] watch`, on by
/// default). A file that stays broken is reported once, not every time it
/// is looked at.
async fn watch_loop(shared: Arc<Shared>, mut seen: (Vec<Stamp>, Vec<PathBuf>)) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let (watch, files) = {
            let state = shared.lock();
            if state.stopping.is_some() {
                return;
            }
            (state.project.watch, state.project.files())
        };
        if !watch {
            continue;
        }
        // The project file may now name other files; compare the known ones.
        let now = stamps(&files);
        if files == seen.1 && now == seen.0 {
            continue;
        }
        if files != seen.1 {
            seen = (now, files);
            continue;
        }
        tracing::info!("A file of the project changed; reloading.");
        let report = reload(&shared).await;
        match &report.error {
            None => tracing::info!(outcome = ?report.outcome, "Reloaded after a file changed."),
            Some(e) => {
                tracing::error!(error = %e, "Reload after a file changed refused; the previous configuration keeps running.")
            }
        }
        // The stamps taken before the reload read the files: a file changed
        // while it ran (or just after) differs from them and reloads again
        // at the next look, instead of being taken as seen.
        seen = restamp(&files, &now, shared.lock().project.files());
    }
}

/// The stamps of `after` (the files a reload left to watch): those taken
/// before the reload (`before`, of `files`) for files watched already,
/// fresh ones for files the reload added.
fn restamp(files: &[PathBuf], before: &[Stamp], after: Vec<PathBuf>) -> (Vec<Stamp>, Vec<PathBuf>) {
    let stamps = after
        .iter()
        .map(|f| match files.iter().position(|g| g == f) {
            Some(i) => before[i],
            None => stamps(std::slice::from_ref(f)).remove(0),
        })
        .collect();
    (stamps, after)
}

/// Carry out the scheduler's actions.
pub fn apply(shared: &Arc<Shared>, actions: Vec<Action>) {
    let mut pending: VecDeque<Action> = actions.into();
    while let Some(action) = pending.pop_front() {
        let now = shared.clock.now();
        match action {
            Action::Start { ticket, fire } => {
                let mut state = shared.lock();
                let pipeline = state.project.job(&fire.job).map(|j| j.pipeline.clone());
                let (Some(pipeline), None) = (pipeline, state.stopping) else {
                    // Stopping, or the job is gone: the fire is dropped.
                    state.event(now, &fire.job, "not started: the daemon is stopping".into());
                    pending.extend(state.scheduler.finished(ticket, None));
                    continue;
                };
                let run = ActiveRun {
                    fire: fire.clone(),
                    stop: Arc::new(StopSignal::new()),
                    progress: Arc::new(Progress::default()),
                    started_at: now,
                };
                state.event(
                    now,
                    &fire.job,
                    format!("started ({})", fire.reason.as_text()),
                );
                let reported = fire
                    .scheduled_for
                    .is_some_and(|at| state.late_reported.remove(&(fire.job.clone(), at)));
                if let (Some(at), Some(job), false) =
                    (fire.scheduled_for, state.project.job(&fire.job), reported)
                    && let Some(late) = notify::alerts::late_start(&fire.job, at, now, &job.alerts)
                {
                    tracing::warn!(job = %fire.job, scheduled_for = %at, "A scheduled fire starts late.");
                    shared.notifier.send(late);
                }
                state.runs.insert(ticket, run.clone());
                drop(state);
                tracing::info!(job = %fire.job, ticket, reason = %fire.reason.as_text(), "Starting a run.");
                let sluice = shared.sluice.clone();
                let handle = tokio::task::spawn_blocking(move || {
                    sluice.run_stoppable(&pipeline, run.progress.clone(), run.stop.clone())
                });
                let shared = shared.clone();
                tokio::spawn(async move {
                    let result = handle.await;
                    finished(&shared, ticket, result);
                });
            }
            Action::Cancel { ticket, job } => {
                let state = shared.lock();
                if let Some(run) = state.runs.get(&ticket) {
                    run.stop.request(
                        StopLevel::Halt,
                        format!("cancelled by a newer fire of job `{job}` (overlap = \"cancel\")"),
                    );
                }
            }
            Action::Skip { fire, why } => {
                tracing::info!(job = %fire.job, reason = %fire.reason.as_text(), "Fire skipped: {why}.");
                if fire.scheduled_for.is_some() {
                    shared.notifier.send(Notification::JobMissed {
                        job: fire.job.clone(),
                        scheduled_for: fire.scheduled_for,
                        why: why.clone(),
                    });
                }
                shared
                    .lock()
                    .event(now, &fire.job, format!("skipped: {why}"));
            }
        }
    }
}

/// A run ended: record it, tell the scheduler, start what follows.
fn finished(
    shared: &Arc<Shared>,
    ticket: Ticket,
    result: Result<Result<sluice::RunSummary, RunError>, tokio::task::JoinError>,
) {
    let now = shared.clock.now();
    let mut state = shared.lock();
    let Some(run) = state.runs.remove(&ticket) else {
        return;
    };
    let (run_id, status, what) = match &result {
        Ok(Ok(summary)) => (
            Some(summary.run_id),
            Some(summary.status),
            format!("run {} ended {}", summary.run_id, summary.status),
        ),
        Ok(Err(RunError::Setup { run_id, source })) => (
            Some(*run_id),
            Some(RunStatus::Failed),
            format!("run {run_id} failed before reading any record: {source}"),
        ),
        Ok(Err(e)) => (None, None, format!("could not run: {e}")),
        Err(e) => (None, None, format!("the run's thread crashed: {e}")),
    };
    if let Some(run_id) = run_id {
        let row = JobRunRow {
            run_id,
            job: run.fire.job.clone(),
            reason: run.fire.reason.as_text(),
            scheduled_for: run.fire.scheduled_for.map(|t| t.to_string()),
        };
        if let Err(e) = state.log.record_job_run(&shared.project_key, &row) {
            tracing::error!(error = %e, run = run_id, "Cannot record which job started the run.");
        }
        if let Some(facts) = run_facts(&run.fire.job, &result) {
            let alerts = state
                .project
                .job(&run.fire.job)
                .map(|j| j.alerts.clone())
                .unwrap_or_default();
            match notify::alerts::run_events(state.log(), &shared.project_key, facts, &alerts) {
                Ok(events) => events.into_iter().for_each(|e| shared.notifier.send(e)),
                Err(e) => {
                    tracing::error!(error = %e, run = run_id, "Cannot tell which webhooks the run is worth.")
                }
            }
        }
    }
    tracing::info!(job = %run.fire.job, ticket, "{what}");
    state.event(now, &run.fire.job, what);
    // A run the daemon stopped triggers nothing after it.
    let status = status.filter(|_| run.stop.level() == StopLevel::None);
    let actions = state.scheduler.finished(ticket, status);
    state.persist(&shared.project_key);
    drop(state);
    shared.run_ended.notify_waiters();
    apply(shared, actions);
}

/// What the webhooks are told about a run that ended.
fn run_facts(
    job: &str,
    result: &Result<Result<sluice::RunSummary, RunError>, tokio::task::JoinError>,
) -> Option<RunFacts> {
    match result {
        Ok(Ok(summary)) => Some(RunFacts {
            job: job.to_owned(),
            run_id: summary.run_id,
            status: summary.status,
            reason: summary.status_reason.clone(),
            counts: summary.totals,
        }),
        Ok(Err(RunError::Setup { run_id, source })) => Some(RunFacts {
            job: job.to_owned(),
            run_id: *run_id,
            status: RunStatus::Failed,
            reason: Some(source.to_string()),
            counts: Default::default(),
        }),
        _ => None,
    }
}

/// Load the project file again; on success only the jobs that changed
/// change, on failure the old configuration keeps running.
pub async fn reload(shared: &Arc<Shared>) -> ReloadReport {
    let _one_at_a_time = shared.reloading.lock().await;
    let file = shared.project_file.clone();
    let loaded = tokio::task::spawn_blocking(move || load_project(&file)).await;
    let now = shared.clock.now();
    let report = match loaded {
        Ok(Ok(project)) => {
            let mut state = shared.lock();
            let outcome = state.scheduler.reload(specs(&project), now);
            if project.data_dir != state.project.data_dir {
                tracing::warn!(
                    "`data_dir` changed in the project file; it takes effect when the daemon restarts."
                );
            }
            shared.notifier.configure(project.webhooks.clone());
            state.project = project;
            state.persist(&shared.project_key);
            ReloadReport {
                at: now,
                ok: true,
                outcome: Some(outcome),
                error: None,
            }
        }
        Ok(Err(e)) => ReloadReport {
            at: now,
            ok: false,
            outcome: None,
            error: Some(e.to_string()),
        },
        Err(e) => ReloadReport {
            at: now,
            ok: false,
            outcome: None,
            error: Some(format!("the reload crashed: {e}")),
        },
    };
    shared.lock().last_reload = Some(report.clone());
    shared.wake.notify_one();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_keeps_the_stamps_taken_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        for f in [&a, &b, &c] {
            std::fs::write(f, "x").unwrap();
        }
        let before: Vec<Stamp> = vec![
            Some((std::time::UNIX_EPOCH, 1)),
            Some((std::time::UNIX_EPOCH, 2)),
        ];
        let (stamps, files) = restamp(&[a, b.clone()], &before, vec![b.clone(), c.clone()]);
        assert_eq!(files, vec![b, c]);
        assert_eq!(
            stamps[0], before[1],
            "a file watched before keeps its pre-reload stamp"
        );
        assert!(
            stamps[1].is_some_and(|(_, len)| len == 1),
            "a new file is stamped now"
        );
    }
}
