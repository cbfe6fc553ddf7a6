//! When jobs run: schedules, overlap, catch-up after downtime, and
//! dependencies between jobs.
//!
//! Rules:
//! - A job fires when its trigger's next fire time has passed. A daemon
//!   that wakes up late (a suspended machine) fires once, not once per
//!   missed time, and counts the next fire from now.
//! - A fire starts a run if fewer than `concurrency` runs of the job are in
//!   progress and none is waiting. Otherwise `overlap` decides: `skip`
//!   drops it, `queue` keeps it waiting (one waiting scheduled fire per
//!   job; more are merged into it), `cancel` stops the running runs at
//!   their next batch boundary and starts the fire when they have ended.
//! - Fires missed while the daemon was down (its stored next fire time
//!   has passed at start-up) follow `catchup`: `none` forgets them,
//!   `latest` runs once, `all` runs once for each (at most
//!   [`MAX_CATCHUP`]), one after another.
//! - A job with `after = [...]` fires when every job it names has ended,
//!   since its last such fire, with a status `when` accepts. Runs the
//!   daemon stopped (cancelled, or stopped at shutdown) trigger nothing.
//! - A paused job does not fire on its schedule or after other jobs; an
//!   explicit trigger still runs it. Resuming counts the next fire from
//!   the time of resuming; the fires missed while paused are not caught up.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use jiff::Timestamp;
use serde::Serialize;

use crate::model::RunStatus;
use crate::project::{Catchup, Job, Overlap, When};
use crate::runlog::JobScheduleRow;
use crate::schedule::Trigger;

/// Most fires run for one job after downtime with `catchup = "all"`.
pub const MAX_CATCHUP: usize = 100;

/// The daemon's handle on one run it started (not the run log's id, which
/// exists only once the run has started).
pub type Ticket = u64;

/// Why a job fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "job")]
pub enum FireReason {
    /// Its schedule.
    Schedule,
    /// A fire missed while the daemon was down.
    CatchUp,
    /// An operator (the API).
    Manual,
    /// The jobs it runs after ended; the last of them is named.
    After(String),
}

impl FireReason {
    /// The reason as stored in the run log (`job_runs.reason`).
    pub fn as_text(&self) -> String {
        match self {
            FireReason::Schedule => "schedule".into(),
            FireReason::CatchUp => "catch-up".into(),
            FireReason::Manual => "manual".into(),
            FireReason::After(job) => format!("after:{job}"),
        }
    }
}

/// One fire of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fire {
    /// The job.
    pub job: String,
    /// Why.
    pub reason: FireReason,
    /// The scheduled time this fire serves (scheduled and caught-up fires).
    pub scheduled_for: Option<Timestamp>,
}

/// What the daemon must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a run of `fire.job`, known from now on as `ticket`.
    Start {
        /// The run's handle, for [`Scheduler::finished`].
        ticket: Ticket,
        /// The fire it serves.
        fire: Fire,
    },
    /// Stop the run `ticket` at its next batch boundary (`overlap =
    /// "cancel"`); report its end with [`Scheduler::finished`] as usual.
    Cancel {
        /// The run.
        ticket: Ticket,
        /// Its job.
        job: String,
    },
    /// A fire was dropped.
    Skip {
        /// The fire.
        fire: Fire,
        /// Why, in one sentence.
        why: String,
    },
}

/// What a job is, for the scheduler.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Name.
    pub name: String,
    /// When it fires by itself.
    pub trigger: Trigger,
    /// What a fire does while it runs.
    pub overlap: Overlap,
    /// What happens to fires missed while the daemon was down.
    pub catchup: Catchup,
    /// Jobs it runs after.
    pub after: Vec<String>,
    /// Which endings of those trigger it.
    pub when: When,
    /// Runs at once, at most.
    pub concurrency: u32,
    /// Paused when first seen.
    pub paused: bool,
    /// Changes whenever anything defining the job changes.
    pub fingerprint: String,
}

