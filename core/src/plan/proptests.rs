//! Properties, not just examples: random inputs never make validation,
//! naming or `plan()` panic; every rejection names an attribute path; and a
//! tenant whose parts are what SPEC §2 says — written out by hand from the
//! spec's fields, not by `DesiredTenant::new` — plans nothing. Case counts
//! stay small so the unit tests stay fast.

use proptest::prelude::*;

use super::tests::{converged, platform};
use super::*;
use crate::naming::TenantNames;
use crate::spec::{Environment, TenantInput};
use crate::validate::{LOG_RETENTION_DAYS, validate_input};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A word of 1-8 letters from `alphabet`.
fn word(alphabet: &'static [u8]) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 1..8)
        .prop_map(|b| b.into_iter().map(char::from).collect())
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Any text at all, numbers of any size, any map: what a user could write.
fn any_input() -> impl Strategy<Value = TenantInput> {
    let text = || proptest::option::of(any::<String>());
    let num = || proptest::option::of(any::<i64>());
    let map = || proptest::collection::btree_map(any::<String>(), any::<String>(), 0..4);
    (
        (
            any::<String>(),
            any::<String>(),
            text(),
            text(),
            text(),
            text(),
            text(),
            text(),
        ),
        (num(), num(), num(), num(), num(), num(), num()),
        (text(), map(), map(), proptest::option::of(any::<bool>())),
    )
        .prop_map(
            |((name, email, id, sub, tier, wp, php, image), nums, (status, env, tags, dp))| {
                let (cpu, memory, desired, conns, days, version, timeout) = nums;
                TenantInput {
                    name,
                    contact_email: email,
                    tenant_id: id,
                    subdomain: sub,
                    tier,
                    wordpress_version: wp,
                    php_version: php,
                    image,
                    cpu,
                    memory,
                    desired_count: desired,
                    db_max_connections: conns,
                    status,
                    environment_variables: env,
                    log_retention_days: days,
                    deletion_protection: dp,
                    tags,
                    db_password_version: version,
                    steady_state_timeout_seconds: timeout,
                    ..TenantInput::default()
                }
            },
        )
}

/// The attributes of `bbws_tenant` a violation may name first.
const ATTRIBUTES: [&str; 22] = [
    "name",
    "contact_email",
    "tenant_id",
    "subdomain",
    "tier",
    "wordpress_version",
    "php_version",
    "image",
    "cpu",
    "memory",
    "desired_count",
    "db_max_connections",
    "status",
    "environment_variables",
    "log_retention_days",
    "deletion_protection",
    "confirm_destroy",
    "retain_data_on_destroy",
    "tags",
    "db_password_wo_version",
    "steady_state_timeout_seconds",
    "db_password_wo",
];

/// A valid active tenant of the fixture's id, varied in what SPEC §7 lets
/// a user change in place.
fn valid_input() -> impl Strategy<Value = TenantInput> {
    const PAIRS: [(i64, i64); 6] = [
        (256, 512),
        (256, 2048),
        (512, 1024),
        (1024, 4096),
        (2048, 8192),
        (4096, 30720),
    ];
    (
        (proptest::sample::select(&PAIRS[..]), 0i64..=5, 1i64..=500),
        proptest::sample::select(&LOG_RETENTION_DAYS[..]),
        (0u8..10, proptest::sample::select(&["8.1", "8.2", "8.3"][..])),
        proptest::collection::btree_map(word(LOWER), word(LOWER), 0..4),
        proptest::collection::btree_map(word(UPPER).prop_map(|k| format!("WP_{k}")), word(LOWER), 0..4),
    )
        .prop_map(
            |(((cpu, memory), desired, conns), days, (minor, php), tags, env)| TenantInput {
                name: "ACME".into(),
                contact_email: "ops@acme.example".into(),
                tenant_id: Some("123456789012".into()),
                subdomain: Some("acme".into()),
                wordpress_version: Some(format!("6.{minor}")),
                php_version: Some(php.to_owned()),
                cpu: Some(cpu),
                memory: Some(memory),
                desired_count: Some(desired),
                db_max_connections: Some(conns),
                log_retention_days: Some(i64::from(days)),
                tags,
                environment_variables: env,
                ..TenantInput::default()
            },
        )
}

/// The fixture tenant's parts as SPEC §2 makes them for `input`: the
/// hand-written `converged()` with each changeable field set from the
/// input's own values (not from the desired state the plan compares with).
fn converged_for(input: &TenantInput, spec: &TenantSpec) -> ObservedTenant {
    let mut o = converged();
    let mut tags: Tags = input.tags.clone();
    tags.insert("bbws:environment".into(), "dev".into());
    tags.insert("bbws:tenant".into(), "123456789012".into());
    let desired = input.desired_count.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let secret = o.secret.as_mut().expect("secret");
    secret.tags = tags.clone();
    secret.description = Some(TenantSettings::of(spec).to_description());
    let user = o.database_user.as_mut().expect("user");
    user.max_connections = input
        .db_max_connections
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    o.access_point.as_mut().expect("access point").tags = tags.clone();
    let lg = o.log_group.as_mut().expect("log group");
    lg.tags = tags.clone();
    lg.retention_days = input.log_retention_days.and_then(|n| u32::try_from(n).ok());
    o.target_group.as_mut().expect("target group").tags = tags.clone();
    let td = o.task_definition.as_mut().expect("task definition");
    td.tags = tags.clone();
    td.image = format!(
        "wordpress:{}-php{}-apache",
        input.wordpress_version.as_deref().unwrap_or_default(),
        input.php_version.as_deref().unwrap_or_default()
    );
    td.cpu = input.cpu.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    td.memory = input.memory.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    td.environment.extend(input.environment_variables.clone());
    o.listener_rule.as_mut().expect("rule").tags = tags.clone();
    let svc = o.service.as_mut().expect("service");
    svc.tags = tags;
    svc.desired_count = desired;
    svc.running_count = desired;
    for d in &mut svc.deployments {
        (d.desired_count, d.running_count) = (desired, desired);
    }
    o
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn validation_never_panics_and_every_rejection_names_an_attribute(input in any_input()) {
        for v in validate_input(&input, &platform()) {
            prop_assert!(!v.attribute.is_empty(), "{v}");
            prop_assert!(ATTRIBUTES.contains(&v.attribute[0].as_str()), "{v}");
            prop_assert!(!v.rule.is_empty() && !v.message.is_empty(), "{v}");
        }
        if let Ok(spec) = input.resolve(platform()) {
            // Whatever validation lets through can be named and planned.
            let _ = spec.names();
            let _ = plan(&spec, &converged());
        }
    }

    #[test]
    fn naming_never_panics(id in any::<String>(), sub in any::<String>(), domain in any::<String>(), env in 0..3u8) {
        let env = [Environment::Dev, Environment::Sit, Environment::Prod][usize::from(env)];
        let n = TenantNames::new(env, &id, &sub, &domain);
        prop_assert!(n.service.contains(&id));
    }

    #[test]
    fn a_tenant_built_as_specified_plans_nothing(input in valid_input()) {
        let spec = input.clone().resolve(platform()).expect("valid by construction");
        let p = plan(&spec, &converged_for(&input, &spec));
        prop_assert!(p.is_empty(), "{input:?}\n{p}");
    }

    #[test]
    fn plan_never_panics_on_any_observation(input in valid_input(), missing in proptest::collection::vec(any::<bool>(), 10), n in any::<u32>(), text in any::<String>()) {
        let spec = input.clone().resolve(platform()).expect("valid");
        let mut o = converged_for(&input, &spec);
        for (part, gone) in Part::ALL.into_iter().zip(missing) {
            if gone {
                match part {
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
            }
        }
        if let Some(s) = o.service.as_mut() {
            s.desired_count = n;
            s.task_definition_arn = text.clone();
        }
        if let Some(s) = o.secret.as_mut() {
            s.description = Some(text.clone());
        }
        if let Some(r) = o.listener_rule.as_mut() {
            r.hosts = vec![text];
        }
        let _ = plan(&spec, &o);
        let _ = plan_destroy(&spec, &o);
    }
}
