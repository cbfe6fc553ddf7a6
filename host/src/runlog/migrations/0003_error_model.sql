-- Sluice run log, schema version 3: the error model.
--
-- Every recorded error carries whether a person must act on it, where to fix
-- it, how many attempts were made, and what became of the record: `failed`
-- (dead-lettered), `held-back` (not processed because the run stopped) or
-- `review` (parked for a person). Retries of recoverable errors are recorded
-- per record and code, including the ones that succeeded, so the retry
-- success rate can be measured.

ALTER TABLE record_errors ADD COLUMN actionable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE record_errors ADD COLUMN hint TEXT;
ALTER TABLE record_errors ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE record_errors ADD COLUMN disposition TEXT NOT NULL DEFAULT 'failed'
    CHECK (disposition IN ('failed', 'held-back', 'review'));

CREATE TABLE record_retries (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    stage           TEXT    NOT NULL,
    entity          TEXT    NOT NULL,
    record_key      TEXT,
    plugin          TEXT,
    plugin_digest   TEXT,
    category        TEXT    NOT NULL,
    code            TEXT    NOT NULL,
    failures        INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    waited_ms       INTEGER NOT NULL,
    occurred_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX record_retries_by_run ON record_retries (run_id, category, code);

ALTER TABLE runs ADD COLUMN strategy TEXT NOT NULL DEFAULT 'skip';
CREATE INDEX runs_by_start ON runs (started_at);
