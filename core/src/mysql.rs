//! MySQL administration: the [`MysqlConnector`] and [`MysqlAdmin`] ports
//! against a MySQL 8 or MariaDB (10.4+) server, on the `sqlx` MySQL driver
//! (TLS by rustls with ring) and a pool of at most [`POOL_MAX`] connections
//! of one login.
//!
//! Safety rules:
//! * database and user names are validated (`^[A-Za-z0-9_]{1,64}$`, users
//!   at most 32) before any SQL is built, and quoted anyway;
//! * no password reaches a server log in plain text: where accounts use
//!   `mysql_native_password` (MariaDB; MySQL configured so) only its hash
//!   is sent (`IDENTIFIED BY PASSWORD '*…'`, `IDENTIFIED WITH
//!   mysql_native_password AS '*…'`); where the server needs the plain
//!   text (`caching_sha2_password`), it is sent only over TLS, inside
//!   `CREATE/ALTER USER`, which MySQL rewrites in its logs;
//! * every session has `lock_wait_timeout` and a statement time limit, and
//!   the client stops waiting shortly after the server should have; a
//!   connection whose statement was interrupted is never lent again;
//! * passwords are scrubbed from every error message.

mod dump;
mod password;
#[cfg(test)]
mod tests;

pub use dump::{MAX_STATEMENT, is_dump_statement};

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, Row as _};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::parts::{ObservedDatabase, ObservedDatabaseUser};
use crate::ports::{
    DumpItem, MysqlAdmin, MysqlConnector, MysqlLogin, MysqlUser, PasswordChange, PortError, PortErrorKind, PortResult,
};
use crate::spec::SslMode;

/// How long connecting (TCP, TLS, handshake, session setup) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much longer than the server's own limit the client waits for an
/// answer before it gives the connection up.
const CLIENT_GRACE: Duration = Duration::from_secs(5);
/// Longest MySQL database name.
const MAX_DATABASE: usize = 64;
/// Longest user name bbws creates (MySQL 5.7's limit; 8.0 allows 32 too).
const MAX_USER: usize = 32;
/// Largest pool.
pub const POOL_MAX: usize = 4;
/// How long an idle connection is kept for the next statement.
const IDLE_TTL: Duration = Duration::from_secs(60);

/// The real [`MysqlConnector`]: one small pool per login.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlServerConnector;

/// The real [`MysqlAdmin`], on a pool of connections.
#[derive(Debug)]
pub struct MysqlServerAdmin {
    pool: Pool,
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

/// `'text'` as a string literal. Sessions run without
/// `NO_BACKSLASH_ESCAPES` ([`Flavour::session_setup`]), so backslashes are
/// escapes and are doubled, and so are quotes.
fn quote_literal(text: &str) -> String {
    format!(
        "'{}'",
        text.replace('\\', "\\\\").replace('\'', "''").replace('\0', "\\0")
    )
}

/// `'name'@'%'` for a validated user name.
fn quote_user(name: &str) -> String {
    format!("{}@'%'", quote_literal(name))
}

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

/// What a failed statement was: its operation (naming the object) and the
/// secret to keep out of the message.
struct Op<'a> {
    what: &'a str,
    addr: &'a str,
    secret: Option<&'a str>,
    intent: Intent,
    /// The connection was asked for without TLS.
    plain: bool,
}

