//! The daemon's schedule state (`job_schedule`) and which job started which
//! run (`job_runs`), so a restarted daemon resumes where it stopped.

use rusqlite::params;
use serde::Serialize;

use super::error::RunLogError;
use super::store::RunLog;

/// The stored schedule state of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobScheduleRow {
    /// The job.
    pub job: String,
    /// When it last fired (RFC 3339, UTC).
    pub last_fire_at: Option<String>,
    /// When it fires next (RFC 3339, UTC); `None` when only triggered.
    pub next_fire_at: Option<String>,
    /// Whether an operator paused it.
    pub paused: bool,
}

/// A run a job started.
#[derive(Debug, Clone, Serialize)]
pub struct JobRunRow {
    /// The run.
    pub run_id: i64,
    /// The job.
    pub job: String,
    /// Why it ran: `schedule`, `catch-up`, `manual` or `after:<job>`.
    pub reason: String,
    /// The fire it served, for scheduled runs.
    pub scheduled_for: Option<String>,
}

impl RunLog {
    /// The stored schedule state of every job of `project`.
    pub fn job_schedules(&self, project: &str) -> Result<Vec<JobScheduleRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT job, last_fire_at, next_fire_at, paused FROM job_schedule
             WHERE project = ?1 ORDER BY job",
        )?;
        let rows = stmt.query_map([project], |r| {
            Ok(JobScheduleRow {
                job: r.get(0)?,
                last_fire_at: r.get(1)?,
                next_fire_at: r.get(2)?,
                paused: r.get::<_, i64>(3)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Store the schedule state of jobs of `project`, in one transaction;
    /// jobs of the project not in `keep` are forgotten (`None` keeps all).
    pub fn save_job_schedules(
        &mut self,
        project: &str,
        rows: &[JobScheduleRow],
        keep: Option<&[String]>,
    ) -> Result<(), RunLogError> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO job_schedule (project, job, last_fire_at, next_fire_at, paused, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                 ON CONFLICT (project, job) DO UPDATE SET
                    last_fire_at = excluded.last_fire_at,
                    next_fire_at = excluded.next_fire_at,
                    paused = excluded.paused,
                    updated_at = excluded.updated_at",
            )?;
            for row in rows {
                upsert.execute(params![
                    project,
                    row.job,
                    row.last_fire_at,
                    row.next_fire_at,
                    row.paused as i64
                ])?;
            }
        }
        if let Some(keep) = keep {
            let existing: Vec<String> = {
                let mut stmt = tx.prepare("SELECT job FROM job_schedule WHERE project = ?1")?;
                let rows = stmt.query_map([project], |r| r.get(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for job in existing.iter().filter(|j| !keep.contains(j)) {
                tx.execute(
                    "DELETE FROM job_schedule WHERE project = ?1 AND job = ?2",
                    params![project, job],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Projects with stored schedule state, sorted.
    pub fn job_projects(&self) -> Result<Vec<String>, RunLogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT project FROM job_schedule ORDER BY project")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Record that `job` of `project` started run `run_id`.
    pub fn record_job_run(&self, project: &str, row: &JobRunRow) -> Result<(), RunLogError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO job_runs (run_id, project, job, reason, scheduled_for)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.run_id, project, row.job, row.reason, row.scheduled_for],
        )?;
        Ok(())
    }

    /// The runs jobs of `project` started, newest first, at most `limit`;
    /// only `job`'s when given.
    pub fn job_runs(
        &self,
        project: &str,
        job: Option<&str>,
        limit: u32,
    ) -> Result<Vec<JobRunRow>, RunLogError> {
        let mut stmt = self.conn.prepare(
            "SELECT run_id, job, reason, scheduled_for FROM job_runs
             WHERE project = ?1 AND (?2 IS NULL OR job = ?2)
             ORDER BY run_id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![project, job, limit], |r| {
            Ok(JobRunRow {
                run_id: r.get(0)?,
                job: r.get(1)?,
                reason: r.get(2)?,
                scheduled_for: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_with_jobs_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        assert!(log.job_projects().unwrap().is_empty());
        let row = JobScheduleRow {
            job: "sync".into(),
            ..JobScheduleRow::default()
        };
        log.save_job_schedules("/b/sluice.toml", std::slice::from_ref(&row), None)
            .unwrap();
        log.save_job_schedules("/a/sluice.toml", &[row], None)
            .unwrap();
        assert_eq!(
            log.job_projects().unwrap(),
            vec!["/a/sluice.toml", "/b/sluice.toml"]
        );
    }

    #[test]
    fn schedule_state_survives_reopening_and_forgets_removed_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let row = |job: &str, next: &str| JobScheduleRow {
            job: job.into(),
            last_fire_at: Some("2026-12-06T08:00:00Z".into()),
            next_fire_at: Some(next.into()),
            paused: job == "b",
        };
        {
            let mut log = RunLog::open(&path).unwrap();
            log.save_job_schedules(
                "/p/sluice.toml",
                &[
                    row("a", "2026-12-06T09:00:00Z"),
                    row("b", "2026-12-07T00:00:00Z"),
                ],
                None,
            )
            .unwrap();
            log.save_job_schedules("/other/sluice.toml", &[row("a", "x")], None)
                .unwrap();
        }
        let mut log = RunLog::open(&path).unwrap();
        let rows = log.job_schedules("/p/sluice.toml").unwrap();
        assert_eq!(
            rows,
            [
                row("a", "2026-12-06T09:00:00Z"),
                row("b", "2026-12-07T00:00:00Z")
            ]
        );
        log.save_job_schedules(
            "/p/sluice.toml",
            &[row("a", "2026-12-06T10:00:00Z")],
            Some(&["a".to_owned()]),
        )
        .unwrap();
        assert_eq!(
            log.job_schedules("/p/sluice.toml").unwrap(),
            [row("a", "2026-12-06T10:00:00Z")]
        );
        assert_eq!(log.job_schedules("/other/sluice.toml").unwrap().len(), 1);
    }

    #[test]
    fn job_runs_are_listed_newest_first_and_go_with_their_run() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::open(&dir.path().join("runs.db")).unwrap();
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(log.start_run("p", "/p.toml", "sha256:0").unwrap());
        }
        for (i, id) in ids.iter().enumerate() {
            log.record_job_run(
                "/s.toml",
                &JobRunRow {
                    run_id: *id,
                    job: if i == 1 { "b".into() } else { "a".into() },
                    reason: "manual".into(),
                    scheduled_for: None,
                },
            )
            .unwrap();
        }
        let all = log.job_runs("/s.toml", None, 10).unwrap();
        assert_eq!(
            all.iter().map(|r| r.run_id).collect::<Vec<_>>(),
            [ids[2], ids[1], ids[0]]
        );
        let a = log.job_runs("/s.toml", Some("a"), 1).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].run_id, ids[2]);
    }
}
