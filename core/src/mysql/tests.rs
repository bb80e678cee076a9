//! The pool and the driver against scripted servers: well-behaved ones
//! and hostile ones, which must never crash the plugin or hang it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::ports::MysqlTls;

fn packet(seq: u8, body: &[u8]) -> Vec<u8> {
    let mut p = (body.len() as u32).to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(body);
    p
}

/// A v10 greeting of a MariaDB-like server without TLS, offering
/// `mysql_native_password`.
fn greeting() -> Vec<u8> {
    let mut g = vec![10];
    g.extend_from_slice(b"5.5.5-10.11.0-MariaDB-scripted\0");
    g.extend_from_slice(&7u32.to_le_bytes());
    g.extend_from_slice(b"abcdefgh\0");
    g.extend_from_slice(&0xF7FFu16.to_le_bytes());
    g.extend_from_slice(&[45, 2, 0]);
    g.extend_from_slice(&0x0008u16.to_le_bytes()); // plugin auth
    g.push(21);
    g.extend_from_slice(&[0; 10]);
    g.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    g
}

fn lenenc(out: &mut Vec<u8>, s: &[u8]) {
    out.push(u8::try_from(s.len()).expect("short"));
    out.extend_from_slice(s);
}

/// A text result set of string columns, with classic EOF packets.
fn result_set(columns: &[&str], row: &[&str]) -> Vec<u8> {
    let eof = [0xFE, 0, 0, 2, 0];
    let mut seq = 1;
    let mut out = packet(seq, &[u8::try_from(columns.len()).expect("few")]);
    for name in columns {
        seq += 1;
        let mut def = Vec::new();
        for part in [&b"def"[..], b"", b"", b"", name.as_bytes(), b""] {
            lenenc(&mut def, part);
        }
        def.push(0x0c);
        def.extend_from_slice(&45u16.to_le_bytes());
        def.extend_from_slice(&256u32.to_le_bytes());
        def.push(0xFD); // VAR_STRING
        def.extend_from_slice(&[0, 0, 0, 0, 0]);
        out.extend(packet(seq, &def));
    }
    seq += 1;
    out.extend(packet(seq, &eof));
    seq += 1;
    let mut values = Vec::new();
    for v in row {
        lenenc(&mut values, v.as_bytes());
    }
    out.extend(packet(seq, &values));
    out.extend(packet(seq + 1, &eof));
    out
}

