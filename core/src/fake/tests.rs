use std::time::Duration;

use super::*;
use crate::contract;
use crate::naming::HEALTH_CHECK_PATH;

const DOMAIN: &str = "wpdev.example.io";

fn tags(tenant: &str) -> Tags {
    let mut t = Tags::new();
    t.insert("bbws:tenant".into(), tenant.into());
    t.insert("bbws:environment".into(), "dev".into());
    t
}

fn tg_spec(platform: &Platform, name: &str) -> TargetGroupSpec {
    TargetGroupSpec {
        name: name.into(),
        vpc_id: platform.vpc_id.clone(),
        port: 80,
        health_check_path: HEALTH_CHECK_PATH.into(),
        tags: tags("123456789012"),
    }
}

fn rule_spec(platform: &Platform, host: &str, action: RuleAction) -> ListenerRuleSpec {
    ListenerRuleSpec {
        listener_arn: platform.first_listener().to_owned(),
        host: host.into(),
        custom_domains: Vec::new(),
        action,
        tags: tags("123456789012"),
    }
}

fn td_spec(platform: &Platform, family: &str) -> TaskDefinitionSpec {
    TaskDefinitionSpec {
        family: family.into(),
        image: "wordpress:6.6-php8.3-apache".into(),
        cpu: 256,
        memory: 512,
        environment: BTreeMap::new(),
        secrets: BTreeMap::new(),
        file_system_id: platform.efs_file_system_id.clone(),
        access_point_id: String::new(),
        log_group: "/ecs/dev-123456789012".into(),
        region: REGION.into(),
        execution_role_arn: platform.execution_role_arn.clone(),
        task_role_arn: None,
        tags: tags("123456789012"),
    }
}

fn boom() -> PortError {
    PortError::new(PortErrorKind::Transient, "ThrottlingException", "injected")
}

#[tokio::test]
async fn fake_honours_the_contract() {
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    contract::run_all(&cloud.ports(), &platform).await.unwrap();
}

/// The certificate contract waits for issuance, which ACM does once DNS
/// validation resolves: here a validator issues pending ones meanwhile.
#[tokio::test]
async fn fake_honours_the_certificate_contract_and_leaves_nothing_behind() {
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    let validator = {
        let cloud = cloud.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                cloud.issue_certificates();
            }
        })
    };
    let r = contract::certificates(&cloud.ports(), &platform).await;
    validator.abort();
    r.unwrap();
    let s = cloud.state();
    assert!(s.certificates.is_empty());
    assert!(s.listeners.values().all(|l| l.certificates.is_empty()));
}

#[tokio::test]
async fn the_contract_leaves_nothing_behind() {
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    let before = cloud.state().clone();
    contract::run_all(&cloud.ports(), &platform).await.unwrap();
    let s = cloud.state();
    assert!(s.services.values().all(|x| x.status == INACTIVE));
    assert!(s.task_definitions.values().flatten().all(|t| t.status == INACTIVE));
    assert!(s.target_groups.is_empty());
    assert!(s.rules().next().is_none());
    assert!(s.zones.values().all(|z| z.records.is_empty()));
    assert!(s.access_points.is_empty());
    assert!(s.log_groups.is_empty());
    assert!(s.scalable_targets.is_empty());
    assert!(s.alarms.is_empty());
    assert_eq!(
        s.secrets.keys().collect::<Vec<_>>(),
        before.secrets.keys().collect::<Vec<_>>()
    );
    assert_eq!(s.mysql.databases, before.mysql.databases);
    assert!(s.mysql.users.is_empty());
}

