//! The engine against the in-memory cloud: convergence, rollback at every
//! step, adoption, conflicts, rotation, steady-state waits.

use std::collections::HashSet;
use std::time::Duration;

use super::*;
use crate::fake::{FakeCloud, failing_kth};
use crate::parts::{DesiredTenant, RuleAction, suspended_action};
use crate::plan::{DatabaseUserField, PartAction, SecretField, ServiceField};
use crate::spec::{TenantInput, TenantStatus};
use crate::{plan, plan_destroy};

fn spec(platform: Arc<Platform>, tenant_id: &str) -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(tenant_id.into()),
        subdomain: Some(format!("t{}", &tenant_id[8..])),
        tags: [("team".to_owned(), "web".to_owned())].into(),
        ..TenantInput::default()
    }
    .resolve(platform)
    .expect("valid spec")
}

async fn converge(engine: &Engine, s: &TenantSpec) -> Result<ObservedTenant, CoreError> {
    let (observed, p) = observe_and_plan(engine, s, &[]).await?;
    engine.apply(s, &observed, &p).await
}

fn setup() -> (Arc<FakeCloud>, Arc<Platform>, Engine) {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    (cloud, platform, engine)
}

/// The password the secret holds and the one MySQL holds, which must agree.
fn passwords(cloud: &FakeCloud, s: &TenantSpec) -> (String, String) {
    let names = s.names();
    let state = cloud.state();
    let secret = state
        .secrets
        .values()
        .find(|x| x.name == names.secret)
        .map(|x| x.value.clone())
        .unwrap_or_default();
    let in_secret = serde_json::from_str::<serde_json::Value>(&secret).expect("secret JSON")["password"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let in_mysql = state
        .mysql
        .users
        .get(&names.database_user)
        .map(|u| u.password.clone())
        .unwrap_or_default();
    (in_secret, in_mysql)
}

#[tokio::test]
async fn a_user_password_is_used_and_a_new_version_rotates_it() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    s.db_password_version = Some(1);
    let with = |pw: &str| ApplyInputs {
        db_password: Some(DbPassword::new(pw)),
    };
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    let after = engine
        .apply_with(&s, &observed, &p, &with("first-Pass-1"))
        .await
        .expect("apply");
    assert_eq!(passwords(&cloud, &s), ("first-Pass-1".into(), "first-Pass-1".into()));
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));

    // Same version, another value: write-only values are not compared.
    let again = plan(&s, &after);
    engine
        .apply_with(&s, &after, &again, &with("ignored"))
        .await
        .expect("apply");
    assert_eq!(passwords(&cloud, &s).0, "first-Pass-1");

    s.db_password_version = Some(2);
    let p = plan(&s, &after);
    assert_eq!(
        p.action(Part::DatabaseUser),
        &PartAction::update(vec![DatabaseUserField::Password])
    );
    assert!(p.updates(SecretField::Password));
    assert_eq!(
        p.action(Part::Service),
        &PartAction::update(vec![ServiceField::Redeploy])
    );
    let after = engine
        .apply_with(&s, &after, &p, &with("second-Pass-2"))
        .await
        .expect("rotate");
    assert_eq!(passwords(&cloud, &s), ("second-Pass-2".into(), "second-Pass-2".into()));
    let names = s.names();
    let svc = cloud
        .state()
        .service(&s.platform.cluster, &names.service)
        .cloned()
        .expect("service");
    assert_eq!(svc.redeployments, 1, "tasks restarted to read the new password");
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));

    // A new version without a value rotates to a generated password.
    s.db_password_version = Some(3);
    let p = plan(&s, &after);
    engine.apply(&s, &after, &p).await.expect("rotate");
    let (in_secret, in_mysql) = passwords(&cloud, &s);
    assert_eq!(in_secret, in_mysql);
    assert_eq!(in_secret.len(), 32);
}

#[tokio::test]
async fn a_secret_that_cannot_be_written_gives_mysql_its_old_password_back() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    let after = converge(&engine, &s).await.expect("apply");
    let before = passwords(&cloud, &s);
    s.db_password_version = Some(1);
    let p = plan(&s, &after);
    let refused = PortError::new(PortErrorKind::Transient, "ThrottlingException", "slow down");
    cloud.fail_on("secrets.PutSecretValue", None, refused, 1);
    let inputs = ApplyInputs {
        db_password: Some(DbPassword::new("rotated-Pass-1")),
    };
    engine
        .apply_with(&s, &after, &p, &inputs)
        .await
        .expect_err("the secret write failed");
    assert_eq!(passwords(&cloud, &s), before, "the secret's password still logs in");
}

#[tokio::test]
async fn a_secret_written_with_its_answer_lost_keeps_mysql_on_the_new_password() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    let after = converge(&engine, &s).await.expect("apply");
    s.db_password_version = Some(1);
    let p = plan(&s, &after);
    let lost = PortError::new(PortErrorKind::Transient, "RequestTimeout", "no answer");
    cloud.lose_answer_on("secrets.PutSecretValue", None, lost, 1);
    let inputs = ApplyInputs {
        db_password: Some(DbPassword::new("rotated-Pass-1")),
    };
    engine
        .apply_with(&s, &after, &p, &inputs)
        .await
        .expect_err("the answer was lost");
    let (in_secret, in_mysql) = passwords(&cloud, &s);
    assert_eq!(in_secret, in_mysql, "the secret's password still logs in");
    assert_eq!(in_secret, "rotated-Pass-1");
}

