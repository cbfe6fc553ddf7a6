-- Schema 12: webhook deliveries, every attempt of each. Documented in
-- docs/RUNLOG.md. No secret is stored: the signing secret stays in the
-- environment, and a webhook's URL is kept only as its origin (the path
-- and query, which often carry a token, are cut).

-- One row per event sent to one webhook.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    project         TEXT    NOT NULL,  -- absolute path of the project file
    webhook         TEXT    NOT NULL,  -- the webhook's name in the project file
    target          TEXT    NOT NULL,  -- scheme://host:port/… (path cut)
    delivery_key    TEXT    NOT NULL UNIQUE,  -- Sluice-Delivery header, idempotency key
    event           TEXT    NOT NULL,  -- run.failed, job.late, …
    job             TEXT,
    run_id          INTEGER,           -- no foreign key: a pruned run keeps its deliveries
    payload         TEXT    NOT NULL,  -- the JSON body sent (no secret in it)
    status          TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'abandoned')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    last_code       INTEGER,           -- HTTP status of the last attempt
    last_error      TEXT,              -- network error or why it stopped
    next_attempt_at TEXT,              -- RFC 3339, UTC; NULL unless pending
    created_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (project, job, id);

-- One row per attempt.
CREATE TABLE webhook_attempts (
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,      -- 1, 2, …
    at          TEXT    NOT NULL,      -- RFC 3339, UTC
    code        INTEGER,               -- HTTP status; NULL on a network error
    error       TEXT,                  -- the network error
    response    TEXT,                  -- the body's first 512 bytes, secret redacted
    duration_ms INTEGER NOT NULL,
    retry_after_s INTEGER,             -- the receiver's Retry-After, when given
    PRIMARY KEY (delivery_id, attempt)
);
