//! MySQL administration: the [`MysqlConnector`] and [`MysqlAdmin`] ports
//! against a MySQL 8 or MariaDB (10.4+) server, over the small client in
//! `wire` and a pool of at most [`POOL_MAX`] of its connections.
//!
//! Safety rules:
//! * database and user names are validated (`^[A-Za-z0-9_]{1,64}$`, users
//!   at most 32) before any SQL is built, and quoted anyway;
//! * passwords never appear in SQL text built here: `IDENTIFIED BY` takes
//!   only a literal (no `?` placeholder, in MySQL or MariaDB), so the
//!   password is bound as a parameter into a session variable and the
//!   server itself quotes it into the statement it prepares;
//! * passwords are scrubbed from every error message.

mod rsa;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{Semaphore, SemaphorePermit};

use wire::{Connection, Row, WireError};

use crate::parts::{ObservedDatabase, ObservedDatabaseUser};
use crate::ports::{MysqlAdmin, MysqlConnector, PortError, PortErrorKind, PortResult};

/// How long connecting (TCP, handshake, first query) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest MySQL database name.
const MAX_DATABASE: usize = 64;
/// Longest user name bbws creates (MySQL 5.7's limit; 8.0 allows 32 too).
const MAX_USER: usize = 32;
/// Largest pool.
pub const POOL_MAX: usize = 4;
/// How long an idle connection is kept for the next statement.
const IDLE_TTL: Duration = Duration::from_secs(60);

/// The real [`MysqlConnector`]: one small pool per admin login.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlServerConnector;

/// The real [`MysqlAdmin`], on a pool of connections.
#[derive(Debug)]
pub struct MysqlServerAdmin {
    pool: Pool,
    addr: String,
    /// MariaDB keeps `account_locked` in `mysql.global_priv`; MySQL in
    /// `mysql.user`.
    mariadb: AtomicBool,
}

// ------------------------------------------------------------ identifiers

/// Checks a database name: `^[A-Za-z0-9_]{1,64}$`.
pub fn validate_database(name: &str) -> PortResult<()> {
    validate("database", name, MAX_DATABASE)
}

/// Checks a user name: `^[A-Za-z0-9_]{1,32}$`.
pub fn validate_user(name: &str) -> PortResult<()> {
    validate("user", name, MAX_USER)
}

fn validate(what: &str, name: &str, max: usize) -> PortResult<()> {
    let ok = !name.is_empty() && name.len() <= max && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        // The name is echoed only in escaped form.
        Err(PortError::new(
            PortErrorKind::InvalidInput,
            "InvalidIdentifier",
            format!(
                "MySQL {what} name {:?} is not allowed: use 1 to {max} of A-Z a-z 0-9 _",
                name.escape_default().to_string()
            ),
        ))
    }
}

/// `` `name` `` for a validated identifier (backticks doubled anyway).
fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A database name in `GRANT … ON db.*`, where `_` and `%` are wildcards
/// unless escaped.
fn quote_grant_db(name: &str) -> String {
    quote_ident(&name.replace('\\', "\\\\").replace('_', "\\_").replace('%', "\\%"))
}

/// `'name'` for a validated name.
fn quote_literal(name: &str) -> String {
    format!("'{}'", name.replace('\\', "\\\\").replace('\'', "''"))
}

/// `'name'@'%'` for a validated user name.
fn quote_user(name: &str) -> String {
    format!("'{}'@'%'", name.replace('\\', "\\\\").replace('\'', "''"))
}

/// An SQL expression (evaluated by the server) that quotes the session
/// variable `@bbws_pw` as a string literal, whatever the `sql_mode`.
const QUOTED_PASSWORD: &str = "IF(@@sql_mode LIKE '%NO_BACKSLASH_ESCAPES%', CONCAT('''', REPLACE(@bbws_pw, '''', ''''''), ''''), QUOTE(@bbws_pw))";

// ------------------------------------------------------------ errors

fn scrub(message: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => message.replace(s, "***"),
        _ => message.to_string(),
    }
}

/// What a statement was doing, for classifying error 1396.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Intent {
    Create,
    Other,
}

