//! The plan, table by table: missing parts, changed attributes, drift,
//! destroy, planned outputs, conflicts.

use super::*;
use crate::spec::{Platform, TenantInput, TenantStatus};
use std::sync::Arc;

pub(crate) fn platform() -> Arc<Platform> {
    Arc::new(Platform {
        domain: "wpdev.example.io".into(),
        region: "eu-west-1".into(),
        cluster: "dev-cluster".into(),
        vpc_id: "vpc-1".into(),
        subnet_ids: vec!["subnet-1".into()],
        security_group_ids: vec!["sg-1".into()],
        listener_arns: vec!["arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/1/2".into()],
        hosted_zone_id: "Z1".into(),
        efs_file_system_id: "fs-1".into(),
        ..Platform::default()
    })
}

pub(crate) fn spec() -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some("123456789012".into()),
        subdomain: Some("acme".into()),
        ..TenantInput::default()
    }
    .resolve(platform())
    .expect("valid")
}

fn facts() -> PlatformFacts {
    PlatformFacts {
        listeners: vec![ListenerFacts {
            listener_arn: "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/1/2".into(),
            load_balancer_arn: "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/lb/1".into(),
            load_balancer_dns_name: "lb-1.eu-west-1.elb.amazonaws.com".into(),
            load_balancer_zone_id: "ZLB".into(),
        }],
        database_host: "db.local".into(),
        database_port: 3306,
    }
}