/// The name and classification of a MySQL server error number.
fn classify(number: u16, intent: Intent) -> (PortErrorKind, &'static str) {
    use PortErrorKind::*;
    match number {
        1045 => (AccessDenied, "ER_ACCESS_DENIED_ERROR"),
        1044 => (AccessDenied, "ER_DBACCESS_DENIED_ERROR"),
        1142 => (AccessDenied, "ER_TABLEACCESS_DENIED_ERROR"),
        1227 => (AccessDenied, "ER_SPECIFIC_ACCESS_DENIED_ERROR"),
        1410 => (AccessDenied, "ER_CANT_CREATE_USER_WITH_GRANT"),
        1698 => (AccessDenied, "ER_ACCESS_DENIED_NO_PASSWORD_ERROR"),
        3118 | 4151 => (AccessDenied, "ER_ACCOUNT_HAS_BEEN_LOCKED"),
        3159 | 4036 => (AccessDenied, "ER_SECURE_TRANSPORT_REQUIRED"),
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
        1969 | 3024 => (Transient, "ER_STATEMENT_TIMEOUT"),
        1053 => (Transient, "ER_SERVER_SHUTDOWN"),
        1290 => (Transient, "ER_OPTION_PREVENTS_STATEMENT"),
        2006 => (Transient, "CR_SERVER_GONE_ERROR"),
        2013 => (Transient, "CR_SERVER_LOST"),
        1064 => (InvalidInput, "ER_PARSE_ERROR"),
        _ => (Other, ""),
    }
}

fn server_error(op: &Op<'_>, number: u16, server_message: &str) -> PortError {
    let (kind, name) = classify(number, op.intent);
    let code = if name.is_empty() {
        format!("MYSQL_{number}")
    } else {
        name.to_string()
    };
    let hint = match number {
        // MariaDB refuses a plain login to a server that requires TLS with
        // the same error as a wrong password.
        1045 if op.plain => {
            " (wrong user name or password? or the server requires TLS: set database.ssl_mode to VERIFY_IDENTITY)"
        }
        1045 => " (wrong user name or password?)",
        1205 => " (another session holds a lock on it; retry once that session ends)",
        1969 | 3024 => {
            " (it ran longer than database.statement_timeout_seconds: another session may hold a lock on it; \
             retry once that session ends)"
        }
        3159 | 4036 => " (the server requires TLS: set database.ssl_mode to VERIFY_IDENTITY)",
        _ => "",
    };
    // A syntax error quotes the statement, which may hold a password hash
    // or (over TLS) a password: never pass its text on.
    let message = if number == 1064 {
        "SQL syntax error".to_string()
    } else {
        scrub(server_message, op.secret)
    };
    PortError::new(kind, code, format!("{} on {}: {message}{hint}", op.what, op.addr))
}

fn port_error(op: &Op<'_>, e: &sqlx::Error) -> PortError {
    use PortErrorKind::*;
    if let Some(db) = e.as_database_error()
        && let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>()
    {
        return server_error(op, my.number(), my.message());
    }
    let text = scrub(&e.to_string(), op.secret);
    // The driver reports a refused certificate as an I/O error wrapping
    // the TLS library's.
    let tls_refused = matches!(e, sqlx::Error::Io(io)
        if io.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()));
    match e {
        sqlx::Error::Tls(_) => tls_error(op, &text),
        sqlx::Error::Io(_) if tls_refused => tls_error(op, &text),
        sqlx::Error::Io(_) => PortError::new(
            Transient,
            "ConnectionFailed",
            format!("{}: could not reach MySQL at {}: {text}", op.what, op.addr),
        ),
        _ => PortError::new(Other, "DriverError", format!("{} on {}: {text}", op.what, op.addr)),
    }
}

fn tls_error(op: &Op<'_>, text: &str) -> PortError {
    PortError::new(
        PortErrorKind::AccessDenied,
        "TlsHandshakeFailed",
        format!(
            "{}: TLS with MySQL at {} failed: {text}. If the server's certificate is not signed by a root \
             this machine trusts, pass its CA in database.ssl_ca (for RDS, the AWS global bundle: ssl_ca = \
             file(\"global-bundle.pem\")); if it names another host, connect by that name",
            op.what, op.addr
        ),
    )
}

fn timeout_error(what: &str, addr: &str, waited: Duration) -> PortError {
    PortError::new(
        PortErrorKind::Transient,
        "StatementTimeout",
        format!(
            "{what} on {addr}: no answer within {}s (database.statement_timeout_seconds); another session \
             may hold a lock on it — retry once it is released",
            waited.as_secs()
        ),
    )
}