#[tokio::test]
async fn with_platform_describes_what_it_built() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    assert_eq!(p.region, "eu-west-1");
    assert_eq!(p.subnet_ids.len(), 2);
    assert_eq!(p.security_group_ids.len(), 1);
    assert!(
        p.first_listener()
            .starts_with("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/")
    );
    assert!(
        p.database
            .admin_secret_arn
            .starts_with("arn:aws:secretsmanager:eu-west-1:123456789012:secret:")
    );
    assert_eq!((p.database.host.clone(), p.database.port), (None, None));
    let lb = ports.elbv2.load_balancer_of_listener(p.first_listener()).await.unwrap();
    let (dns, zone) = (lb.load_balancer_dns_name, lb.load_balancer_zone_id);
    assert!(dns.ends_with(".eu-west-1.elb.amazonaws.com"));
    assert_eq!(zone, ALB_CANONICAL_ZONE_ID);
    assert!(ports.route53.list_records(&p.hosted_zone_id).await.unwrap().is_empty());
    assert!(
        ports
            .efs
            .describe_access_points(&p.efs_file_system_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ports.sts.caller_arn().await.unwrap(), CALLER_ARN);
    let (host, port) = ports
        .rds
        .instance_endpoint(&p.database.instance_identifier)
        .await
        .unwrap();
    let raw = ports
        .secrets
        .get_secret_value(&p.database.admin_secret_arn)
        .await
        .unwrap();
    let admin: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let (user, pw) = (admin["username"].as_str().unwrap(), admin["password"].as_str().unwrap());
    let login = |host: &str, password: &str| p.database.login(host, port, user, password);
    ports.mysql.connect(&login(&host, pw)).await.unwrap();
    let e = ports.mysql.connect(&login(&host, "nope")).await.err().unwrap();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::AccessDenied, "ER_ACCESS_DENIED_ERROR")
    );
    let e = ports.mysql.connect(&login("127.0.0.1", pw)).await.err().unwrap();
    assert_eq!(e.kind, PortErrorKind::Transient);
}

/// Where moto is lenient the fake holds what AWS documents: a range moves
/// the desired count into it, a policy needs a target, deregistering
/// takes the policies along.
#[tokio::test]
async fn scaling_holds_what_aws_documents_where_moto_is_lenient() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let (_, _, service) = deployed_service(&cloud, &p, 1).await;
    let scaling = cloud.ports().scaling;
    let rid = crate::naming::scaling_resource_id(&p.cluster, &service.name);
    let cpu = TrackingPolicy {
        name: "cpu".into(),
        metric: TrackedMetric::Cpu,
        target: 60,
    };
    let e = scaling.put_policy(&rid, &cpu).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::NotFound, "ObjectNotFoundException")
    );
    let desired = |cloud: &FakeCloud| cloud.state().service(&p.cluster, &service.name).unwrap().desired_count;
    scaling.register_target(&rid, 2, 4).await.unwrap();
    assert_eq!(desired(&cloud), 2, "scaled out to the new minimum");
    scaling.register_target(&rid, 0, 0).await.unwrap();
    assert_eq!(desired(&cloud), 0, "scaled in to the new maximum");
    scaling.put_policy(&rid, &cpu).await.unwrap();
    let bad = TrackingPolicy {
        target: 0,
        ..cpu.clone()
    };
    assert_eq!(
        scaling.put_policy(&rid, &bad).await.unwrap_err().kind,
        PortErrorKind::InvalidInput
    );
    scaling.deregister_target(&rid).await.unwrap();
    scaling.register_target(&rid, 0, 1).await.unwrap();
    let again = scaling.describe_scaling(&rid).await.unwrap().unwrap();
    assert!(again.policies.is_empty(), "{again:?}");
}