fn mysql_error(op: &str, addr: &str, e: WireError, secret: Option<&str>, intent: Intent) -> PortError {
    use PortErrorKind::*;
    match e {
        WireError::Server {
            code: number,
            message: server_message,
            ..
        } => {
            let (kind, name) = match number {
                1045 => (AccessDenied, "ER_ACCESS_DENIED_ERROR"),
                1044 => (AccessDenied, "ER_DBACCESS_DENIED_ERROR"),
                1142 => (AccessDenied, "ER_TABLEACCESS_DENIED_ERROR"),
                1227 => (AccessDenied, "ER_SPECIFIC_ACCESS_DENIED_ERROR"),
                1410 => (AccessDenied, "ER_CANT_CREATE_USER_WITH_GRANT"),
                1698 => (AccessDenied, "ER_ACCESS_DENIED_NO_PASSWORD_ERROR"),
                3118 | 4151 => (AccessDenied, "ER_ACCOUNT_HAS_BEEN_LOCKED"),
                1396 if intent == Intent::Create => (AlreadyExists, "ER_CANNOT_USER"),
                1396 => (NotFound, "ER_CANNOT_USER"),
                1007 => (AlreadyExists, "ER_DB_CREATE_EXISTS"),
                1008 => (NotFound, "ER_DB_DROP_EXISTS"),
                1049 => (NotFound, "ER_BAD_DB_ERROR"),
                1133 => (NotFound, "ER_PASSWORD_NO_MATCH"),
                1141 => (NotFound, "ER_NONEXISTING_GRANT"),
                1040 => (Transient, "ER_CON_COUNT_ERROR"),
                1203 => (Transient, "ER_TOO_MANY_USER_CONNECTIONS"),
                1205 => (Transient, "ER_LOCK_WAIT_TIMEOUT"),
                1213 => (Transient, "ER_LOCK_DEADLOCK"),
                1053 => (Transient, "ER_SERVER_SHUTDOWN"),
                1290 => (Transient, "ER_OPTION_PREVENTS_STATEMENT"),
                2006 => (Transient, "CR_SERVER_GONE_ERROR"),
                2013 => (Transient, "CR_SERVER_LOST"),
                1064 => (InvalidInput, "ER_PARSE_ERROR"),
                _ => (Other, ""),
            };
            let code = if name.is_empty() {
                format!("MYSQL_{number}")
            } else {
                name.to_string()
            };
            let hint = if kind == AccessDenied && number == 1045 {
                " (wrong user name or password?)"
            } else {
                ""
            };
            // A syntax error quotes the statement, which may hold the
            // password: never pass its text on.
            let message = if number == 1064 {
                "SQL syntax error".to_string()
            } else {
                scrub(&server_message, secret)
            };
            PortError::new(kind, code, format!("{op} on {addr}: {message}{hint}"))
        }
        WireError::Io(io) => PortError::new(
            Transient,
            "ConnectionFailed",
            format!(
                "{op}: could not reach MySQL at {addr}: {}",
                scrub(&io.to_string(), secret)
            ),
        ),
        WireError::Protocol(p) => {
            PortError::new(Other, "DriverError", format!("{op} on {addr}: {}", scrub(&p, secret)))
        }
    }
}

// ------------------------------------------------------------ connector

#[async_trait]
impl MysqlConnector for MysqlServerConnector {
    async fn connect(&self, host: &str, port: u16, user: &str, password: &str) -> PortResult<Arc<dyn MysqlAdmin>> {
        let admin = MysqlServerAdmin::connect(host, port, user, password).await?;
        Ok(Arc::new(admin))
    }
}

/// Up to [`POOL_MAX`] connections of one login, reused while fresh.
#[derive(Debug)]
struct Pool {
    host: String,
    port: u16,
    user: String,
    password: String,
    idle: Mutex<Vec<(Instant, Connection)>>,
    permits: Semaphore,
}

