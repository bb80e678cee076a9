//! Logical dumps of a tenant's database through the MySQL driver (no
//! `mysqldump` on the runner), and loading them back.
//!
//! The format is SQL with exactly one statement per line, so that a
//! restore splits it at newlines without parsing SQL:
//! * `SHOW CREATE TABLE` output is put on one line (its newlines are
//!   formatting only: MySQL escapes newlines inside the quoted strings it
//!   prints);
//! * every value is written by the server itself as a literal that
//!   round-trips exactly and holds no newline: `NULL`, a number as MySQL
//!   prints it, or a hex literal `X'…'` of the stored bytes (strings,
//!   binary, dates, enums, spatial values: charset-safe, as `mysqldump
//!   --hex-blob` writes blobs); JSON (MySQL) as `CONVERT(X'…' USING
//!   utf8mb4)`; `BIT` as its unsigned number. Generated columns are left
//!   out (the server computes them again).
//! * rows go in multi-row `INSERT`s of at most [`MAX_STATEMENT`] bytes
//!   (a single larger row is one statement of its own), far below any
//!   server's `max_allowed_packet` (16 MiB on MariaDB, 64 MiB on MySQL 8).
//!
//! Base tables only (views, routines, triggers and events are not dumped:
//! WordPress uses none). Tables are read in one consistent InnoDB snapshot.
//! `TIMESTAMP`s are read and written at UTC, so that dump and restore agree
//! whatever the sessions' time zones.

use futures::StreamExt as _;
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::sync::mpsc;

use super::{
    CLIENT_GRACE, Intent, MysqlServerAdmin, Retry, port_error, quote_ident, quote_literal, text, timeout_error,
    validate_database,
};
use crate::ports::{DumpItem, PortError, PortErrorKind, PortResult};

/// The largest `INSERT` a dump writes (unless one row is larger).
pub const MAX_STATEMENT: usize = 1 << 20;

/// The statements a bbws dump consists of, by their start: what a restore
/// accepts (anything else is not a bbws dump and is refused before any of
/// it runs).
pub const STATEMENT_STARTS: [&str; 3] = ["DROP TABLE IF EXISTS `", "CREATE TABLE `", "INSERT INTO `"];

/// Whether `line` is one of the statements a bbws dump holds.
pub fn is_dump_statement(line: &str) -> bool {
    STATEMENT_STARTS.iter().any(|s| line.starts_with(s))
}

/// One column as the dump reads it.
struct Column {
    name: String,
    data_type: String,
}

impl Column {
    /// The server-side expression that prints this column's value as a
    /// literal that round-trips exactly and holds no newline.
    fn literal(&self) -> String {
        let c = quote_ident(&self.name);
        let value = match self.data_type.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal" | "numeric" | "float"
            | "double" | "real" | "year" => format!("CAST({c} AS CHAR)"),
            "bit" => format!("CAST(CAST({c} AS UNSIGNED) AS CHAR)"),
            // MySQL refuses a binary string as JSON: say it is text.
            "json" => format!("CONCAT('CONVERT(X''', HEX({c}), ''' USING utf8mb4)')"),
            _ => format!("CONCAT('X''', HEX({c}), '''')"),
        };
        format!("IF({c} IS NULL, 'NULL', {value})")
    }
}

fn dump_error(what: &str, message: String) -> PortError {
    PortError::new(PortErrorKind::Other, "DumpFailed", format!("{what}: {message}"))
}

/// The receiver is gone: whoever consumed the dump stopped (and says why).
fn closed() -> PortError {
    dump_error("dump", "the dump's consumer stopped".into())
}

impl MysqlServerAdmin {
    /// [`crate::ports::MysqlAdmin::dump`]: on a connection of its own,
    /// closed afterwards (its session was changed: no statement limit, a
    /// read-only snapshot), never lent again.
    pub(super) async fn dump_database(&self, database: &str, out: mpsc::Sender<DumpItem>) -> PortResult<()> {
        validate_database(database)?;
        let mut lent = self.pool.get().await?;
        let Some(mut conn) = lent.conn.take() else {
            return Err(dump_error("dump", "no connection".into()));
        };
        let result = self.dump_on(&mut conn, database, &out).await;
        drop(lent);
        tokio::spawn(conn.close());
        result
    }