#[tokio::test]
async fn deleted_services_turn_inactive_and_vanish_from_describe() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    let tg = ports
        .elbv2
        .create_target_group(&tg_spec(&p, "dev-123456789012-tg"))
        .await
        .unwrap();
    let td = ports
        .ecs
        .register_task_definition(&td_spec(&p, "dev-123456789012"))
        .await
        .unwrap();
    let spec = ServiceSpec {
        cluster: p.cluster.clone(),
        name: "dev-123456789012-service".into(),
        task_definition_arn: td.arn.clone(),
        desired_count: 1,
        subnet_ids: p.subnet_ids.clone(),
        security_group_ids: p.security_group_ids.clone(),
        target_group_arn: tg.arn.clone(),
        container_name: "wordpress".into(),
        container_port: 80,
        tags: tags("123456789012"),
        client_token: None,
    };
    // ECS refuses a target group no load balancer uses.
    let e = ports.ecs.create_service(&spec).await.unwrap_err();
    assert!(e.message.contains("does not have an associated load balancer"), "{e}");
    ports
        .elbv2
        .create_rule(
            &rule_spec(&p, "a.wpdev.example.io", RuleAction::Forward(tg.arn.clone())),
            10,
        )
        .await
        .unwrap();
    let svc = ports.ecs.create_service(&spec).await.unwrap();
    assert_eq!(
        svc.arn,
        format!("arn:aws:ecs:eu-west-1:123456789012:service/dev-cluster/{}", spec.name)
    );
    let e = ports.ecs.create_service(&spec).await.unwrap_err();
    assert_eq!(e.kind, PortErrorKind::AlreadyExists);

    ports.ecs.delete_service(&p.cluster, &spec.name).await.unwrap();
    assert!(
        ports
            .ecs
            .describe_services(&p.cluster, std::slice::from_ref(&spec.name))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        cloud.state().services[&(p.cluster.clone(), spec.name.clone())].status,
        INACTIVE
    );
    let e = ports.ecs.delete_service(&p.cluster, &spec.name).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::NotFound, "ServiceNotActiveException")
    );
    let e = ports.ecs.delete_service(&p.cluster, "never-existed").await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::NotFound, "ServiceNotFoundException")
    );
    let e = ports.ecs.describe_services("no-cluster", &[]).await.unwrap_err();
    assert_eq!(e.code, "ClusterNotFoundException");

    // The name can be used again.
    ports.ecs.create_service(&spec).await.unwrap();
    assert_eq!(
        ports
            .ecs
            .describe_services(&p.cluster, std::slice::from_ref(&spec.name))
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn task_definitions_follow_ecs_revisions() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    let spec = td_spec(&p, "dev-123456789012");
    let a = ports.ecs.register_task_definition(&spec).await.unwrap();
    let b = ports.ecs.register_task_definition(&spec).await.unwrap();
    assert_eq!((a.revision, b.revision), (1, 2));
    assert_eq!(
        b.arn,
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/dev-123456789012:2"
    );
    ports.ecs.deregister_task_definition(&b.arn).await.unwrap();
    assert_eq!(
        ports.ecs.latest_task_definition("dev-123456789012").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        ports.ecs.list_task_definitions("dev-123456789012").await.unwrap(),
        vec![a.arn.clone()]
    );
    let c = ports.ecs.register_task_definition(&spec).await.unwrap();
    assert_eq!(c.revision, 3, "revisions are never reused");

    let mut bad = spec.clone();
    bad.memory = 4096;
    assert_eq!(
        ports.ecs.register_task_definition(&bad).await.unwrap_err().code,
        "ClientException"
    );
    let mut no_role = spec.clone();
    no_role.execution_role_arn = None;
    let e = ports.ecs.register_task_definition(&no_role).await.unwrap_err();
    assert!(e.message.contains("execution role"), "{e}");
}

#[tokio::test]
async fn listener_rules_collide_on_priority_and_hide_the_default() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    let tg = ports
        .elbv2
        .create_target_group(&tg_spec(&p, "dev-123456789012-tg"))
        .await
        .unwrap();
    let r = ports
        .elbv2
        .create_rule(
            &rule_spec(&p, "a.wpdev.example.io", RuleAction::Forward(tg.arn.clone())),
            7,
        )
        .await
        .unwrap();
    let e = ports
        .elbv2
        .create_rule(&rule_spec(&p, "b.wpdev.example.io", suspended_action()), 7)
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::PriorityInUse, "PriorityInUse")
    );
    assert_eq!(
        ports.elbv2.describe_rules(p.first_listener()).await.unwrap(),
        vec![r.clone()]
    );
    let e = ports
        .elbv2
        .create_rule(
            &rule_spec(&p, "c.wpdev.example.io", RuleAction::Forward("arn:nope".into())),
            8,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, "TargetGroupNotFound");

    // A target group in use cannot go; once the rule is gone it can.
    let e = ports.elbv2.delete_target_group(&tg.arn).await.unwrap_err();
    assert_eq!(e.code, "ResourceInUse");
    ports.elbv2.delete_rule(&r.arn).await.unwrap();
    assert_eq!(ports.elbv2.delete_rule(&r.arn).await.unwrap_err().code, "RuleNotFound");
    ports.elbv2.delete_target_group(&tg.arn).await.unwrap();

    cloud.state().max_rules_per_listener = 1;
    ports
        .elbv2
        .create_rule(&rule_spec(&p, "a.wpdev.example.io", suspended_action()), 1)
        .await
        .unwrap();
    let e = ports
        .elbv2
        .create_rule(&rule_spec(&p, "b.wpdev.example.io", suspended_action()), 2)
        .await
        .unwrap_err();
    assert_eq!(e.code, "TooManyRules");
}