#[tokio::test]
async fn with_dual_passwords_the_old_one_works_until_the_tasks_have_the_new_one() {
    let (cloud, platform, engine) = setup();
    cloud.state().mysql.dual_passwords = true;
    let mut s = spec(platform, "123456789012");
    let after = converge(&engine, &s).await.expect("apply");
    let (old, _) = passwords(&cloud, &s);
    s.db_password_version = Some(1);
    let p = plan(&s, &after);
    cloud.fail_on(
        "ecs.RedeployService",
        None,
        PortError::new(PortErrorKind::Transient, "ServerException", "later"),
        1,
    );
    let inputs = ApplyInputs {
        db_password: Some(DbPassword::new("rotated-Pass-1")),
    };
    engine
        .apply_with(&s, &after, &p, &inputs)
        .await
        .expect_err("the redeploy failed");
    {
        let state = cloud.state();
        let user = &state.mysql.users[&s.names().database_user];
        assert_eq!(
            user.retained_password.as_deref(),
            Some(old.as_str()),
            "tasks still on the old password keep logging in"
        );
    }
    let now = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    let retry = plan(&s, &now);
    engine.apply_with(&s, &now, &retry, &inputs).await.expect("retry");
    let state = cloud.state();
    let user = &state.mysql.users[&s.names().database_user];
    assert_eq!(
        (user.password.as_str(), user.retained_password.as_deref()),
        ("rotated-Pass-1", None)
    );
}

#[tokio::test]
async fn a_broken_secret_gets_a_new_password_before_the_user_is_made() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    converge(&engine, &s).await.expect("apply");
    {
        let mut state = cloud.state();
        state.mysql.users.remove(&s.names().database_user);
        let secret = state
            .secrets
            .values_mut()
            .find(|x| x.name == s.names().secret)
            .expect("secret");
        secret.value = "not JSON".into();
    }
    converge(&engine, &s).await.expect("repair");
    let (in_secret, in_mysql) = passwords(&cloud, &s);
    assert_eq!(in_secret, in_mysql);
    assert_eq!(in_secret.len(), 32, "a new generated password");
}

#[tokio::test]
async fn max_user_connections_follow_the_spec_and_drift_is_repaired() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    converge(&engine, &s).await.expect("apply");
    let user = s.names().database_user;
    let limit = |cloud: &FakeCloud| cloud.state().mysql.users[&user].max_connections;
    assert_eq!(limit(&cloud), s.tier.db_max_connections());
    s.db_max_connections = 3;
    let after = converge(&engine, &s).await.expect("update");
    assert_eq!(limit(&cloud), 3);
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
    cloud
        .state()
        .mysql
        .users
        .get_mut(&s.names().database_user)
        .expect("user")
        .max_connections = 500;
    converge(&engine, &s).await.expect("repair");
    assert_eq!(limit(&cloud), 3);
}

#[tokio::test]
async fn a_database_that_appeared_meanwhile_is_adopted_and_never_dropped_by_a_rollback() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    assert_eq!(p.action(Part::Database), &PartAction::Create);
    // Another run of this tenant made the database, and a site wrote to it.
    {
        let mut state = cloud.state();
        state.mysql.databases.insert(s.names().database);
        state.mysql.tables.insert(s.names().database, 12);
    }
    cloud.fail_on(
        "ecs.CreateService",
        None,
        PortError::new(PortErrorKind::Other, "InvalidParameterException", "no"),
        1,
    );
    engine.apply(&s, &observed, &p).await.expect_err("the service failed");
    let state = cloud.state();
    assert!(state.mysql.databases.contains(&s.names().database), "not ours to drop");
    assert_eq!(state.mysql.tables.get(&s.names().database), Some(&12));
}

#[tokio::test]
async fn the_admin_logs_in_with_an_iam_token_over_verified_tls() {
    let (cloud, mut platform) = FakeCloud::with_platform("wpdev.example.io");
    platform.database.admin_auth = crate::spec::AdminAuth::Iam;
    platform.database.admin_username = Some(cloud.state().mysql.admin_user.clone());
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let s = spec(platform, "123456789012");
    converge(&engine, &s).await.expect("apply as the IAM user");
    assert!(cloud.calls().iter().any(|c| c.op == "rds-db.GenerateAuthToken"));
    assert_eq!(
        cloud.state().mysql.last_ssl_mode,
        Some(crate::spec::SslMode::VerifyIdentity)
    );
}

#[tokio::test]
async fn a_failed_rotation_is_retried_by_the_next_apply() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    let after = converge(&engine, &s).await.expect("apply");
    s.db_password_version = Some(1);
    let p = plan(&s, &after);
    cloud.fail_on(
        "mysql.SetPassword",
        None,
        PortError::new(PortErrorKind::Other, "1045", "refused"),
        1,
    );
    let inputs = ApplyInputs {
        db_password: Some(DbPassword::new("rotated-Pass-1")),
    };
    engine
        .apply_with(&s, &after, &p, &inputs)
        .await
        .expect_err("MySQL refused");
    let now = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    let retry = plan(&s, &now);
    assert!(
        retry.updates(DatabaseUserField::Password),
        "the version is not recorded before MySQL has the password:\n{retry}"
    );
    engine.apply_with(&s, &now, &retry, &inputs).await.expect("retry");
    assert_eq!(
        passwords(&cloud, &s),
        ("rotated-Pass-1".into(), "rotated-Pass-1".into())
    );
}

