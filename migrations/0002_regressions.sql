-- Acknowledged timing regressions (dashboard `regress` module, `cockpit regressions ack`).
--
-- `key` is the regression's stable id `test|metric|board_kind|board_id|first_bad_run_id` (text
-- fields with `%` and `|` percent-escaped); the series and run are also stored split out so an
-- acknowledgement still applies when the detector's estimate of the first bad run moves within
-- the suspected commit range. An acknowledged regression is still listed but no longer alerts.

CREATE TABLE regression_acks (
    key               TEXT PRIMARY KEY,
    test_name         TEXT NOT NULL,
    metric            TEXT NOT NULL,
    board_kind        TEXT NOT NULL,
    board_id          TEXT NOT NULL,
    first_bad_run_id  INTEGER NOT NULL,
    who               TEXT NOT NULL,
    why               TEXT NOT NULL,
    at_ms             INTEGER NOT NULL                 -- Unix epoch milliseconds (UTC)
) STRICT;

CREATE INDEX regression_acks_series
    ON regression_acks (test_name, metric, board_kind, board_id, first_bad_run_id);