    async fn dump_on(
        &self,
        conn: &mut MySqlConnection,
        database: &str,
        out: &mpsc::Sender<DumpItem>,
    ) -> PortResult<()> {
        let flavour = self.pool.flavour()?;
        // One table may take longer to read than any one statement may
        // run: the limit is lifted for this session, and the client waits
        // at most the statement timeout for each next row instead.
        let unlimited = if flavour.mariadb {
            "SET SESSION max_statement_time = 0"
        } else {
            "SET SESSION max_execution_time = 0"
        };
        let setup = format!(
            "{unlimited}; SET SESSION time_zone = '+00:00'; SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; \
             START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"
        );
        self.query(conn, "start the dump's snapshot", setup).await?;
        let tables = self.base_tables(conn, database).await?;
        out.send(DumpItem::Tables(tables.clone())).await.map_err(|_| closed())?;
        for table in &tables {
            self.dump_table(conn, database, table, out).await?;
        }
        self.query(conn, "end the dump's snapshot", "COMMIT".into()).await?;
        Ok(())
    }

    /// Runs `sql` on `conn` within the statement timeout, all rows at once.
    async fn query(
        &self,
        conn: &mut MySqlConnection,
        what: &str,
        sql: String,
    ) -> PortResult<Vec<sqlx::mysql::MySqlRow>> {
        let waited = self.pool.login.statement_timeout + CLIENT_GRACE;
        let op = self.pool.op(what, None, Intent::Other);
        match tokio::time::timeout(waited, sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(conn)).await {
            Err(_) => Err(timeout_error(what, &self.pool.addr, waited)),
            Ok(r) => r.map_err(|e| port_error(&op, &e)),
        }
    }

    async fn base_tables(&self, conn: &mut MySqlConnection, database: &str) -> PortResult<Vec<String>> {
        let sql = format!(
            "SELECT CONVERT(TABLE_NAME USING utf8mb4) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            quote_literal(database)
        );
        let rows = self.query(conn, "list the tables to dump", sql).await?;
        Ok(rows.iter().map(|r| text(r, 0)).collect())
    }

    async fn columns(&self, conn: &mut MySqlConnection, database: &str, table: &str) -> PortResult<Vec<Column>> {
        let sql = format!(
            "SELECT CONVERT(COLUMN_NAME USING utf8mb4), CONVERT(LOWER(DATA_TYPE) USING utf8mb4), \
             CONVERT(UPPER(EXTRA) USING utf8mb4) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} \
             AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
            quote_literal(database),
            quote_literal(table)
        );
        let rows = self.query(conn, "list the columns to dump", sql).await?;
        Ok(rows
            .iter()
            .filter(|r| !text(r, 2).contains("GENERATED"))
            .map(|r| Column {
                name: text(r, 0),
                data_type: text(r, 1),
            })
            .collect())
    }

    async fn dump_table(
        &self,
        conn: &mut MySqlConnection,
        database: &str,
        table: &str,
        out: &mpsc::Sender<DumpItem>,
    ) -> PortResult<()> {
        let qualified = format!("{}.{}", quote_ident(database), quote_ident(table));
        let create = self
            .query(
                conn,
                "read the table's definition",
                format!("SHOW CREATE TABLE {qualified}"),
            )
            .await?;
        let create = create.first().map(|r| text(r, 1)).unwrap_or_default();
        if !create.starts_with("CREATE TABLE `") {
            return Err(dump_error(
                &format!("SHOW CREATE TABLE {qualified}"),
                "no table definition".into(),
            ));
        }
        let send = |item| async move { out.send(item).await.map_err(|_| closed()) };
        send(DumpItem::Statement(format!(
            "DROP TABLE IF EXISTS {}",
            quote_ident(table)
        )))
        .await?;
        send(DumpItem::Statement(create.replace("\r\n", " ").replace('\n', " "))).await?;
        let columns = self.columns(conn, database, table).await?;
        let rows = if columns.is_empty() {
            0
        } else {
            self.dump_rows(conn, &qualified, table, &columns, out).await?
        };
        send(DumpItem::TableDone {
            table: table.to_owned(),
            rows,
        })
        .await
    }

