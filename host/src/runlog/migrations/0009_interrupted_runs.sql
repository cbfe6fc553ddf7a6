-- Schema 9: runs whose process died are marked `interrupted`, and every run
-- records the process that ran it. Documented in docs/RUNLOG.md.
--
-- SQLite cannot change a CHECK constraint in place, so `runs` is rebuilt
-- (with the same columns, in the same order, plus `pid`). `RunLog::open`
-- migrates with foreign keys off, so dropping the old table deletes
-- nothing that references it; the migration checks them before it commits.

CREATE TABLE runs_v9 (
    id              INTEGER PRIMARY KEY,
    pipeline        TEXT    NOT NULL,
    pipeline_path   TEXT    NOT NULL,
    config_hash     TEXT    NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'aborted', 'interrupted')),
    status_reason   TEXT,
    started_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at     TEXT,
    duration_ms     INTEGER,
    extracted       INTEGER NOT NULL DEFAULT 0,
    loaded          INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    sluice_version  TEXT    NOT NULL,
    strategy        TEXT    NOT NULL DEFAULT 'skip',
    kind            TEXT    NOT NULL DEFAULT 'run',
    parent_run_id   INTEGER REFERENCES runs (id),
    actor           TEXT,
    plugin_digests  TEXT,
    -- The operating-system process that ran it (NULL before version 9).
    pid             INTEGER
);

INSERT INTO runs_v9 (id, pipeline, pipeline_path, config_hash, status, status_reason, started_at,
        finished_at, duration_ms, extracted, loaded, failed, skipped, sluice_version, strategy, kind,
        parent_run_id, actor, plugin_digests)
    SELECT id, pipeline, pipeline_path, config_hash, status, status_reason, started_at,
        finished_at, duration_ms, extracted, loaded, failed, skipped, sluice_version, strategy, kind,
        parent_run_id, actor, plugin_digests
    FROM runs;

DROP TABLE runs;
ALTER TABLE runs_v9 RENAME TO runs;

CREATE INDEX runs_by_pipeline ON runs (pipeline, id);
CREATE INDEX runs_by_start ON runs (started_at);
-- Finds the runs still marked running (to check whether their process lives).
CREATE INDEX runs_running ON runs (pipeline) WHERE status = 'running';
