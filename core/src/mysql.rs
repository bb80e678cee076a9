//! MySQL administration on `mysql_async`: the [`MysqlConnector`] and
//! [`MysqlAdmin`] ports against a MySQL 8 or MariaDB (10.4+) server.
//!
//! Safety rules:
//! * database and user names are validated (`^[A-Za-z0-9_]{1,64}$`, users
//!   at most 32) before any SQL is built, and quoted anyway;
//! * passwords never appear in SQL text built here: `IDENTIFIED BY` takes
//!   only a literal (no `?` placeholder, in MySQL or MariaDB), so the
//!   password is bound as a parameter into a session variable and the
//!   server itself quotes it into the statement it prepares;
//! * passwords are scrubbed from every error message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::*;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts};

use crate::parts::{ObservedDatabase, ObservedDatabaseUser};
use crate::ports::{MysqlAdmin, MysqlConnector, PortError, PortErrorKind, PortResult};

/// How long connecting (TCP, handshake, first query) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest MySQL database name.
const MAX_DATABASE: usize = 64;
/// Longest user name bbws creates (MySQL 5.7's limit; 8.0 allows 32 too).
const MAX_USER: usize = 32;
/// Largest pool.
const POOL_MAX: usize = 4;

/// [`MysqlConnector`] on `mysql_async`: one small pool per admin login.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlAsyncConnector;

/// [`MysqlAdmin`] on a `mysql_async` pool.
#[derive(Debug)]
pub struct MysqlAsyncAdmin {
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

fn mysql_error(op: &str, addr: &str, e: mysql_async::Error, secret: Option<&str>, intent: Intent) -> PortError {
    use PortErrorKind::*;
    match e {
        mysql_async::Error::Server(se) => {
            let (kind, name) = match se.code {
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
                format!("MYSQL_{}", se.code)
            } else {
                name.to_string()
            };
            let hint = if kind == AccessDenied && se.code == 1045 {
                " (wrong user name or password?)"
            } else {
                ""
            };
            // A syntax error quotes the statement, which may hold the
            // password: never pass its text on.
            let message = if se.code == 1064 {
                "SQL syntax error".to_string()
            } else {
                scrub(&se.message, secret)
            };
            PortError::new(kind, code, format!("{op} on {addr}: {message}{hint}"))
        }
        mysql_async::Error::Io(io) => PortError::new(
            Transient,
            "ConnectionFailed",
            format!(
                "{op}: could not reach MySQL at {addr}: {}",
                scrub(&io.to_string(), secret)
            ),
        ),
        mysql_async::Error::Url(u) => PortError::new(
            InvalidInput,
            "InvalidUrl",
            format!("{op}: {}", scrub(&u.to_string(), secret)),
        ),
        mysql_async::Error::Driver(d) => PortError::new(
            Transient,
            "DriverError",
            format!("{op} on {addr}: {}", scrub(&d.to_string(), secret)),
        ),
        other => PortError::new(
            Other,
            "MySQLError",
            format!("{op} on {addr}: {}", scrub(&other.to_string(), secret)),
        ),
    }
}

// ------------------------------------------------------------ connector

#[async_trait]
impl MysqlConnector for MysqlAsyncConnector {
    async fn connect(&self, host: &str, port: u16, user: &str, password: &str) -> PortResult<Arc<dyn MysqlAdmin>> {
        let admin = MysqlAsyncAdmin::connect(host, port, user, password).await?;
        Ok(Arc::new(admin))
    }
}

impl MysqlAsyncAdmin {
    /// Opens a pool as `user` and checks it with one query, so that a wrong
    /// host or password fails here.
    pub async fn connect(host: &str, port: u16, user: &str, password: &str) -> PortResult<Self> {
        let addr = format!("{host}:{port}");
        let constraints = PoolConstraints::new(0, POOL_MAX).unwrap_or_default();
        let opts = OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port)
            .user(Some(user))
            .pass(Some(password))
            .pool_opts(
                PoolOpts::default()
                    .with_constraints(constraints)
                    .with_inactive_connection_ttl(Duration::from_secs(60)),
            );
        let pool = Pool::new(opts);
        let check = async {
            let mut conn = pool.get_conn().await?;
            conn.query_first::<String, _>("SELECT VERSION()").await
        };
        let version = match tokio::time::timeout(CONNECT_TIMEOUT, check).await {
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
            Ok(Ok(v)) => v.unwrap_or_default(),
        };
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        tracing::debug!(%addr, %version, "connected to MySQL");
        Ok(MysqlAsyncAdmin {
            pool,
            addr,
            mariadb: AtomicBool::new(mariadb),
        })
    }