    /// Streams the rows as `INSERT`s of at most [`MAX_STATEMENT`] bytes;
    /// answers how many rows there were.
    async fn dump_rows(
        &self,
        conn: &mut MySqlConnection,
        qualified: &str,
        table: &str,
        columns: &[Column],
        out: &mpsc::Sender<DumpItem>,
    ) -> PortResult<u64> {
        let names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
        let literals: Vec<String> = columns.iter().map(Column::literal).collect();
        let prefix = format!("INSERT INTO {} ({}) VALUES ", quote_ident(table), names.join(","));
        let sql = format!(
            "SELECT CONVERT(CONCAT('(', CONCAT_WS(',', {}), ')') USING utf8mb4) FROM {qualified}",
            literals.join(", ")
        );
        let what = format!("read the rows of {qualified}");
        let op = self.pool.op(&what, None, Intent::Other);
        let waited = self.pool.login.statement_timeout + CLIENT_GRACE;
        let mut stream = sqlx::raw_sql(AssertSqlSafe(sql)).fetch(conn);
        let (mut statement, mut in_statement, mut rows) = (String::new(), 0usize, 0u64);
        loop {
            let next = tokio::time::timeout(waited, stream.next())
                .await
                .map_err(|_| timeout_error(&what, &self.pool.addr, waited))?;
            let Some(row) = next else { break };
            let row = row.map_err(|e| port_error(&op, &e))?;
            // CONCAT answers NULL for a row longer than max_allowed_packet.
            let values: Option<String> = sqlx::Row::try_get_unchecked(&row, 0).ok().flatten();
            let values = values.ok_or_else(|| {
                dump_error(
                    &what,
                    "a row is larger than the server's max_allowed_packet allows in hex; raise max_allowed_packet"
                        .into(),
                )
            })?;
            if in_statement > 0 && statement.len() + 1 + values.len() > MAX_STATEMENT {
                out.send(DumpItem::Statement(std::mem::take(&mut statement)))
                    .await
                    .map_err(|_| closed())?;
                in_statement = 0;
            }
            statement.push_str(if in_statement == 0 { &prefix } else { "," });
            statement.push_str(&values);
            in_statement += 1;
            rows += 1;
        }
        if in_statement > 0 {
            out.send(DumpItem::Statement(statement)).await.map_err(|_| closed())?;
        }
        Ok(rows)
    }

    /// [`crate::ports::MysqlAdmin::load`]: the statements in one round trip
    /// on one session, which uses the database, reads `TIMESTAMP`s at UTC
    /// and checks no foreign keys while tables are recreated (checks back
    /// on at the end).
    pub(super) async fn load_statements(&self, database: &str, statements: &[String]) -> PortResult<()> {
        validate_database(database)?;
        if let Some(bad) = statements.iter().find(|s| !is_dump_statement(s) || s.contains('\n')) {
            let start: String = bad.chars().take(40).collect();
            return Err(PortError::new(
                PortErrorKind::InvalidInput,
                "NotABbwsDump",
                format!("load: {start:?}… is not a statement of a bbws dump"),
            ));
        }
        let mut sql = format!(
            "USE {}; SET SESSION foreign_key_checks = 0, SESSION time_zone = '+00:00'",
            quote_ident(database)
        );
        for s in statements {
            sql.push_str(";\n");
            sql.push_str(s);
        }
        sql.push_str(";\nSET SESSION foreign_key_checks = 1");
        // INSERTs must not run twice: retried only when nothing was sent.
        self.run(
            &format!("restore into {}", quote_ident(database)),
            sql,
            Intent::Other,
            Retry::IfNotSent,
        )
        .await
        .map(drop)
    }
}
