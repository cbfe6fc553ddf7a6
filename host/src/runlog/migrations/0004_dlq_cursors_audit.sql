-- Sluice run log, schema version 4: the dead-letter queue, review payload
-- versions, sync cursors, the audit log, and links between runs.

-- One entry per failed record and pipeline: the record's current state in
-- the dead-letter queue. A run never deletes an entry; a replay resolves it,
-- `sluice dlq discard` / `sluice review discard` discards it (audited). While
-- an entry is open, later failures of the same record update it.
CREATE TABLE dlq (
    id               INTEGER PRIMARY KEY,
    pipeline         TEXT    NOT NULL,
    entity           TEXT    NOT NULL,
    record_key       TEXT    NOT NULL,
    source_position  TEXT,
    -- The stage that failed; a replay re-enters the record here.
    stage            TEXT    NOT NULL
        CHECK (stage IN ('ingest', 'normalize', 'transform', 'execute', 'finalize')),
    -- The record as it entered that stage (JSON); the current payload version.
    payload          TEXT,
    -- The record as the source produced it.
    source_payload   TEXT,
    category         TEXT    NOT NULL,
    code             TEXT    NOT NULL,
    field            TEXT,
    message          TEXT    NOT NULL,
    plugin           TEXT,
    plugin_digest    TEXT,
    -- Every plugin of the failing run: {"role": "sha256:..."}.
    plugin_digests   TEXT    NOT NULL DEFAULT '{}',
    config_hash      TEXT    NOT NULL,
    -- Attempts made in the last failure.
    attempts         INTEGER NOT NULL DEFAULT 1,
    -- How many runs (first run and replays) this record has failed in.
    failures         INTEGER NOT NULL DEFAULT 1,
    disposition      TEXT    NOT NULL DEFAULT 'failed'
        CHECK (disposition IN ('failed', 'held-back', 'review')),
    status           TEXT    NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'resolved', 'discarded')),
    payload_version  INTEGER NOT NULL DEFAULT 1,
    first_run_id     INTEGER NOT NULL REFERENCES runs (id),
    last_run_id      INTEGER NOT NULL REFERENCES runs (id),
    -- The record_errors row of the last failure.
    error_id         INTEGER,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    resolved_at      TEXT,
    resolved_by_run  INTEGER REFERENCES runs (id),
    -- `loaded`, `skipped: <reason>` or `discarded: <reason>`.
    resolution       TEXT
);
CREATE UNIQUE INDEX dlq_open_record ON dlq (pipeline, entity, record_key) WHERE status = 'open';
CREATE INDEX dlq_by_status ON dlq (status, pipeline, entity, stage);

-- Payload versions of DLQ entries edited in review; version 1 is the
-- payload the record failed with.
CREATE TABLE dlq_payloads (
    entry_id    INTEGER NOT NULL REFERENCES dlq (id),
    version     INTEGER NOT NULL,
    payload     TEXT,
    actor       TEXT    NOT NULL,
    note        TEXT,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (entry_id, version)
);

-- Where incremental reading of each entity stream resumes. A cursor is
-- committed only after every record read before it is loaded,
-- dead-lettered or skipped.
CREATE TABLE cursors (
    pipeline    TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    cursor      TEXT,
    run_id      INTEGER REFERENCES runs (id),
    -- Records read since the stream was last reset.
    records     INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (pipeline, entity)
);

-- Changes people and runs made: configuration and plugin changes seen at
-- run start, cursor resets, DLQ discards, review edits and approvals.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor       TEXT    NOT NULL,
    pipeline    TEXT,
    action      TEXT    NOT NULL,
    subject     TEXT,
    before      TEXT,
    after       TEXT,
    diff        TEXT,
    run_id      INTEGER REFERENCES runs (id)
);
CREATE INDEX audit_by_pipeline ON audit_log (pipeline, at);

-- The effective configuration behind each config hash, for audit diffs.
CREATE TABLE pipeline_configs (
    config_hash TEXT    PRIMARY KEY,
    pipeline    TEXT    NOT NULL,
    config      TEXT    NOT NULL,
    first_seen  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- `run` (a normal run), `replay` (DLQ entries re-entered) or `rerun`; a
-- replay or rerun names the run it comes from.
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
ALTER TABLE runs ADD COLUMN parent_run_id INTEGER REFERENCES runs (id);
ALTER TABLE runs ADD COLUMN actor TEXT;