async fn read_packet(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    tcp.read_exact(&mut header).await.ok()?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut body = vec![0u8; len];
    tcp.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// A scripted server: greets, accepts any login, answers the driver's
/// probes, `SELECT fail` with a syntax error, never answers `SELECT
/// stall`, and anything else with OK. Counts the connections it accepts.
async fn scripted_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let ok = [0u8, 0, 0, 2, 0, 0, 0];
                if tcp.write_all(&packet(0, &greeting())).await.is_err() || read_packet(&mut tcp).await.is_none() {
                    return;
                }
                if tcp.write_all(&packet(2, &ok)).await.is_err() {
                    return;
                }
                while let Some(body) = read_packet(&mut tcp).await {
                    let text = String::from_utf8_lossy(&body).into_owned();
                    let reply = if text.ends_with("SELECT stall") {
                        std::future::pending::<()>().await;
                        return;
                    } else if text.ends_with("SELECT deadlock") {
                        let mut err = vec![0xFF];
                        err.extend_from_slice(&1213u16.to_le_bytes());
                        err.extend_from_slice(b"#40001Deadlock found when trying to get lock");
                        packet(1, &err)
                    } else if text.ends_with("SELECT fail") {
                        let mut err = vec![0xFF];
                        err.extend_from_slice(&1064u16.to_le_bytes());
                        err.extend_from_slice(b"#42000You have an error");
                        packet(1, &err)
                    } else if text.contains("VERSION()") {
                        result_set(&["v"], &["10.11.0-MariaDB-scripted"])
                    } else if text.contains("Ssl_cipher") {
                        result_set(&["Variable_name", "Value"], &["Ssl_cipher", ""])
                    } else if body.first() == Some(&1) {
                        return; // COM_QUIT
                    } else {
                        packet(1, &ok)
                    };
                    if tcp.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

fn login(port: u16) -> MysqlLogin {
    MysqlLogin {
        host: "127.0.0.1".into(),
        port,
        user: "admin".into(),
        password: "pw".into(),
        cleartext: false,
        tls: MysqlTls {
            mode: SslMode::Disabled,
            ca_pem: None,
        },
        statement_timeout: Duration::from_secs(2),
    }
}

#[tokio::test]
async fn the_pool_reuses_connections_and_closes_interrupted_ones() {
    let (port, accepted) = scripted_server().await;
    let admin = MysqlServerAdmin::connect(&login(port)).await.expect("login");
    let connections = || accepted.load(Ordering::SeqCst);
    admin
        .run("DO", "DO 1".into(), Intent::Other, Retry::Idempotent)
        .await
        .expect("ok");
    assert_eq!(connections(), 1, "the login's connection is reused");
    let e = admin
        .run("SELECT", "SELECT fail".into(), Intent::Other, Retry::Idempotent)
        .await
        .expect_err("an error packet");
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::InvalidInput, "ER_PARSE_ERROR")
    );
    admin
        .run("DO", "DO 1".into(), Intent::Other, Retry::Idempotent)
        .await
        .expect("ok");
    assert_eq!(connections(), 1, "a server error leaves the connection in step");
    let interrupted = tokio::time::timeout(
        Duration::from_millis(50),
        admin.run("SELECT", "SELECT stall".into(), Intent::Other, Retry::Idempotent),
    )
    .await;
    assert!(interrupted.is_err(), "the statement never returns");
    // On the interrupted connection this would wait for ever.
    tokio::time::timeout(
        Duration::from_secs(5),
        admin.run("DO", "DO 1".into(), Intent::Other, Retry::Idempotent),
    )
    .await
    .expect("answered on a new connection")
    .expect("ok");
    assert_eq!(connections(), 2, "an interrupted connection is not lent again");
}

/// A deadlock is transient and proves the statement did not run: retried
/// (with backoff) unless the statements must not be sent twice; a syntax
/// error is never retried. The error says how many attempts were made.
#[tokio::test]
async fn transient_failures_are_retried_only_where_running_again_is_safe() {
    let (port, _) = scripted_server().await;
    let admin = MysqlServerAdmin::connect(&login(port)).await.expect("login");
    let attempts = |retry| {
        let admin = &admin;
        async move {
            let e = admin
                .run("SELECT", "SELECT deadlock".into(), Intent::Other, retry)
                .await
                .expect_err("always deadlocks");
            assert_eq!(
                (e.kind, e.code.as_str()),
                (PortErrorKind::Transient, "ER_LOCK_DEADLOCK")
            );
            e.attempts
        }
    };
    assert_eq!(attempts(Retry::Idempotent).await, MYSQL_ATTEMPTS);
    assert_eq!(attempts(Retry::IfNotRun).await, MYSQL_ATTEMPTS);
    assert_eq!(attempts(Retry::IfNotSent).await, 1);
    let e = admin
        .run("SELECT", "SELECT fail".into(), Intent::Other, Retry::Idempotent)
        .await
        .expect_err("a syntax error");
    assert_eq!(e.attempts, 1, "not transient: not retried");
    // A connection lost after the statement was sent: only an idempotent
    // statement may be sent again.
    let lost = PortError::new(PortErrorKind::Transient, "CR_SERVER_LOST", "lost");
    assert!(Retry::Idempotent.allows(&lost, true));
    assert!(!Retry::IfNotRun.allows(&lost, true));
    assert!(Retry::IfNotRun.allows(&lost, false));
    let waited = PortError::new(PortErrorKind::Transient, "StatementTimeout", "waited");
    assert!(
        !Retry::Idempotent.allows(&waited, true),
        "a timeout is not waited out again"
    );
    let stalled = PortError::new(PortErrorKind::Transient, "ConnectTimeout", "stalled");
    assert!(
        !Retry::Idempotent.allows(&stalled, false),
        "nor a stalled server's connect"
    );
}