#[tokio::test]
async fn secrets_wait_out_their_recovery_window() {
    let (cloud, _p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    let spec = SecretSpec {
        name: "dev-123456789012-db-credentials".into(),
        description: String::new(),
        tags: tags("123456789012"),
        client_token: None,
    };
    let s = ports.secrets.create_secret(&spec, "{}").await.unwrap();
    let e = ports.secrets.create_secret(&spec, "{}").await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::AlreadyExists, "ResourceExistsException")
    );
    ports.secrets.delete_secret(&s.arn, 7).await.unwrap();
    assert!(
        ports
            .secrets
            .describe_secret(&spec.name)
            .await
            .unwrap()
            .unwrap()
            .pending_deletion
    );
    let e = ports.secrets.get_secret_value(&s.arn).await.unwrap_err();
    assert_eq!(e.code, "InvalidRequestException");
    let e = ports.secrets.create_secret(&spec, "{}").await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::AlreadyExists, "InvalidRequestException")
    );
    assert_eq!(
        ports.secrets.delete_secret(&s.arn, 3).await.unwrap_err().kind,
        PortErrorKind::InvalidInput
    );
    ports.secrets.restore_secret(&s.arn).await.unwrap();
    assert_eq!(ports.secrets.get_secret_value(&spec.name).await.unwrap(), "{}");
    ports.secrets.delete_secret(&s.arn, 0).await.unwrap();
    assert_eq!(ports.secrets.describe_secret(&s.arn).await.unwrap(), None);
    let e = ports.secrets.delete_secret(&s.arn, 0).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (PortErrorKind::NotFound, "ResourceNotFoundException")
    );
}

#[tokio::test]
async fn dns_records_must_match_to_be_deleted() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    let lb = ports.elbv2.load_balancer_of_listener(p.first_listener()).await.unwrap();
    let (dns, zone) = (lb.load_balancer_dns_name, lb.load_balancer_zone_id);
    let spec = DnsRecordSpec {
        zone_id: p.hosted_zone_id.clone(),
        name: "Acme.wpdev.example.io.".into(),
        target: RecordTarget::Alias {
            dns_name: dns.clone(),
            hosted_zone_id: zone.clone(),
        },
    };
    ports.route53.upsert_record(&spec).await.unwrap();
    let records = ports.route53.list_records(&p.hosted_zone_id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].name, "acme.wpdev.example.io");
    let mut wrong = records[0].clone();
    wrong.target = RecordTarget::Cname(dns.clone());
    assert_eq!(
        ports.route53.delete_record(&wrong).await.unwrap_err().kind,
        PortErrorKind::NotFound
    );
    let cname = DnsRecordSpec {
        target: RecordTarget::Cname(dns.clone()),
        ..spec.clone()
    };
    assert_eq!(
        ports.route53.upsert_record(&cname).await.unwrap_err().code,
        "InvalidChangeBatch"
    );
    let elsewhere = DnsRecordSpec {
        name: "acme.example.org".into(),
        ..spec.clone()
    };
    assert_eq!(
        ports.route53.upsert_record(&elsewhere).await.unwrap_err().kind,
        PortErrorKind::InvalidInput
    );
    let bad_alias = DnsRecordSpec {
        target: RecordTarget::Alias {
            dns_name: "nowhere.example.org".into(),
            hosted_zone_id: zone.clone(),
        },
        ..spec.clone()
    };
    assert_eq!(
        ports.route53.upsert_record(&bad_alias).await.unwrap_err().kind,
        PortErrorKind::InvalidInput
    );
    ports.route53.delete_record(&records[0]).await.unwrap();
    assert!(ports.route53.list_records(&p.hosted_zone_id).await.unwrap().is_empty());
}