/// The ownership tags of the fixture tenant (`spec()`).
fn ownership_tags() -> Tags {
    [("bbws:environment", "dev"), ("bbws:tenant", "123456789012")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The fixture tenant (`spec()`) with every part as SPEC §2 describes it,
/// written out by hand — not derived from the desired state the plan
/// compares against, so that "a converged tenant plans nothing" can fail.
/// Only the settings record in the secret's description is produced by
/// its own serialiser.
pub(crate) fn converged() -> ObservedTenant {
    let tags = ownership_tags();
    let environment = [
        ("WORDPRESS_DB_HOST", "db.local:3306"),
        ("WORDPRESS_DB_NAME", "123456789012_db"),
        ("WORDPRESS_DB_USER", "123456789012_user"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let secrets = [("WORDPRESS_DB_PASSWORD".to_owned(), "arn:secret:password::".to_owned())].into();
    ObservedTenant {
        tenant_id: "123456789012".into(),
        facts: Some(facts()),
        secret: Some(ObservedSecret {
            arn: "arn:secret".into(),
            name: "dev-123456789012-db-credentials".into(),
            tags: tags.clone(),
            pending_deletion: false,
            description: Some(TenantSettings::of(&spec()).to_description()),
        }),
        database: Some(ObservedDatabase {
            name: "123456789012_db".into(),
        }),
        database_user: Some(ObservedDatabaseUser {
            name: "123456789012_user".into(),
            locked: false,
            // The starter tier's limit.
            max_connections: 10,
            old_password_retained: false,
        }),
        access_point: Some(ObservedAccessPoint {
            id: "fsap-1".into(),
            arn: "arn:ap".into(),
            file_system_id: "fs-1".into(),
            name: "dev-123456789012-ap".into(),
            root_directory: "/123456789012".into(),
            posix_uid: Some(33),
            tags: tags.clone(),
        }),
        log_group: Some(ObservedLogGroup {
            name: "/ecs/dev-123456789012".into(),
            arn: "arn:lg".into(),
            retention_days: Some(30),
            tags: tags.clone(),
            created_ms: None,
        }),
        target_group: Some(ObservedTargetGroup {
            arn: "arn:tg".into(),
            name: "dev-123456789012-tg".into(),
            vpc_id: "vpc-1".into(),
            port: 80,
            health_check_path: "/wp-includes/images/blank.gif".into(),
            tags: tags.clone(),
        }),
        task_definition: Some(ObservedTaskDefinition {
            arn: "arn:td:1".into(),
            family: "dev-123456789012".into(),
            revision: 1,
            image: "wordpress:6.6-php8.3-apache".into(),
            cpu: 256,
            memory: 512,
            environment,
            secrets,
            file_system_id: Some("fs-1".into()),
            access_point_id: Some("fsap-1".into()),
            log_group: Some("/ecs/dev-123456789012".into()),
            tags: tags.clone(),
        }),
        listener_rule: Some(ObservedListenerRule {
            arn: "arn:rule".into(),
            listener_arn: "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/1/2".into(),
            priority: 7,
            hosts: vec!["acme.wpdev.example.io".into()],
            action: Some(RuleAction::Forward("arn:tg".into())),
            tags: tags.clone(),
        }),
        dns_records: vec![ObservedDnsRecord {
            zone_id: "Z1".into(),
            name: "acme.wpdev.example.io".into(),
            target: RecordTarget::Alias {
                dns_name: "lb-1.eu-west-1.elb.amazonaws.com".into(),
                hosted_zone_id: "ZLB".into(),
            },
        }],
        service: Some(ObservedService {
            arn: "arn:svc".into(),
            name: "dev-123456789012-service".into(),
            cluster: "dev-cluster".into(),
            task_definition_arn: "arn:td:1".into(),
            desired_count: 1,
            running_count: 1,
            target_group_arns: vec!["arn:tg".into()],
            status: "ACTIVE".into(),
            tags,
            deployments: vec![ObservedDeployment {
                id: "ecs-svc/1".into(),
                status: DeploymentStatus::Primary,
                rollout_state: Some(RolloutState::Completed),
                rollout_state_reason: "ECS deployment ecs-svc/1 completed.".into(),
                task_definition_arn: "arn:td:1".into(),
                desired_count: 1,
                pending_count: 0,
                running_count: 1,
            }],
            circuit_breaker: Some(CircuitBreaker::ROLLBACK),
        }),
        leftover_rules: Vec::new(),
        leftover_target_groups: Vec::new(),
        scaling: None,
        certificate: None,
        superseded_certificate: None,
        served_certificates: Vec::new(),
        validation_missing: Vec::new(),
        alarms: Vec::new(),
        foreign: Vec::new(),
    }
}

fn actions(p: &TenantPlan) -> Vec<(Part, PartAction)> {
    p.changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| (c.part, c.action.clone()))
        .collect()
}

#[test]
fn converged_tenant_plans_nothing() {
    let s = spec();
    let p = plan(&s, &converged());
    assert!(p.is_empty(), "{p}");
}

#[test]
fn nothing_observed_creates_all_ten_parts() {
    let s = spec();
    let o = ObservedTenant {
        tenant_id: s.tenant_id.clone(),
        facts: Some(facts()),
        ..Default::default()
    };
    let p = plan(&s, &o);
    assert_eq!(p.changes.len(), 10);
    assert!(p.changes.iter().all(|c| c.action == PartAction::Create), "{p}");
}

/// Each part missing alone: that part is created; dependants whose
/// reference changes are updated, never the whole tenant replaced.
#[test]
fn each_missing_part_is_recreated_alone() {
    use PartAction::*;
    let td = |f: TaskDefinitionField| (Part::TaskDefinition, PartAction::update(vec![f]));
    let svc = (Part::Service, PartAction::update(vec![ServiceField::TaskDefinition]));
    let table: Vec<(Part, Vec<(Part, PartAction)>)> = vec![
        (
            Part::Secret,
            vec![
                (Part::Secret, Create),
                (
                    Part::DatabaseUser,
                    PartAction::update(vec![DatabaseUserField::Password]),
                ),
                td(TaskDefinitionField::Secrets),
                svc.clone(),
            ],
        ),
        (Part::Database, vec![(Part::Database, Create)]),
        (Part::DatabaseUser, vec![(Part::DatabaseUser, Create)]),
        (
            Part::AccessPoint,
            vec![
                (Part::AccessPoint, Create),
                td(TaskDefinitionField::AccessPoint),
                svc.clone(),
            ],
        ),
        (Part::LogGroup, vec![(Part::LogGroup, Create)]),
        (
            Part::TargetGroup,
            vec![
                (Part::TargetGroup, Create),
                (Part::ListenerRule, PartAction::update(vec![ListenerRuleField::Action])),
                (Part::Service, PartAction::replace(vec![ServiceField::TargetGroup])),
            ],
        ),
        (Part::TaskDefinition, vec![(Part::TaskDefinition, Create), svc.clone()]),
        (Part::ListenerRule, vec![(Part::ListenerRule, Create)]),
        (Part::DnsRecord, vec![(Part::DnsRecord, Create)]),
        (Part::Service, vec![(Part::Service, Create)]),
    ];
    let s = spec();
    for (missing, expected) in table {
        let mut o = converged();
        match missing {
            Part::Secret => o.secret = None,
            Part::Database => o.database = None,
            Part::DatabaseUser => o.database_user = None,
            Part::AccessPoint => o.access_point = None,
            Part::LogGroup => o.log_group = None,
            Part::TargetGroup => o.target_group = None,
            Part::TaskDefinition => o.task_definition = None,
            Part::ListenerRule => o.listener_rule = None,
            Part::DnsRecord => o.dns_records.clear(),
            Part::Service => o.service = None,
            Part::Scaling => o.scaling = None,
            Part::Certificate => o.certificate = None,
            Part::Alarms => o.alarms.clear(),
        }
        assert_eq!(actions(&plan(&s, &o)), expected, "missing {missing}");
    }
}

/// Each attribute change maps to the parts SPEC §3 says it touches.
#[test]
fn attribute_changes_update_the_right_parts() {
    type Case = (&'static str, fn(&mut TenantSpec), Vec<(Part, PartAction)>);
    let svc_td = (Part::Service, PartAction::update(vec![ServiceField::TaskDefinition]));
    let table: Vec<Case> = vec![
        (
            "desired_count",
            |s| s.desired_count = 5,
            // The secret's description remembers it for imports of a
            // suspended tenant (whose service runs none).
            vec![
                (Part::Secret, PartAction::update(vec![SecretField::Settings])),
                (Part::Service, PartAction::update(vec![ServiceField::DesiredCount])),
            ],
        ),
        (
            "name",
            |s| s.name = "ACME Ltd".into(),
            vec![(Part::Secret, PartAction::update(vec![SecretField::Settings]))],
        ),
        (
            "cpu+memory",
            |s| {
                s.cpu = 1024;
                s.memory = 2048
            },
            vec![
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::Cpu, TaskDefinitionField::Memory]),
                ),
                svc_td.clone(),
            ],
        ),
        (
            "image",
            |s| s.image = "example.com/wp".into(),
            vec![
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::Image]),
                ),
                svc_td.clone(),
            ],
        ),
        (
            "wordpress_version",
            |s| s.wordpress_version = "6.7".into(),
            vec![
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::Image]),
                ),
                svc_td.clone(),
            ],
        ),
        (
            "php_version",
            |s| s.php_version = "8.2".into(),
            vec![
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::Image]),
                ),
                svc_td.clone(),
            ],
        ),
        (
            "env vars",
            |s| {
                s.environment_variables.insert("WP_DEBUG".into(), "1".into());
            },
            vec![
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::Environment]),
                ),
                svc_td.clone(),
            ],
        ),
        (
            "subdomain",
            |s| s.subdomain = "acme2".into(),
            vec![
                (Part::ListenerRule, PartAction::update(vec![ListenerRuleField::Host])),
                (Part::DnsRecord, PartAction::replace(vec![DnsRecordField::Name])),
            ],
        ),
        (
            "retention",
            |s| s.log_retention_days = 90,
            vec![(Part::LogGroup, PartAction::update(vec![LogGroupField::RetentionDays]))],
        ),
        (
            "suspend",
            |s| s.status = TenantStatus::Suspended,
            vec![
                (Part::ListenerRule, PartAction::update(vec![ListenerRuleField::Action])),
                (Part::Service, PartAction::update(vec![ServiceField::DesiredCount])),
            ],
        ),
        // Tags never cause a new revision or a replacement.
        (
            "tags",
            |s| {
                s.tags.insert("team".into(), "x".into());
            },
            vec![
                (Part::Secret, PartAction::update(vec![SecretField::Tags])),
                (Part::AccessPoint, PartAction::update(vec![AccessPointField::Tags])),
                (Part::LogGroup, PartAction::update(vec![LogGroupField::Tags])),
                (Part::TargetGroup, PartAction::update(vec![TargetGroupField::Tags])),
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::Tags]),
                ),
                (Part::ListenerRule, PartAction::update(vec![ListenerRuleField::Tags])),
                (Part::Service, PartAction::update(vec![ServiceField::Tags])),
            ],
        ),
    ];
    for (what, change, expected) in table {
        let before = spec();
        let o = converged();
        let mut after = before.clone();
        change(&mut after);
        assert_eq!(actions(&plan(&after, &o)), expected, "change {what}");
    }
}

