-- Sluice run log, schema version 8: dead-letter entries written from now on
-- leave `dlq.payload` and `dlq.source_payload` NULL when they are the same
-- as those of the entry's error row (`dlq.error_id`); readers take
-- `coalesce(dlq.payload, record_errors.payload)` (and the same for
-- `source_payload`). An edit in review still stores its payload in the
-- entry, and a failure without a source payload keeps the previous one in
-- the entry. A failed record's payloads are written once, in its error row.
-- Entries written before keep their own copies. No table changes: the
-- version marks the new meaning of NULL, so an older `sluice` refuses
-- the database rather than showing entries without payloads.

SELECT 1;