// ------------------------------------------------------------ retries

/// Attempts of one statement that fails transiently (first one included).
const MYSQL_ATTEMPTS: u32 = 4;

/// Which transient failures of a statement may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Running it twice is running it once (a read, `DROP … IF EXISTS`,
    /// `ALTER USER` to a given state): any transient failure, including a
    /// connection lost after the statement was sent.
    Idempotent,
    /// One statement that must not run twice (`CREATE DATABASE`): only
    /// failures that prove it did not run — no connection, a deadlock or a
    /// lock wait timeout (MySQL rolls the statement back).
    IfNotRun,
    /// Several statements that must not run twice (`CREATE USER; GRANT`):
    /// only a failure to get a connection, before anything was sent.
    IfNotSent,
}

impl Retry {
    fn allows(self, e: &PortError, sent: bool) -> bool {
        // A timeout already waited (statement_timeout_seconds, or the
        // connect timeout of a stalled server): not again.
        let waited = matches!(
            e.code.as_str(),
            "StatementTimeout" | "ER_STATEMENT_TIMEOUT" | "ConnectTimeout"
        );
        if e.kind != PortErrorKind::Transient || waited {
            return false;
        }
        let not_run = matches!(
            e.code.as_str(),
            "ER_LOCK_DEADLOCK" | "ER_LOCK_WAIT_TIMEOUT" | "ER_CON_COUNT_ERROR" | "ER_TOO_MANY_USER_CONNECTIONS"
        );
        match self {
            Retry::Idempotent => true,
            Retry::IfNotRun => !sent || not_run,
            Retry::IfNotSent => !sent,
        }
    }
}

/// The wait before attempt `attempt + 1`: 200 ms doubling, at most 2 s,
/// with full jitter (so that the sessions a deadlock stopped do not meet
/// again at the same moment).
fn mysql_backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let cap = Duration::from_millis(200u64.saturating_mul(1 << attempt.min(4))).min(Duration::from_secs(2));
    cap.mul_f64(rand::rng().random_range(0.5..=1.0))
}

// ------------------------------------------------------------ the server

/// What kind of server the pool talks to, learnt at its first connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flavour {
    mariadb: bool,
    /// `(major, minor, patch)` of the server.
    version: (u32, u32, u32),
    /// New accounts use `mysql_native_password`, whose hash the client
    /// computes; otherwise the server needs the plain text.
    native_passwords: bool,
    /// The connection is encrypted.
    tls: bool,
}

impl Flavour {
    /// Statements every new session runs: bounded waits, and string
    /// literals whose escaping does not depend on the server's `sql_mode`.
    fn session_setup(self, timeout: Duration) -> String {
        let seconds = timeout.as_secs().max(1);
        let statement_limit = if self.mariadb {
            format!("SESSION max_statement_time = {seconds}")
        } else {
            // MySQL limits SELECTs only; DDL waits are bounded by
            // lock_wait_timeout and the client's own timeout.
            format!("SESSION max_execution_time = {}", seconds * 1000)
        };
        format!(
            "SET SESSION lock_wait_timeout = {seconds}, {statement_limit}, SESSION sql_mode = \
             TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))"
        )
    }

    /// MySQL 8.0.14+ keeps an old password beside a new one.
    fn dual_passwords(self) -> bool {
        !self.mariadb && self.version >= (8, 0, 14)
    }

    /// The `IDENTIFIED …` clause for `password`: its hash where the server
    /// takes one, else the plain text — over TLS only.
    fn identified(self, password: &str) -> PortResult<String> {
        if self.mariadb {
            Ok(format!("IDENTIFIED BY PASSWORD '{}'", password::native_hash(password)))
        } else if self.native_passwords {
            Ok(format!(
                "IDENTIFIED WITH mysql_native_password AS '{}'",
                password::native_hash(password)
            ))
        } else if self.tls {
            Ok(format!("IDENTIFIED BY {}", quote_literal(password)))
        } else {
            Err(PortError::new(
                PortErrorKind::InvalidInput,
                "PlaintextPasswordWithoutTls",
                "this MySQL server creates caching_sha2_password accounts, whose password must be sent in \
                 plain text: bbws sends it only over TLS. Set database.ssl_mode to VERIFY_IDENTITY (or \
                 REQUIRED)",
            ))
        }
    }
}

