//! The real AWS and MySQL ports against the local stack (moto on
//! 127.0.0.1:5055, MariaDB on 127.0.0.1:3307): every port method, with a
//! fresh random tenant per test, cleaning up after itself.
//!
//! Needs the stack: `bash acceptance-tests/stack/stack.sh up`. Its settings
//! are read from `$BBWS_STACK_DIR/settings.json` (default
//! `<workspace>/.bbws/settings.json`); without them every test fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_config::Region;
use aws_sdk_sts::config::Credentials;
use bbws_core::aws::{self, AwsSettings};
use bbws_core::naming::{self, CONTAINER_NAME, TAG_ENVIRONMENT, TAG_TENANT, TenantNames, WEB_SERVER_UID};
use bbws_core::parts::*;
use bbws_core::ports::{MysqlUser, PortErrorKind, Ports};
use bbws_core::{DatabaseSettings, Environment, Platform, contract};
use serde::Deserialize;

// ------------------------------------------------------------------ stack

#[derive(Debug, Deserialize)]
struct Settings {
    mysql: LocalMysql,
    mysql_strict: LocalMysql,
    environment: String,
    domain: String,
    region: String,
    endpoint: String,
    aws_access_key_id: String,
    aws_secret_access_key: String,
    cluster: String,
    vpc_id: String,
    subnet_ids: Vec<String>,
    security_group_ids: Vec<String>,
    listener_arn: String,
    hosted_zone_id: String,
    efs_file_system_id: String,
    database: DbSettings,
}

/// A MariaDB server of the stack, as its root sees it (socket).
#[derive(Debug, Deserialize)]
struct LocalMysql {
    port: u16,
    socket: String,
}

#[derive(Debug, Deserialize)]
struct DbSettings {
    instance_identifier: String,
    host: Option<String>,
    port: Option<u16>,
    admin_secret_arn: String,
    ssl_mode: String,
    ssl_ca_file: String,
}

struct Stack {
    settings: Settings,
    platform: Platform,
    sdk: aws_config::SdkConfig,
    ports: Ports,
}

fn stack_dir() -> PathBuf {
    match std::env::var_os("BBWS_STACK_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(".bbws"),
    }
}

async fn stack() -> Stack {
    let path = stack_dir().join("settings.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the local stack is not running ({}: {e}). Start it with `bash acceptance-tests/stack/stack.sh up` \
             (or point BBWS_STACK_DIR at its state directory) and run the tests again",
            path.display()
        )
    });
    let settings: Settings = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let environment: Environment = settings
        .environment
        .parse()
        .unwrap_or_else(|_| panic!("environment {:?}", settings.environment));
    let platform = Platform {
        environment,
        domain: settings.domain.clone(),
        region: settings.region.clone(),
        cluster: settings.cluster.clone(),
        vpc_id: settings.vpc_id.clone(),
        subnet_ids: settings.subnet_ids.clone(),
        security_group_ids: settings.security_group_ids.clone(),
        listener_arns: vec![settings.listener_arn.clone()],
        max_tenants_per_listener: None,
        hosted_zone_id: settings.hosted_zone_id.clone(),
        efs_file_system_id: settings.efs_file_system_id.clone(),
        execution_role_arn: None,
        task_role_arn: None,
        database: DatabaseSettings {
            instance_identifier: settings.database.instance_identifier.clone(),
            host: settings.database.host.clone(),
            port: settings.database.port,
            admin_secret_arn: settings.database.admin_secret_arn.clone(),
            ssl_mode: settings.database.ssl_mode.parse().unwrap_or_default(),
            ssl_ca: Some(std::fs::read_to_string(&settings.database.ssl_ca_file).expect("the stack's CA certificate")),
            ..DatabaseSettings::default()
        },
        default_tags: BTreeMap::new(),
        events: None,
        backup: None,
        alarm_topic_arn: None,
    };
    let aws_settings = aws_settings(&settings, &settings.endpoint);
    let sdk = sdk_config(&settings, &aws_settings).await;
    let ports = aws::ports_from_config(&sdk, &aws_settings);
    Stack {
        settings,
        platform,
        sdk,
        ports,
    }
}

/// Every service pointed at `endpoint`.
fn aws_settings(s: &Settings, endpoint: &str) -> AwsSettings {
    let endpoints = aws::ENDPOINT_KEYS
        .iter()
        .map(|k| (k.to_string(), endpoint.to_string()))
        .collect();
    AwsSettings {
        region: Some(s.region.clone()),
        endpoints,
        ..AwsSettings::default()
    }
}

/// bbws's shared configuration with the stack's fixed credentials (instead
/// of the environment, which tests running in parallel must not touch).
async fn sdk_config(s: &Settings, a: &AwsSettings) -> aws_config::SdkConfig {
    aws::config_loader(a)
        .region(Region::new(s.region.clone()))
        .credentials_provider(Credentials::new(
            &s.aws_access_key_id,
            &s.aws_secret_access_key,
            None,
            None,
            "bbws-stack",
        ))
        .load()
        .await
}