#[tokio::test]
async fn mysql_names_are_validated_before_sql() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    let (host, port) = cloud.state().rds_instances[&p.database.instance_identifier].clone();
    let (user, pw) = {
        let s = cloud.state();
        (s.mysql.admin_user.clone(), s.mysql.admin_password.clone())
    };
    let m = ports
        .mysql
        .connect(&p.database.login(&host, port, &user, &pw))
        .await
        .unwrap();
    for bad in ["x';DROP DATABASE mysql;--", "", "a-b", "a`b", &"a".repeat(65)] {
        assert_eq!(
            m.create_database(bad).await.unwrap_err().kind,
            PortErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    m.create_database("123456789012_db").await.unwrap();
    assert_eq!(
        m.create_database("123456789012_db").await.unwrap_err().code,
        "ER_DB_CREATE_EXISTS"
    );
    let user = MysqlUser {
        name: "123456789012_user",
        database: "123456789012_db",
        max_connections: 5,
    };
    m.create_user(&user, "pw").await.unwrap();
    m.set_locked("123456789012_user", true).await.unwrap();
    let (d, u) = m
        .observe(
            &["123456789012_db".into(), "nope".into()],
            &["123456789012_user".into()],
        )
        .await
        .unwrap();
    assert_eq!(
        d,
        vec![ObservedDatabase {
            name: "123456789012_db".into()
        }]
    );
    assert_eq!(
        u,
        vec![ObservedDatabaseUser {
            name: "123456789012_user".into(),
            locked: true,
            max_connections: 5,
            old_password_retained: false,
        }]
    );
    assert_eq!(m.drop_user("nope").await.unwrap_err().code, "ER_CANNOT_USER");
    assert_eq!(m.drop_database("nope").await.unwrap_err().code, "ER_DB_DROP_EXISTS");
}

#[tokio::test]
async fn fail_on_fails_matching_calls_and_changes_nothing() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    cloud.fail_on("elbv2.CreateTargetGroup", Some("-tg"), boom(), 1);
    let before = cloud.state().clone();
    let e = ports
        .elbv2
        .create_target_group(&tg_spec(&p, "dev-123456789012-tg"))
        .await
        .unwrap_err();
    assert_eq!(e, boom());
    assert_eq!(*cloud.state(), before, "a failing call changes nothing");
    // Only `times` calls fail; non-matching targets are untouched.
    ports
        .elbv2
        .create_target_group(&tg_spec(&p, "dev-123456789012-tg"))
        .await
        .unwrap();
    cloud.fail_on("logs.*", None, boom(), usize::MAX);
    assert!(ports.logs.describe_log_groups("/ecs").await.is_err());
    assert!(ports.logs.describe_log_groups("/ecs").await.is_err());
    cloud.clear_failures();
    assert!(ports.logs.describe_log_groups("/ecs").await.is_ok());
    let calls = cloud.calls_to("elbv2.CreateTargetGroup");
    assert_eq!(calls.iter().map(|c| c.ok).collect::<Vec<_>>(), vec![false, true]);
    assert_eq!(calls[0].target, "dev-123456789012-tg");
}

// Tokio's clock is paused: the sleeps take no real time, and the bound
// below holds exactly, however loaded the machine.
#[tokio::test(start_paused = true)]
async fn latency_makes_concurrent_calls_overlap() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let ports = cloud.ports();
    cloud.set_latency(Duration::from_millis(50));
    let lg = LogGroupSpec {
        name: "/ecs/x".into(),
        retention_days: 30,
        tags: Tags::new(),
        arn: None,
    };
    let start = tokio::time::Instant::now();
    let (a, b) = tokio::join!(
        ports.elbv2.describe_rules(p.first_listener()),
        ports.logs.create_log_group(&lg)
    );
    a.unwrap();
    b.unwrap();
    // Concurrent: one latency in all, where one after the other takes two.
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(50) && elapsed < Duration::from_millis(100),
        "{elapsed:?}"
    );
    let calls = cloud.calls();
    assert_eq!(calls.len(), 2);
    let (x, y) = (&calls[0], &calls[1]);
    assert!(
        x.started < y.finished && y.started < x.finished,
        "the calls overlap: {calls:?}"
    );
    for c in &calls {
        assert!(c.finished - c.started >= Duration::from_millis(50));
        assert!(c.ok);
    }
    assert_eq!(
        calls.iter().map(|c| c.op).collect::<BTreeSet<_>>(),
        ["elbv2.DescribeRules", "logs.CreateLogGroup"].into_iter().collect()
    );
}

