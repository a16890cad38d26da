//! Cockpit dashboard: an axum web UI and JSON API over the SQLite result store written by
//! `cockpit run`, with statistically sound timing-regression detection.
//!
//! Depends on the schema (`migrations/`) and sqlx only, not on the harness, so that the `cockpit`
//! binary can depend on it.
//!
//! * [`open_pool`] opens the store (WAL, busy timeout, migrations applied),
//! * [`router`] is the whole application (HTML pages, `/api/…`, embedded assets),
//! * [`serve`] binds an address and serves it until Ctrl-C (`cockpit serve`).
//!
//! The pages and the API are documented in `dashboard/README.md`.

pub mod db;
pub mod regress;
pub mod web;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The migrations in the repo-root `migrations/` folder, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// How long a statement waits for a writer's lock before failing with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of opening or serving the dashboard. Query errors during a request are not here:
/// they become a 500 response (and a log line).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file could not be opened (or created).
    #[error("result store {}: cannot open: {source}", path.display())]
    Open {
        /// Database file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the schema migrations failed (e.g. a store written by a newer harness).
    #[error("result store {}: cannot apply schema migrations: {source}", path.display())]
    Migrate {
        /// Database file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("dashboard server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Opens the result store at `db` for the dashboard: a pool of read-mostly connections in WAL
/// mode (so `cockpit run` can keep writing), `synchronous=NORMAL`, foreign keys on and a
/// [`BUSY_TIMEOUT`]. The file is created if missing, and every migration of `migrations/` not
/// yet applied is applied (acknowledgements, indices, …).
///
/// Errors: [`Error::Open`], [`Error::Migrate`].
pub async fn open_pool(db: &Path) -> Result<SqlitePool, Error> {
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .map_err(|source| Error::Open {
            path: db.to_owned(),
            source,
        })?;
    // sqlx's SQLite migrator takes no lock: a harness opening the same fresh file at once can
    // win the race, and the loser fails with "table already exists". A second pass then finds
    // everything applied; a real problem fails twice.
    if MIGRATOR.run(&pool).await.is_err() {
        MIGRATOR.run(&pool).await.map_err(|source| Error::Migrate {
            path: db.to_owned(),
            source,
        })?;
    }
    Ok(pool)
}

/// The whole dashboard application over `pool`: HTML pages, the JSON API under `/api/` and the
/// embedded assets under `/assets/`. See `dashboard/README.md` for the routes.
pub fn router(pool: SqlitePool) -> axum::Router {
    web::router(pool)
}

/// Opens the store at `db` ([`open_pool`]), binds `listen`, prints
/// `cockpit dashboard: http://ADDR/` (the bound address, so port 0 works) on stdout and serves
/// [`router`] until Ctrl-C.
///
/// Errors: those of [`open_pool`], [`Error::Bind`], [`Error::Serve`].
pub async fn serve(db: &Path, listen: SocketAddr) -> Result<(), Error> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let pool = open_pool(db).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(Error::Serve)?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "cockpit dashboard: http://{addr}/ (store: {})",
            db.display()
        );
        let _ = out.flush();
    }
    axum::serve(listener, router(pool))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(Error::Serve)
}
