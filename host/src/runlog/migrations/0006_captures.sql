-- Sluice run log, schema version 6: phase captures. Per run and batch, the
-- documents a record batch went through: what the source extracted, what
-- was sent to the target after mapping, what the target answered, and
-- (only when enabled) the raw HTTP exchanges. Secrets and sensitive fields
-- are redacted before anything is stored.

CREATE TABLE captures (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    entity      TEXT    NOT NULL,
    -- The batch's ordinal within its entity and phase, from 1.
    batch       INTEGER NOT NULL,
    phase       TEXT    NOT NULL CHECK (phase IN ('extract', 'load', 'response', 'http')),
    -- A JSON document: an array of {key, ...} items, or for `http` an array
    -- of exchanges.
    document    TEXT    NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX captures_by_run ON captures (run_id, phase, entity, batch);
