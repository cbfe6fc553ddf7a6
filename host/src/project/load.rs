//! Reading and checking `sluice.toml`.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::PROJECT_FILE;
use super::file::ProjectFile;
use super::graph::find_cycle;
use super::job::{Catchup, Overlap, When};
use crate::config::{ConfigError, LoadedPipeline, Location, load_pipeline};
use crate::notify::{Alerts, Webhook};
use crate::schedule::{CronSchedule, Trigger, parse_interval};

/// Most runs of one job at once.
pub const MAX_CONCURRENCY: u32 = 64;

/// Longest job name.
const MAX_JOB_NAME: usize = 64;

/// A project file that cannot be used, with the place to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file could not be read.
    #[error("cannot read project file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, does not match the schema, or a value
    /// is not acceptable.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line:column`.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A job's pipeline file does not load.
    #[error("{location}: job `{job}`: {source}")]
    Pipeline {
        /// `file:line:column` of the job's `pipeline`.
        location: Location,
        /// The job.
        job: String,
        /// What is wrong with the pipeline file (itself naming its
        /// `file:line:column`).
        #[source]
        source: Box<ConfigError>,
    },
}

/// A loaded, checked project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project file.
    pub path: PathBuf,
    /// The project directory (relative paths in the file start here).
    pub dir: PathBuf,
    /// The data directory named by the file (default `<dir>/.sluice`).
    pub data_dir: PathBuf,
    /// The connections file named by the file, if any.
    pub connections: Option<PathBuf>,
    /// `[daemon] listen`, if set.
    pub listen: Option<String>,
    /// `[daemon] token_file`, resolved, if set.
    pub token_file: Option<PathBuf>,
    /// `[daemon] watch`: reload when a file of the project changes.
    pub watch: bool,
    /// The jobs, in file order.
    pub jobs: Vec<Job>,
    /// The webhooks (`[[webhook]]`), in file order.
    pub webhooks: Vec<Webhook>,
}

/// One job, checked: its pipeline loaded and its trigger parsed.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job's name.
    pub name: String,
    /// Where the job is defined (`file:line:column` of its `[[job]]`).
    pub location: Location,
    /// The pipeline it runs.
    pub pipeline: LoadedPipeline,
    /// When it fires by itself.
    pub trigger: Trigger,
    /// What a fire does while a run is in progress.
    pub overlap: Overlap,
    /// What happens to fires missed while the daemon was down.
    pub catchup: Catchup,
    /// Jobs whose runs trigger this one.
    pub after: Vec<String>,
    /// Which endings of those runs trigger it.
    pub when: When,
    /// Runs at once, at most.
    pub concurrency: u32,
    /// Whether it starts paused.
    pub paused: bool,
    /// When its runs and fires are worth a webhook.
    pub alerts: Alerts,
    /// `sha256:` over everything that defines the job (its settings and its
    /// pipeline's configuration hash): a reload changes only jobs whose
    /// fingerprint changed.
    pub fingerprint: String,
}

impl Project {
    /// The job named `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// Every file the project is made of: the project file, each job's
    /// pipeline file and the connections file.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        files.extend(self.jobs.iter().map(|j| j.pipeline.path.clone()));
        files.extend(self.connections.clone());
        files.sort();
        files.dedup();
        files
    }
}

/// Whether `name` is acceptable as a job's or a webhook's name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_JOB_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Read and check the project in `path`: a `sluice.toml` file, or a
/// directory holding one.
pub fn load_project(path: &Path) -> Result<Project, ProjectError> {
    let file = if path.is_dir() {
        path.join(PROJECT_FILE)
    } else {
        path.to_owned()
    };
    let text = std::fs::read_to_string(&file).map_err(|source| ProjectError::Read {
        path: file.clone(),
        source,
    })?;
    parse_project(&text, &file)
}