impl From<&Job> for JobSpec {
    fn from(j: &Job) -> Self {
        JobSpec {
            name: j.name.clone(),
            trigger: j.trigger.clone(),
            overlap: j.overlap,
            catchup: j.catchup,
            after: j.after.clone(),
            when: j.when,
            concurrency: j.concurrency,
            paused: j.paused,
            fingerprint: j.fingerprint.clone(),
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// Name.
    pub name: String,
    /// `cron `…` (zone)`, `every 15m` or `manual`.
    pub trigger: String,
    /// Whether it is paused.
    pub paused: bool,
    /// Its next scheduled fire.
    pub next_fire_at: Option<Timestamp>,
    /// Its last fire.
    pub last_fire_at: Option<Timestamp>,
    /// Runs in progress.
    pub running: usize,
    /// Fires waiting for a run to end.
    pub waiting: usize,
    /// Overlap policy.
    pub overlap: Overlap,
    /// Catch-up policy.
    pub catchup: Catchup,
    /// Jobs it runs after.
    pub after: Vec<String>,
    /// Which endings of those trigger it.
    pub when: When,
    /// Runs at once, at most.
    pub concurrency: u32,
}

/// A request the scheduler cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulerError {
    /// No job has that name.
    #[error("no job `{0}` in the project")]
    NoSuchJob(String),
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadOutcome {
    /// Jobs that are new.
    pub added: Vec<String>,
    /// Jobs whose definition changed (runs in progress finish as they
    /// started).
    pub changed: Vec<String>,
    /// Jobs that are gone (runs in progress finish).
    pub removed: Vec<String>,
    /// Jobs left as they were.
    pub unchanged: Vec<String>,
}

#[derive(Debug)]
struct JobState {
    spec: JobSpec,
    paused: bool,
    next_fire: Option<Timestamp>,
    last_fire: Option<Timestamp>,
    running: Vec<Ticket>,
    cancelling: BTreeSet<Ticket>,
    waiting: VecDeque<Fire>,
    /// Jobs of `after` that ended acceptably since the last such fire.
    satisfied: BTreeSet<String>,
}

impl JobState {
    fn new(spec: JobSpec, now: Timestamp) -> Self {
        JobState {
            paused: spec.paused,
            next_fire: spec.trigger.next_after(now),
            last_fire: None,
            running: Vec::new(),
            cancelling: BTreeSet::new(),
            waiting: VecDeque::new(),
            satisfied: BTreeSet::new(),
            spec,
        }
    }
}

/// The scheduler: every job's state and the rules above.
#[derive(Debug)]
pub struct Scheduler {
    jobs: BTreeMap<String, JobState>,
    /// Job names in project order (fires at the same instant start in it).
    order: Vec<String>,
    next_ticket: Ticket,
    tickets: HashMap<Ticket, String>,
}

fn parse_time(text: &Option<String>) -> Option<Timestamp> {
    text.as_deref().and_then(|t| t.parse().ok())
}

impl Scheduler {
    /// A scheduler for `jobs` at `now`, resuming from the state `stored` in
    /// the run log; also the actions for fires missed while down.
    pub fn new(
        jobs: Vec<JobSpec>,
        stored: &[JobScheduleRow],
        now: Timestamp,
    ) -> (Self, Vec<Action>) {
        let mut s = Scheduler {
            jobs: BTreeMap::new(),
            order: Vec::new(),
            next_ticket: 1,
            tickets: HashMap::new(),
        };
        let stored: HashMap<&str, &JobScheduleRow> =
            stored.iter().map(|r| (r.job.as_str(), r)).collect();
        let mut missed: Vec<(String, Vec<Timestamp>)> = Vec::new();
        for spec in jobs {
            let name = spec.name.clone();
            let mut state = JobState::new(spec, now);
            if let Some(row) = stored.get(name.as_str()) {
                state.paused = row.paused;
                state.last_fire = parse_time(&row.last_fire_at);
                if let Some(next) = parse_time(&row.next_fire_at) {
                    if next <= now {
                        // Fires were due while the daemon was down.
                        let mut due = vec![next];
                        let mut t = next;
                        while let Some(n) = state.spec.trigger.next_after(t) {
                            if n > now || due.len() >= MAX_CATCHUP {
                                break;
                            }
                            due.push(n);
                            t = n;
                        }
                        if !state.paused {
                            missed.push((name.clone(), due));
                        }
                    } else if let Some(fresh) = state.next_fire {
                        // Keep the stored phase (an interval counted from
                        // the last fire), unless the trigger now says
                        // sooner.
                        state.next_fire = Some(next.min(fresh));
                    }
                }
            }
            s.order.push(name.clone());
            s.jobs.insert(name, state);
        }
        let mut actions = Vec::new();
        for (job, due) in missed {
            let catchup = s.jobs[&job].spec.catchup;
            let fires: Vec<Timestamp> = match catchup {
                Catchup::None => {
                    // Not run, but said: the last fire missed.
                    let last = *due.last().expect("at least one missed fire");
                    actions.push(Action::Skip {
                        fire: Fire {
                            job: job.clone(),
                            reason: FireReason::CatchUp,
                            scheduled_for: Some(last),
                        },
                        why: format!(
                            "{} fire(s) missed while the daemon was not running, not caught up (catchup = \"none\")",
                            due.len()
                        ),
                    });
                    Vec::new()
                }
                Catchup::Latest => vec![s.jobs[&job].spec.trigger.last_due(due[0], now)],
                Catchup::All => due,
            };
            if let Some(last) = fires.last() {
                s.jobs.get_mut(&job).expect("job").last_fire = Some(*last);
            }
            for at in fires {
                let fire = Fire {
                    job: job.clone(),
                    reason: FireReason::CatchUp,
                    scheduled_for: Some(at),
                };
                actions.extend(s.fire(fire));
            }
        }
        (s, actions)
    }

    /// The fires due at `now`.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Action> {
        let mut actions = Vec::new();
        for name in self.order.clone() {
            let state = self.jobs.get_mut(&name).expect("job in order");
            let Some(due) = state.next_fire else { continue };
            if due > now || state.paused {
                continue;
            }
            let mut next = state.spec.trigger.next_after(due);
            if next.is_some_and(|n| n <= now) {
                next = state.spec.trigger.next_after(now);
            }
            state.next_fire = next;
            state.last_fire = Some(due);
            actions.extend(self.fire(Fire {
                job: name,
                reason: FireReason::Schedule,
                scheduled_for: Some(due),
            }));
        }
        actions
    }

    /// An operator's trigger of `job`.
    pub fn trigger(&mut self, job: &str, now: Timestamp) -> Result<Vec<Action>, SchedulerError> {
        let state = self
            .jobs
            .get_mut(job)
            .ok_or_else(|| SchedulerError::NoSuchJob(job.to_owned()))?;
        state.last_fire = Some(now);
        Ok(self.fire(Fire {
            job: job.to_owned(),
            reason: FireReason::Manual,
            scheduled_for: None,
        }))
    }

    /// The run `ticket` ended with `status`, or was stopped by the daemon
    /// (`None`: it triggers no dependent job).
    pub fn finished(&mut self, ticket: Ticket, status: Option<RunStatus>) -> Vec<Action> {
        let Some(job) = self.tickets.remove(&ticket) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        let mut next = Vec::new();
        if let Some(state) = self.jobs.get_mut(&job) {
            state.running.retain(|t| *t != ticket);
            state.cancelling.remove(&ticket);
            let free = (state.spec.concurrency as usize).saturating_sub(state.running.len());
            for _ in 0..free {
                match state.waiting.pop_front() {
                    Some(fire) => next.push(fire),
                    None => break,
                }
            }
        }
        for fire in next {
            actions.push(self.start(fire));
        }
        let Some(status) = status else {
            return actions;
        };
        for name in self.order.clone() {
            let state = self.jobs.get_mut(&name).expect("job in order");
            if !state.spec.after.contains(&job) || !state.spec.when.accepts(status) {
                continue;
            }
            state.satisfied.insert(job.clone());
            if state.spec.after.iter().all(|a| state.satisfied.contains(a)) {
                state.satisfied.clear();
                if state.paused {
                    actions.push(Action::Skip {
                        fire: Fire {
                            job: name.clone(),
                            reason: FireReason::After(job.clone()),
                            scheduled_for: None,
                        },
                        why: format!("job `{name}` is paused"),
                    });
                    continue;
                }
                actions.extend(self.fire(Fire {
                    job: name,
                    reason: FireReason::After(job.clone()),
                    scheduled_for: None,
                }));
            }
        }
        actions
    }

    /// Pause `job`: it stops firing on its schedule and after other jobs.
    pub fn pause(&mut self, job: &str) -> Result<(), SchedulerError> {
        self.state(job)?.paused = true;
        Ok(())
    }

    /// Resume `job`; its next fire is counted from `now` if it passed.
    pub fn resume(&mut self, job: &str, now: Timestamp) -> Result<(), SchedulerError> {
        let state = self.state(job)?;
        state.paused = false;
        if state.next_fire.is_none_or(|n| n <= now) {
            state.next_fire = state.spec.trigger.next_after(now);
        }
        Ok(())
    }

    /// Replace the jobs with `jobs` (a reloaded project): only jobs whose
    /// fingerprint changed change. Runs in progress go on; a removed job's
    /// runs finish and trigger nothing new.
    pub fn reload(&mut self, jobs: Vec<JobSpec>, now: Timestamp) -> ReloadOutcome {
        let mut outcome = ReloadOutcome::default();
        let mut old = std::mem::take(&mut self.jobs);
        self.order.clear();
        for spec in jobs {
            let name = spec.name.clone();
            let state = match old.remove(&name) {
                // `paused` is not in the fingerprint (pausing does not
                // restart a job), but a changed `paused` in the file applies.
                Some(state)
                    if state.spec.fingerprint == spec.fingerprint
                        && state.spec.paused == spec.paused =>
                {
                    outcome.unchanged.push(name.clone());
                    state
                }
                Some(mut state) => {
                    outcome.changed.push(name.clone());
                    if state.spec.trigger.describe() != spec.trigger.describe() {
                        state.next_fire = spec.trigger.next_after(now);
                    }
                    if state.spec.paused != spec.paused {
                        state.paused = spec.paused;
                    }
                    state.satisfied.retain(|a| spec.after.contains(a));
                    state.spec = spec;
                    state
                }
                None => {
                    outcome.added.push(name.clone());
                    JobState::new(spec, now)
                }
            };
            self.order.push(name.clone());
            self.jobs.insert(name, state);
        }
        outcome.removed = old.into_keys().collect();
        outcome
    }

    /// When the next scheduled fire is due, if any job is scheduled.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.jobs
            .values()
            .filter(|s| !s.paused)
            .filter_map(|s| s.next_fire)
            .min()
    }