#[tokio::test]
async fn concurrent_rule_creation_at_one_priority_lets_one_win() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    cloud.set_latency(Duration::from_millis(5));
    let ports = cloud.ports();
    let results = futures::future::join_all((0..8).map(|i| {
        let ports = ports.clone();
        let spec = rule_spec(&p, &format!("t{i}.wpdev.example.io"), suspended_action());
        async move { ports.elbv2.create_rule(&spec, 42).await }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| e.kind == PortErrorKind::PriorityInUse)
    );
}

// ------------------------------------------------------------------ FailingPorts

#[tokio::test]
async fn failing_kth_fails_exactly_the_kth_mutating_call() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let (ports, counter) = failing_kth(cloud.ports(), 2, boom());
    // Reads never count.
    ports.elbv2.describe_rules(p.first_listener()).await.unwrap();
    ports.secrets.describe_secret("x").await.unwrap();
    ports.logs.describe_log_groups("/").await.unwrap();
    assert_eq!(counter.seen(), 0);

    let lg = LogGroupSpec {
        name: "/ecs/dev-1".into(),
        retention_days: 30,
        tags: Tags::new(),
        arn: None,
    };
    ports.logs.create_log_group(&lg).await.unwrap(); // 1st
    let before = cloud.state().clone();
    let tg = tg_spec(&p, "dev-123456789012-tg");
    assert_eq!(ports.elbv2.create_target_group(&tg).await.unwrap_err(), boom()); // 2nd: fails
    assert_eq!(*cloud.state(), before, "the failed call never reached the cloud");
    assert!(cloud.calls_to("elbv2.CreateTargetGroup").is_empty());
    ports.elbv2.create_target_group(&tg).await.unwrap(); // 3rd: fine again
    assert_eq!(counter.seen(), 3);
    assert!(counter.fired());
    assert_eq!(
        counter.failed(),
        Some(FailedCall {
            index: 2,
            op: "elbv2.CreateTargetGroup",
            target: "dev-123456789012-tg".into()
        })
    );
    assert!(counter.mutating_calls().iter().all(|(op, _)| is_mutating(op)));
}

#[tokio::test]
async fn failing_kth_counts_mysql_through_the_connector() {
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let (ports, counter) = failing_kth(cloud.ports(), 1, boom());
    let (host, port) = ports
        .rds
        .instance_endpoint(&p.database.instance_identifier)
        .await
        .unwrap();
    let raw = ports
        .secrets
        .get_secret_value(&p.database.admin_secret_arn)
        .await
        .unwrap();
    let admin: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let m = ports
        .mysql
        .connect(&p.database.login(
            &host,
            port,
            admin["username"].as_str().unwrap(),
            admin["password"].as_str().unwrap(),
        ))
        .await
        .unwrap();
    m.observe(&[], &[]).await.unwrap();
    assert_eq!(counter.seen(), 0, "connect and observe are reads");
    assert_eq!(m.create_database("db1").await.unwrap_err(), boom());
    assert!(!cloud.state().mysql.databases.contains("db1"));
    m.create_database("db1").await.unwrap();
    assert_eq!(counter.failed().map(|f| f.op), Some("mysql.CreateDatabase"));
}

#[tokio::test]
async fn failing_kth_zero_never_fails_and_counts_everything() {
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    let (ports, counter) = failing_kth(cloud.ports(), 0, boom());
    contract::run_all(&ports, &platform).await.unwrap();
    assert!(!counter.fired());
    let mutating = cloud.calls().iter().filter(|c| is_mutating(c.op)).count();
    assert_eq!(
        counter.seen(),
        mutating,
        "every mutating call the cloud saw was counted"
    );
    assert!(cloud.calls().iter().any(|c| !is_mutating(c.op)));
}

#[test]
fn every_op_the_fake_records_is_classified() {
    // The mutating list names real ops of the fake.
    for op in MUTATING_OPS {
        let (port, name) = op.split_once('.').unwrap();
        assert!(
            [
                "ecs",
                "elbv2",
                "route53",
                "efs",
                "secrets",
                "logs",
                "events",
                "mysql",
                "applicationautoscaling",
                "acm",
                "cloudwatch"
            ]
            .contains(&port),
            "{op}"
        );
        assert!(name.chars().next().unwrap().is_ascii_uppercase(), "{op}");
    }
}