// On tokio's paused clock: the wait polls ECS for a realistic timeout
// without taking that long.
#[tokio::test(start_paused = true)]
async fn an_update_that_does_not_become_stable_is_rolled_back() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    let before = converge(&engine, &s).await.expect("apply");
    let previous = before.service.as_ref().expect("service").task_definition_arn.clone();

    s.wait_for_steady_state = true;
    s.steady_state_timeout = Duration::from_secs(60);
    s.php_version = "8.2".into();
    cloud.state().tasks_stall = true;
    let e = converge(&engine, &s).await.expect_err("not stable");
    let text = e.to_string();
    assert!(
        text.contains("steady state") && text.contains("rolled the service back") && text.contains("IN_PROGRESS"),
        "{text}"
    );
    assert_eq!(e.code(), Some("ServiceNotStable"));
    {
        // The stalled deployment never looked like zero running tasks: the
        // old one kept serving while the new one waited.
        let state = cloud.state();
        let svc = state
            .services
            .values()
            .find(|x| x.name == s.names().service)
            .expect("service");
        assert_eq!(svc.running_count(), 1, "{:?}", svc.deployments);
    }
    let now = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    let svc = now.service.as_ref().expect("service");
    assert_eq!(svc.task_definition_arn, previous, "back on the previous revision");

    // Tasks start again: the same change goes through and waits for them.
    cloud.state().tasks_stall = false;
    let after = converge(&engine, &s).await.expect("stable");
    assert_ne!(after.service.as_ref().expect("service").task_definition_arn, previous);
    assert!(plan(&s, &after).is_empty());
}

/// The image of `s`'s task definition, made to fail at start in the fake.
fn fail_image_of(cloud: &FakeCloud, s: &TenantSpec) -> String {
    let image = s.image_reference();
    cloud.state().failing_images.insert(image.clone());
    image
}

// ECS's circuit breaker, not bbws, returns the service to the previous
// revision; the apply fails saying so and the observation (hence the state)
// shows the revision that runs.
#[tokio::test(start_paused = true)]
async fn a_revision_ecs_fails_is_rolled_back_by_the_circuit_breaker() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    s.desired_count = 2;
    let before = converge(&engine, &s).await.expect("apply");
    let previous = before.service.as_ref().expect("service").task_definition_arn.clone();

    s.wait_for_steady_state = true;
    s.steady_state_timeout = Duration::from_secs(600);
    s.php_version = "8.2".into();
    fail_image_of(&cloud, &s);
    cloud.clear_calls();
    let started = tokio::time::Instant::now();
    let e = converge(&engine, &s).await.expect_err("ECS fails the deployment");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "failed when ECS said so, not at the timeout"
    );
    let text = e.to_string();
    assert_eq!(e.code(), Some("DeploymentFailed"), "{text}");
    assert!(
        text.contains("circuit breaker") && text.contains("tasks failed to start"),
        "{text}"
    );
    assert!(text.contains(&format!("it runs {previous} now")), "{text}");
    let family = &s.names().task_family;
    let failed = format!("{}:2", previous.trim_end_matches(":1"));
    assert!(failed.ends_with(&format!("{family}:2")), "{failed}");
    assert!(
        text.contains(&format!("deployment of {failed}")),
        "names the failed revision: {text}"
    );
    assert_eq!(
        cloud.calls_to("ecs.UpdateService").len(),
        1,
        "bbws did not roll back itself: ECS did"
    );

    let now = engine
        .observe_tenant(&s.tenant_id, &[s.subdomain.clone()])
        .await
        .expect("observe");
    let svc = now.service.as_ref().expect("service");
    assert_eq!(svc.task_definition_arn, previous, "ECS rolled back");
    assert_eq!(svc.running_count, 2, "the previous revision serves");
    let outputs = now.outputs(&s.names());
    assert_eq!(
        outputs.task_definition_arn.as_deref(),
        Some(previous.as_str()),
        "state shows what runs"
    );
    let again = plan(&s, &now);
    assert!(
        again.updates(ServiceField::TaskDefinition),
        "the next plan tries again:\n{again}"
    );

    // A fixed image goes through, and the wait waits for ECS to complete it.
    cloud.state().failing_images.clear();
    let after = converge(&engine, &s).await.expect("stable");
    let runs = &after.service.as_ref().expect("service").task_definition_arn;
    assert!(runs != &previous && runs != &failed, "a new revision runs: {runs}");
    assert!(plan(&s, &after).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_create_ecs_fails_is_removed_again() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    s.wait_for_steady_state = true;
    s.steady_state_timeout = Duration::from_secs(600);
    fail_image_of(&cloud, &s);
    let e = converge(&engine, &s).await.expect_err("ECS fails the deployment");
    let text = e.to_string();
    assert_eq!(e.code(), Some("DeploymentFailed"), "{text}");
    assert!(text.contains("stopped launching tasks"), "{text}");
    let state = cloud.state();
    assert!(
        state.service(&s.platform.cluster, &s.names().service).is_none(),
        "created, so removed"
    );
}

#[test]
fn the_fake_s_circuit_breaker_threshold_is_ecs_s() {
    assert_eq!(crate::fake::failure_threshold(1), 3);
    assert_eq!(crate::fake::failure_threshold(10), 5);
    assert_eq!(crate::fake::failure_threshold(1000), 200);
}