/// Check project text that came from `path`.
pub fn parse_project(text: &str, path: &Path) -> Result<Project, ProjectError> {
    let at = |span: &Range<usize>, message: String| ProjectError::Invalid {
        location: crate::config::locate(path, text, span.start),
        message,
    };
    let parsed: ProjectFile = toml::from_str(text).map_err(|e| ProjectError::Invalid {
        location: crate::config::locate(path, text, e.span().map_or(0, |s| s.start)),
        message: e.message().trim().to_owned(),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let data_dir = dir.join(
        parsed
            .data_dir
            .as_ref()
            .map_or(".sluice", |d| d.get_ref().as_str()),
    );
    let connections = parsed.connections.as_ref().map(|c| dir.join(c.get_ref()));
    if let (Some(c), Some(resolved)) = (&parsed.connections, &connections)
        && !resolved.is_file()
    {
        return Err(at(
            &c.span(),
            format!(
                "connections file `{}` does not exist ({})",
                c.get_ref(),
                resolved.display()
            ),
        ));
    }
    if let Some(listen) = &parsed.daemon.listen
        && listen.get_ref().parse::<std::net::SocketAddr>().is_err()
    {
        return Err(at(
            &listen.span(),
            format!(
                "`{}` is not an address to listen on; write an IP address and port such as `127.0.0.1:7420`",
                listen.get_ref()
            ),
        ));
    }
    let token_file = parsed
        .daemon
        .token_file
        .as_ref()
        .map(|t| dir.join(t.get_ref()));

    let mut jobs = Vec::new();
    let mut names: HashMap<String, Range<usize>> = HashMap::new();
    for spanned in &parsed.jobs {
        let j = spanned.get_ref();
        let name = j.name.get_ref().clone();
        if !valid_name(&name) {
            return Err(at(
                &j.name.span(),
                format!(
                    "`{name}` is not a job name: use 1 to {MAX_JOB_NAME} letters, digits, `-`, `_` or `.`"
                ),
            ));
        }
        if names.insert(name.clone(), j.name.span()).is_some() {
            return Err(at(&j.name.span(), format!("job `{name}` is defined twice")));
        }
        let trigger = match (&j.schedule, &j.every) {
            (Some(s), Some(e)) => {
                return Err(at(
                    &e.span(),
                    format!(
                        "job `{name}` has both `schedule` and `every` (line {}); keep one",
                        crate::config::locate(path, text, s.span().start).line
                    ),
                ));
            }
            (Some(s), None) => Trigger::Cron(Box::new(
                CronSchedule::new(
                    s.get_ref(),
                    j.timezone.as_ref().map(|t| t.get_ref().as_str()),
                )
                .map_err(|e| {
                    let span = match (&e, &j.timezone) {
                        (crate::schedule::InvalidCron::Zone(_), Some(t)) => t.span(),
                        _ => s.span(),
                    };
                    at(&span, format!("job `{name}`: {e}"))
                })?,
            )),
            (None, Some(e)) => Trigger::Every(
                parse_interval(e.get_ref())
                    .map_err(|err| at(&e.span(), format!("job `{name}`: {err}")))?,
            ),
            (None, None) => Trigger::Manual,
        };
        if let (Some(tz), false) = (&j.timezone, matches!(trigger, Trigger::Cron(_))) {
            return Err(at(
                &tz.span(),
                format!(
                    "job `{name}`: `timezone` applies to a cron `schedule`, and this job has none"
                ),
            ));
        }
        let concurrency = match &j.concurrency {
            Some(c) if !(1..=MAX_CONCURRENCY).contains(c.get_ref()) => {
                return Err(at(
                    &c.span(),
                    format!("job `{name}`: concurrency must be between 1 and {MAX_CONCURRENCY}"),
                ));
            }
            Some(c) => *c.get_ref(),
            None => 1,
        };
        let mut pipeline = load_pipeline(&dir.join(j.pipeline.get_ref())).map_err(|source| {
            ProjectError::Pipeline {
                location: crate::config::locate(path, text, j.pipeline.span().start),
                job: name.clone(),
                source: Box::new(source),
            }
        })?;
        pipeline.connections = connections.clone();
        let after: Vec<String> = j.after.iter().map(|a| a.get_ref().clone()).collect();
        let fingerprint = {
            let mut h = Sha256::new();
            for part in [
                name.as_str(),
                &trigger.describe(),
                &format!("{:?}/{:?}/{:?}/{concurrency}", j.overlap, j.catchup, j.when),
                &after.join("\u{1f}"),
                &pipeline.config_hash,
                &std::path::absolute(&pipeline.path)
                    .unwrap_or_else(|_| pipeline.path.clone())
                    .display()
                    .to_string(),
                &connections
                    .as_ref()
                    .map(|c| c.display().to_string())
                    .unwrap_or_default(),
            ] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            format!("sha256:{}", hex::encode(h.finalize()))
        };
        let alerts = match &j.alerts {
            Some(a) => a
                .check()
                .map_err(|e| at(&e.span, format!("job `{name}`: {}", e.message)))?,
            None => Alerts::default(),
        };
        jobs.push(Job {
            name,
            location: crate::config::locate(path, text, spanned.span().start),
            pipeline,
            trigger,
            overlap: j.overlap,
            catchup: j.catchup,
            after,
            when: j.when,
            concurrency,
            paused: j.paused,
            alerts,
            fingerprint,
        });
    }
    // Dependencies name jobs of the project, and form no cycle.
    for spanned in &parsed.jobs {
        let j = spanned.get_ref();
        let mut seen = HashSet::new();
        for a in &j.after {
            if !names.contains_key(a.get_ref()) {
                let suggestion = names
                    .keys()
                    .map(|n| (strsim::jaro_winkler(n, a.get_ref()), n))
                    .filter(|(score, _)| *score > 0.8)
                    .max_by(|x, y| x.0.total_cmp(&y.0))
                    .map(|(_, n)| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(at(
                    &a.span(),
                    format!(
                        "job `{}` runs after `{}`, which is not a job of this project{suggestion}",
                        j.name.get_ref(),
                        a.get_ref()
                    ),
                ));
            }
            if !seen.insert(a.get_ref()) {
                return Err(at(
                    &a.span(),
                    format!(
                        "job `{}` names `{}` twice in `after`",
                        j.name.get_ref(),
                        a.get_ref()
                    ),
                ));
            }
        }
    }
    let edges: Vec<(String, Vec<String>)> = jobs
        .iter()
        .map(|j| (j.name.clone(), j.after.clone()))
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        // Point at the first job's `after` entry that closes the cycle.
        let first = &cycle[0];
        let second = &cycle[1];
        let span = parsed
            .jobs
            .iter()
            .map(|s| s.get_ref())
            .find(|j| j.name.get_ref() == first)
            .and_then(|j| j.after.iter().find(|a| a.get_ref() == second))
            .map(|a| a.span())
            .unwrap_or(0..0);
        return Err(at(
            &span,
            format!(
                "jobs depend on each other in a cycle: {}; none of them could ever run after the others",
                cycle
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(" runs after ")
            ),
        ));
    }
    let mut webhooks: Vec<Webhook> = Vec::new();
    for spanned in &parsed.webhooks {
        let w = spanned.get_ref();
        let hook = w
            .check(|var| std::env::var(var).ok())
            .map_err(|e| at(&e.span, e.message))?;
        if !valid_name(&hook.name) {
            return Err(at(
                &w.name.span(),
                format!(
                    "`{}` is not a webhook name: use 1 to {MAX_JOB_NAME} letters, digits, `-`, `_` or `.`",
                    hook.name
                ),
            ));
        }
        if webhooks.iter().any(|h| h.name == hook.name) {
            return Err(at(
                &w.name.span(),
                format!("webhook `{}` is defined twice", hook.name),
            ));
        }
        for j in w.jobs.iter().flatten() {
            if !names.contains_key(j.get_ref()) {
                return Err(at(
                    &j.span(),
                    format!(
                        "webhook `{}` names job `{}`, which is not a job of this project",
                        hook.name,
                        j.get_ref()
                    ),
                ));
            }
        }
        webhooks.push(hook);
    }
    Ok(Project {
        path: path.to_owned(),
        dir,
        data_dir,
        connections,
        listen: parsed.daemon.listen.map(|l| l.into_inner()),
        token_file,
        watch: parsed.daemon.watch.unwrap_or(true),
        jobs,
        webhooks,
    })
}