#[test]
fn drift_is_repaired_part_by_part() {
    let s = spec();
    type Drift = (&'static str, fn(&mut ObservedTenant), Vec<(Part, PartAction)>);
    let table: Vec<Drift> = vec![
        (
            "desired count",
            |o| o.service.as_mut().unwrap().desired_count = 9,
            vec![(Part::Service, PartAction::update(vec![ServiceField::DesiredCount]))],
        ),
        (
            "a service made without the circuit breaker",
            |o| {
                o.service.as_mut().unwrap().circuit_breaker = Some(CircuitBreaker {
                    enable: false,
                    rollback: false,
                })
            },
            vec![(Part::Service, PartAction::update(vec![ServiceField::CircuitBreaker]))],
        ),
        (
            "rule host",
            |o| o.listener_rule.as_mut().unwrap().hosts = vec!["evil.example".into()],
            vec![(Part::ListenerRule, PartAction::update(vec![ListenerRuleField::Host]))],
        ),
        (
            "retention",
            |o| o.log_group.as_mut().unwrap().retention_days = None,
            vec![(Part::LogGroup, PartAction::update(vec![LogGroupField::RetentionDays]))],
        ),
        (
            "user locked",
            |o| o.database_user.as_mut().unwrap().locked = true,
            vec![(Part::DatabaseUser, PartAction::update(vec![DatabaseUserField::Unlock]))],
        ),
        (
            "connection limit changed behind our back",
            |o| o.database_user.as_mut().unwrap().max_connections = 1000,
            vec![(
                Part::DatabaseUser,
                PartAction::update(vec![DatabaseUserField::MaxConnections]),
            )],
        ),
        (
            "a rotation stopped before the old password was discarded",
            |o| o.database_user.as_mut().unwrap().old_password_retained = true,
            vec![
                (
                    Part::DatabaseUser,
                    PartAction::update(vec![DatabaseUserField::DiscardOldPassword]),
                ),
                (Part::Service, PartAction::update(vec![ServiceField::Redeploy])),
            ],
        ),
        (
            "secret pending deletion",
            |o| o.secret.as_mut().unwrap().pending_deletion = true,
            vec![(Part::Secret, PartAction::update(vec![SecretField::Restore]))],
        ),
        (
            "service on old revision",
            |o| o.service.as_mut().unwrap().task_definition_arn = "arn:td:0".into(),
            vec![(Part::Service, PartAction::update(vec![ServiceField::TaskDefinition]))],
        ),
        (
            "access point root",
            |o| o.access_point.as_mut().unwrap().root_directory = "/other".into(),
            vec![
                (
                    Part::AccessPoint,
                    PartAction::replace(vec![AccessPointField::RootDirectory]),
                ),
                (
                    Part::TaskDefinition,
                    PartAction::update(vec![TaskDefinitionField::AccessPoint]),
                ),
                (Part::Service, PartAction::update(vec![ServiceField::TaskDefinition])),
            ],
        ),
        (
            "target group vpc",
            |o| o.target_group.as_mut().unwrap().vpc_id = "vpc-2".into(),
            vec![
                (Part::TargetGroup, PartAction::replace(vec![TargetGroupField::VpcId])),
                (Part::ListenerRule, PartAction::update(vec![ListenerRuleField::Action])),
                (Part::Service, PartAction::replace(vec![ServiceField::TargetGroup])),
            ],
        ),
        (
            "dns target",
            |o| o.dns_records[0].target = RecordTarget::Cname("x".into()),
            vec![(Part::DnsRecord, PartAction::update(vec![DnsRecordField::Target]))],
        ),
    ];
    for (what, drift, expected) in table {
        let mut o = converged();
        drift(&mut o);
        assert_eq!(actions(&plan(&s, &o)), expected, "drift {what}");
    }
}

#[test]
fn destroy_deletes_all_but_retained_data() {
    use PartAction::*;
    let mut s = spec();
    let o = converged();
    let p = plan_destroy(&s, &o);
    assert_eq!(p.action(Part::Database), &Retain("retain_data_on_destroy = true"));
    assert_eq!(
        p.action(Part::DatabaseUser),
        &PartAction::update(vec![DatabaseUserField::Lock])
    );
    for part in Part::ALL
        .iter()
        .filter(|p| !matches!(p, Part::Database | Part::DatabaseUser))
    {
        assert_eq!(p.action(*part), &Delete, "{part}");
    }
    s.retain_data_on_destroy = false;
    let p = plan_destroy(&s, &o);
    assert!(p.changes.iter().all(|c| c.action == Delete), "{p}");
    let gone = ObservedTenant::default();
    assert!(plan_destroy(&s, &gone).is_empty());
}

#[test]
fn planned_outputs_are_unknown_only_where_parts_change() {
    let s = spec();
    let mut o = converged();
    o.listener_rule = None;
    let p = plan(&s, &o);
    let out = p.planned_outputs(&s, &o).outputs;
    assert_eq!(out.listener_rule_arn, None);
    assert_eq!(out.listener_rule_priority, None);
    assert_eq!(out.service_arn.as_deref(), Some("arn:svc"));
    assert_eq!(out.database_name.as_deref(), Some("123456789012_db"));
    let mut bigger = s.clone();
    bigger.cpu = 1024;
    bigger.memory = 2048;
    let o = converged();
    let out = plan(&bigger, &o).planned_outputs(&bigger, &o).outputs;
    assert_eq!(out.task_definition_arn, None);
    assert_eq!(out.target_group_arn.as_deref(), Some("arn:tg"));
}

/// A run killed after registering a revision but before the service moved
/// to it: the next plan registers nothing, and the service moves to the
/// revision that is there, so the planned ARN is that one, not the old.
#[test]
fn a_service_behind_the_latest_revision_plans_that_revision_as_its_arn() {
    let s = spec();
    let mut o = converged();
    let latest = o.task_definition.as_ref().map(|t| t.arn.clone());
    if let Some(svc) = o.service.as_mut() {
        svc.task_definition_arn = "arn:td:previous".into();
    }
    let p = plan(&s, &o);
    assert_eq!(
        p.action(Part::Service),
        &PartAction::update(vec![ServiceField::TaskDefinition])
    );
    assert!(!needs_new_revision(p.action(Part::TaskDefinition)), "{p}");
    assert_eq!(p.planned_outputs(&s, &o).outputs.task_definition_arn, latest);
}

#[test]
fn foreign_parts_are_conflicts() {
    let s = spec();
    let mut o = converged();
    o.foreign.push(ForeignPart {
        part: Part::TargetGroup,
        name: "dev-123456789012-tg".into(),
        found: "no bbws ownership tags".into(),
        owner: None,
    });
    assert_eq!(plan(&s, &o).conflicts.len(), 1);
}

/// The fixture's pool of two: its listener and a second one on another ALB.
fn two_listeners() -> PlatformFacts {
    let mut f = facts();
    f.listeners.push(ListenerFacts {
        listener_arn: "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb2/3/4".into(),
        load_balancer_arn: "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/lb2/3".into(),
        load_balancer_dns_name: "lb-2.eu-west-1.elb.amazonaws.com".into(),
        load_balancer_zone_id: "ZLB".into(),
    });
    f
}

/// The fixture tenant where a finished move left it: on the second
/// listener, behind its other target group.
fn moved() -> ObservedTenant {
    let mut o = converged();
    o.facts = Some(two_listeners());
    let tg = o.target_group.as_mut().expect("target group");
    tg.arn = "arn:tgb".into();
    tg.name = "dev-123456789012-tgb".into();
    let rule = o.listener_rule.as_mut().expect("rule");
    rule.listener_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb2/3/4".into();
    rule.action = Some(RuleAction::Forward("arn:tgb".into()));
    o.dns_records[0].target = RecordTarget::Alias {
        dns_name: "lb-2.eu-west-1.elb.amazonaws.com".into(),
        hosted_zone_id: "ZLB".into(),
    };
    o.service.as_mut().expect("service").target_group_arns = vec!["arn:tgb".into()];
    o
}

fn pinned_to(listener: &str) -> TenantSpec {
    let mut s = spec();
    s.listener_arn = Some(listener.into());
    s
}

#[test]
fn a_tenant_pinned_to_another_pool_listener_moves_in_place() {
    let second = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb2/3/4";
    let mut o = converged();
    o.facts = Some(two_listeners());
    let s = pinned_to(second);
    let p = plan(&s, &o);
    assert_eq!(
        actions(&p),
        vec![
            (
                Part::TargetGroup,
                PartAction::replace(vec![TargetGroupField::LoadBalancer])
            ),
            (
                Part::ListenerRule,
                PartAction::replace(vec![ListenerRuleField::Listener])
            ),
            (Part::DnsRecord, PartAction::update(vec![DnsRecordField::Target])),
            (Part::Service, PartAction::update(vec![ServiceField::TargetGroup])),
        ],
        "{p}"
    );
    assert!(moves_in_place(p.action(Part::TargetGroup)));
    let out = p.planned_outputs(&s, &o).outputs;
    assert_eq!(out.listener_arn.as_deref(), Some(second));
    assert_eq!(
        out.load_balancer_dns_name.as_deref(),
        Some("lb-2.eu-west-1.elb.amazonaws.com")
    );
    assert_eq!(
        (out.target_group_arn, out.listener_rule_arn),
        (None, None),
        "known after apply"
    );
    assert_eq!(out.service_arn.as_deref(), Some("arn:svc"), "the service stays");
    // The new group goes under the name the tenant does not use.
    let d = DesiredTenant::new(&s, &two_listeners(), &o);
    assert_eq!(d.target_group.name, "dev-123456789012-tgb");
    assert_eq!(d.listener_rule.listener_arn, second);
    // Moving back alternates to the first name again.
    let back = DesiredTenant::new(
        &pinned_to(&facts().listeners[0].listener_arn),
        &two_listeners(),
        &moved(),
    );
    assert_eq!(back.target_group.name, "dev-123456789012-tg");
}

#[test]
fn a_tenant_pinned_where_it_is_or_to_a_listener_outside_the_pool_does_not_move() {
    let o = moved();
    let table = [
        (
            "pinned where it is",
            Some("arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb2/3/4"),
        ),
        ("not pinned", None),
        (
            "outside the pool",
            Some("arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/nope/9/9"),
        ),
    ];
    for (case, pin) in table {
        let mut s = spec();
        s.listener_arn = pin.map(str::to_owned);
        let p = plan(&s, &o);
        assert!(p.is_empty(), "{case}: {p}");
    }
}

#[test]
fn what_a_move_a_run_did_not_finish_left_is_removed_and_nothing_else_changes() {
    let mut o = converged();
    o.facts = Some(two_listeners());
    let mut rule = o.listener_rule.clone().expect("rule");
    rule.arn = "arn:rule2".into();
    rule.listener_arn = "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb2/3/4".into();
    rule.action = Some(RuleAction::Forward("arn:tgb".into()));
    let mut tg = o.target_group.clone().expect("target group");
    tg.arn = "arn:tgb".into();
    tg.name = "dev-123456789012-tgb".into();
    o.leftover_rules = vec![rule];
    o.leftover_target_groups = vec![tg];
    let p = plan(&spec(), &o);
    assert_eq!(
        actions(&p),
        vec![
            (
                Part::TargetGroup,
                PartAction::update(vec![TargetGroupField::RemoveLeftover])
            ),
            (
                Part::ListenerRule,
                PartAction::update(vec![ListenerRuleField::RemoveLeftover])
            ),
        ],
        "{p}"
    );
    // Destroy removes them too, even with the part itself gone.
    o.target_group = None;
    let d = plan_destroy(&spec(), &o);
    assert_eq!(d.action(Part::TargetGroup), &PartAction::Delete, "{d}");
}