#[tokio::test]
async fn create_converges_and_destroy_keeps_only_retained_data() {
    let (_cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let after = converge(&engine, &s).await.expect("apply");
    for part in Part::ALL {
        assert!(after.has(part), "{part} exists after apply");
    }
    let again = plan(&s, &after);
    assert!(again.is_empty(), "second plan is empty:\n{again}");

    let d = plan_destroy(&s, &after);
    let report = engine.destroy(&s, &after, &d).await.expect("destroy");
    assert_eq!(report.retained.len(), 3, "{:?}", report.retained);
    let gone = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    let left: Vec<Part> = Part::ALL.into_iter().filter(|p| gone.has(*p)).collect();
    // The secret waits out its recovery window: observed, pending, and no
    // longer a part the tenant has.
    assert_eq!(left, [Part::Database, Part::DatabaseUser]);
    assert!(gone.secret.as_ref().is_some_and(|s| s.pending_deletion));
    assert!(gone.database_user.as_ref().is_some_and(|u| u.locked));
}

#[tokio::test]
async fn the_read_back_takes_the_records_the_run_left_without_listing_the_zone_again() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    cloud.clear_calls();
    let after = engine.apply(&s, &observed, &p).await.expect("apply");
    // Route53 allows five requests a second per account: the create is
    // one change, and no listing.
    assert_eq!(cloud.calls_to("route53.ListResourceRecordSets").len(), 0);
    assert_eq!(cloud.calls_to("route53.ChangeResourceRecordSets").len(), 1);
    let read = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    assert_eq!(
        after.dns_records, read.dns_records,
        "what the read-back says is what is there"
    );

    // Renamed: the record under the old name is gone from both.
    let renamed = TenantSpec {
        subdomain: "renamed".into(),
        ..s.clone()
    };
    let (observed, p) = observe_and_plan(&engine, &renamed, std::slice::from_ref(&s.subdomain))
        .await
        .expect("plan");
    let after = engine.apply(&renamed, &observed, &p).await.expect("apply");
    let read = engine
        .observe_tenant(&s.tenant_id, &[renamed.subdomain.clone(), s.subdomain.clone()])
        .await
        .expect("observe");
    assert_eq!(after.dns_records, read.dns_records);
    assert_eq!(read.dns_records.len(), 1, "{:?}", read.dns_records);
}

// One tenant's observation reads the zone at its names, whatever the size
// of the zone; a name only its rule still routes (a rename a killed run
// left half-done) is read too, so its alias is found as a listing finds it.
#[tokio::test]
async fn one_tenants_records_are_read_at_its_names_not_the_whole_zone() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform.clone(), "123456789012");
    converge(&engine, &s).await.expect("apply");
    cloud.clear_calls();
    let seen = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    let reads = cloud.calls_to("route53.ListResourceRecordSets");
    assert!(!reads.is_empty(), "the records were read");
    assert!(
        reads.iter().all(|c| c.target != platform.hosted_zone_id),
        "no listing of the whole zone: {reads:?}"
    );
    assert_eq!(seen.dns_records.len(), 1, "{:?}", seen.dns_records);

    // Asked under another subdomain only: the rule still routes the first.
    let by_rule = engine
        .observe_tenant(&s.tenant_id, &["elsewhere".to_owned()])
        .await
        .expect("observe");
    let listed = engine.observe_by_id(&s.tenant_id).await.expect("observe by id");
    assert_eq!(by_rule.dns_records, seen.dns_records);
    assert_eq!(listed.dns_records, seen.dns_records);
}

// A record batch that AWS made but whose answer was lost: as a timeout
// (the SDK gave up), or as the "already exists" its retry of the same batch
// gets. Every tenant in the batch adopts its record (an alias to its own
// load balancer), none fails, and none is made twice.
#[tokio::test(start_paused = true)]
async fn a_lost_answer_to_a_record_batch_fails_none_of_its_tenants() {
    let answers = [
        PortError::new(
            PortErrorKind::Transient,
            "RequestTimeout",
            "injected: the answer was lost",
        ),
        PortError::new(
            PortErrorKind::AlreadyExists,
            "InvalidChangeBatch",
            "injected: the SDK's retry of a batch that was made",
        ),
    ];
    for lost in answers {
        let (cloud, platform, engine) = setup();
        cloud.set_latency(Duration::from_millis(20));
        let specs: Vec<TenantSpec> = (0..4)
            .map(|i| spec(platform.clone(), &format!("1234567890{i:02}")))
            .collect();
        cloud.lose_answer_on("route53.ChangeResourceRecordSets", None, lost.clone(), 2);
        let results = futures::future::join_all(specs.iter().map(|s| converge(&engine, s))).await;
        for (s, r) in specs.iter().zip(&results) {
            let after = r.as_ref().unwrap_or_else(|e| panic!("{}: {e} ({lost})", s.tenant_id));
            assert!(plan(s, after).is_empty(), "{}", plan(s, after));
        }
        let records = cloud
            .ports()
            .route53
            .list_records(&platform.hosted_zone_id)
            .await
            .expect("list");
        for s in &specs {
            let fqdn = s.names().fqdn;
            assert_eq!(records.iter().filter(|r| r.name == fqdn).count(), 1, "{fqdn} ({lost})");
        }
    }
}