fn parse_version(text: &str) -> (u32, u32, u32) {
    let mut numbers = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    (
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
        numbers.next().unwrap_or(0),
    )
}

fn ssl_mode(mode: SslMode) -> MySqlSslMode {
    match mode {
        SslMode::Disabled => MySqlSslMode::Disabled,
        SslMode::Preferred => MySqlSslMode::Preferred,
        SslMode::Required => MySqlSslMode::Required,
        SslMode::VerifyCa => MySqlSslMode::VerifyCa,
        SslMode::VerifyIdentity => MySqlSslMode::VerifyIdentity,
    }
}

fn connect_options(login: &MysqlLogin) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(&login.host)
        .port(login.port)
        .username(&login.user)
        .password(&login.password)
        .ssl_mode(ssl_mode(login.tls.mode))
        .enable_cleartext_plugin(login.cleartext)
        // Administration runs each statement once: nothing to cache.
        .statement_cache_capacity(0)
        // The session's sql_mode is ours to set (Flavour::session_setup).
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
        // Statements may carry password hashes: never logged.
        .disable_statement_logging();
    if let Some(pem) = &login.tls.ca_pem {
        options = options.ssl_ca_from_pem(pem.as_bytes().to_vec());
    }
    options
}

// ------------------------------------------------------------ the pool

/// Up to [`POOL_MAX`] connections of one login, reused while fresh.
struct Pool {
    login: MysqlLogin,
    addr: String,
    connect_timeout: Duration,
    flavour: OnceLock<Flavour>,
    idle: Mutex<Vec<(Instant, MySqlConnection)>>,
    permits: Semaphore,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("login", &self.login)
            .field("flavour", &self.flavour)
            .finish_non_exhaustive()
    }
}

/// A connection lent by the pool. It goes back when dropped, unless a
/// statement on it was interrupted or the socket failed: then the
/// conversation's state is unknown, and the connection is closed.
struct Lent<'a> {
    conn: Option<MySqlConnection>,
    pool: &'a Pool,
    clean: bool,
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    fn op<'s>(&'s self, what: &'s str, secret: Option<&'s str>, intent: Intent) -> Op<'s> {
        Op {
            what,
            addr: &self.addr,
            secret,
            intent,
            plain: self.login.tls.mode == SslMode::Disabled,
        }
    }

    fn flavour(&self) -> PortResult<Flavour> {
        self.flavour.get().copied().ok_or_else(|| {
            PortError::new(
                PortErrorKind::Other,
                "DriverError",
                format!("MySQL at {}: the server was never reached", self.addr),
            )
        })
    }

    /// A new connection with its session set up; the first one also
    /// learns the server's flavour. The driver runs in a task of its own,
    /// so that even a panic on a hostile server's bytes is an error here.
    async fn open(&self) -> PortResult<MySqlConnection> {
        let login = self.login.clone();
        let known = self.flavour.get().copied();
        let mut opened = tokio::spawn(async move { open_session(&login, known).await });
        let (conn, flavour) = match tokio::time::timeout(self.connect_timeout, &mut opened).await {
            Err(_) => {
                // A stalled server must not keep the task and its socket.
                opened.abort();
                return Err(PortError::new(
                    PortErrorKind::Transient,
                    "ConnectTimeout",
                    format!(
                        "connect: no answer from MySQL at {} within {:.0}s; check host, port and network",
                        self.addr,
                        self.connect_timeout.as_secs_f32()
                    ),
                ));
            }
            Ok(Err(join)) => {
                return Err(PortError::new(
                    PortErrorKind::Other,
                    "DriverError",
                    format!(
                        "connect: the MySQL driver failed on the answer of {}: {join}",
                        self.addr
                    ),
                ));
            }
            Ok(Ok(r)) => {
                r.map_err(|(what, e)| port_error(&self.op(what, Some(&self.login.password), Intent::Other), &e))?
            }
        };
        let _ = self.flavour.set(flavour);
        Ok(conn)
    }

    async fn get(&self) -> PortResult<Lent<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PortError::new(PortErrorKind::Other, "DriverError", "the connection pool is closed"))?;
        let (reused, stale) = {
            let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (fresh, stale): (Vec<_>, Vec<_>) = idle.drain(..).partition(|(since, _)| since.elapsed() < IDLE_TTL);
            *idle = fresh;
            (idle.pop().map(|(_, c)| c), stale)
        };
        for (_, conn) in stale {
            tokio::spawn(conn.close());
        }
        let conn = match reused {
            Some(c) => c,
            None => self.open().await?,
        };
        Ok(Lent {
            conn: Some(conn),
            pool: self,
            clean: true,
            _permit: permit,
        })
    }
}

