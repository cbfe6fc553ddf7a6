-- Sluice run log, schema version 1. Documented in docs/RUNLOG.md.

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    pipeline        TEXT    NOT NULL,
    pipeline_path   TEXT    NOT NULL,
    config_hash     TEXT    NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'aborted')),
    status_reason   TEXT,
    started_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at     TEXT,
    duration_ms     INTEGER,
    extracted       INTEGER NOT NULL DEFAULT 0,
    loaded          INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    sluice_version  TEXT    NOT NULL
);
CREATE INDEX runs_by_pipeline ON runs (pipeline, id);

CREATE TABLE stage_counts (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    entity      TEXT    NOT NULL,
    stage       TEXT    NOT NULL
        CHECK (stage IN ('ingest', 'normalize', 'transform', 'execute', 'finalize')),
    records_in  INTEGER NOT NULL,
    records_out INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    PRIMARY KEY (run_id, entity, stage)
);

CREATE TABLE record_errors (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stage           TEXT    NOT NULL,
    entity          TEXT    NOT NULL,
    record_key      TEXT,
    source_position TEXT,
    field           TEXT,
    plugin          TEXT,
    plugin_digest   TEXT,
    category        TEXT    NOT NULL,
    code            TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    retryable       INTEGER NOT NULL DEFAULT 0,
    payload         TEXT,
    source_payload  TEXT,
    occurred_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX record_errors_by_run ON record_errors (run_id, stage, category, code);

CREATE TABLE record_skips (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stage           TEXT    NOT NULL,
    entity          TEXT    NOT NULL,
    record_key      TEXT    NOT NULL,
    source_position TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    plugin          TEXT,
    plugin_digest   TEXT,
    occurred_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX record_skips_by_run ON record_skips (run_id);

CREATE TABLE run_plugins (
    run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    role              TEXT    NOT NULL,
    plugin            TEXT    NOT NULL,
    digest            TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    origin            TEXT    NOT NULL,
    calls             INTEGER NOT NULL DEFAULT 0,
    records           INTEGER NOT NULL DEFAULT 0,
    fuel              INTEGER NOT NULL DEFAULT 0,
    wall_us           INTEGER NOT NULL DEFAULT 0,
    peak_memory_bytes INTEGER NOT NULL DEFAULT 0,
    instantiations    INTEGER NOT NULL DEFAULT 0,
    failures          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, role)
);