// ------------------------------------------------------------------ the contract bites

/// Secrets Manager that deletes at once instead of scheduling the deletion.
struct NoRecoveryWindow(Arc<dyn SecretsApi>);

#[async_trait::async_trait]
impl SecretsApi for NoRecoveryWindow {
    async fn describe_secret(&self, name: &str) -> PortResult<Option<ObservedSecret>> {
        self.0.describe_secret(name).await
    }
    async fn list_secrets(&self, prefix: &str) -> PortResult<Vec<ObservedSecret>> {
        self.0.list_secrets(prefix).await
    }
    async fn create_secret(&self, spec: &SecretSpec, value: &str) -> PortResult<ObservedSecret> {
        self.0.create_secret(spec, value).await
    }
    async fn get_secret_value(&self, arn: &str) -> PortResult<String> {
        self.0.get_secret_value(arn).await
    }
    async fn put_secret_value(&self, arn: &str, value: &str) -> PortResult<()> {
        self.0.put_secret_value(arn, value).await
    }
    async fn delete_secret(&self, arn: &str, _days: u32) -> PortResult<()> {
        self.0.delete_secret(arn, 0).await
    }
    async fn restore_secret(&self, arn: &str) -> PortResult<()> {
        self.0.restore_secret(arn).await
    }
    async fn set_description(&self, arn: &str, description: &str) -> PortResult<()> {
        self.0.set_description(arn, description).await
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.0.tag_resource(arn, tags).await
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.0.untag_resource(arn, keys).await
    }
}

#[tokio::test]
async fn the_contract_catches_a_port_that_breaks_it() {
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    let mut ports = cloud.ports();
    ports.secrets = Arc::new(NoRecoveryWindow(ports.secrets.clone()));
    let e = contract::secrets(&ports, &platform).await.unwrap_err();
    assert!(
        e.starts_with("secrets contract, step \"describe while pending deletion\""),
        "{e}"
    );

    // An injected fault is reported with its step, and cleanup still runs.
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    cloud.fail_on("elbv2.ModifyRule", None, boom(), 1);
    let e = contract::elbv2(&cloud.ports(), &platform).await.unwrap_err();
    assert!(
        e.contains("elbv2 contract, step \"modify_rule (host, fixed response)\""),
        "{e}"
    );
    assert!(e.contains("ThrottlingException"), "{e}");
    {
        let s = cloud.state();
        assert!(
            s.target_groups.is_empty() && s.rules().next().is_none(),
            "cleaned up after the failure"
        );
    }

    // run_all reports every failing port, not just the first.
    let (cloud, platform) = FakeCloud::with_platform(DOMAIN);
    cloud.fail_on("sts.GetCallerIdentity", None, boom(), 1);
    cloud.fail_on("mysql.SetLocked", None, boom(), 1);
    let e = contract::run_all(&cloud.ports(), &platform).await.unwrap_err();
    assert!(e.contains("sts contract") && e.contains("mysql contract"), "{e}");
    assert!(cloud.state().mysql.users.is_empty(), "cleaned up after the failure");
}

/// A service of `desired_count` tasks behind a rule, on revision 1 of its
/// family.
async fn deployed_service(
    cloud: &Arc<FakeCloud>,
    p: &Platform,
    desired_count: u32,
) -> (ServiceSpec, ObservedTaskDefinition, ObservedService) {
    let ports = cloud.ports();
    let tg = ports
        .elbv2
        .create_target_group(&tg_spec(p, "dev-123456789012-tg"))
        .await
        .unwrap();
    let rule = rule_spec(p, "a.wpdev.example.io", RuleAction::Forward(tg.arn.clone()));
    ports.elbv2.create_rule(&rule, 10).await.unwrap();
    let td = ports
        .ecs
        .register_task_definition(&td_spec(p, "dev-123456789012"))
        .await
        .unwrap();
    let spec = ServiceSpec {
        cluster: p.cluster.clone(),
        name: "dev-123456789012-service".into(),
        task_definition_arn: td.arn.clone(),
        desired_count,
        subnet_ids: p.subnet_ids.clone(),
        security_group_ids: p.security_group_ids.clone(),
        target_group_arn: tg.arn.clone(),
        container_name: "wordpress".into(),
        container_port: 80,
        tags: tags("123456789012"),
        client_token: None,
    };
    let service = ports.ecs.create_service(&spec).await.unwrap();
    (spec, td, service)
}

