-- Schema 11: the plugin store (`sluice plugin install / versions /
-- promote / rollback`) and which version of a live step processed which
-- batches of a run. Documented in docs/RUNLOG.md and docs/PLUGIN_STORE.md.

-- Every version installed under a name. The bytes are in
-- <data-dir>/store/sha256/<hex>.wasm.
CREATE TABLE store_versions (
    name              TEXT    NOT NULL,
    digest            TEXT    NOT NULL,  -- sha256:<64 hex>
    kind              TEXT    NOT NULL,  -- the world: field-transformer, normalizer, source, target
    version           TEXT,              -- what `describe` says, if anything
    contract          TEXT    NOT NULL,  -- the contract version its exports name
    size              INTEGER NOT NULL,
    installed_by      TEXT    NOT NULL,
    installed_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    cases             TEXT,              -- the test case file given with --cases (TOML)
    quarantined_at    TEXT,              -- set by an automatic rollback
    quarantine_reason TEXT,
    PRIMARY KEY (name, digest)
);

-- The current version of every name. `generation` grows with every
-- change of `current`: a run polls it to swap live steps.
CREATE TABLE store_names (
    name        TEXT    PRIMARY KEY,
    current     TEXT,                    -- digest; NULL: nothing promoted
    generation  INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Every change of a name's current version, in order.
CREATE TABLE store_history (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    action    TEXT    NOT NULL,  -- promote, rollback, auto-rollback
    digest    TEXT    NOT NULL,  -- the version made current
    previous  TEXT,              -- the version current before
    actor     TEXT    NOT NULL,
    reason    TEXT,
    at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX store_history_by_name ON store_history (name, id);

-- Which version of a step named by store name processed which batches of
-- a run: one row per stretch of consecutive batches on one digest.
CREATE TABLE run_step_versions (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    role        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,  -- 0, 1, ...: one per swap
    digest      TEXT    NOT NULL,
    first_batch INTEGER NOT NULL,  -- the step's batch number, from 0
    batches     INTEGER NOT NULL,
    records     INTEGER NOT NULL,
    failed      INTEGER NOT NULL,  -- records that failed in this step on it
    PRIMARY KEY (run_id, role, seq)
);

-- Settings of the plugin store (`sluice plugin settings`), one row per key:
-- rollback.failure_rate, rollback.window, rollback.min_sample.
CREATE TABLE store_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