// On tokio's paused clock, calls that run concurrently start and finish at
// the same instants, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn independent_parts_are_created_concurrently() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    cloud.set_latency(Duration::from_millis(40));
    cloud.clear_calls();
    engine.apply(&s, &observed, &p).await.expect("apply");
    let calls = cloud.calls();
    let span = |op: &str| {
        let c = calls
            .iter()
            .find(|c| c.op == op)
            .unwrap_or_else(|| panic!("no {op} call"));
        (c.started, c.finished)
    };
    // A new tenant's secret is its claim (two applies of one tenant race
    // for it): it comes first, alone, and everything else after it.
    let (_, claimed) = span("secrets.CreateSecret");
    let stage1 = [
        "efs.CreateAccessPoint",
        "logs.CreateLogGroup",
        "elbv2.CreateTargetGroup",
        "mysql.CreateDatabase",
    ];
    for a in stage1 {
        for b in stage1 {
            if a != b {
                let (sa, fa) = span(a);
                let (sb, fb) = span(b);
                assert!(sa < fb && sb < fa, "{a} and {b} overlap");
            }
        }
        assert!(claimed <= span(a).0, "{a} waits for the secret");
    }
    // Dependent steps wait: the task definition after its inputs, the
    // service after the task definition and the listener rule.
    let (_, secret_done) = span("secrets.CreateSecret");
    let (td_start, td_done) = span("ecs.RegisterTaskDefinition");
    let (_, rule_done) = span("elbv2.CreateRule");
    let (svc_start, _) = span("ecs.CreateService");
    assert!(secret_done <= td_start && td_done <= svc_start && rule_done <= svc_start);
}

/// Fails each mutating call in turn: the apply reports step, part and
/// code, leaves nothing behind, and a re-apply converges.
#[tokio::test]
async fn a_failure_at_any_step_leaves_no_orphans() {
    let mut k = 1;
    loop {
        let (cloud, platform, _) = setup();
        let injected = PortError::new(PortErrorKind::Other, "InjectedFailure", "boom");
        let (failing, counter) = failing_kth(cloud.ports(), k, injected);
        let engine = Engine::new(platform.clone(), failing);
        let s = spec(platform.clone(), "123456789012");
        match converge(&engine, &s).await {
            Ok(_) => {
                // The audit record is best effort: losing it must not
                // fail (or undo) the apply it describes. So is removing the
                // creation lease at the end: it expires by itself.
                if let Some(failed) = counter.failed() {
                    assert!(
                        ["logs.PutLogEvents", "secrets.UntagResource"].contains(&failed.op),
                        "k={k}: succeeded although {} failed",
                        failed.op
                    );
                    k += 1;
                    continue;
                }
                assert!(k > 10, "only {k} mutating calls for ten parts?");
                break;
            }
            Err(e) => {
                let failed = counter.failed().expect("the injected failure fired");
                let CoreError::Apply {
                    step, rollback_errors, ..
                } = &e
                else {
                    panic!("k={k}: not an apply error: {e}")
                };
                assert_eq!(e.code(), Some("InjectedFailure"), "k={k}: {e}");
                assert!(rollback_errors.is_empty(), "k={k} ({}): {rollback_errors:?}", failed.op);
                assert!(!step.is_empty());
                let clean = Engine::new(platform.clone(), cloud.ports());
                let left = clean
                    .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
                    .await
                    .expect("observe");
                assert!(
                    !left.exists(),
                    "k={k} ({} failed, step {step}): orphans left: {left:?}",
                    failed.op
                );
                let after = converge(&clean, &s)
                    .await
                    .unwrap_or_else(|e| panic!("k={k}: re-apply failed: {e}"));
                assert!(plan(&s, &after).is_empty(), "k={k}: re-apply converges");
            }
        }
        k += 1;
    }
}

#[tokio::test]
async fn parts_left_by_an_interrupted_run_are_adopted() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform.clone(), "123456789012");
    let facts = engine.facts().await.expect("facts").clone();
    let d = DesiredTenant::new(&s, &facts, &ObservedTenant::default());
    let ports = cloud.ports();
    ports.elbv2.create_target_group(&d.target_group).await.expect("tg");
    ports.logs.create_log_group(&d.log_group).await.expect("lg");
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    assert_eq!(p.action(Part::TargetGroup), &PartAction::NoChange);
    assert_eq!(p.action(Part::LogGroup), &PartAction::NoChange);
    assert_eq!(p.action(Part::Service), &PartAction::Create);
    let after = engine.apply(&s, &observed, &p).await.expect("apply");
    assert!(plan(&s, &after).is_empty());
    assert_eq!(cloud.calls_to("elbv2.CreateTargetGroup").len(), 1, "not created twice");
}

