//! Copying a SQLite database into an empty PostgreSQL one (`herald copy-to-postgres`).
//!
//! Both databases are first migrated to this binary's schema, so they have the same tables
//! and columns. Tables are copied in foreign-key order, each in primary-key order, in batches
//! that are each one PostgreSQL transaction. The source is read inside one read transaction
//! (a consistent snapshot, even while another process writes to it).
//!
//! Re-running after an interruption is safe: because every table is copied in key order and
//! every batch is committed whole, the rows already in PostgreSQL are exactly a prefix of the
//! source's, and the copy resumes after the greatest key there. A marker table (`_herald_copy`)
//! records that a copy is under way, so an interrupted copy is told apart from a database that
//! held data of its own (which is refused). At the end identity sequences are moved past the
//! copied ids (and past SQLite's record of ids already handed out), every table's row count is
//! compared, and the marker is dropped.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, PgConnection, QueryBuilder, Row, SqliteConnection};

use super::{PoolSettings, Store, StoreError};

/// Rows per batch (and per PostgreSQL transaction) unless told otherwise.
pub const DEFAULT_BATCH: usize = 1000;
/// The marker table; tables whose name starts with `_` are not copied.
const MARKER: &str = "_herald_copy";
/// PostgreSQL takes at most 65535 parameters in one statement.
const MAX_PARAMETERS: usize = 65_535;

/// Told how the copy goes (the command line draws a progress bar from it).
pub trait Progress {
    /// The copy starts: `total` rows in all, of which `done` were copied by an earlier run.
    fn start(&self, total: u64, done: u64);
    /// Now copying `table`.
    fn table(&self, table: &str);
    /// `rows` more rows were copied.
    fn advance(&self, rows: u64);
}

/// What a finished copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Whether it completed an earlier, interrupted copy.
    pub resumed: bool,
    /// Every copied table with its row count (equal in both databases).
    pub tables: Vec<(String, i64)>,
}

/// How a column's values travel.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Real,
    Text,
    Bytes,
    Boolean,
}

