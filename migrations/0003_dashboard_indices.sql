-- Cockpit result store, schema version 3: indices for the dashboard's history queries.
--
-- A test's history (`/api/tests/{name}`, the regression scan) joins each of the test's results
-- to its metrics: `test_results_name_run` / `test_results_name_board_run` find the results,
-- then one probe per result reads its metrics. With `value` and `unit` in the index those probes
-- never touch the table (EXPLAIN QUERY PLAN: "SEARCH m USING COVERING INDEX
-- metrics_result_name_value (result_id=?)"); over 1,000,000 metric rows that halves the query
-- time of a 50,000-point history (benches/history.rs). The index it replaces is its prefix.
CREATE INDEX metrics_result_name_value ON metrics (result_id, name, unit, value);
DROP INDEX metrics_result_name;