#[tokio::test]
async fn parts_owned_by_someone_else_are_a_conflict() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let facts = engine.facts().await.expect("facts").clone();
    let mut d = DesiredTenant::new(&s, &facts, &ObservedTenant::default());
    d.target_group
        .tags
        .insert(crate::naming::TAG_TENANT.into(), "999999999999".into());
    cloud
        .ports()
        .elbv2
        .create_target_group(&d.target_group)
        .await
        .expect("tg");
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    assert_eq!(p.conflicts.len(), 1, "{p}");
    assert_eq!(p.conflicts[0].part, Part::TargetGroup);
    let err = engine.apply(&s, &observed, &p).await.expect_err("refused");
    assert!(
        matches!(
            err,
            CoreError::NotOwned {
                part: Part::TargetGroup,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("999999999999"), "{err}");
}

#[tokio::test]
async fn a_taken_subdomain_is_a_conflict() {
    let (_cloud, platform, engine) = setup();
    let a = spec(platform.clone(), "123456789012");
    converge(&engine, &a).await.expect("first tenant");
    let mut b = spec(platform, "210987654321");
    b.subdomain = a.subdomain.clone();
    let (_, p) = observe_and_plan(&engine, &b, &[]).await.expect("plan");
    assert!(p.conflicts.iter().any(|c| c.part == Part::ListenerRule), "{p}");
}

#[tokio::test]
async fn suspended_tenants_are_created_and_resumed() {
    let (_cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    s.status = TenantStatus::Suspended;
    let after = converge(&engine, &s).await.expect("apply suspended");
    assert_eq!(after.service.as_ref().map(|s| s.desired_count), Some(0));
    assert_eq!(
        after.listener_rule.as_ref().and_then(|r| r.action.clone()),
        Some(suspended_action())
    );
    assert!(plan(&s, &after).is_empty());
    s.status = TenantStatus::Active;
    let after = converge(&engine, &s).await.expect("resume");
    assert_eq!(after.service.as_ref().map(|s| s.desired_count), Some(s.desired_count));
    assert!(matches!(
        after.listener_rule.as_ref().and_then(|r| r.action.clone()),
        Some(RuleAction::Forward(_))
    ));
}

#[tokio::test]
async fn concurrent_tenants_get_unique_priorities() {
    let (_cloud, platform, engine) = setup();
    let ids: Vec<String> = (0..20).map(|i| format!("1234567890{i:02}")).collect();
    let specs: Vec<TenantSpec> = ids.iter().map(|id| spec(platform.clone(), id)).collect();
    let results = futures::future::join_all(specs.iter().map(|s| converge(&engine, s))).await;
    let mut priorities = HashSet::new();
    for r in results {
        let o = r.expect("apply");
        assert!(priorities.insert(o.listener_rule.expect("rule").priority));
    }
    assert_eq!(priorities.len(), 20);
}

#[tokio::test]
async fn discover_finds_the_environments_tenants() {
    let (_cloud, platform, engine) = setup();
    for id in ["123456789012", "123456789013"] {
        converge(&engine, &spec(platform.clone(), id)).await.expect("apply");
    }
    assert_eq!(
        engine.discover().await.expect("discover"),
        ["123456789012", "123456789013"]
    );
}

#[test]
fn priorities_skip_taken_ones() {
    let taken: HashSet<u32> = (1..=MAX_RULE_PRIORITY).filter(|p| *p != 4242).collect();
    assert_eq!(pick_priority("123456789012", &taken, 0), Some(4242));
    let all: HashSet<u32> = (1..=MAX_RULE_PRIORITY).collect();
    assert_eq!(pick_priority("123456789012", &all, 0), None);
}

#[tokio::test]
async fn a_stopped_engine_starts_no_stage_and_leaves_nothing_behind() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform.clone(), "123456789012");
    let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    engine.stop();
    let err = engine.apply(&s, &observed, &p).await.expect_err("stopped");
    assert!(
        matches!(&err, CoreError::Apply { source, .. } if matches!(**source, CoreError::Stopped { .. })),
        "{err}"
    );
    let after = Engine::new(platform, cloud.ports());
    let left = after
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    assert!(!left.exists(), "a stopped create left parts: {left:?}");
    // The next run (a new process) converges.
    let done = converge(&after, &s).await.expect("converges");
    assert!(plan(&s, &done).is_empty(), "{}", plan(&s, &done));
}

/// Puts `lease` on the tenant's secret, as another run would.
async fn put_lease(engine: &Engine, s: &TenantSpec, lease: &crate::lease::Lease) {
    let secret = engine
        .ports()
        .secrets
        .describe_secret(&s.names().secret)
        .await
        .expect("describe")
        .expect("the secret");
    let tags: crate::parts::Tags = [lease.tag()].into_iter().collect();
    engine
        .ports()
        .secrets
        .tag_resource(&secret.arn, &tags)
        .await
        .expect("tag");
}

