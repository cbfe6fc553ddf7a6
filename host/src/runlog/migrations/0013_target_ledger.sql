-- Schema 13: the target key ledger, and how a test run sampled its source.
-- Documented in docs/RUNLOG.md.
--
-- The ledger keeps, per pipeline, target plugin and entity, each record key
-- the target answered `created`, `updated` or `unchanged` for: the id the
-- target gave it, a digest of the body sent (never the body), the last
-- outcome, and the run and time of the last change. A dry run compares
-- against it to say what would be created, updated or left unchanged. It is
-- state of this data directory, not part of any run: pruning runs keeps it,
-- and `runs export` leaves it out.

CREATE TABLE ledger_streams (
    id       INTEGER PRIMARY KEY,
    pipeline TEXT NOT NULL,
    target   TEXT NOT NULL,
    entity   TEXT NOT NULL,
    UNIQUE (pipeline, target, entity)
);

CREATE TABLE target_ledger (
    stream_id   INTEGER NOT NULL REFERENCES ledger_streams (id) ON DELETE CASCADE,
    record_key  TEXT    NOT NULL,
    -- The id the target answered with (`created(id)` / `updated(id)`); an
    -- answer without one keeps the id known before.
    target_id   TEXT,
    -- The first 16 bytes of the SHA-256 of the body sent.
    body_digest BLOB    NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('created', 'updated', 'unchanged')),
    -- The run that last changed the row: loaded the key first, sent another
    -- body, or got another answer or id (a record sent again as it was
    -- leaves the row as it is). No foreign key: the ledger outlives pruned
    -- runs.
    run_id      INTEGER NOT NULL,
    loaded_at   TEXT    NOT NULL,
    PRIMARY KEY (stream_id, record_key)
) WITHOUT ROWID;

-- A test run (`sluice run --sample N [--seed S | --random] [--dry-run]`):
-- records read per entity, the seed of a random sample, whether the target
-- was written to.
ALTER TABLE runs ADD COLUMN sample_records INTEGER;
ALTER TABLE runs ADD COLUMN sample_seed TEXT;
ALTER TABLE runs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