/// Connects and sets the session up: `Err` carries what was being done.
async fn open_session(
    login: &MysqlLogin,
    known: Option<Flavour>,
) -> Result<(MySqlConnection, Flavour), (&'static str, sqlx::Error)> {
    let mut conn = connect_options(login).connect().await.map_err(|e| ("connect", e))?;
    let flavour = match known {
        Some(f) => f,
        None => probe(&mut conn).await.map_err(|e| ("connect", e))?,
    };
    let setup = flavour.session_setup(login.statement_timeout);
    sqlx::raw_sql(AssertSqlSafe(setup))
        .execute(&mut conn)
        .await
        .map_err(|e| ("session setup", e))?;
    Ok((conn, flavour))
}

/// Which server this is, how it stores new passwords, and whether the
/// connection is encrypted.
async fn probe(conn: &mut MySqlConnection) -> Result<Flavour, sqlx::Error> {
    // Text protocol throughout: one round trip each, no prepared statement.
    let version = sqlx::raw_sql("SELECT CONVERT(VERSION() USING utf8mb4)")
        .fetch_one(&mut *conn)
        .await
        .map(|row| text(&row, 0))?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let cipher = sqlx::raw_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .fetch_optional(&mut *conn)
        .await?;
    let tls = cipher
        .and_then(|row| row.try_get_unchecked::<Option<String>, _>(1).ok().flatten())
        .is_some_and(|c| !c.is_empty());
    // MySQL 8.0 names its default plugin; 8.4 dropped the variable, and
    // its default is caching_sha2_password.
    let native_passwords = !mariadb
        && sqlx::raw_sql("SELECT CONVERT(@@default_authentication_plugin USING utf8mb4)")
            .fetch_one(&mut *conn)
            .await
            .is_ok_and(|row| text(&row, 0) == "mysql_native_password");
    let flavour = Flavour {
        mariadb,
        version: parse_version(&version),
        native_passwords,
        tls,
    };
    tracing::debug!(%version, ?flavour, "connected to MySQL");
    Ok(flavour)
}

impl Lent<'_> {
    /// Runs `sql` (one or more statements, results dropped or returned),
    /// waiting at most the statement timeout plus a grace period.
    async fn run(&mut self, op: &Op<'_>, sql: String) -> PortResult<Vec<sqlx::mysql::MySqlRow>> {
        let waited = self.pool.login.statement_timeout + CLIENT_GRACE;
        let Some(conn) = self.conn.as_mut() else {
            return Err(PortError::new(
                PortErrorKind::Other,
                "DriverError",
                "the connection was returned",
            ));
        };
        // Unclean until the statement has answered.
        self.clean = false;
        let answer = tokio::time::timeout(waited, sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(conn)).await;
        match answer {
            Err(_) => Err(timeout_error(op.what, op.addr, waited)),
            Ok(Ok(rows)) => {
                self.clean = true;
                Ok(rows)
            }
            Ok(Err(e)) => {
                // A server error leaves the conversation in step.
                self.clean = e.as_database_error().is_some();
                Err(port_error(op, &e))
            }
        }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.clean
        {
            let mut idle = self.pool.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            idle.push((Instant::now(), conn));
        }
    }
}