async fn describe(cloud: &Arc<FakeCloud>, spec: &ServiceSpec) -> ObservedService {
    let found = cloud
        .ports()
        .ecs
        .describe_services(&spec.cluster, std::slice::from_ref(&spec.name))
        .await
        .unwrap();
    found.into_iter().next().expect("the service")
}

fn states(s: &ObservedService) -> Vec<(DeploymentStatus, Option<RolloutState>, u32)> {
    s.deployments
        .iter()
        .map(|d| (d.status, d.rollout_state, d.running_count))
        .collect()
}

// Not checked against moto, which starts no deployment on UpdateService
// and never moves a rollout state (see `contract::ecs`).
#[tokio::test]
async fn deployments_run_as_ecs_runs_them() {
    use DeploymentStatus::{Active, Primary};
    use RolloutState::{Completed, Failed, InProgress};
    let (cloud, p) = FakeCloud::with_platform(DOMAIN);
    let (spec, td1, _) = deployed_service(&cloud, &p, 2).await;
    let s = describe(&cloud, &spec).await;
    assert_eq!(s.circuit_breaker, Some(CircuitBreaker::ROLLBACK), "as created");
    assert_eq!(states(&s), [(Primary, Some(Completed), 2)]);

    // A new revision: a new PRIMARY IN_PROGRESS, the old one ACTIVE with its
    // tasks, until the new tasks run and the old ones drain.
    let mut spec2 = td_spec(&p, "dev-123456789012");
    spec2.image = "wordpress:6.7-php8.3-apache".into();
    let ecs = cloud.ports().ecs;
    let td2 = ecs.register_task_definition(&spec2).await.unwrap();
    let u = ecs.update_service(&p.cluster, &spec.name, &td2.arn, 2).await.unwrap();
    assert_eq!(
        states(&u),
        [(Active, Some(Completed), 2), (Primary, Some(InProgress), 0)]
    );
    assert_eq!(u.running_count, 2, "the old deployment serves meanwhile");
    let s = describe(&cloud, &spec).await;
    assert_eq!(states(&s), [(Primary, Some(Completed), 2)]);
    assert_eq!(s.task_definition_arn, td2.arn);

    // A stalled revision keeps the old tasks and stays IN_PROGRESS.
    cloud.state().tasks_stall = true;
    ecs.update_service(&p.cluster, &spec.name, &td1.arn, 2).await.unwrap();
    for _ in 0..5 {
        let s = describe(&cloud, &spec).await;
        assert_eq!(
            states(&s),
            [(Active, Some(Completed), 2), (Primary, Some(InProgress), 0)]
        );
        assert_eq!(s.primary().map(|d| d.pending_count), Some(2));
    }
    cloud.state().tasks_stall = false;
    describe(&cloud, &spec).await;

    // A revision whose tasks exit: FAILED at the threshold, then ECS's
    // rollback deploys the last completed revision again.
    let mut spec3 = td_spec(&p, "dev-123456789012");
    spec3.image = "wordpress:broken".into();
    let td3 = ecs.register_task_definition(&spec3).await.unwrap();
    cloud.state().failing_images.insert(spec3.image.clone());
    ecs.update_service(&p.cluster, &spec.name, &td3.arn, 2).await.unwrap();
    let s = describe(&cloud, &spec).await;
    assert_eq!(
        states(&s),
        [(Active, Some(Completed), 2), (Primary, Some(InProgress), 0)]
    );
    let s = describe(&cloud, &spec).await;
    assert_eq!(
        states(&s),
        [
            (Active, Some(Completed), 2),
            (Active, Some(Failed), 0),
            (Primary, Some(InProgress), 0)
        ]
    );
    assert_eq!(
        s.task_definition_arn, td1.arn,
        "rolled back to the last completed revision"
    );
    assert!(
        s.deployments[1].rollout_state_reason.contains("circuit breaker"),
        "{s:?}"
    );
    let s = describe(&cloud, &spec).await;
    assert_eq!(states(&s), [(Primary, Some(Completed), 2)]);
}
