//! `[[job]]`: a pipeline, when it runs, and how runs of it relate.

use serde::Deserialize;
use toml::Spanned;

/// One job of a project.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// The job's name: unique in the project, used by the API and by
    /// other jobs' `after`. Letters, digits, `-`, `_` and `.`.
    pub name: Spanned<String>,
    /// The pipeline file the job runs, relative to the project directory.
    pub pipeline: Spanned<String>,
    /// A cron expression (five fields: minute, hour, day of month, month,
    /// day of week; or `@daily`, `@hourly`…), read in `timezone`.
    /// Exclusive with `every`. Without either, the job runs only when
    /// triggered (over the API) or after the jobs in `after`.
    #[serde(default)]
    pub schedule: Option<Spanned<String>>,
    /// The IANA time zone `schedule` is read in (`Europe/Berlin`). Default
    /// `UTC`. A fixed time that does not exist on a spring-forward day
    /// runs at the first instant after the gap; one that happens twice on
    /// a fall-back day runs once, at the first.
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    /// Run at a fixed interval (`30s`, `15m`, `2h`, `1h 30m`, `1d`),
    /// counted from the previous fire. Exclusive with `schedule`.
    #[serde(default)]
    pub every: Option<Spanned<String>>,
    /// What happens when the job fires while a run of it is in progress.
    /// Default `skip`.
    #[serde(default)]
    pub overlap: Overlap,
    /// What happens to the fires missed while the daemon was not running.
    /// Default `latest`.
    #[serde(default)]
    pub catchup: Catchup,
    /// Jobs whose runs trigger this one when they end as `when` says.
    #[serde(default)]
    pub after: Vec<Spanned<String>>,
    /// Which endings of an `after` job trigger this one. Default
    /// `success`.
    #[serde(default)]
    pub when: When,
    /// Runs of this job at the same time, at most (default 1). More than
    /// one needs `overlap = "queue"` or a pipeline whose targets allow it:
    /// runs of one pipeline still exclude each other through the run lock,
    /// so a second run waits for the first.
    #[serde(default)]
    pub concurrency: Option<Spanned<u32>>,
    /// Start paused: the schedule is kept but nothing fires until the job
    /// is resumed over the API. Default `false`.
    #[serde(default)]
    pub paused: bool,
    /// When this job's runs and fires are worth a webhook beyond their
    /// status: `{ error_rate = 0.05, dlq_growth = 100, late_after = "10m" }`.
    #[serde(default)]
    pub alerts: Option<crate::notify::AlertsConfig>,
}

/// What a fire does while the job is running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlap {
    /// The fire is dropped (recorded as skipped in the daemon's log).
    #[default]
    Skip,
    /// The fire waits and runs when the running one ends (at most one
    /// waiting fire per job: fires that find one waiting are merged).
    Queue,
    /// The running run is stopped at its next batch boundary (what it read
    /// is loaded, failed or held back; nothing is lost), then the fire runs.
    Cancel,
}

/// What to do about fires missed while the daemon was down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Catchup {
    /// Forget them; wait for the next fire.
    None,
    /// Run once for all of them, as soon as the daemon starts.
    #[default]
    Latest,
    /// Run once for each of them (at most 100), one after another.
    All,
}

/// Which endings of a job trigger the jobs that run after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// The run succeeded.
    #[default]
    Success,
    /// The run succeeded or was partial (some records failed).
    Partial,
    /// The run ended, whatever its status (failed and aborted included).
    Completed,
}

impl When {
    /// Whether a run that ended `status` satisfies this condition.
    pub fn accepts(self, status: crate::model::RunStatus) -> bool {
        use crate::model::RunStatus as S;
        match self {
            When::Success => status == S::Succeeded,
            When::Partial => matches!(status, S::Succeeded | S::Partial),
            When::Completed => status != S::Running,
        }
    }
}
