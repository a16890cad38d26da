-- Cockpit result store, schema version 5: infrastructure failures and real boards (issue 6).
--
-- * `test_results.verdict` may be 'infra_error': the board or its connection failed underneath
--   the test (probe missing, attach or flash failed, serial port gone, a timeout); the runner
--   ran the test a second time, and `retried_after` holds the first attempt's failure (NULL
--   when the test ran once).
-- * `test_results.board_serial`: the debug probe's serial number of a real board (NULL for sim
--   and emu); `board_backend`: what drove the board and its version ('probe-rs 0.32.0'; NULL
--   for sim and emu).
-- * `runs.infra_errors`: the run's count of 'infra_error' results.
--
-- SQLite cannot change a CHECK constraint in place, so `test_results` is rebuilt. Its children
-- `checks` and `metrics` are rebuilt with it: dropping the old `test_results` while they still
-- referenced it would cascade-delete their rows (foreign keys are on inside the migration's
-- transaction). Renaming `test_results_new` rewrites the children's REFERENCES clauses.

CREATE TABLE test_results_new (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    test_name      TEXT NOT NULL,
    plan_path      TEXT NOT NULL,
    board_kind     TEXT NOT NULL,
    board_id       TEXT NOT NULL,
    verdict        TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error', 'infra_error')),
    failure        TEXT,                           -- NULL when the verdict is 'pass'
    duration_ms    REAL NOT NULL CHECK (duration_ms >= 0),
    console        TEXT NOT NULL DEFAULT '',
    board_serial   TEXT,
    board_backend  TEXT,
    retried_after  TEXT
) STRICT;

CREATE TABLE checks_new (
    result_id  INTEGER NOT NULL REFERENCES test_results_new (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    kind       TEXT NOT NULL CHECK (kind IN ('compile', 'console', 'register', 'vm', 'timing')),
    name       TEXT NOT NULL,
    expected   TEXT NOT NULL,
    observed   TEXT NOT NULL,
    passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
    PRIMARY KEY (result_id, seq)
) STRICT;

CREATE TABLE metrics_new (
    result_id  INTEGER NOT NULL REFERENCES test_results_new (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    unit       TEXT NOT NULL,
    value      REAL NOT NULL
) STRICT;

INSERT INTO test_results_new (id, run_id, test_name, plan_path, board_kind, board_id, verdict,
                              failure, duration_ms, console)
    SELECT id, run_id, test_name, plan_path, board_kind, board_id, verdict, failure, duration_ms,
           console
    FROM test_results;
INSERT INTO checks_new SELECT result_id, seq, kind, name, expected, observed, passed FROM checks;
-- `rowid` keeps the recording order that readers sort metrics by.
INSERT INTO metrics_new (rowid, result_id, name, unit, value)
    SELECT rowid, result_id, name, unit, value FROM metrics;

DROP TABLE metrics;
DROP TABLE checks;
DROP TABLE test_results;
ALTER TABLE test_results_new RENAME TO test_results;
ALTER TABLE checks_new RENAME TO checks;
ALTER TABLE metrics_new RENAME TO metrics;

-- The indices of migrations 0001 and 0003, dropped with their tables.
CREATE INDEX test_results_name_run ON test_results (test_name, run_id);
CREATE INDEX test_results_name_board_run ON test_results (test_name, board_kind, run_id);
CREATE INDEX test_results_run ON test_results (run_id);
CREATE INDEX metrics_result_name_value ON metrics (result_id, name, unit, value);
CREATE INDEX metrics_name ON metrics (name, result_id);

ALTER TABLE runs ADD COLUMN infra_errors INTEGER NOT NULL DEFAULT 0 CHECK (infra_errors >= 0);