#[tokio::test]
async fn a_statement_that_never_answers_times_out_and_its_connection_is_dropped() {
    let (port, accepted) = scripted_server().await;
    let mut l = login(port);
    l.statement_timeout = Duration::from_secs(1);
    let admin = MysqlServerAdmin::connect(&l).await.expect("login");
    let started = Instant::now();
    let e = admin
        .run("SELECT", "SELECT stall".into(), Intent::Other, Retry::Idempotent)
        .await
        .expect_err("no answer");
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::Transient, "StatementTimeout")
    );
    assert!(e.message.contains("statement_timeout_seconds"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        started.elapsed()
    );
    admin
        .run("DO", "DO 1".into(), Intent::Other, Retry::Idempotent)
        .await
        .expect("ok");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "the stalled connection is not reused"
    );
}

/// A server that greets with `greeting` bytes (raw, not framed), then, if
/// `after_login` is given, answers the login with it, and then stalls.
async fn hostile_server(greeting: Vec<u8>, after_login: Option<Vec<u8>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let (greeting, after_login) = (greeting.clone(), after_login.clone());
            tokio::spawn(async move {
                let _ = tcp.write_all(&greeting).await;
                if let Some(reply) = after_login {
                    let _ = read_packet(&mut tcp).await;
                    let _ = tcp.write_all(&reply).await;
                }
                let mut sink = [0u8; 512];
                while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    port
}

async fn refused_cleanly(port: u16) -> PortError {
    let started = Instant::now();
    let r = MysqlServerAdmin::connect_within(&login(port), Duration::from_secs(2)).await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "bounded: {:?}",
        started.elapsed()
    );
    r.expect_err("a hostile server is refused")
}

#[tokio::test]
async fn an_empty_auth_switch_is_a_clean_error() {
    let port = hostile_server(packet(0, &greeting()), Some(packet(2, &[0xFE]))).await;
    let e = refused_cleanly(port).await;
    assert!(e.message.contains("127.0.0.1"), "{e}");
}

#[tokio::test]
async fn an_oversized_packet_header_is_a_clean_error() {
    let mut huge = vec![0xFF, 0xFF, 0xFF, 0];
    huge.extend_from_slice(&[10; 64]);
    let e = refused_cleanly(hostile_server(huge, None).await).await;
    assert_eq!(e.code, "ConnectTimeout", "{e}");
}

#[tokio::test]
async fn a_stall_mid_handshake_ends_within_the_connect_timeout() {
    let half = packet(0, &greeting())[..20].to_vec();
    let e = refused_cleanly(hostile_server(half, None).await).await;
    assert_eq!((e.kind, e.code.as_str()), (PortErrorKind::Transient, "ConnectTimeout"));
}

#[tokio::test]
async fn garbage_instead_of_a_greeting_is_a_clean_error() {
    let garbage = packet(0, b"\x0aHTTP/1.1 400 Bad Request\r\n\r\n");
    refused_cleanly(hostile_server(garbage, None).await).await;
}

#[tokio::test]
async fn an_iam_token_needs_verified_tls() {
    let mut l = login(1);
    l.cleartext = true;
    let e = MysqlServerAdmin::connect(&l)
        .await
        .expect_err("refused before connecting");
    assert_eq!(e.code, "CleartextWithoutVerifiedTls");
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
fn identifiers_and_literals_are_quoted() {
    assert_eq!(quote_ident("123_db"), "`123_db`");
    assert_eq!(quote_ident("a`b"), "`a``b`");
    assert_eq!(quote_grant_db("123_db"), "`123\\_db`");
    assert_eq!(quote_user("123_user"), "'123_user'@'%'");
    assert_eq!(quote_user("a'b"), "'a''b'@'%'");
    assert_eq!(quote_literal(r"p\'w"), r"'p\\''w'");
}

const MARIADB: Flavour = Flavour {
    mariadb: true,
    version: (10, 11, 6),
    native_passwords: true,
    tls: false,
};

#[test]
fn no_plain_password_is_sent_where_the_server_takes_a_hash() {
    let hash = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19";
    assert_eq!(
        MARIADB.identified("password").expect("hash"),
        format!("IDENTIFIED BY PASSWORD '{hash}'")
    );
    let mysql80_native = Flavour {
        mariadb: false,
        version: (8, 0, 36),
        ..MARIADB
    };
    assert_eq!(
        mysql80_native.identified("password").expect("hash"),
        format!("IDENTIFIED WITH mysql_native_password AS '{hash}'")
    );
    // caching_sha2_password needs the plain text: only over TLS.
    let mysql84 = Flavour {
        native_passwords: false,
        version: (8, 4, 3),
        ..mysql80_native
    };
    let e = mysql84.identified("password").expect_err("not without TLS");
    assert_eq!(e.code, "PlaintextPasswordWithoutTls");
    let over_tls = Flavour { tls: true, ..mysql84 };
    assert_eq!(over_tls.identified("pa'ss").expect("TLS"), "IDENTIFIED BY 'pa''ss'");
    assert!(over_tls.dual_passwords() && !MARIADB.dual_passwords());
    assert!(
        !Flavour {
            version: (8, 0, 13),
            ..over_tls
        }
        .dual_passwords()
    );
}

#[test]
fn sessions_bound_their_waits() {
    let t = Duration::from_secs(60);
    let maria = MARIADB.session_setup(t);
    assert!(
        maria.contains("lock_wait_timeout = 60") && maria.contains("max_statement_time = 60"),
        "{maria}"
    );
    let mysql = Flavour {
        mariadb: false,
        ..MARIADB
    }
    .session_setup(t);
    assert!(
        mysql.contains("lock_wait_timeout = 60") && mysql.contains("max_execution_time = 60000"),
        "{mysql}"
    );
    assert!(mysql.contains("NO_BACKSLASH_ESCAPES"), "{mysql}");
}

#[test]
fn versions_parse() {
    assert_eq!(parse_version("8.0.36"), (8, 0, 36));
    assert_eq!(parse_version("10.11.6-MariaDB-0+deb12u1"), (10, 11, 6));
    assert_eq!(parse_version("garbage"), (0, 0, 0));
}

#[test]
fn passwords_are_scrubbed() {
    let op = Op {
        what: "CREATE USER",
        addr: "h:1",
        secret: Some("s3cret"),
        intent: Intent::Create,
        plain: false,
    };
    let p = server_error(&op, 1396, "Operation CREATE USER failed for 'u'@'%' near s3cret");
    assert_eq!(p.kind, PortErrorKind::AlreadyExists);
    assert!(!p.message.contains("s3cret"), "{}", p.message);
    let p = server_error(&op, 1064, "You have an error near 'IDENTIFIED BY 's3cret''");
    assert!(!p.message.contains("s3cret"), "{}", p.message);
    assert_eq!(
        server_error(&op, 1045, "Access denied").kind,
        PortErrorKind::AccessDenied
    );
    let lock = server_error(&op, 1205, "Lock wait timeout exceeded");
    assert!(lock.message.contains("holds a lock"), "{}", lock.message);
    let plain = Op { plain: true, ..op };
    let refused = server_error(&plain, 1045, "Access denied");
    assert!(refused.message.contains("database.ssl_mode"), "{}", refused.message);
}
