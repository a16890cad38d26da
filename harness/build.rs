//! Build script: makes a throw-away SQLite "schema DB" from the repo-root `migrations/` so that the
//! sqlx `query!`/`query_as!` macros in `src/store.rs` are checked against the real schema at
//! compile time — with no sqlx-cli, no committed `.sqlx/` and no `DATABASE_URL` to set by hand
//! (crates.md §3.3). A schema change that breaks a query is a compile error.

use std::path::{Path, PathBuf};
use std::str::FromStr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=build.rs");

    let db = PathBuf::from(std::env::var("OUT_DIR")?).join("schema.db");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite://{}", db.display());

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?.create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(opts).await?;
            sqlx::migrate::Migrator::new(Path::new("../migrations"))
                .await?
                .run(&pool)
                .await?;
            pool.close().await;
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;

    println!("cargo:rustc-env=DATABASE_URL={url}");
    Ok(())
}