/// A connection lent by the pool. It goes back when dropped, unless a
/// statement on it was interrupted or the socket failed: then the
/// conversation's state is unknown, and the connection is closed.
struct PooledConnection<'a> {
    conn: Option<Connection>,
    pool: &'a Pool,
    clean: bool,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    async fn get(&self) -> Result<PooledConnection<'_>, WireError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| WireError::Protocol("the connection pool is closed".into()))?;
        let (reused, stale) = {
            let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (fresh, stale): (Vec<_>, Vec<_>) = idle.drain(..).partition(|(since, _)| since.elapsed() < IDLE_TTL);
            *idle = fresh;
            (idle.pop().map(|(_, c)| c), stale)
        };
        for (_, conn) in stale {
            tokio::spawn(conn.quit());
        }
        let conn = match reused {
            Some(c) => c,
            None => Connection::connect(&self.host, self.port, &self.user, &self.password).await?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            pool: self,
            clean: true,
            _permit: permit,
        })
    }
}

impl PooledConnection<'_> {
    fn conn(&mut self) -> Result<&mut Connection, WireError> {
        self.clean = false;
        self.conn
            .as_mut()
            .ok_or_else(|| WireError::Protocol("the connection was returned".into()))
    }

    /// Whether the connection can still be used after `result`.
    fn settle<T>(&mut self, result: Result<T, WireError>) -> Result<T, WireError> {
        self.clean = matches!(result, Ok(_) | Err(WireError::Server { .. }));
        result
    }

    async fn query(&mut self, sql: &str) -> Result<Vec<Row>, WireError> {
        let r = self.conn()?.query(sql).await;
        self.settle(r)
    }

    async fn query_drop(&mut self, sql: &str) -> Result<(), WireError> {
        self.query(sql).await.map(drop)
    }

    async fn exec_drop(&mut self, sql: &str, params: &[&str]) -> Result<(), WireError> {
        let r = self.conn()?.exec_drop(sql, params).await;
        self.settle(r)
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.clean
        {
            let mut idle = self.pool.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            idle.push((Instant::now(), conn));
        }
    }
}

impl MysqlServerAdmin {
    /// Opens a pool as `user` with one connection, so that a wrong host or
    /// password fails here.
    pub async fn connect(host: &str, port: u16, user: &str, password: &str) -> PortResult<Self> {
        let addr = format!("{host}:{port}");
        let pool = Pool {
            host: host.to_owned(),
            port,
            user: user.to_owned(),
            password: password.to_owned(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POOL_MAX),
        };
        let version = match tokio::time::timeout(CONNECT_TIMEOUT, pool.get()).await {
            Err(_) => {
                return Err(PortError::new(
                    PortErrorKind::Transient,
                    "ConnectTimeout",
                    format!(
                        "connect: no answer from MySQL at {addr} within {}s; check host, port and network",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                ));
            }
            Ok(Err(e)) => {
                return Err(mysql_error("connect", &addr, e, Some(password), Intent::Other));
            }
            Ok(Ok(conn)) => conn.conn.as_ref().map(|c| c.server_version.clone()).unwrap_or_default(),
        };
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        tracing::debug!(%addr, %version, "connected to MySQL");
        Ok(MysqlServerAdmin {
            pool,
            addr,
            mariadb: AtomicBool::new(mariadb),
        })
    }

    async fn conn(&self, op: &str) -> PortResult<PooledConnection<'_>> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.pool.get()).await {
            Err(_) => Err(PortError::new(
                PortErrorKind::Transient,
                "ConnectTimeout",
                format!(
                    "{op}: no connection to MySQL at {} within {}s",
                    self.addr,
                    CONNECT_TIMEOUT.as_secs()
                ),
            )),
            Ok(r) => r.map_err(|e| mysql_error(op, &self.addr, e, None, Intent::Other)),
        }
    }

    async fn run(&self, op: &str, sql: &str, intent: Intent) -> PortResult<()> {
        let mut conn = self.conn(op).await?;
        conn.query_drop(sql)
            .await
            .map_err(|e| mysql_error(op, &self.addr, e, None, intent))
    }

    /// Runs `statement_head` followed by the quoted password as a server
    /// prepared statement (`statement_head` is SQL text built from
    /// validated names only), then `after` (plain SQL).
    async fn with_password(
        &self,
        op: &str,
        password: &str,
        statement_head: &str,
        after: &str,
        intent: Intent,
    ) -> PortResult<()> {
        let mut conn = self.conn(op).await?;
        let err = |e| mysql_error(op, &self.addr, e, Some(password), intent);
        let result = async {
            conn.exec_drop("SET @bbws_pw = ?", &[password]).await.map_err(err)?;
            let head = statement_head.replace('\'', "''");
            let sql = format!(
                "SET @bbws_sql = CONCAT('{head} IDENTIFIED BY ', {QUOTED_PASSWORD}); \
                 PREPARE bbws_stmt FROM @bbws_sql; EXECUTE bbws_stmt; DEALLOCATE PREPARE bbws_stmt"
            );
            conn.query_drop(&sql).await.map_err(err)
        }
        .await;
        // The connection goes back to the pool: nothing of the password
        // may stay in its session.
        let _ = conn.query_drop("SET @bbws_pw = NULL, @bbws_sql = NULL").await;
        result?;
        if !after.is_empty() {
            conn.query_drop(after)
                .await
                .map_err(|e| mysql_error(op, &self.addr, e, Some(password), Intent::Other))?;
        }
        Ok(())
    }

    /// Users of `names` (validated), in the flavour's catalogue.
    fn users_query(mariadb: bool, names: &[String]) -> String {
        let marks = names.iter().map(|n| quote_literal(n)).collect::<Vec<_>>().join(", ");
        if mariadb {
            format!(
                "SELECT 'u', CONVERT(User USING utf8mb4), IFNULL(JSON_VALUE(Priv, '$.account_locked') IN ('1', 'true'), 0) \
                 FROM mysql.global_priv WHERE Host = '%' AND User IN ({marks})"
            )
        } else {
            format!(
                "SELECT 'u', CONVERT(User USING utf8mb4), account_locked = 'Y' FROM mysql.user WHERE Host = '%' AND User IN ({marks})"
            )
        }
    }
}

