//! `herald backup FILE`: a consistent copy of the SQLite database while Herald keeps serving.
//!
//! SQLite's `VACUUM INTO` reads the database in one read transaction (so the copy is one
//! moment's state, however busy the writers are: in WAL mode readers never block them) and
//! writes a compact new file. The copy is written next to FILE under a temporary name, checked
//! with `PRAGMA integrity_check`, its rows counted, and only then renamed to FILE. PostgreSQL
//! has its own tool for this, `pg_dump`.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long the copy waits for the database when it is locked (a migration, say).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the database is PostgreSQL: back it up with pg_dump, e.g. \
         `pg_dump --format=custom --file=herald.dump \"$DATABASE_URL\"` \
         (restore with pg_restore into an empty database)"
    )]
    Postgres,
    #[error("the database is in memory: there is nothing on disk to back up")]
    InMemory,
    #[error("{0} already exists: choose a new file name (a backup never overwrites)")]
    Exists(PathBuf),
    #[error("the database URL cannot be read: {0}")]
    Url(String),
    #[error("the copy failed its integrity check ({0}); nothing was written")]
    Corrupt(String),
    #[error("{what}: {source}")]
    Sqlite {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What a finished backup holds: each table and its rows.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub file: PathBuf,
    pub tables: Vec<(String, i64)>,
}

fn sqlite(what: &'static str) -> impl FnOnce(rusqlite::Error) -> BackupError {
    move |source| BackupError::Sqlite { what, source }
}

/// The database file a SQLite URL names.
fn database_file(url: &str) -> Result<PathBuf, BackupError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
        return Err(BackupError::Postgres);
    }
    if url.contains("mode=memory") {
        return Err(BackupError::InMemory);
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| BackupError::Url(e.to_string()))?;
    let file = options.get_filename();
    if file
        .to_str()
        .is_some_and(|p| p == ":memory:" || p.starts_with("file:"))
    {
        return Err(BackupError::InMemory);
    }
    Ok(file.to_path_buf())
}

/// Copies the database named by `url` to `dest` (blocking: run it off the async runtime).
pub fn backup(url: &str, dest: &Path) -> Result<BackupReport, BackupError> {
    let source = database_file(url)?;
    if dest.exists() {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    let partial = {
        let mut name = dest.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    };
    // A partial file is left only by an interrupted backup: never a finished one.
    let _ = std::fs::remove_file(&partial);
    let result = copy_and_check(&source, &partial);
    match result {
        Ok(tables) => {
            std::fs::rename(&partial, dest).map_err(|source| BackupError::Io {
                what: "renaming the checked copy",
                source,
            })?;
            Ok(BackupReport {
                file: dest.to_path_buf(),
                tables,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn copy_and_check(source: &Path, partial: &Path) -> Result<Vec<(String, i64)>, BackupError> {
    let conn = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("opening the database"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sqlite("setting the busy timeout"))?;
    let dest = partial
        .to_str()
        .ok_or_else(|| BackupError::Url("the backup file name is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [dest])
        .map_err(sqlite("copying the database"))?;
    drop(conn);

    let copy = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite("opening the copy"))?;
    let verdict: Vec<String> = copy
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite("checking the copy"))?;
    if verdict != ["ok"] {
        return Err(BackupError::Corrupt(verdict.join("; ")));
    }
    let names: Vec<String> = copy
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(sqlite("listing the copy's tables"))?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let rows: i64 = copy
            .query_row(&format!("SELECT count(*) FROM {quoted}"), [], |r| r.get(0))
            .map_err(sqlite("counting the copy's rows"))?;
        tables.push((name, rows));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_and_memory_are_refused_with_the_reason() {
        let e = backup("postgres://h@localhost/herald", Path::new("/nonexistent/x")).unwrap_err();
        assert!(e.to_string().contains("pg_dump"));
        assert!(matches!(
            backup("sqlite::memory:", Path::new("x")),
            Err(BackupError::InMemory)
        ));
    }

    #[test]
    fn copies_checks_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("herald.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let dest = dir.path().join("copy.db");
        let report = backup(&format!("sqlite://{}", db.display()), &dest).unwrap();
        assert_eq!(report.tables, [("t".to_string(), 2)]);
        assert!(!dir.path().join("copy.db.partial").exists());
        let again = backup(&format!("sqlite://{}", db.display()), &dest);
        assert!(matches!(again, Err(BackupError::Exists(_))));
    }
}
