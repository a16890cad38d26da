//! `cockpit serve`: the dashboard (runs, test history, regressions) over the result store.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::Outcome;

/// Arguments of `cockpit serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Result store to show (the `--db` of `cockpit run`).
    #[arg(long, default_value = "cockpit.db")]
    db: PathBuf,
    /// Address to listen on (`127.0.0.1:0` picks a free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

/// Serves the dashboard until Ctrl-C. Prints `cockpit dashboard: http://ADDR/` once listening.
/// A missing store is created empty (with a warning), so the page shows runs as they arrive.
pub fn serve(args: ServeArgs) -> Outcome {
    if !args.db.exists() {
        eprintln!(
            "warning: no result store at {} yet; starting with an empty one (record runs with \
             `cockpit run --db {}`)",
            args.db.display(),
            args.db.display()
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(cockpit_dashboard::serve(&args.db, args.listen))?;
    Ok(true)
}
