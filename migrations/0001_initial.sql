-- Cockpit result store, schema version 1.
--
-- One `runs` row per `cockpit run` invocation; one `test_results` row per (plan, board) test;
-- `checks` and `metrics` hang off a test result. Times are Unix epoch milliseconds (UTC).
-- A run that crashed keeps `finished_at_ms` NULL, but every test it recorded stays.

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    started_at_ms    INTEGER NOT NULL,
    finished_at_ms   INTEGER,                      -- NULL until finish_run
    git_commit       TEXT,                         -- NULL outside a git work tree
    git_dirty        INTEGER NOT NULL DEFAULT 0 CHECK (git_dirty IN (0, 1)),
    host             TEXT NOT NULL,
    board_kind       TEXT NOT NULL,                -- 'sim', 'emu', 'probe' (or 'mixed')
    board_id         TEXT NOT NULL,
    harness_version  TEXT NOT NULL,
    command          TEXT NOT NULL,                -- the command line, for the record
    passed           INTEGER NOT NULL DEFAULT 0 CHECK (passed >= 0),
    failed           INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    errors           INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0)
) STRICT;

CREATE INDEX runs_started ON runs (started_at_ms);

CREATE TABLE test_results (
    id           INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    test_name    TEXT NOT NULL,
    plan_path    TEXT NOT NULL,
    board_kind   TEXT NOT NULL,
    board_id     TEXT NOT NULL,
    verdict      TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error')),
    failure      TEXT,                             -- NULL when the verdict is 'pass'
    duration_ms  REAL NOT NULL CHECK (duration_ms >= 0),
    console      TEXT NOT NULL DEFAULT ''
) STRICT;

-- History of one test over runs (newest first), optionally per board kind.
CREATE INDEX test_results_name_run ON test_results (test_name, run_id);
CREATE INDEX test_results_name_board_run ON test_results (test_name, board_kind, run_id);
-- All results of one run (reports, dashboard run page).
CREATE INDEX test_results_run ON test_results (run_id);

CREATE TABLE checks (
    result_id  INTEGER NOT NULL REFERENCES test_results (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL CHECK (seq >= 0),  -- plan order, from 0
    kind       TEXT NOT NULL CHECK (kind IN ('compile', 'console', 'register', 'vm', 'timing')),
    name       TEXT NOT NULL,
    expected   TEXT NOT NULL,
    observed   TEXT NOT NULL,
    passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
    PRIMARY KEY (result_id, seq)
) STRICT;

CREATE TABLE metrics (
    result_id  INTEGER NOT NULL REFERENCES test_results (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,                      -- 'instructions', 'cycles', 'virtual_ms', 'pin13.pulse_high_ms', …
    unit       TEXT NOT NULL,                      -- 'count', 'cycles', 'ms'
    value      REAL NOT NULL
) STRICT;

-- Metrics of one result, and one named metric's series (joined to test_results by result_id).
CREATE INDEX metrics_result_name ON metrics (result_id, name);
CREATE INDEX metrics_name ON metrics (name, result_id);
