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

/// Opens the result store at `db`: a pool of connections in WAL mode (so readers and the
/// writer of `cockpit run` coexist), `synchronous=NORMAL`, foreign keys on and a
/// [`BUSY_TIMEOUT`]. The file is created if missing, and every migration of `migrations/` not yet
/// applied is applied. The one way to open the store: the harness's `Store` and the dashboard
/// both use it, so they can open the same file at the same time (see [`migrate`]).
///
/// Errors: [`Error::Open`] (not a database, no permission, locked for longer than
/// [`BUSY_TIMEOUT`]), [`Error::Migrate`] (e.g. a file written by a newer harness).
pub async fn open_pool(db: &Path) -> Result<SqlitePool, Error> {
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let open_err = |source| Error::Open {
        path: db.to_owned(),
        source,
    };
    let pool = connect(opts).await.map_err(open_err)?;
    migrate(&pool, db).await?;
    Ok(pool)
}

/// Connects, retrying for up to [`BUSY_TIMEOUT`] while another opener holds the file: when two
/// connections switch a fresh file to WAL at the same moment, SQLite answers `SQLITE_BUSY` at
/// once, without waiting in its busy handler.
async fn connect(opts: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    let start = std::time::Instant::now();
    loop {
        match SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.clone())
            .await
        {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

/// Whether `e` is SQLite's `SQLITE_BUSY` (5) or `SQLITE_LOCKED` (6).
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5" | "6")))
}

/// Applies the pending migrations while holding an exclusive advisory lock (`flock`) on the
/// database file, so that concurrent openers — other processes or threads — apply them one at
/// a time: sqlx's SQLite migrator takes no lock of its own, and two openers of a fresh file
/// would otherwise both create the same tables. SQLite's own locks are POSIX record locks, which
/// `flock` does not touch. Waiting is asynchronous (`try_lock` and a short sleep), so an opener
/// never blocks the runtime thread that the lock holder may need.
///
/// Errors: [`Error::Open`] if the lock cannot be taken, [`Error::Migrate`].
async fn migrate(pool: &SqlitePool, db: &Path) -> Result<(), Error> {
    let open_err = |e: std::io::Error| Error::Open {
        path: db.to_owned(),
        source: sqlx::Error::Io(e),
    };
    let file = std::fs::File::open(db).map_err(open_err)?;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(open_err(e)),
        }
    }
    let result = MIGRATOR.run(pool).await;
    drop(file); // releases the lock
    result.map_err(|source| Error::Migrate {
        path: db.to_owned(),
        source,
    })
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