// ------------------------------------------------------------ connector

#[async_trait]
impl MysqlConnector for MysqlServerConnector {
    async fn connect(&self, login: &MysqlLogin) -> PortResult<Arc<dyn MysqlAdmin>> {
        let admin = MysqlServerAdmin::connect(login).await?;
        Ok(Arc::new(admin))
    }
}

impl MysqlServerAdmin {
    /// Opens a pool for `login` with one connection, so that a wrong host,
    /// password or certificate fails here.
    pub async fn connect(login: &MysqlLogin) -> PortResult<Self> {
        Self::connect_within(login, CONNECT_TIMEOUT).await
    }

    async fn connect_within(login: &MysqlLogin, connect_timeout: Duration) -> PortResult<Self> {
        if login.cleartext && !login.tls.mode.verifies() {
            return Err(PortError::new(
                PortErrorKind::InvalidInput,
                "CleartextWithoutVerifiedTls",
                "an IAM authentication token is sent in plain text: set database.ssl_mode to VERIFY_IDENTITY \
                 (or VERIFY_CA)",
            ));
        }
        let pool = Pool {
            login: login.clone(),
            addr: format!("{}:{}", login.host, login.port),
            connect_timeout,
            flavour: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POOL_MAX),
        };
        drop(pool.get().await?);
        Ok(MysqlServerAdmin { pool })
    }

    async fn run(
        &self,
        what: &str,
        sql: String,
        intent: Intent,
        retry: Retry,
    ) -> PortResult<Vec<sqlx::mysql::MySqlRow>> {
        self.run_with(what, sql, None, intent, retry).await
    }

    /// Runs statements that carry a password (its hash, or over TLS its
    /// text), scrubbing it from any error.
    async fn run_secret(
        &self,
        what: &str,
        sql: String,
        password: &str,
        intent: Intent,
        retry: Retry,
    ) -> PortResult<()> {
        // The hash never appears in a message: syntax errors, which quote
        // the statement, are not passed on.
        self.run_with(what, sql, Some(password), intent, retry).await.map(drop)
    }

    /// Runs `sql` on a pooled connection; a transient failure that `retry`
    /// allows is retried after a jittered, doubling backoff, up to
    /// [`MYSQL_ATTEMPTS`] attempts. The error says how many were made.
    async fn run_with(
        &self,
        what: &str,
        sql: String,
        secret: Option<&str>,
        intent: Intent,
        retry: Retry,
    ) -> PortResult<Vec<sqlx::mysql::MySqlRow>> {
        let mut attempt = 1;
        loop {
            let (result, sent) = match self.pool.get().await {
                Err(e) => (Err(e), false),
                Ok(mut conn) => (conn.run(&self.pool.op(what, secret, intent), sql.clone()).await, true),
            };
            match result {
                Ok(rows) => return Ok(rows),
                Err(e) if attempt < MYSQL_ATTEMPTS && retry.allows(&e, sent) => {
                    tracing::debug!(what, attempt, code = %e.code, "transient MySQL failure; retrying");
                    tokio::time::sleep(mysql_backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.with_attempts(attempt)),
            }
        }
    }

    /// Users of `names` (validated) in the flavour's catalogue, as rows
    /// `('u', name, locked, max_connections, old_password_retained)`.
    fn users_query(mariadb: bool, names: &[String]) -> String {
        let marks = names.iter().map(|n| quote_literal(n)).collect::<Vec<_>>().join(", ");
        if mariadb {
            format!(
                "SELECT 'u', CONVERT(User USING utf8mb4), \
                 CONVERT(CAST(IFNULL(JSON_VALUE(Priv, '$.account_locked') IN ('1', 'true'), 0) AS CHAR) USING utf8mb4), \
                 CONVERT(CAST(IFNULL(JSON_VALUE(Priv, '$.max_user_connections'), 0) AS CHAR) USING utf8mb4), '0' \
                 FROM mysql.global_priv WHERE Host = '%' AND User IN ({marks})"
            )
        } else {
            format!(
                "SELECT 'u', CONVERT(User USING utf8mb4), \
                 CONVERT(CAST(account_locked = 'Y' AS CHAR) USING utf8mb4), \
                 CONVERT(CAST(max_user_connections AS CHAR) USING utf8mb4), \
                 IF(JSON_EXTRACT(User_attributes, '$.additional_password') IS NULL, '0', '1') \
                 FROM mysql.user WHERE Host = '%' AND User IN ({marks})"
            )
        }
    }

    fn grant(user: &MysqlUser<'_>) -> String {
        format!(
            "GRANT ALL PRIVILEGES ON {}.* TO {}",
            quote_grant_db(user.database),
            quote_user(user.name)
        )
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

fn text(row: &sqlx::mysql::MySqlRow, index: usize) -> String {
    row.try_get_unchecked::<Option<String>, _>(index)
        .ok()
        .flatten()
        .unwrap_or_default()
}

#[async_trait]
impl MysqlAdmin for MysqlServerAdmin {
    async fn observe(
        &self,
        databases: &[String],
        users: &[String],
    ) -> PortResult<(Vec<ObservedDatabase>, Vec<ObservedDatabaseUser>)> {
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
        let flavour = self.pool.flavour()?;
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
                "SELECT 'd', CONVERT(SCHEMA_NAME USING utf8mb4), '0', '0', '0' FROM information_schema.SCHEMATA \
                 WHERE SCHEMA_NAME IN ({marks})"
            ));
        }
        if !users.is_empty() {
            parts.push(Self::users_query(flavour.mariadb, &users));
        }
        let rows = self
            .run("observe", parts.join(" UNION ALL "), Intent::Other, Retry::Idempotent)
            .await?;
        let mut dbs: Vec<ObservedDatabase> = Vec::new();
        let mut us: Vec<ObservedDatabaseUser> = Vec::new();
        for row in &rows {
            let (kind, name) = (text(row, 0), text(row, 1));
            if kind == "d" {
                dbs.push(ObservedDatabase { name });
            } else {
                us.push(ObservedDatabaseUser {
                    name,
                    locked: text(row, 2).trim().parse::<i64>().unwrap_or(0) != 0,
                    max_connections: text(row, 3).trim().parse().unwrap_or(0),
                    old_password_retained: text(row, 4).trim() == "1",
                });
            }
        }
        dbs.sort_by(|a, b| a.name.cmp(&b.name));
        us.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((dbs, us))
    }

    async fn create_database(&self, name: &str) -> PortResult<()> {
        validate_database(name)?;
        let sql = format!("CREATE DATABASE {} CHARACTER SET utf8mb4", quote_ident(name));
        self.run(
            &format!("CREATE DATABASE {}", quote_ident(name)),
            sql,
            Intent::Create,
            Retry::IfNotRun,
        )
        .await
        .map(drop)
    }

    async fn database_is_empty(&self, name: &str) -> PortResult<bool> {
        validate_database(name)?;
        let schema = quote_literal(name);
        let sql = format!(
            "SELECT CONVERT(CAST((SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {schema}) + \
             (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {schema}) AS CHAR) USING utf8mb4)"
        );
        let rows = self
            .run(
                &format!("count the objects of {}", quote_ident(name)),
                sql,
                Intent::Other,
                Retry::Idempotent,
            )
            .await?;
        Ok(rows.first().is_none_or(|row| text(row, 0).trim() == "0"))
    }

    async fn drop_database(&self, name: &str) -> PortResult<()> {
        validate_database(name)?;
        let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
        self.run(
            &format!("DROP DATABASE {}", quote_ident(name)),
            sql,
            Intent::Other,
            Retry::Idempotent,
        )
        .await
        .map(drop)
    }

    async fn create_user(&self, user: &MysqlUser<'_>, password: &str) -> PortResult<()> {
        validate_user(user.name)?;
        validate_database(user.database)?;
        let identified = self.pool.flavour()?.identified(password)?;
        let sql = format!(
            "CREATE USER {} {identified} WITH MAX_USER_CONNECTIONS {}; {}",
            quote_user(user.name),
            user.max_connections,
            Self::grant(user)
        );
        self.run_secret(
            &format!("CREATE USER {}", quote_user(user.name)),
            sql,
            password,
            Intent::Create,
            Retry::IfNotSent,
        )
        .await
    }

    async fn set_password(&self, user: &MysqlUser<'_>, password: &str, retain_old: bool) -> PortResult<PasswordChange> {
        validate_user(user.name)?;
        validate_database(user.database)?;
        let flavour = self.pool.flavour()?;
        let identified = flavour.identified(password)?;
        let (retain, change) = if retain_old && flavour.dual_passwords() {
            (" RETAIN CURRENT PASSWORD", PasswordChange::OldRetained)
        } else {
            ("", PasswordChange::Replaced)
        };
        let sql = format!(
            "ALTER USER {} {identified}{retain}; ALTER USER {} WITH MAX_USER_CONNECTIONS {}; {}",
            quote_user(user.name),
            quote_user(user.name),
            user.max_connections,
            Self::grant(user)
        );
        self.run_secret(
            &format!("ALTER USER {}", quote_user(user.name)),
            sql,
            password,
            Intent::Other,
            // Retaining the current password twice would retain the new one.
            if change == PasswordChange::OldRetained {
                Retry::IfNotSent
            } else {
                Retry::Idempotent
            },
        )
        .await?;
        Ok(change)
    }

    async fn discard_old_password(&self, name: &str) -> PortResult<()> {
        validate_user(name)?;
        if !self.pool.flavour()?.dual_passwords() {
            return Ok(());
        }
        let sql = format!("ALTER USER {} DISCARD OLD PASSWORD", quote_user(name));
        self.run(
            &format!("ALTER USER {}", quote_user(name)),
            sql,
            Intent::Other,
            Retry::Idempotent,
        )
        .await
        .map(drop)
    }

    async fn set_max_connections(&self, name: &str, max_connections: u32) -> PortResult<()> {
        validate_user(name)?;
        let sql = format!(
            "ALTER USER {} WITH MAX_USER_CONNECTIONS {max_connections}",
            quote_user(name)
        );
        self.run(
            &format!("ALTER USER {}", quote_user(name)),
            sql,
            Intent::Other,
            Retry::Idempotent,
        )
        .await
        .map(drop)
    }

    async fn set_locked(&self, name: &str, locked: bool) -> PortResult<()> {
        validate_user(name)?;
        let sql = format!(
            "ALTER USER {} ACCOUNT {}",
            quote_user(name),
            if locked { "LOCK" } else { "UNLOCK" }
        );
        self.run(
            &format!("ALTER USER {}", quote_user(name)),
            sql,
            Intent::Other,
            Retry::Idempotent,
        )
        .await
        .map(drop)
    }

    async fn drop_user(&self, name: &str) -> PortResult<()> {
        validate_user(name)?;
        let sql = format!("DROP USER IF EXISTS {}", quote_user(name));
        self.run(
            &format!("DROP USER {}", quote_user(name)),
            sql,
            Intent::Other,
            Retry::Idempotent,
        )
        .await
        .map(drop)
    }

    async fn dump(&self, database: &str, out: tokio::sync::mpsc::Sender<DumpItem>) -> PortResult<()> {
        self.dump_database(database, out).await
    }

    async fn load(&self, database: &str, statements: &[String]) -> PortResult<()> {
        self.load_statements(database, statements).await
    }
}
