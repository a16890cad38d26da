-- Cockpit result store, schema version 4: the subject line of the tested commit
-- (`git log -1 --format=%s`), shown by the dashboard. NULL outside a git work tree and for runs
-- recorded before this migration.
ALTER TABLE runs ADD COLUMN commit_message TEXT;