    /// The fires waiting for a run of their job to end, in project order.
    pub fn waiting(&self) -> Vec<Fire> {
        self.order
            .iter()
            .flat_map(|n| self.jobs[n].waiting.iter().cloned())
            .collect()
    }

    /// Every job, in project order.
    pub fn jobs(&self) -> Vec<JobView> {
        self.order
            .iter()
            .map(|n| self.view(&self.jobs[n]))
            .collect()
    }

    /// One job.
    pub fn job(&self, name: &str) -> Option<JobView> {
        self.jobs.get(name).map(|s| self.view(s))
    }

    /// The state to store in the run log.
    pub fn rows(&self) -> Vec<JobScheduleRow> {
        self.order
            .iter()
            .map(|n| {
                let s = &self.jobs[n];
                JobScheduleRow {
                    job: n.clone(),
                    last_fire_at: s.last_fire.map(|t| t.to_string()),
                    next_fire_at: s.next_fire.map(|t| t.to_string()),
                    paused: s.paused,
                }
            })
            .collect()
    }

    fn view(&self, s: &JobState) -> JobView {
        JobView {
            name: s.spec.name.clone(),
            trigger: s.spec.trigger.describe(),
            paused: s.paused,
            next_fire_at: s.next_fire,
            last_fire_at: s.last_fire,
            running: s.running.len(),
            waiting: s.waiting.len(),
            overlap: s.spec.overlap,
            catchup: s.spec.catchup,
            after: s.spec.after.clone(),
            when: s.spec.when,
            concurrency: s.spec.concurrency,
        }
    }