    async fn conn(&self, op: &str) -> PortResult<Conn> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.pool.get_conn()).await {
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
            conn.exec_drop("SET @bbws_pw = ?", (password,)).await.map_err(err)?;
            let head = statement_head.replace('\'', "''");
            let sql = format!(
                "SET @bbws_sql = CONCAT('{head} IDENTIFIED BY ', {QUOTED_PASSWORD}); \
                 PREPARE bbws_stmt FROM @bbws_sql; EXECUTE bbws_stmt; DEALLOCATE PREPARE bbws_stmt"
            );
            conn.query_drop(sql).await.map_err(err)
        }
        .await;
        // The pool also resets the session when the connection returns.
        let _ = conn.query_drop("SET @bbws_pw = NULL, @bbws_sql = NULL").await;
        result?;
        if !after.is_empty() {
            conn.query_drop(after)
                .await
                .map_err(|e| mysql_error(op, &self.addr, e, Some(password), Intent::Other))?;
        }
        Ok(())
    }

    fn users_query(mariadb: bool, n: usize) -> String {
        let marks = vec!["?"; n].join(", ");
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
impl MysqlAdmin for MysqlAsyncAdmin {
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
        let mut parts: Vec<String> = Vec::new();
        let mut params: Vec<mysql_async::Value> = Vec::new();
        if !databases.is_empty() {
            let marks = vec!["?"; databases.len()].join(", ");
            parts.push(format!(
                "SELECT 'd', CONVERT(SCHEMA_NAME USING utf8mb4), 0 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})"
            ));
            params.extend(databases.iter().map(|d| d.as_str().into()));
        }
        let mut mariadb = self.mariadb.load(Ordering::Relaxed);
        let mut switched = false;
        let rows: Vec<(String, String, i64)> = loop {
            let mut sql = parts.clone();
            let mut p = params.clone();
            if !users.is_empty() {
                sql.push(Self::users_query(mariadb, users.len()));
                p.extend(users.iter().map(|u| u.as_str().into()));
            }
            let sql = sql.join(" UNION ALL ");
            match conn.exec::<(String, String, i64), _, _>(sql, p).await {
                Ok(rows) => {
                    if switched {
                        self.mariadb.store(mariadb, Ordering::Relaxed);
                    }
                    break rows;
                }
                // Unknown column or table: the other flavour's catalogue.
                Err(mysql_async::Error::Server(se))
                    if (se.code == 1054 || se.code == 1146) && !switched && !users.is_empty() =>
                {
                    switched = true;
                    mariadb = !mariadb;
                    tracing::debug!(code = se.code, mariadb, "switching MySQL user catalogue");
                    continue;
                }
                Err(e) => return Err(mysql_error(op, &self.addr, e, None, Intent::Other)),
            }
        };
        let mut dbs: Vec<ObservedDatabase> = Vec::new();
        let mut us: Vec<ObservedDatabaseUser> = Vec::new();
        for (k, name, locked) in rows {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1396,
            message: "Operation CREATE USER failed for 'u'@'%' near s3cret".into(),
            state: "HY000".into(),
        });
        let p = mysql_error("CREATE USER", "h:1", e, Some("s3cret"), Intent::Create);
        assert_eq!(p.kind, PortErrorKind::AlreadyExists);
        assert!(!p.message.contains("s3cret"), "{}", p.message);
        let e = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1064,
            message: "You have an error near 'IDENTIFIED BY 's3cret''".into(),
            state: "42000".into(),
        });
        let p = mysql_error("CREATE USER", "h:1", e, None, Intent::Create);
        assert!(!p.message.contains("s3cret"), "{}", p.message);
        let e = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1045,
            message: "Access denied".into(),
            state: "28000".into(),
        });
        assert_eq!(
            mysql_error("connect", "h:1", e, None, Intent::Other).kind,
            PortErrorKind::AccessDenied
        );
    }
}