impl Kind {
    fn of(pg_type: &str) -> Option<Kind> {
        Some(match pg_type {
            // Herald's integers are BIGINT, a few INTEGER (read and written as i64).
            "bigint" | "integer" | "smallint" => Kind::Integer,
            "double precision" | "real" => Kind::Real,
            "text" | "character varying" | "character" => Kind::Text,
            "bytea" => Kind::Bytes,
            "boolean" => Kind::Boolean,
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// Primary-key columns (empty when the table has none: then it is copied whole, in one
    /// transaction).
    key: Vec<String>,
    /// The column filled from an identity sequence, if any.
    identity: Option<String>,
}

/// One value read from SQLite, to be written to PostgreSQL.
#[derive(Debug, Clone)]
enum Value {
    Integer(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Boolean(Option<bool>),
}

fn fail(message: impl Into<String>) -> StoreError {
    StoreError::Config(message.into())
}

/// Copies the SQLite database at `from` into the PostgreSQL database at `to`.
pub async fn sqlite_to_postgres(
    from: &str,
    to: &str,
    batch: usize,
    progress: &dyn Progress,
) -> Result<Report, StoreError> {
    if !from.starts_with("sqlite:") {
        return Err(fail("--from must be a sqlite:// URL"));
    }
    if !(to.starts_with("postgres://") || to.starts_with("postgresql://")) {
        return Err(fail("--to must be a postgres:// URL"));
    }
    // Both at this binary's schema.
    for url in [from, to] {
        let store = Store::connect(url, &PoolSettings::default()).await?;
        store.migrate().await?;
        store.close().await;
    }
    let mut target = PgConnection::connect(to).await?;
    let tables = target_tables(&mut target).await?;
    let resumed = begin_or_resume(&mut target, &tables, from).await?;

    let mut source = SqliteConnection::connect(&read_only(from)).await?;
    let mut snapshot = source.begin().await?;
    let mut counts = BTreeMap::new();
    for table in &tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
            .fetch_one(&mut *snapshot)
            .await?;
        counts.insert(table.name.clone(), n);
    }
    let mut already = 0;
    for table in &tables {
        already += count(&mut target, &table.name).await?;
    }
    progress.start(counts.values().sum::<i64>() as u64, already as u64);

    for table in &tables {
        progress.table(&table.name);
        copy_table(&mut snapshot, &mut target, table, batch, progress).await?;
    }
    reset_identities(&mut snapshot, &mut target, &tables).await?;
    snapshot.rollback().await?;

    let mut report = Report {
        resumed,
        tables: Vec::new(),
    };
    let mut differ = Vec::new();
    for table in &tables {
        let copied = count(&mut target, &table.name).await?;
        let expected = counts[&table.name];
        if copied != expected {
            differ.push(format!(
                "{}: {expected} rows in SQLite, {copied} in PostgreSQL",
                table.name
            ));
        }
        report.tables.push((table.name.clone(), copied));
    }
    if !differ.is_empty() {
        return Err(fail(format!(
            "the row counts differ ({}); was the SQLite database changed between two runs? \
             Copy again into a new, empty PostgreSQL database",
            differ.join("; ")
        )));
    }
    sqlx::query(&format!("DROP TABLE {MARKER}"))
        .execute(&mut target)
        .await?;
    target.close().await?;
    Ok(report)
}

/// `sqlite://path?…` opened read-only.
fn read_only(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    format!("{base}?mode=ro")
}

async fn count(conn: &mut PgConnection, table: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(conn)
        .await?)
}

/// Starts a copy (the target must hold no data; its settings are replaced) or finds an
/// interrupted one from the same source. Returns whether it resumes.
async fn begin_or_resume(
    target: &mut PgConnection,
    tables: &[Table],
    from: &str,
) -> Result<bool, StoreError> {
    let source = from.split('?').next().unwrap_or(from);
    let marker: Option<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(MARKER)
    .fetch_optional(&mut *target)
    .await?;
    if marker.is_some() {
        let earlier: Option<String> = sqlx::query_scalar(&format!("SELECT source FROM {MARKER}"))
            .fetch_optional(&mut *target)
            .await?;
        return match earlier {
            Some(earlier) if earlier == source => Ok(true),
            Some(earlier) => Err(fail(format!(
                "the PostgreSQL database holds an interrupted copy of {earlier}; \
                 re-run with that source, or copy into a new, empty database"
            ))),
            None => Err(fail("the PostgreSQL database holds an unfinished copy")),
        };
    }
    for table in tables.iter().filter(|t| t.name != "settings") {
        if count(target, &table.name).await? > 0 {
            return Err(fail(format!(
                "the PostgreSQL database is not empty (table {} has rows); \
                 copy into a new, empty database",
                table.name
            )));
        }
    }
    // Settings a Herald instance may have written on first start (its generated API key)
    // give way to the source's.
    let mut tx = target.begin().await?;
    sqlx::query("DELETE FROM settings")
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE TABLE {MARKER} (source TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!("INSERT INTO {MARKER} (source) VALUES ($1)"))
        .bind(source)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(false)
}

/// The tables to copy, parents before children (foreign keys), with their columns and keys.
/// Not `public_version`: the status page's change counter is the target's own (its triggers
/// bump it as the copy writes). Nor `notification_lists`: PostgreSQL's own form of queued
/// email (`pg_lists`), which SQLite has not: its messages are rows, copied as rows.
async fn target_tables(conn: &mut PgConnection) -> Result<Vec<Table>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name NOT LIKE '\\_%' \
         AND table_name NOT IN ('public_version', 'notification_lists') ORDER BY table_name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tables = Vec::new();
    for name in order_by_references(&names, &references)? {
        let rows: Vec<PgRow> = sqlx::query(
            "SELECT column_name::text AS name, data_type::text AS type, \
             (is_identity = 'YES' OR column_default LIKE 'nextval(%') AS identity \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::new();
        let mut identity = None;
        for row in rows {
            let column: String = row.try_get("name")?;
            let pg_type: String = row.try_get("type")?;
            let kind = Kind::of(&pg_type).ok_or_else(|| {
                fail(format!(
                    "cannot copy column {name}.{column} of type {pg_type}"
                ))
            })?;
            if row.try_get::<Option<bool>, _>("identity")?.unwrap_or(false) {
                identity = Some(column.clone());
            }
            columns.push(Column { name: column, kind });
        }
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = $1::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        tables.push(Table {
            name,
            columns,
            key,
            identity,
        });
    }
    Ok(tables)
}

/// `names` ordered so that every table comes after the tables it references.
fn order_by_references(
    names: &[String],
    references: &[(String, String)],
) -> Result<Vec<String>, StoreError> {
    let mut placed: Vec<String> = Vec::new();
    let mut left: BTreeSet<&String> = names.iter().collect();
    while !left.is_empty() {
        let ready: Vec<&String> = left
            .iter()
            .copied()
            .filter(|t| {
                references
                    .iter()
                    .filter(|(from, to)| from == *t && to != *t)
                    .all(|(_, to)| !left.contains(to))
            })
            .collect();
        if ready.is_empty() {
            return Err(fail("the tables reference each other in a cycle"));
        }
        for t in ready {
            left.remove(t);
            placed.push(t.clone());
        }
    }
    Ok(placed)
}

/// Copies the rows of `table` not yet in the target, in key order, a batch per transaction.
async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    table: &Table,
    batch: usize,
    progress: &dyn Progress,
) -> Result<(), StoreError> {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let list = columns.join(", ");
    let batch = batch.clamp(1, MAX_PARAMETERS / columns.len().max(1));
    if table.key.is_empty() {
        // No key to resume by: all or nothing, in one transaction.
        let mut tx = target.begin().await?;
        sqlx::query(&format!("DELETE FROM {}", table.name))
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(&format!("SELECT {list} FROM {}", table.name))
            .fetch_all(&mut *source)
            .await?;
        for chunk in rows.chunks(batch) {
            insert(&mut tx, table, &list, chunk).await?;
        }
        tx.commit().await?;
        progress.advance(rows.len() as u64);
        return Ok(());
    }
    let key = table.key.join(", ");
    // Where an earlier run stopped: the greatest key in the target (text compared bytewise,
    // as SQLite does).
    let order = table
        .key
        .iter()
        .map(|k| match table.columns.iter().find(|c| &c.name == k) {
            Some(Column {
                kind: Kind::Text, ..
            }) => format!("{k} COLLATE \"C\" DESC"),
            _ => format!("{k} DESC"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let last = sqlx::query(&format!(
        "SELECT {key} FROM {} ORDER BY {order} LIMIT 1",
        table.name
    ))
    .fetch_optional(&mut *target)
    .await?;
    let mut after: Option<Vec<Value>> = match last {
        Some(row) => Some(key_values_pg(&row, table)?),
        None => None,
    };
    let placeholders = (1..=table.key.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    loop {
        let sql = match after {
            None => format!(
                "SELECT {list} FROM {} ORDER BY {key} LIMIT {batch}",
                table.name
            ),
            Some(_) => format!(
                "SELECT {list} FROM {} WHERE ({key}) > ({placeholders}) ORDER BY {key} LIMIT {batch}",
                table.name
            ),
        };
        let mut query = sqlx::query(&sql);
        for v in after.iter().flatten() {
            query = match v.clone() {
                Value::Integer(x) => query.bind(x),
                Value::Real(x) => query.bind(x),
                Value::Text(x) => query.bind(x),
                Value::Bytes(x) => query.bind(x),
                Value::Boolean(x) => query.bind(x),
            };
        }
        let rows = query.fetch_all(&mut *source).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        let mut tx = target.begin().await?;
        insert(&mut tx, table, &list, &rows).await?;
        tx.commit().await?;
        progress.advance(rows.len() as u64);
        let last = read_row(last, table)?;
        after = Some(
            table
                .key
                .iter()
                .map(|k| {
                    let i = table.columns.iter().position(|c| &c.name == k).unwrap_or(0);
                    last[i].clone()
                })
                .collect(),
        );
        if rows.len() < batch {
            return Ok(());
        }
    }
}

async fn insert(
    conn: &mut PgConnection,
    table: &Table,
    list: &str,
    rows: &[SqliteRow],
) -> Result<(), StoreError> {
    let values: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| read_row(r, table))
        .collect::<Result<_, _>>()?;
    let mut q = QueryBuilder::new(format!("INSERT INTO {} ({list}) ", table.name));
    q.push_values(values, |mut b, row| {
        for v in row {
            match v {
                Value::Integer(x) => b.push_bind(x),
                Value::Real(x) => b.push_bind(x),
                Value::Text(x) => b.push_bind(x),
                Value::Bytes(x) => b.push_bind(x),
                Value::Boolean(x) => b.push_bind(x),
            };
        }
    });
    q.build().execute(conn).await?;
    Ok(())
}

/// The values of `table`'s columns in a SQLite row.
fn read_row(row: &SqliteRow, table: &Table) -> Result<Vec<Value>, StoreError> {
    let kinds = table.columns.iter().map(|c| c.kind);
    kinds
        .enumerate()
        .map(|(i, kind)| decode(row, i, kind))
        .collect()
}

/// The key columns of `table` in a PostgreSQL row holding just those.
fn key_values_pg(row: &PgRow, table: &Table) -> Result<Vec<Value>, StoreError> {
    let kind = |k: &String| {
        let column = table.columns.iter().find(|c| &c.name == k);
        column.map_or(Kind::Integer, |c| c.kind)
    };
    table
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| decode(row, i, kind(k)))
        .collect()
}

/// Column `i` of a row of either engine as a [`Value`] of `kind`. (SQLite's 0/1 flags decode
/// as booleans too.)
fn decode<'r, R>(row: &'r R, i: usize, kind: Kind) -> Result<Value, StoreError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(match kind {
        Kind::Integer => Value::Integer(row.try_get(i)?),
        Kind::Real => Value::Real(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
        Kind::Bytes => Value::Bytes(row.try_get(i)?),
        Kind::Boolean => Value::Boolean(row.try_get(i)?),
    })
}

/// Moves every identity sequence past the greatest id copied, and past the greatest id SQLite
/// ever handed out (`sqlite_sequence`, kept for AUTOINCREMENT tables), so no id is reused.
async fn reset_identities(
    source: &mut SqliteConnection,
    target: &mut PgConnection,
    tables: &[Table],
) -> Result<(), StoreError> {
    let handed_out: Vec<(String, i64)> = sqlx::query_as("SELECT name, seq FROM sqlite_sequence")
        .fetch_all(&mut *source)
        .await
        .unwrap_or_default();
    for table in tables {
        let Some(column) = &table.identity else {
            continue;
        };
        let copied: Option<i64> =
            sqlx::query_scalar(&format!("SELECT max({column})::bigint FROM {}", table.name))
                .fetch_one(&mut *target)
                .await?;
        let floor = handed_out
            .iter()
            .find(|(name, _)| *name == table.name)
            .map(|(_, seq)| *seq);
        let last = copied.into_iter().chain(floor).max();
        let sql = "SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)";
        sqlx::query(sql)
            .bind(&table.name)
            .bind(column)
            .bind(last.unwrap_or(1).max(1))
            .bind(last.is_some_and(|l| l >= 1))
            .execute(&mut *target)
            .await?;
    }
    Ok(())
}
