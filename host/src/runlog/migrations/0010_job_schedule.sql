-- Schema 10: the daemon's schedule state, so a restarted daemon resumes
-- where it stopped. Documented in docs/RUNLOG.md.

-- One row per job of a project: when it last fired, when it fires next,
-- and whether an operator paused it.
CREATE TABLE job_schedule (
    project      TEXT    NOT NULL,  -- absolute path of the project file
    job          TEXT    NOT NULL,
    last_fire_at TEXT,              -- RFC 3339, UTC
    next_fire_at TEXT,              -- RFC 3339, UTC; NULL: manual only
    paused       INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    updated_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (project, job)
);

-- Which job started which run, and why.
CREATE TABLE job_runs (
    run_id        INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    project       TEXT    NOT NULL,
    job           TEXT    NOT NULL,
    reason        TEXT    NOT NULL,  -- schedule, catch-up, manual, after:<job>
    scheduled_for TEXT               -- RFC 3339: the fire this run serves
);
CREATE INDEX job_runs_by_job ON job_runs (project, job, run_id);
