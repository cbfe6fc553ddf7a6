-- Sluice run log, schema version 2: finer plugin accounting.

ALTER TABLE run_plugins ADD COLUMN failures_by_kind TEXT NOT NULL DEFAULT '{}';
ALTER TABLE run_plugins ADD COLUMN log_lines_dropped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_plugins ADD COLUMN quarantined TEXT;