/// Drops duplicates and keeps the order.
fn dedup(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

#[async_trait]
impl MysqlAdmin for MysqlServerAdmin {
    async fn observe(
        &self,
        databases: &[String],
        users: &[String],
    ) -> PortResult<(Vec<ObservedDatabase>, Vec<ObservedDatabaseUser>)> {
        let op = "observe";
        for d in databases {
            validate_database(d)?;
        }
        for u in users {
            // Observing accepts any name MySQL could hold (up to 80 in MariaDB).
            validate("user", u, 80)?;
        }
        let (databases, users) = (dedup(databases), dedup(users));
        if databases.is_empty() && users.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut conn = self.conn(op).await?;
        // One statement, one round trip: databases and users in one result.
        // The names are validated (A-Z a-z 0-9 _), so literals are safe.
        let mut parts: Vec<String> = Vec::new();
        if !databases.is_empty() {
            let marks = databases
                .iter()
                .map(|d| quote_literal(d))
                .collect::<Vec<_>>()
                .join(", ");
            parts.push(format!(
                "SELECT 'd', CONVERT(SCHEMA_NAME USING utf8mb4), 0 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})"
            ));
        }
        let mut mariadb = self.mariadb.load(Ordering::Relaxed);
        let mut switched = false;
        let rows: Vec<Row> = loop {
            let mut sql = parts.clone();
            if !users.is_empty() {
                sql.push(Self::users_query(mariadb, &users));
            }
            let sql = sql.join(" UNION ALL ");
            match conn.query(&sql).await {
                Ok(rows) => {
                    if switched {
                        self.mariadb.store(mariadb, Ordering::Relaxed);
                    }
                    break rows;
                }
                // Unknown column or table: the other flavour's catalogue.
                Err(WireError::Server { code, .. })
                    if (code == 1054 || code == 1146) && !switched && !users.is_empty() =>
                {
                    switched = true;
                    mariadb = !mariadb;
                    tracing::debug!(code, mariadb, "switching MySQL user catalogue");
                    continue;
                }
                Err(e) => return Err(mysql_error(op, &self.addr, e, None, Intent::Other)),
            }
        };
        let text = |v: Option<&Option<Vec<u8>>>| {
            v.and_then(Option::as_deref)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let mut dbs: Vec<ObservedDatabase> = Vec::new();
        let mut us: Vec<ObservedDatabaseUser> = Vec::new();
        for row in rows {
            let (k, name, locked) = (text(row.first()), text(row.get(1)), text(row.get(2)));
            let locked: i64 = locked.trim().parse().unwrap_or(0);
            if k == "d" {
                dbs.push(ObservedDatabase { name });
            } else {
                us.push(ObservedDatabaseUser {
                    name,
                    locked: locked != 0,
                });
            }
        }
        dbs.sort_by(|a, b| a.name.cmp(&b.name));
        us.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((dbs, us))
    }

    async fn create_database(&self, name: &str) -> PortResult<()> {
        validate_database(name)?;
        let sql = format!(
            "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4",
            quote_ident(name)
        );
        self.run("CREATE DATABASE", &sql, Intent::Create).await
    }

    async fn drop_database(&self, name: &str) -> PortResult<()> {
        validate_database(name)?;
        let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
        self.run("DROP DATABASE", &sql, Intent::Other).await
    }

    async fn create_user(&self, name: &str, password: &str, database: &str) -> PortResult<()> {
        validate_user(name)?;
        validate_database(database)?;
        let head = format!("CREATE USER {}", quote_user(name));
        let grant = format!(
            "GRANT ALL PRIVILEGES ON {}.* TO {}",
            quote_grant_db(database),
            quote_user(name)
        );
        self.with_password("CREATE USER", password, &head, &grant, Intent::Create)
            .await
    }

    async fn set_password(&self, name: &str, password: &str, database: &str) -> PortResult<()> {
        validate_user(name)?;
        validate_database(database)?;
        let head = format!("ALTER USER {}", quote_user(name));
        let grant = format!(
            "GRANT ALL PRIVILEGES ON {}.* TO {}",
            quote_grant_db(database),
            quote_user(name)
        );
        self.with_password("ALTER USER", password, &head, &grant, Intent::Other)
            .await
    }

    async fn set_locked(&self, name: &str, locked: bool) -> PortResult<()> {
        validate_user(name)?;
        let sql = format!(
            "ALTER USER {} ACCOUNT {}",
            quote_user(name),
            if locked { "LOCK" } else { "UNLOCK" }
        );
        self.run("ALTER USER", &sql, Intent::Other).await
    }

    async fn drop_user(&self, name: &str) -> PortResult<()> {
        validate_user(name)?;
        let sql = format!("DROP USER IF EXISTS {}", quote_user(name));
        self.run("DROP USER", &sql, Intent::Other).await
    }
}

/// Bytes from hex, for the tests' fixtures.
#[cfg(test)]
fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted server: greets, accepts any login, answers `SELECT
    /// fail` with a syntax error, never answers `SELECT stall`, and
    /// answers anything else with OK. Counts the connections it accepts.
    async fn scripted_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let packet = |seq: u8, body: &[u8]| {
                        let mut p = (body.len() as u32).to_le_bytes()[..3].to_vec();
                        p.push(seq);
                        p.extend_from_slice(body);
                        p
                    };
                    let mut greeting = vec![10];
                    greeting.extend_from_slice(b"scripted-1.0\0");
                    greeting.extend_from_slice(&7u32.to_le_bytes());
                    greeting.extend_from_slice(b"abcdefgh\0");
                    greeting.extend_from_slice(&0xF7FFu16.to_le_bytes());
                    greeting.extend_from_slice(&[45, 2, 0]);
                    greeting.extend_from_slice(&0x0008u16.to_le_bytes()); // plugin auth
                    greeting.push(21);
                    greeting.extend_from_slice(&[0; 10]);
                    greeting.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
                    let ok = [0u8, 0, 0, 2, 0, 0, 0];
                    if tcp.write_all(&packet(0, &greeting)).await.is_err() {
                        return;
                    }
                    let mut seq_reply = 2;
                    loop {
                        let mut header = [0u8; 4];
                        if tcp.read_exact(&mut header).await.is_err() {
                            return;
                        }
                        let len = usize::from(header[0]) | usize::from(header[1]) << 8;
                        let mut body = vec![0u8; len];
                        if tcp.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let reply = if body.ends_with(b"SELECT stall") {
                            std::future::pending::<()>().await;
                            return;
                        } else if body.ends_with(b"SELECT fail") {
                            let mut err = vec![0xFF];
                            err.extend_from_slice(&1064u16.to_le_bytes());
                            err.extend_from_slice(b"#42000You have an error");
                            packet(1, &err)
                        } else {
                            packet(seq_reply, &ok)
                        };
                        seq_reply = 1;
                        if tcp.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (port, accepted)
    }

    #[tokio::test]
    async fn the_pool_reuses_connections_and_closes_interrupted_ones() {
        let (port, accepted) = scripted_server().await;
        let admin = MysqlServerAdmin::connect("127.0.0.1", port, "admin", "pw")
            .await
            .expect("login");
        let connections = || accepted.load(Ordering::SeqCst);
        admin.run("DO", "DO 1", Intent::Other).await.expect("ok");
        assert_eq!(connections(), 1, "the login's connection is reused");
        let e = admin
            .run("SELECT", "SELECT fail", Intent::Other)
            .await
            .expect_err("an error packet");
        assert_eq!(
            (e.kind, e.code.as_str()),
            (PortErrorKind::InvalidInput, "ER_PARSE_ERROR")
        );
        admin.run("DO", "DO 1", Intent::Other).await.expect("ok");
        assert_eq!(connections(), 1, "a server error leaves the connection in step");
        let interrupted = tokio::time::timeout(
            Duration::from_millis(50),
            admin.run("SELECT", "SELECT stall", Intent::Other),
        )
        .await;
        assert!(interrupted.is_err(), "the statement never returns");
        // On the interrupted connection this would wait for ever.
        tokio::time::timeout(Duration::from_secs(5), admin.run("DO", "DO 1", Intent::Other))
            .await
            .expect("answered on a new connection")
            .expect("ok");
        assert_eq!(connections(), 2, "an interrupted connection is not lent again");
    }

    #[test]
    fn names_are_validated() {
        for ok in ["123456789012_db", "a", "A_b_9", &"x".repeat(64)] {
            assert!(validate_database(ok).is_ok(), "{ok}");
        }
        assert!(validate_user(&"u".repeat(32)).is_ok());
        for bad in [
            "",
            "x`; DROP DATABASE mysql; --",
            "x';DROP DATABASE mysql;--",
            "a-b",
            "a b",
            "a.b",
            "é",
            "a\0",
            "a%",
            &"x".repeat(65),
        ] {
            let e = validate_database(bad).expect_err(bad);
            assert_eq!(e.kind, PortErrorKind::InvalidInput);
            assert!(validate_user(bad).is_err(), "{bad}");
        }
        assert!(validate_user(&"u".repeat(33)).is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("123_db"), "`123_db`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_grant_db("123_db"), "`123\\_db`");
        assert_eq!(quote_user("123_user"), "'123_user'@'%'");
        assert_eq!(quote_user("a'b"), "'a''b'@'%'");
    }

    #[test]
    fn passwords_are_scrubbed() {
        let e = WireError::Server {
            code: 1396,
            message: "Operation CREATE USER failed for 'u'@'%' near s3cret".into(),
            state: "HY000".into(),
        };
        let p = mysql_error("CREATE USER", "h:1", e, Some("s3cret"), Intent::Create);
        assert_eq!(p.kind, PortErrorKind::AlreadyExists);
        assert!(!p.message.contains("s3cret"), "{}", p.message);
        let e = WireError::Server {
            code: 1064,
            message: "You have an error near 'IDENTIFIED BY 's3cret''".into(),
            state: "42000".into(),
        };
        let p = mysql_error("CREATE USER", "h:1", e, None, Intent::Create);
        assert!(!p.message.contains("s3cret"), "{}", p.message);
        let e = WireError::Server {
            code: 1045,
            message: "Access denied".into(),
            state: "28000".into(),
        };
        assert_eq!(
            mysql_error("connect", "h:1", e, None, Intent::Other).kind,
            PortErrorKind::AccessDenied
        );
    }
}