#[tokio::test]
async fn a_create_leaves_its_lease_until_a_record_confirms_it_and_a_dead_runs_lease_is_taken_over() {
    let (_cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let after = converge(&engine, &s).await.expect("create");
    let left = after.lease().expect("a finished create leaves its lease to expire");
    assert!(left.holder.len() == 32, "{left:?}");
    // A record that holds the tenant confirms it, once the lease expired.
    engine.confirm_recorded(&after).await;
    let again = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    assert!(again.lease().is_some(), "a live lease is left alone");
    let expired = crate::lease::Lease {
        expires: std::time::SystemTime::now() - Duration::from_secs(1),
        ..left
    };
    put_lease(&engine, &s, &expired).await;
    let again = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    engine.confirm_recorded(&again).await;
    let again = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    assert_eq!(again.lease(), None, "confirmed: no lease");

    // A run that died after building everything: its lease expired.
    let dead = crate::lease::Lease {
        holder: "dead-run".into(),
        expires: std::time::SystemTime::now() - Duration::from_secs(1),
    };
    put_lease(&engine, &s, &dead).await;
    let key = crate::observed::TenantKey {
        tenant_id: s.tenant_id.clone(),
        subdomains: vec![s.subdomain.clone()],
        custom_domains: Vec::new(),
    };
    let found = engine
        .observe_tenant(&s.tenant_id, &key.subdomains)
        .await
        .expect("observe");
    let found = engine
        .wait_out_lease(&key, found)
        .await
        .expect("no wait for an expired lease");
    let decided = crate::lifecycle::decide(&s, &found, plan(&s, &found), crate::lifecycle::Prior::default())
        .expect("an expired lease is adopted");
    let adopted = engine.apply(&s, &found, &decided.plan).await.expect("adopt");
    let taken = adopted.lease().expect("the adopting run holds the lease now");
    assert_ne!(taken.holder, "dead-run");
}

#[tokio::test(start_paused = true)]
async fn a_live_lease_is_waited_for_one_lifetime_at_most_and_refused_while_live() {
    let (_cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    converge(&engine, &s).await.expect("create");
    let live = crate::lease::Lease::new("live-run", std::time::SystemTime::now());
    put_lease(&engine, &s, &live).await;
    let key = crate::observed::TenantKey {
        tenant_id: s.tenant_id.clone(),
        subdomains: vec![s.subdomain.clone()],
        custom_domains: Vec::new(),
    };
    let found = engine
        .observe_tenant(&s.tenant_id, &key.subdomains)
        .await
        .expect("observe");
    let started = tokio::time::Instant::now();
    let settled = engine.wait_out_lease(&key, found).await.expect("wait");
    assert!(
        started.elapsed() <= crate::lease::TTL * 2,
        "waits one lease lifetime at most"
    );
    let refused = crate::lifecycle::decide(&s, &settled, plan(&s, &settled), crate::lifecycle::Prior::default());
    assert!(
        matches!(&refused, Err(crate::lifecycle::Refusal::BeingCreated(l)) if l.holder == "live-run"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_incomplete_tenant_is_listed_as_an_orphan_and_swept_while_a_complete_one_is_refused() {
    let (_cloud, platform, engine) = setup();
    let whole = spec(platform.clone(), "123456789012");
    let broken = spec(platform, "123456789013");
    for s in [&whole, &broken] {
        converge(&engine, s).await.expect("create");
        // Long since created and recorded: the creation lease is gone.
        let secret = engine
            .ports()
            .secrets
            .describe_secret(&s.names().secret)
            .await
            .expect("describe");
        let arn = secret.expect("the secret").arn;
        let keys = [crate::naming::TAG_LEASE.to_owned()];
        engine.ports().secrets.untag_resource(&arn, &keys).await.expect("untag");
    }
    let names = broken.names();
    engine
        .ports()
        .ecs
        .delete_service(&engine.platform().cluster, &names.service)
        .await
        .expect("the service goes");

    let orphans = engine.orphans().await.expect("orphans");
    let ids: Vec<&str> = orphans.iter().map(|o| o.tenant_id.as_str()).collect();
    assert_eq!(ids, ["123456789013"], "{orphans:?}");
    assert_eq!(orphans[0].missing, [Part::Service]);
    assert!(orphans[0].age.is_some() && !orphans[0].being_created);

    let refused = engine.sweep(&whole.tenant_id).await.expect_err("complete");
    assert!(refused.to_string().contains("not an orphan"), "{refused}");
    engine.sweep(&broken.tenant_id).await.expect("swept");
    let left = engine
        .observe_tenant(&broken.tenant_id, std::slice::from_ref(&broken.subdomain))
        .await
        .expect("observe");
    assert!(
        left.secret.as_ref().is_none_or(|s| s.pending_deletion)
            && Part::ALL.iter().all(|p| *p == Part::Secret || !left.has(*p)),
        "{left:?}"
    );
    assert!(left.database.is_none(), "an empty database goes with the orphan");
    assert!(engine.orphans().await.expect("orphans").is_empty());
}

/// `tenant_credentials` (the ephemeral credentials): the tenant's own
/// secret, never one that only has its name, never one being deleted.
#[tokio::test]
async fn credentials_are_read_from_the_tenants_own_secret_only() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform.clone(), "123456789012");
    converge(&engine, &s).await.expect("apply");
    let c = engine.tenant_credentials("123456789012").await.expect("credentials");
    assert_eq!(c.password, passwords(&cloud, &s).0);
    assert_eq!(
        (c.database.as_str(), c.username.as_str()),
        ("123456789012_db", "123456789012_user")
    );

    let absent = engine
        .tenant_credentials("123456789013")
        .await
        .expect_err("no such tenant");
    assert!(matches!(absent, CoreError::NotPossible { .. }), "{absent}");
    assert!(absent.to_string().contains("does not exist"), "{absent}");

    let foreign = crate::parts::SecretSpec {
        name: "dev-123456789014-db-credentials".into(),
        description: String::new(),
        tags: [("bbws:tenant".to_owned(), "999999999999".to_owned())].into(),
        client_token: None,
    };
    cloud
        .ports()
        .secrets
        .create_secret(
            &foreign,
            r#"{"host":"h","port":1,"database":"d","username":"u","password":"theirs"}"#,
        )
        .await
        .expect("foreign secret");
    let not_ours = engine.tenant_credentials("123456789014").await.expect_err("not ours");
    assert!(matches!(not_ours, CoreError::NotOwned { .. }), "{not_ours}");
    assert!(!not_ours.to_string().contains("theirs"));
}

/// The service as the fake holds it.
fn fake_service(cloud: &FakeCloud, s: &TenantSpec) -> crate::fake::FakeService {
    cloud
        .state()
        .service(&s.platform.cluster, &s.names().service)
        .cloned()
        .expect("service")
}

// The restart action: a new deployment of the same revision, waited for
// like an apply's; nothing else changes, and the plan after it is empty.
#[tokio::test(start_paused = true)]
async fn a_restart_redeploys_the_running_revision_and_waits_for_it() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    let before = converge(&engine, &s).await.expect("apply");
    let revision = before.service.as_ref().expect("service").task_definition_arn.clone();
    cloud.clear_calls();
    let after = engine
        .restart(&s.tenant_id, Some(Duration::from_secs(600)))
        .await
        .expect("restart");
    assert_eq!(fake_service(&cloud, &s).redeployments, 1);
    let svc = after.service.as_ref().expect("service");
    assert_eq!(svc.task_definition_arn, revision, "the same revision");
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
    let reads = ["Describe", "List", "Get", "Show", "Select"];
    let writes: Vec<&str> = cloud
        .calls()
        .into_iter()
        .map(|c| c.op)
        .filter(|op| {
            !reads
                .iter()
                .any(|r| op.split('.').nth(1).is_some_and(|o| o.starts_with(r)))
        })
        .collect();
    assert_eq!(
        writes,
        // The create left its lease (removed at Terraform's shutdown): the
        // run renews it, as any run over a leased tenant does.
        [
            "mysql.Observe",
            "secrets.TagResource",
            "ecs.RedeployService",
            "mysql.Observe",
            "logs.PutLogEvents"
        ],
        "a restart changes nothing else (MySQL is only read; the audit record is written)"
    );

    // Tasks that never start: the wait runs out and says so.
    cloud.state().tasks_stall = true;
    let e = engine
        .restart(&s.tenant_id, Some(Duration::from_secs(60)))
        .await
        .expect_err("not stable");
    assert!(e.to_string().contains("steady state"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_suspended_or_missing_tenant_is_not_restarted() {
    let (cloud, platform, engine) = setup();
    let mut s = spec(platform, "123456789012");
    let absent = engine.restart(&s.tenant_id, None).await.expect_err("no tenant");
    assert!(absent.to_string().contains("there is no tenant"), "{absent}");
    s.status = TenantStatus::Suspended;
    let created = converge(&engine, &s).await.expect("apply");
    let e = engine.restart(&s.tenant_id, None).await.expect_err("suspended");
    assert!(matches!(e, CoreError::NotPossible { .. }), "{e}");
    assert!(e.to_string().contains("status = \"active\""), "{e}");

    // Another process's run holding a live creation lease: not now.
    let other = Engine::new(s.platform.clone(), cloud.ports());
    let arn = created.secret.as_ref().expect("secret").arn.clone();
    let lease = crate::lease::Lease::new("another-run", std::time::SystemTime::now()).tag();
    cloud
        .ports()
        .secrets
        .tag_resource(&arn, &[lease].into_iter().collect())
        .await
        .expect("tag");
    let e = other
        .rotate_credentials(&s.tenant_id, None)
        .await
        .expect_err("being created");
    assert!(e.to_string().contains("another run is creating it"), "{e}");
}

// The rotation action: a generated password in MySQL and the secret (the
// two agree), the tasks restarted, the settings record untouched, so the
// next plan is empty.
#[tokio::test(start_paused = true)]
async fn a_rotation_gives_mysql_and_the_secret_a_new_password_and_restarts_the_tasks() {
    let (cloud, platform, engine) = setup();
    let s = spec(platform, "123456789012");
    converge(&engine, &s).await.expect("apply");
    let (old, _) = passwords(&cloud, &s);
    let after = engine.rotate_credentials(&s.tenant_id, None).await.expect("rotate");
    let (in_secret, in_mysql) = passwords(&cloud, &s);
    assert_ne!(in_secret, old);
    assert_eq!(in_secret, in_mysql);
    assert_eq!(fake_service(&cloud, &s).redeployments, 1);
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
}

// One walk creating three tenants: their records go out together, and the
// rollback of one whose service fails removes its record alone.
#[tokio::test(start_paused = true)]
async fn concurrent_creates_share_a_record_batch_and_a_rollback_removes_only_its_own() {
    let (cloud, platform, engine) = setup();
    cloud.set_latency(Duration::from_millis(20));
    let specs: Vec<TenantSpec> = ["123456789012", "123456789013", "123456789014"]
        .iter()
        .map(|id| spec(platform.clone(), id))
        .collect();
    let refused = PortError::new(PortErrorKind::AccessDenied, "AccessDeniedException", "no");
    cloud.fail_on("ecs.CreateService", Some(&specs[1].names().service), refused, 1);
    let results = futures::future::join_all(specs.iter().map(|s| converge(&engine, s))).await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(results[1].is_err());
    let creates: Vec<_> = cloud
        .calls_to("route53.ChangeResourceRecordSets")
        .into_iter()
        .filter(|c| c.target.starts_with("CREATE"))
        .collect();
    assert_eq!(creates.len(), 1, "one batch for the three: {creates:?}");
    let zone = platform.hosted_zone_id.clone();
    let listed = cloud.ports().route53.list_records(&zone).await.expect("list");
    for (i, s) in specs.iter().enumerate() {
        let there = listed.iter().any(|r| r.name == s.names().fqdn);
        assert_eq!(there, i != 1, "record of tenant {i}");
    }
}
