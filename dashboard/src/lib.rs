//! Cockpit dashboard: an axum web UI and JSON API over the SQLite result store written by
//! `cockpit run`, with statistically sound timing-regression detection.
//!
//! Depends on the schema (`migrations/`) and sqlx only, not on the harness, so that the `cockpit`
//! binary can depend on it.