    fn state(&mut self, job: &str) -> Result<&mut JobState, SchedulerError> {
        self.jobs
            .get_mut(job)
            .ok_or_else(|| SchedulerError::NoSuchJob(job.to_owned()))
    }

    fn start(&mut self, fire: Fire) -> Action {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.tickets.insert(ticket, fire.job.clone());
        if let Some(state) = self.jobs.get_mut(&fire.job) {
            state.running.push(ticket);
        }
        Action::Start { ticket, fire }
    }

    /// Apply the job's concurrency and overlap policy to a fire.
    fn fire(&mut self, fire: Fire) -> Vec<Action> {
        let Some(state) = self.jobs.get_mut(&fire.job) else {
            return Vec::new();
        };
        let free = state.running.len() < state.spec.concurrency as usize;
        if free && state.waiting.is_empty() {
            return vec![self.start(fire)];
        }
        // Caught-up fires of `catchup = "all"` wait their turn whatever the
        // overlap policy: running each was asked for.
        if fire.reason == FireReason::CatchUp {
            state.waiting.push_back(fire);
            return Vec::new();
        }
        match state.spec.overlap {
            Overlap::Skip => {
                let why = format!(
                    "{} run(s) of job `{}` in progress (concurrency {}, overlap = \"skip\")",
                    state.running.len(),
                    fire.job,
                    state.spec.concurrency
                );
                vec![Action::Skip { fire, why }]
            }
            Overlap::Queue => {
                if let Some(waiting) = state
                    .waiting
                    .iter()
                    .find(|w| w.reason == fire.reason && w.reason == FireReason::Schedule)
                {
                    let why = format!(
                        "a fire of job `{}` is already waiting (for {}); merged into it",
                        fire.job,
                        waiting
                            .scheduled_for
                            .map(|t| t.to_string())
                            .unwrap_or_default()
                    );
                    return vec![Action::Skip { fire, why }];
                }
                state.waiting.push_back(fire);
                Vec::new()
            }
            Overlap::Cancel => {
                let mut actions: Vec<Action> = Vec::new();
                // The newest fire replaces any that were waiting.
                for dropped in state.waiting.drain(..) {
                    actions.push(Action::Skip {
                        why: format!("replaced by a newer fire of job `{}`", dropped.job),
                        fire: dropped,
                    });
                }
                for ticket in state.running.clone() {
                    if state.cancelling.insert(ticket) {
                        actions.push(Action::Cancel {
                            ticket,
                            job: fire.job.clone(),
                        });
                    }
                }
                state.waiting.push_back(fire);
                actions
            }
        }
    }
}

#[cfg(test)]
mod tests;
