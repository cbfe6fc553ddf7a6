-- Sluice run log, schema version 5: every committed cursor, so a reset to an
-- earlier cursor can say how many records it will read again.

CREATE TABLE cursor_history (
    id          INTEGER PRIMARY KEY,
    pipeline    TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    cursor      TEXT,
    -- Records read since the stream was last reset, up to this cursor.
    records     INTEGER NOT NULL,
    run_id      INTEGER REFERENCES runs (id),
    at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX cursor_history_by_stream ON cursor_history (pipeline, entity, id);