fn check(r: Result<(), String>) {
    if let Err(e) = r {
        panic!("{e}");
    }
}

// ------------------------------------------------------------------ the shared contract, port by port

#[tokio::test]
async fn sts_contract() {
    let s = stack().await;
    check(contract::sts(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn rds_contract() {
    let s = stack().await;
    check(contract::rds(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn secrets_contract() {
    let s = stack().await;
    check(contract::secrets(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn logs_contract() {
    let s = stack().await;
    check(contract::logs(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn efs_contract() {
    let s = stack().await;
    check(contract::efs(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn elbv2_contract() {
    let s = stack().await;
    check(contract::elbv2(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn route53_contract() {
    let s = stack().await;
    check(contract::route53(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn ecs_contract() {
    let s = stack().await;
    check(contract::ecs(&s.ports, &s.platform).await);
}

#[tokio::test]
async fn mysql_contract() {
    let s = stack().await;
    assert_eq!(s.platform.database.ssl_mode, bbws_core::SslMode::VerifyIdentity);
    check(contract::mysql(&s.ports, &s.platform).await);
}

/// The same contract without TLS, against the server that allows it.
#[tokio::test]
async fn mysql_contract_without_tls() {
    let s = stack().await;
    let mut platform = s.platform.clone();
    platform.database.ssl_mode = bbws_core::SslMode::Disabled;
    check(contract::mysql(&s.ports, &platform).await);
}

/// The same contract, verified TLS, against the server that refuses any
/// connection without TLS (`require_secure_transport = ON`, as Aurora MySQL
/// 8.4 and newer RDS versions run).
#[tokio::test]
async fn mysql_contract_where_the_server_requires_tls() {
    let s = stack().await;
    check(contract::mysql(&s.ports, &strict_platform(&s)).await);
}

fn strict_platform(s: &Stack) -> Platform {
    let mut platform = s.platform.clone();
    platform.database.port = Some(s.settings.mysql_strict.port);
    platform
}

/// Root on a stack server, through its socket: what the tests use to look
/// at the server from outside the port under test.
fn root_sql(server: &LocalMysql, sql: &str) -> String {
    let out = std::process::Command::new("mariadb")
        .args(["--no-defaults", "-uroot", "-N", "-B"])
        .arg(format!("--socket={}", server.socket))
        .args(["-e", sql])
        .output()
        .expect("the mariadb client");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The admin's login to `platform`'s server, from its admin secret.
async fn admin_login(s: &Stack, platform: &Platform) -> Result<bbws_core::ports::MysqlLogin, String> {
    #[derive(Deserialize)]
    struct Admin {
        username: String,
        password: String,
    }
    let raw = s
        .ports
        .secrets
        .get_secret_value(&platform.database.admin_secret_arn)
        .await
        .map_err(|e| e.to_string())?;
    let admin: Admin =
        serde_json::from_str(&raw).map_err(|_| "admin secret is not {username,password} JSON".to_string())?;
    let host = platform.database.host.clone().ok_or("no database host")?;
    let port = platform.database.port.ok_or("no database port")?;
    Ok(platform.database.login(&host, port, &admin.username, &admin.password))
}

#[tokio::test]
async fn a_server_that_requires_tls_refuses_a_plain_login_saying_what_to_set() {
    let s = stack().await;
    let mut platform = strict_platform(&s);
    platform.database.ssl_mode = bbws_core::SslMode::Disabled;
    let e = s
        .ports
        .mysql
        .connect(&admin_login(&s, &platform).await.expect("admin login"))
        .await
        .err()
        .expect("refused without TLS");
    eprintln!("plain login to a TLS-only server: {e}");
    // MySQL says ER_SECURE_TRANSPORT_REQUIRED; MariaDB says access denied.
    assert!(
        ["ER_SECURE_TRANSPORT_REQUIRED", "ER_ACCESS_DENIED_ERROR"].contains(&e.code.as_str()),
        "{e}"
    );
    assert!(e.message.contains("database.ssl_mode"), "{e}");
}

/// What each mode verifies, against a certificate for "localhost" signed
/// by the stack's CA.
#[tokio::test]
async fn tls_modes_verify_what_mysql_says_they_do() {
    use bbws_core::SslMode::*;
    let s = stack().await;
    let base = admin_login(&s, &s.platform).await.expect("admin login");
    let try_login = |mode, host: &str, ca: bool| {
        let mut login = base.clone();
        login.tls.mode = mode;
        login.host = host.to_owned();
        if !ca {
            login.tls.ca_pem = None;
        }
        let ports = s.ports.clone();
        async move { ports.mysql.connect(&login).await.map(drop) }
    };
    try_login(VerifyIdentity, "localhost", true)
        .await
        .expect("the certificate's name, the stack's CA");
    try_login(VerifyCa, "127.0.0.1", true)
        .await
        .expect("VERIFY_CA checks the chain, not the name");
    try_login(Required, "127.0.0.1", false)
        .await
        .expect("REQUIRED encrypts without verifying");
    try_login(Preferred, "127.0.0.1", false)
        .await
        .expect("PREFERRED takes what the server offers");
    for (mode, host, ca, why) in [
        (
            VerifyIdentity,
            "127.0.0.1",
            true,
            "a name the certificate does not hold",
        ),
        (VerifyIdentity, "localhost", false, "a CA this machine does not trust"),
        (VerifyCa, "localhost", false, "a CA this machine does not trust"),
    ] {
        let e = try_login(mode, host, ca).await.expect_err(why);
        eprintln!("{mode:?} {host} ca={ca}: {e}");
        assert_eq!(e.code, "TlsHandshakeFailed", "{why}: {e}");
        assert!(e.message.contains("database.ssl_ca"), "{e}");
    }
}

/// The general log sees every statement as the server received it: after
/// a create and a rotation through the port, the passwords are not in it.
#[tokio::test]
async fn no_password_reaches_the_general_log() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(&s, &id, &n, no_password_in_the_general_log_body(&s, &n, &tags)).await;
}

async fn no_password_in_the_general_log_body(s: &Stack, n: &TenantNames, _tags: &Tags) {
    let server = &s.settings.mysql;
    let log = std::env::temp_dir().join(format!("bbws-general-{}.log", rand_u32()));
    root_sql(
        server,
        &format!(
            "SET GLOBAL general_log_file = '{}'; SET GLOBAL log_output = 'FILE'; SET GLOBAL general_log = ON",
            log.display()
        ),
    );
    let m = admin(s).await.expect("admin connect");
    let (pw1, pw2) = (format!("First{}pw", rand_u32()), format!("Second{}pw", rand_u32()));
    let user = MysqlUser {
        name: &n.database_user,
        database: &n.database,
        max_connections: 4,
    };
    let r = async {
        m.create_database(&n.database).await?;
        m.create_user(&user, &pw1).await?;
        m.set_password(&user, &pw2, true).await?;
        Ok::<_, bbws_core::ports::PortError>(())
    }
    .await;
    root_sql(server, "SET GLOBAL general_log = OFF");
    r.expect("create and rotate");
    let logged = std::fs::read_to_string(&log).expect("the general log");
    let _ = std::fs::remove_file(&log);
    assert!(
        logged.contains(&n.database_user),
        "the log recorded the statements:\n{logged}"
    );
    for pw in [&pw1, &pw2] {
        assert!(
            !logged.contains(pw.as_str()),
            "a password is in the general log:\n{logged}"
        );
    }
    s.ports
        .mysql
        .connect(&s.platform.database.login(
            s.platform.database.host.as_deref().expect("host"),
            s.platform.database.port.expect("port"),
            &n.database_user,
            &pw2,
        ))
        .await
        .expect("the hashed password logs in");
}

/// A destroy behind a lock held by another session fails within the
/// statement timeout, naming the database and the lock; once the lock is
/// gone, the same call succeeds.
#[tokio::test]
async fn a_drop_behind_a_held_lock_fails_in_time_and_succeeds_later() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(&s, &id, &n, held_lock_body(&s, &n, &tags)).await;
}

async fn held_lock_body(s: &Stack, n: &TenantNames, _tags: &Tags) {
    let mut platform = s.platform.clone();
    platform.database.statement_timeout_seconds = 2;
    let m = s
        .ports
        .mysql
        .connect(&admin_login(s, &platform).await.expect("admin login"))
        .await
        .expect("admin connect");
    m.create_database(&n.database).await.expect("create database");
    let db = &n.database;
    root_sql(&s.settings.mysql, &format!("CREATE TABLE `{db}`.t (id INT)"));
    // An open transaction that read the table holds its metadata lock.
    let mut holder = tokio::process::Command::new("mariadb")
        .args(["--no-defaults", "-uroot"])
        .arg(format!("--socket={}", s.settings.mysql.socket))
        .args(["-e", &format!("BEGIN; SELECT * FROM `{db}`.t; SELECT SLEEP(60);")])
        .kill_on_drop(true)
        .spawn()
        .expect("the mariadb client");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let started = Instant::now();
    let e = m.drop_database(db).await.expect_err("the lock is held");
    let waited = started.elapsed();
    eprintln!("drop behind a lock ({waited:?}): {e}");
    assert!(
        waited < Duration::from_secs(10),
        "bounded by statement_timeout_seconds: {waited:?}"
    );
    assert!(e.message.contains(db.as_str()) && e.message.contains("lock"), "{e}");
    assert!(e.is_retryable(), "{e}");
    // The server keeps the holder's session (and its lock) until it is
    // killed there: a client that goes away mid-SLEEP is noticed late.
    let sessions = root_sql(
        &s.settings.mysql,
        "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(60)%'",
    );
    for id in sessions.split_whitespace() {
        root_sql(&s.settings.mysql, &format!("KILL {id}"));
    }
    let _ = holder.kill().await;
    let _ = holder.wait().await;
    m.drop_database(db).await.expect("the lock is gone");
    let (dbs, _) = m.observe(std::slice::from_ref(db), &[]).await.expect("observe");
    assert!(dbs.is_empty(), "dropped: {dbs:?}");
}

// ------------------------------------------------------------------ what the contract cannot see

fn tenant(platform: &Platform) -> (String, TenantNames, Tags) {
    let id = naming::generate_tenant_id();
    let names = TenantNames::new(platform.environment, &id, &id, &platform.domain);
    let mut tags = Tags::new();
    tags.insert(TAG_TENANT.into(), id.clone());
    tags.insert(TAG_ENVIRONMENT.into(), platform.environment.as_str().into());
    (id, names, tags)
}

/// Runs a test body, then removes whatever carries the tenant's names —
/// also when the body panicked — and re-raises the panic.
async fn guarded(s: &Stack, id: &str, n: &TenantNames, body: impl std::future::Future<Output = ()>) {
    use futures::FutureExt;
    let r = std::panic::AssertUnwindSafe(body).catch_unwind().await;
    sweep(s, id, n).await;
    if let Err(panic) = r {
        std::panic::resume_unwind(panic);
    }
}

/// Best effort: deletes every part named after tenant `id`.
async fn sweep(s: &Stack, id: &str, n: &TenantNames) {
    let p = &s.ports;
    let _ = p.ecs.delete_service(&s.platform.cluster, &n.service).await;
    for arn in p.ecs.list_task_definitions(&n.task_family).await.unwrap_or_default() {
        let _ = p.ecs.deregister_task_definition(&arn).await;
    }
    for r in p
        .elbv2
        .describe_rules(s.platform.first_listener())
        .await
        .unwrap_or_default()
    {
        if r.hosts.iter().any(|h| h.contains(id)) {
            let _ = p.elbv2.delete_rule(&r.arn).await;
        }
    }
    for t in p
        .elbv2
        .describe_target_groups(std::slice::from_ref(&n.target_group))
        .await
        .unwrap_or_default()
    {
        let _ = p.elbv2.delete_target_group(&t.arn).await;
    }
    for a in p
        .efs
        .describe_access_points(&s.platform.efs_file_system_id)
        .await
        .unwrap_or_default()
    {
        if a.name == n.access_point {
            let _ = p.efs.delete_access_point(&a.id).await;
        }
    }
    for r in p
        .route53
        .list_records(&s.platform.hosted_zone_id)
        .await
        .unwrap_or_default()
    {
        if r.name.contains(id) {
            let _ = p.route53.delete_record(&r).await;
        }
    }
    if let Ok(m) = admin(s).await {
        let _ = m.drop_user(&n.database_user).await;
        let _ = m.drop_database(&n.database).await;
    }
}

/// An admin connection with the platform's admin secret.
async fn admin(s: &Stack) -> Result<std::sync::Arc<dyn bbws_core::ports::MysqlAdmin>, String> {
    let login = admin_login(s, &s.platform).await?;
    s.ports.mysql.connect(&login).await.map_err(|e| e.to_string())
}

impl Stack {
    fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::from_conf(
            aws_sdk_ecs::config::Builder::from(&self.sdk)
                .endpoint_url(&self.settings.endpoint)
                .build(),
        )
    }
    fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::from_conf(
            aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.sdk)
                .endpoint_url(&self.settings.endpoint)
                .build(),
        )
    }
    fn efs(&self) -> aws_sdk_efs::Client {
        aws_sdk_efs::Client::from_conf(
            aws_sdk_efs::config::Builder::from(&self.sdk)
                .endpoint_url(&self.settings.endpoint)
                .build(),
        )
    }
    fn r53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&self.sdk)
                .endpoint_url(&self.settings.endpoint)
                .build(),
        )
    }
}

/// The task definition and service requests carry everything SPEC §2 asks
/// for (Fargate, awsvpc, EFS via the access point with IAM and TLS, awslogs,
/// secrets by reference, tags), as ECS itself reports them back.
#[tokio::test]
async fn ecs_requests_have_the_full_shape() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(&s, &id, &n, ecs_requests_have_the_full_shape_body(&s, &id, &n, &tags)).await;
}

async fn ecs_requests_have_the_full_shape_body(s: &Stack, _id: &str, n: &TenantNames, tags: &Tags) {
    let mut env = BTreeMap::new();
    env.insert("WORDPRESS_DB_NAME".to_string(), n.database.clone());
    let spec = TaskDefinitionSpec {
        family: n.task_family.clone(),
        image: "wordpress:6.6-php8.3-apache".into(),
        cpu: 512,
        memory: 1024,
        environment: env,
        secrets: secret_refs("arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf"),
        file_system_id: s.platform.efs_file_system_id.clone(),
        access_point_id: "fsap-0123456789abcdef0".into(),
        log_group: n.log_group.clone(),
        region: s.platform.region.clone(),
        execution_role_arn: Some("arn:aws:iam::123456789012:role/exec".into()),
        task_role_arn: Some("arn:aws:iam::123456789012:role/task".into()),
        tags: tags.clone(),
    };
    let td = s.ports.ecs.register_task_definition(&spec).await.expect("register");
    let raw = s
        .ecs()
        .describe_task_definition()
        .task_definition(&td.arn)
        .send()
        .await
        .expect("describe");
    let t = raw.task_definition().expect("task definition");
    {
        assert_eq!(t.network_mode().map(|m| m.as_str()), Some("awsvpc"));
        assert_eq!(
            t.requires_compatibilities()
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            vec!["FARGATE"]
        );
        assert_eq!((t.cpu(), t.memory()), (Some("512"), Some("1024")));
        assert_eq!(t.execution_role_arn(), Some("arn:aws:iam::123456789012:role/exec"));
        assert_eq!(t.task_role_arn(), Some("arn:aws:iam::123456789012:role/task"));
        let c = &t.container_definitions()[0];
        assert_eq!(t.container_definitions().len(), 1);
        assert_eq!(c.name(), Some(CONTAINER_NAME));
        assert_eq!(c.essential(), Some(true));
        assert_eq!(c.port_mappings()[0].container_port(), Some(80));
        let m = &c.mount_points()[0];
        assert_eq!(
            (m.source_volume(), m.container_path()),
            (Some("wordpress"), Some("/var/www/html"))
        );
        let v = &t.volumes()[0];
        assert_eq!(v.name(), Some("wordpress"));
        let e = v.efs_volume_configuration().expect("EFS volume");
        assert_eq!(e.file_system_id(), s.platform.efs_file_system_id);
        assert_eq!(e.transit_encryption().map(|x| x.as_str()), Some("ENABLED"));
        let a = e.authorization_config().expect("authorization config");
        assert_eq!(a.access_point_id(), Some("fsap-0123456789abcdef0"));
        assert_eq!(a.iam().map(|x| x.as_str()), Some("ENABLED"));
        let l = c.log_configuration().expect("log configuration");
        assert_eq!(l.log_driver().as_str(), "awslogs");
        let o = l.options().expect("log options");
        assert_eq!(o.get("awslogs-group"), Some(&n.log_group));
        assert_eq!(o.get("awslogs-region"), Some(&s.platform.region));
        assert_eq!(o.get("awslogs-stream-prefix").map(String::as_str), Some("wordpress"));
        assert_eq!(c.secrets()[0].name(), "WORDPRESS_DB_PASSWORD");
        assert!(c.secrets()[0].value_from().ends_with(":password::"));
    }
    // The port observes the same revision.
    assert_eq!(
        s.ports
            .ecs
            .latest_task_definition(&n.task_family)
            .await
            .expect("latest"),
        Some(td.clone())
    );

    // A service on it, checked the same way.
    let tg = s
        .ports
        .elbv2
        .create_target_group(&TargetGroupSpec {
            name: n.target_group.clone(),
            vpc_id: s.platform.vpc_id.clone(),
            port: 80,
            health_check_path: naming::HEALTH_CHECK_PATH.into(),
            tags: tags.clone(),
        })
        .await
        .expect("target group");
    let rule = create_rule(s, n, tags, &tg.arn).await;
    let svc = s
        .ports
        .ecs
        .create_service(&ServiceSpec {
            cluster: s.platform.cluster.clone(),
            name: n.service.clone(),
            task_definition_arn: td.arn.clone(),
            desired_count: 0,
            subnet_ids: s.platform.subnet_ids.clone(),
            security_group_ids: s.platform.security_group_ids.clone(),
            target_group_arn: tg.arn.clone(),
            container_name: CONTAINER_NAME.into(),
            container_port: 80,
            tags: tags.clone(),
            client_token: None,
        })
        .await;
    {
        let svc = svc.expect("service");
        let raw = s
            .ecs()
            .describe_services()
            .cluster(&s.platform.cluster)
            .services(&n.service)
            .send()
            .await
            .expect("describe");
        let r = &raw.services()[0];
        assert_eq!(r.launch_type().map(|l| l.as_str()), Some("FARGATE"));
        let vpc = r
            .network_configuration()
            .and_then(|nc| nc.awsvpc_configuration())
            .expect("awsvpc");
        assert_eq!(vpc.subnets(), s.platform.subnet_ids.as_slice());
        assert_eq!(vpc.security_groups(), s.platform.security_group_ids.as_slice());
        assert_eq!(vpc.assign_public_ip().map(|a| a.as_str()), Some("DISABLED"));
        let lb = &r.load_balancers()[0];
        assert_eq!(
            (lb.target_group_arn(), lb.container_name(), lb.container_port()),
            (Some(tg.arn.as_str()), Some(CONTAINER_NAME), Some(80))
        );
        assert_eq!(r.propagate_tags().map(|p| p.as_str()), Some("SERVICE"));
        // enableECSManagedTags is sent, but moto (5.2) neither stores nor
        // echoes it: not checkable here.
        // An empty task definition ARN keeps the current one.
        let u = s
            .ports
            .ecs
            .update_service(&s.platform.cluster, &n.service, "", 2)
            .await
            .expect("update");
        assert_eq!((u.task_definition_arn.as_str(), u.desired_count), (td.arn.as_str(), 2));
        assert_eq!(svc.task_definition_arn, td.arn);
    }
    let _ = s.ports.ecs.delete_service(&s.platform.cluster, &n.service).await;
    let _ = s.ports.elbv2.delete_rule(&rule).await;
    let _ = s.ports.elbv2.delete_target_group(&tg.arn).await;
    s.ports
        .ecs
        .deregister_task_definition(&td.arn)
        .await
        .expect("deregister");
}

async fn create_rule(s: &Stack, n: &TenantNames, tags: &Tags, tg_arn: &str) -> String {
    let spec = ListenerRuleSpec {
        listener_arn: s.platform.first_listener().to_owned(),
        host: n.fqdn.clone(),
        custom_domains: Vec::new(),
        action: RuleAction::Forward(tg_arn.to_string()),
        tags: tags.clone(),
    };
    for _ in 0..20 {
        let taken: Vec<u32> = s
            .ports
            .elbv2
            .describe_rules(s.platform.first_listener())
            .await
            .expect("rules")
            .iter()
            .map(|r| r.priority)
            .collect();
        let p = 30_000 + (rand_u32() % 10_000);
        if taken.contains(&p) {
            continue;
        }
        match s.ports.elbv2.create_rule(&spec, p).await {
            Ok(r) => return r.arn,
            Err(e) if e.kind == PortErrorKind::PriorityInUse => continue,
            Err(e) => panic!("create_rule: {e}"),
        }
    }
    panic!("no free priority")
}

fn rand_u32() -> u32 {
    naming::generate_tenant_id()
        .parse::<u64>()
        .map(|n| (n % 1_000_003) as u32)
        .unwrap_or(7)
}

/// describe_services batches by 10 and drops missing names; target groups
/// are found among missing names in few calls.
#[tokio::test]
async fn lookups_by_many_names() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(&s, &id, &n, lookups_by_many_names_body(&s, &id, &n, &tags)).await;
}

async fn lookups_by_many_names_body(s: &Stack, _id: &str, n: &TenantNames, tags: &Tags) {
    let mut names: Vec<String> = (0..23).map(|i| format!("{}-missing-{i}", n.service)).collect();
    names.push(n.service.clone());
    assert!(
        s.ports
            .ecs
            .describe_services(&s.platform.cluster, &names)
            .await
            .expect("describe")
            .is_empty()
    );

    let tg = s
        .ports
        .elbv2
        .create_target_group(&TargetGroupSpec {
            name: n.target_group.clone(),
            vpc_id: s.platform.vpc_id.clone(),
            port: 80,
            health_check_path: naming::HEALTH_CHECK_PATH.into(),
            tags: tags.clone(),
        })
        .await
        .expect("target group");
    {
        let mut tg_names: Vec<String> = (0..5).map(|i| format!("bbws-missing-{i}-{}", rand_u32())).collect();
        tg_names.insert(2, n.target_group.clone());
        let found = s.ports.elbv2.describe_target_groups(&tg_names).await.expect("describe");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0], tg);
        let raw = s
            .elb()
            .describe_target_groups()
            .target_group_arns(&tg.arn)
            .send()
            .await
            .expect("raw describe");
        let r = &raw.target_groups()[0];
        assert_eq!(r.target_type().map(|t| t.as_str()), Some("ip"));
        assert_eq!(r.protocol().map(|p| p.as_str()), Some("HTTP"));
        assert_eq!(r.matcher().and_then(|m| m.http_code()), Some("200-399"));
        assert_eq!(r.health_check_path(), Some(naming::HEALTH_CHECK_PATH));
    }
    s.ports.elbv2.delete_target_group(&tg.arn).await.expect("delete");
}

/// The access point is owned by the web server and its root directory is
/// created with it; creates carry a ClientToken derived from the Name.
#[tokio::test]
async fn access_point_ownership_and_idempotency() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(
        &s,
        &id,
        &n,
        access_point_ownership_and_idempotency_body(&s, &id, &n, &tags),
    )
    .await;
}

async fn access_point_ownership_and_idempotency_body(s: &Stack, _id: &str, n: &TenantNames, tags: &Tags) {
    let spec = AccessPointSpec {
        file_system_id: s.platform.efs_file_system_id.clone(),
        name: n.access_point.clone(),
        root_directory: n.access_point_root.clone(),
        posix_uid: WEB_SERVER_UID,
        tags: tags.clone(),
        // Unique per creation (the engine derives it from its run token).
        client_token: Some(bbws_core::engine::RunToken::new().client_token("efs.CreateAccessPoint", &n.access_point)),
    };
    let a = s.ports.efs.create_access_point(&spec).await.expect("create");
    let again = s.ports.efs.create_access_point(&spec).await;
    {
        let raw = s
            .efs()
            .describe_access_points()
            .access_point_id(&a.id)
            .send()
            .await
            .expect("describe");
        let r = &raw.access_points()[0];
        let p = r.posix_user().expect("posix user");
        assert_eq!((p.uid(), p.gid()), (WEB_SERVER_UID, WEB_SERVER_UID));
        let root = r.root_directory().expect("root directory");
        assert_eq!(root.path(), Some(n.access_point_root.as_str()));
        let ci = root.creation_info().expect("creation info");
        assert_eq!(
            (ci.owner_uid(), ci.owner_gid(), ci.permissions()),
            (WEB_SERVER_UID, WEB_SERVER_UID, "0755")
        );
        assert!(
            r.tags()
                .iter()
                .any(|t| t.key() == "Name" && t.value() == n.access_point)
        );
        // The same ClientToken: on AWS the same access point comes back;
        // moto (5.2) ignores the token and makes a second one. Either way
        // the second create succeeds and describes the same Name.
        let b = again.as_ref().expect("second create with the same token");
        assert_eq!(
            (b.name.as_str(), b.root_directory.as_str()),
            (a.name.as_str(), a.root_directory.as_str())
        );
        assert_eq!(
            r.client_token(),
            spec.client_token.as_deref(),
            "the ClientToken sent, never the Name (a replacement would get the old access point back)"
        );
    }
    if let Ok(b) = &again
        && b.id != a.id
    {
        let _ = s.ports.efs.delete_access_point(&b.id).await;
    }
    s.ports.efs.delete_access_point(&a.id).await.expect("delete");
}

/// CNAMEs get TTL 60, aliases EvaluateTargetHealth false; a record that
/// changed since it was observed is not deleted.
#[tokio::test]
async fn dns_record_details() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(&s, &id, &n, dns_record_details_body(&s, &id, &n, &tags)).await;
}

async fn dns_record_details_body(s: &Stack, id: &str, _n: &TenantNames, _tags: &Tags) {
    let zone = &s.platform.hosted_zone_id;
    let name = naming::fqdn(&format!("d-{id}"), &s.platform.domain);
    let lb = s
        .ports
        .elbv2
        .load_balancer_of_listener(s.platform.first_listener())
        .await
        .expect("lb");
    let (dns, lb_zone) = (lb.load_balancer_dns_name, lb.load_balancer_zone_id);
    let alias = DnsRecordSpec {
        zone_id: zone.clone(),
        name: name.clone(),
        target: RecordTarget::Alias {
            dns_name: dns.clone(),
            hosted_zone_id: lb_zone.clone(),
        },
    };
    s.ports.route53.upsert_record(&alias).await.expect("upsert alias");
    let raw = s
        .r53()
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(&name)
        .max_items(1)
        .send()
        .await
        .expect("list");
    let r = &raw.resource_record_sets()[0];
    assert_eq!(r.alias_target().map(|a| a.evaluate_target_health()), Some(false));
    let observed = s
        .ports
        .route53
        .list_records(zone)
        .await
        .expect("list")
        .into_iter()
        .find(|r| r.name == name)
        .expect("the alias record");
    assert_eq!(
        observed.target,
        RecordTarget::Alias {
            dns_name: dns.trim_end_matches('.').to_ascii_lowercase(),
            hosted_zone_id: lb_zone
        }
    );

    // Replaced by a CNAME under the same name? Route53 forbids A + CNAME, so
    // delete the alias first, then check the CNAME's TTL.
    s.ports.route53.delete_record(&observed).await.expect("delete alias");
    let cname = DnsRecordSpec {
        zone_id: zone.clone(),
        name: name.clone(),
        target: RecordTarget::Cname(dns.clone()),
    };
    s.ports.route53.upsert_record(&cname).await.expect("upsert cname");
    let raw = s
        .r53()
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(&name)
        .max_items(1)
        .send()
        .await
        .expect("list");
    assert_eq!(raw.resource_record_sets()[0].ttl(), Some(60));

    // Observed one way, changed behind our back: not deleted.
    let stale = ObservedDnsRecord {
        zone_id: zone.clone(),
        name: name.clone(),
        target: RecordTarget::Cname("elsewhere.example".into()),
    };
    let e = s
        .ports
        .route53
        .delete_record(&stale)
        .await
        .expect_err("a stale delete must fail");
    assert_ne!(e.kind, PortErrorKind::NotFound, "{e}");
    let current = ObservedDnsRecord {
        zone_id: zone.clone(),
        name: name.clone(),
        target: RecordTarget::Cname(dns.clone()),
    };
    s.ports.route53.delete_record(&current).await.expect("delete cname");
}

/// The tenant user logs in with its password (quotes, backslashes and all),
/// sees only its own database, is refused while locked, and a new password
/// replaces the old one.
#[tokio::test]
async fn mysql_user_really_works() {
    let s = stack().await;
    let (id, n, tags) = tenant(&s.platform);
    guarded(&s, &id, &n, mysql_user_really_works_body(&s, &id, &n, &tags)).await;
}

async fn mysql_user_really_works_body(s: &Stack, _id: &str, n: &TenantNames, _tags: &Tags) {
    let m = admin(s).await.expect("admin connect");
    let host = s.platform.database.host.clone().expect("database host");
    let port = s.platform.database.port.expect("database port");

    let pw1 = format!("a'b\"c\\d%_;-- {}", rand_u32());
    let pw2 = format!("x\\'y{}", rand_u32());
    {
        m.create_database(&n.database).await.expect("create database");
        let tenant_user = MysqlUser {
            name: &n.database_user,
            database: &n.database,
            max_connections: 5,
        };
        m.create_user(&tenant_user, &pw1).await.expect("create user");
        let login = |pw: &str| s.platform.database.login(&host, port, &n.database_user, pw);
        let dbs = vec![n.database.clone(), "mysql".to_string()];
        let user = s.ports.mysql.connect(&login(&pw1)).await.expect("tenant login");
        let (seen, _) = user.observe(&dbs, &[]).await.expect("tenant observe");
        assert_eq!(
            seen,
            vec![ObservedDatabase {
                name: n.database.clone()
            }],
            "the tenant sees its own database only"
        );

        m.set_password(&tenant_user, &pw2, false).await.expect("set_password");
        let old = s
            .ports
            .mysql
            .connect(&login(&pw1))
            .await
            .err()
            .expect("old password refused");
        eprintln!("wrong MySQL password: {old}");
        assert_eq!(old.kind, PortErrorKind::AccessDenied, "{old}");
        assert!(!old.message.contains(&pw1), "password in message");
        s.ports.mysql.connect(&login(&pw2)).await.expect("new password");

        m.set_locked(&n.database_user, true).await.expect("lock");
        let locked = s.ports.mysql.connect(&login(&pw2)).await.err().expect("locked refused");
        assert_eq!(locked.kind, PortErrorKind::AccessDenied, "{locked}");
        let (_, users) = m
            .observe(&[], std::slice::from_ref(&n.database_user))
            .await
            .expect("observe");
        assert_eq!(
            users,
            vec![ObservedDatabaseUser {
                name: n.database_user.clone(),
                locked: true,
                max_connections: 5,
                old_password_retained: false,
            }]
        );
    }
    let _ = m.drop_user(&n.database_user).await;
    let _ = m.drop_database(&n.database).await;
}

// ------------------------------------------------------------------ errors that must be actionable

/// A wrong endpoint fails within seconds, as Transient, naming the URL.
#[tokio::test]
async fn unreachable_endpoint_fails_fast_and_says_where() {
    let s = stack().await;
    let bad = "http://127.0.0.1:9";
    let a = aws_settings(&s.settings, bad);
    let cfg = sdk_config(&s.settings, &a).await;
    let ports = aws::ports_from_config(&cfg, &a);
    let start = Instant::now();
    let e = ports.sts.caller_arn().await.expect_err("nothing listens there");
    eprintln!("unreachable endpoint: {e}");
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert_eq!(e.kind, PortErrorKind::Transient, "{e}");
    assert!(
        e.message.contains(bad) && e.message.to_ascii_lowercase().contains("connection refused"),
        "{e}"
    );
    let e = ports
        .mysql
        .connect(&s.platform.database.login("127.0.0.1", 9, "u", "secret-pw"))
        .await
        .err()
        .expect("no MySQL there");
    eprintln!("unreachable MySQL: {e}");
    assert_eq!(e.kind, PortErrorKind::Transient, "{e}");
    assert!(
        e.message.contains("127.0.0.1:9") && !e.message.contains("secret-pw"),
        "{e}"
    );
}

/// No credentials anywhere: AccessDenied, saying so.
#[tokio::test]
#[allow(deprecated)]
async fn missing_credentials_are_access_denied() {
    use aws_config::profile::ProfileFileCredentialsProvider;
    use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
    let s = stack().await;
    let dir = std::env::temp_dir().join(format!("bbws-nocreds-{}", rand_u32()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let empty = dir.join("credentials");
    std::fs::write(&empty, "").expect("empty credentials file");
    let files = ProfileFiles::builder()
        .include_default_config_file(false)
        .include_default_credentials_file(false)
        .with_file(ProfileFileKind::Credentials, &empty)
        .build();
    // Built outside the loader, the provider needs the HTTPS client given.
    let http =
        aws_config::provider_config::ProviderConfig::without_region().with_http_client(aws::shared_https_client());
    let provider = ProfileFileCredentialsProvider::builder()
        .configure(&http)
        .profile_files(files)
        .profile_name("bbws-nobody")
        .build();
    let a = aws_settings(&s.settings, &s.settings.endpoint);
    let cfg = aws::config_loader(&a)
        .region(Region::new(s.settings.region.clone()))
        .credentials_provider(provider)
        .load()
        .await;
    let ports = aws::ports_from_config(&cfg, &a);
    let e = ports.sts.caller_arn().await.expect_err("no credentials");
    eprintln!("no credentials: {e}");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(e.kind, PortErrorKind::AccessDenied, "{e}");
    assert!(e.message.contains("no AWS credentials"), "{e}");
}
