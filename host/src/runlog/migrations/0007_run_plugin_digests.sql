-- Sluice run log, schema version 7: every plugin of a run (role -> digest,
-- a JSON object) is stored once on the run. Dead-letter entries written
-- from now on leave `dlq.plugin_digests` empty ('') and readers take the digests
-- of the entry's last run; entries written before keep their own copy.
-- A run with many plugins and many failed records no longer writes the same
-- object into every entry.

ALTER TABLE runs ADD COLUMN plugin_digests TEXT;
