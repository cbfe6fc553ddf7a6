//! What the dashboard served by the daemon may do to its jobs: the same
//! scheduler calls as the API's trigger, pause and resume.

use std::sync::Arc;

use sluice::daemon::{Action, FireReason, JobView};

use super::service::{self, Shared};
use crate::ui::{DaemonControl, JobAction};

/// The daemon, as the dashboard sees it.
pub struct DashboardControl(pub Arc<Shared>);

impl DaemonControl for DashboardControl {
    fn project(&self) -> String {
        self.0.project_key.clone()
    }

    fn jobs(&self) -> Vec<JobView> {
        self.0.lock().scheduler.jobs()
    }

    fn active_runs(&self) -> Vec<serde_json::Value> {
        super::api::active(&self.0.lock(), None)
    }

    fn act(&self, job: &str, action: JobAction) -> Result<String, String> {
        let shared = &self.0;
        let now = shared.clock.now();
        match action {
            JobAction::Trigger => {
                let actions = {
                    let mut state = shared.lock();
                    if state.stopping.is_some() {
                        return Err("the daemon is stopping".to_owned());
                    }
                    let actions = state
                        .scheduler
                        .trigger(job, now)
                        .map_err(|e| e.to_string())?;
                    state.persist(&shared.project_key);
                    actions
                };
                let skipped = actions.iter().find_map(|a| match a {
                    Action::Skip { fire, why }
                        if fire.job == job && fire.reason == FireReason::Manual =>
                    {
                        Some(why.clone())
                    }
                    _ => None,
                });
                let started = actions
                    .iter()
                    .any(|a| matches!(a, Action::Start { fire, .. } if fire.job == job));
                service::apply(shared, actions);
                match skipped {
                    Some(why) => Err(format!("`{job}` was not started: {why}")),
                    None if started => Ok(format!("`{job}` started.")),
                    None => Ok(format!(
                        "`{job}` is queued: it starts when the run in progress ends."
                    )),
                }
            }
            JobAction::Pause | JobAction::Resume => {
                let mut state = shared.lock();
                let paused = action == JobAction::Pause;
                if paused {
                    state.scheduler.pause(job)
                } else {
                    state.scheduler.resume(job, now)
                }
                .map_err(|e| e.to_string())?;
                state.persist(&shared.project_key);
                if paused {
                    tracing::info!(job = %job, "Job paused from the dashboard.");
                    Ok(format!("`{job}` is paused."))
                } else {
                    shared.wake.notify_one();
                    tracing::info!(job = %job, "Job resumed from the dashboard.");
                    Ok(format!("`{job}` is resumed."))
                }
            }
        }
    }
}
