//! One contract suite for every implementation of the [`ports`](crate::ports)
//! (in the style of `object_store`'s shared integration tests): the in-memory
//! fake runs it in unit tests, the real AWS and MySQL ports run it against the
//! moto emulator and MariaDB in the acceptance tests.
//!
//! Each function exercises one port's whole contract on the given platform
//! under a fresh random tenant id — create, observe (names, tags, fields as
//! created), update, observe, delete, observe absent, delete again — and
//! removes what it created even when a step fails. Everything asserted here
//! is AWS's (and MySQL's) behaviour, not a fake's: where AWS leaves a choice
//! (a second delete that may succeed or report NotFound) both are accepted.
//!
//! Failures are `Err(String)` naming the port, the step, what was expected
//! and what was observed. Secret values and passwords are never printed.
//!
//! ```no_run
//! # async fn demo(ports: bbws_core::ports::Ports, platform: bbws_core::Platform) {
//! bbws_core::contract::run_all(&ports, &platform).await.unwrap();
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use crate::naming::{
    self, CONTAINER_NAME, CONTAINER_PORT, HEALTH_CHECK_PATH, TAG_ENVIRONMENT, TAG_TENANT, TenantNames, WEB_SERVER_UID,
};
use crate::parts::*;
use crate::ports::*;
use crate::spec::Platform;

/// Runs every port's contract, one after the other, and reports every
/// failure (not just the first).
pub async fn run_all(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut record = |r: Result<(), String>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    record(sts(ports, platform).await);
    record(rds(ports, platform).await);
    record(secrets(ports, platform).await);
    record(logs(ports, platform).await);
    record(metrics(ports, platform).await);
    record(alarms(ports, platform).await);
    record(topics(ports, platform).await);
    record(efs(ports, platform).await);
    record(elbv2(ports, platform).await);
    record(route53(ports, platform).await);
    record(ecs(ports, platform).await);
    record(mysql(ports, platform).await);
    record(events(ports, platform).await);
    record(objects(ports, platform).await);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

// ------------------------------------------------------------------ helpers

/// A fresh tenant for one contract run.
struct Tenant {
    id: String,
    names: TenantNames,
    tags: Tags,
}

impl Tenant {
    fn new(platform: &Platform) -> Self {
        let id = naming::generate_tenant_id();
        let names = TenantNames::new(platform.environment, &id, &id, &platform.domain);
        let mut tags = Tags::new();
        tags.insert(TAG_TENANT.into(), id.clone());
        tags.insert(TAG_ENVIRONMENT.into(), platform.environment.as_str().into());
        tags.insert("purpose".into(), "bbws-contract".into());
        Tenant { id, names, tags }
    }
}

fn extra_tag() -> Tags {
    let mut t = Tags::new();
    t.insert("contract-step".into(), "tagged".into());
    t
}

fn with_extra(tags: &Tags) -> Tags {
    let mut t = tags.clone();
    t.extend(extra_tag());
    t
}

/// The key of [`extra_tag`], for the untag steps.
fn extra_keys() -> Vec<String> {
    extra_tag().into_keys().collect()
}

/// Whether every expected tag is present with its value (AWS may add more).
fn has_tags(observed: &Tags, expected: &Tags) -> bool {
    expected.iter().all(|(k, v)| observed.get(k) == Some(v))
}

/// Names a port and builds failure messages for it.
#[derive(Clone, Copy)]
struct Check(&'static str);

impl Check {
    fn fail(self, step: &str, expected: impl std::fmt::Display, observed: impl Debug) -> String {
        format!(
            "{} contract, step {step:?}: expected {expected}, observed {observed:?}",
            self.0
        )
    }

    /// The call must succeed.
    fn ok<T>(self, step: &str, r: PortResult<T>) -> Result<T, String> {
        r.map_err(|e| self.fail(step, "success", e))
    }

    /// The call must fail with one of `kinds`. (A success is not printed:
    /// it may carry a secret.)
    fn err<T>(self, step: &str, r: PortResult<T>, kinds: &[PortErrorKind]) -> Result<PortError, String> {
        match r {
            Err(e) if kinds.contains(&e.kind) => Ok(e),
            Err(e) => Err(self.fail(step, format!("an error of kind {kinds:?}"), e)),
            Ok(_) => Err(self.fail(step, format!("an error of kind {kinds:?}"), "success")),
        }
    }

    /// The call must fail, any way.
    fn any_err<T>(self, step: &str, r: PortResult<T>) -> Result<PortError, String> {
        r.err().ok_or_else(|| self.fail(step, "an error", "success"))
    }

    /// A second delete: success (idempotent) or NotFound.
    fn gone(self, step: &str, r: PortResult<()>) -> Result<(), String> {
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.fail(step, "success or a NotFound error", e)),
        }
    }

    fn ensure(
        self,
        cond: bool,
        step: &str,
        expected: impl std::fmt::Display,
        observed: impl Debug,
    ) -> Result<(), String> {
        if cond {
            Ok(())
        } else {
            Err(self.fail(step, expected, observed))
        }
    }

    fn eq<T: PartialEq + Debug>(self, step: &str, what: &str, expected: &T, observed: &T) -> Result<(), String> {
        self.ensure(expected == observed, step, format!("{what} = {expected:?}"), observed)
    }

    /// The tags include `expected` and no longer [`extra_tag`]'s key.
    fn untagged(self, step: &str, expected: &Tags, observed: &Tags) -> Result<(), String> {
        self.tags(step, expected, observed)?;
        self.ensure(
            extra_keys().iter().all(|k| !observed.contains_key(k)),
            step,
            "the removed tag gone",
            observed,
        )
    }

    fn tags(self, step: &str, expected: &Tags, observed: &Tags) -> Result<(), String> {
        self.ensure(
            has_tags(observed, expected),
            step,
            format!("tags including {expected:?}"),
            observed,
        )
    }
}

/// What a contract run created, removed newest first whatever happened.
#[derive(Default)]
struct Cleanup {
    steps: Vec<Undo>,
    mysql: Option<Arc<dyn MysqlAdmin>>,
}

enum Undo {
    Service(String, String),
    TaskFamily(String),
    Rule(String),
    TargetGroup(String),
    Record(ObservedDnsRecord),
    AccessPoint(String),
    LogGroup(String),
    Secret(String),
    Database(String),
    User(String),
    Scaling(String),
}

impl Cleanup {
    fn push(&mut self, u: Undo) {
        self.steps.push(u);
    }

    /// Best effort: errors (mostly "already gone") are ignored.
    async fn run(self, ports: &Ports) {
        for u in self.steps.into_iter().rev() {
            let _ = match u {
                Undo::Service(c, n) => ports.ecs.delete_service(&c, &n).await,
                Undo::TaskFamily(f) => {
                    for arn in ports.ecs.list_task_definitions(&f).await.unwrap_or_default() {
                        let _ = ports.ecs.deregister_task_definition(&arn).await;
                    }
                    Ok(())
                }
                Undo::Rule(arn) => ports.elbv2.delete_rule(&arn).await,
                Undo::TargetGroup(arn) => ports.elbv2.delete_target_group(&arn).await,
                Undo::Record(r) => ports.route53.delete_record(&r).await,
                Undo::AccessPoint(id) => ports.efs.delete_access_point(&id).await,
                Undo::LogGroup(n) => ports.logs.delete_log_group(&n).await,
                Undo::Scaling(id) => ports.scaling.deregister_target(&id).await,
                Undo::Secret(arn) => ports.secrets.delete_secret(&arn, 0).await,
                Undo::User(n) => match &self.mysql {
                    Some(m) => m.drop_user(&n).await,
                    None => Ok(()),
                },
                Undo::Database(n) => match &self.mysql {
                    Some(m) => m.drop_database(&n).await,
                    None => Ok(()),
                },
            };
        }
    }
}

/// A rule priority on the listener that no rule uses: random in the upper
/// half, so that tenants (spread over the whole range) are rarely in the way.
fn free_priority(rules: &[ObservedListenerRule]) -> Option<u32> {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..1000)
        .map(|_| rng.random_range(40_000..=50_000u32))
        .find(|p| rules.iter().all(|r| r.priority != *p))
}

/// Creates a forwarding rule at a free priority, retrying when someone else
/// takes it first.
async fn create_rule_somewhere(
    ports: &Ports,
    c: Check,
    step: &str,
    spec: &ListenerRuleSpec,
) -> Result<ObservedListenerRule, String> {
    let mut last = None;
    for _ in 0..5 {
        let rules = c.ok(
            &format!("{step}: describe rules"),
            ports.elbv2.describe_rules(&spec.listener_arn).await,
        )?;
        let priority =
            free_priority(&rules).ok_or_else(|| c.fail(step, "a free priority in 40000..=50000", rules.len()))?;
        match ports.elbv2.create_rule(spec, priority).await {
            Err(e) if e.kind == PortErrorKind::PriorityInUse => last = Some(e),
            other => return c.ok(step, other),
        }
    }
    Err(c.fail(step, "a rule at a free priority", last))
}

fn normalise_dns(s: &str) -> String {
    s.trim_end_matches('.')
        .trim_start_matches("dualstack.")
        .to_ascii_lowercase()
}

fn normalise_target(t: &RecordTarget) -> RecordTarget {
    match t {
        RecordTarget::Alias {
            dns_name,
            hosted_zone_id,
        } => RecordTarget::Alias {
            dns_name: normalise_dns(dns_name),
            hosted_zone_id: hosted_zone_id.trim_start_matches("/hostedzone/").to_owned(),
        },
        RecordTarget::Cname(v) => RecordTarget::Cname(normalise_dns(v)),
        other => other.clone(),
    }
}

// ------------------------------------------------------------------ STS, RDS

/// STS: the caller has an ARN.
pub async fn sts(ports: &Ports, _platform: &Platform) -> Result<(), String> {
    let c = Check("sts");
    let arn = c.ok("caller_arn", ports.sts.caller_arn().await)?;
    c.ensure(arn.starts_with("arn:"), "caller_arn", "an ARN (arn:…)", arn)
}

/// RDS: the platform's instance has an endpoint; an unknown one is NotFound.
pub async fn rds(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let c = Check("rds");
    let id = &platform.database.instance_identifier;
    let (host, port) = c.ok(
        "instance_endpoint of the platform's instance",
        ports.rds.instance_endpoint(id).await,
    )?;
    c.ensure(
        !host.is_empty() && port != 0,
        "instance_endpoint of the platform's instance",
        "a host and a port",
        (host, port),
    )?;
    let missing = format!("bbws-contract-missing-{}", naming::generate_tenant_id());
    c.err(
        "instance_endpoint of an unknown instance",
        ports.rds.instance_endpoint(&missing).await,
        &[PortErrorKind::NotFound],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ EventBridge

/// EventBridge: an event is put on the platform's bus (`default` when it
/// has none); an entry EventBridge refuses — a detail that is not JSON,
/// which PutEvents answers 200 with `FailedEntryCount` 1 — is an error, and
/// so is an entry over 256 KB (the real port refuses it unsent, as AWS
/// would). What a rule delivers is read back in `tests/events.rs`.
pub async fn events(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let c = Check("events");
    let t = Tenant::new(platform);
    let bus = platform.events.as_ref().map_or("default", |e| e.bus_name.as_str());
    let event = |detail: String| BusEvent {
        bus_name: bus.to_owned(),
        source: "bbws-contract".to_owned(),
        detail_type: "Contract Step".to_owned(),
        detail,
        resources: vec![format!(
            "arn:aws:ecs:{}:123456789012:service/contract/{}",
            platform.region, t.id
        )],
        time: std::time::SystemTime::now(),
    };
    let detail = serde_json::json!({ "tenant": t.id, "step": "put" }).to_string();
    c.ok("put_event", ports.events.put_event(&event(detail)).await)?;
    c.err(
        "put_event with a detail that is not JSON",
        ports.events.put_event(&event("not json".to_owned())).await,
        &[PortErrorKind::InvalidInput],
    )?;
    let padding = "x".repeat(MAX_EVENT_ENTRY_BYTES);
    let huge = serde_json::json!({ "tenant": t.id, "padding": padding }).to_string();
    c.err(
        "put_event over 256 KB",
        ports.events.put_event(&event(huge)).await,
        &[PortErrorKind::InvalidInput],
    )?;
    // AWS accepts (and drops) events for a bus that does not exist; moto
    // refuses them: either is the contract.
    let mut missing = event(serde_json::json!({ "tenant": t.id }).to_string());
    missing.bus_name = format!("bbws-contract-missing-{}", t.id);
    match ports.events.put_event(&missing).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind == PortErrorKind::NotFound => Ok(()),
        Err(e) => Err(c.fail("put_event on a bus that does not exist", "success or NotFound", e)),
    }
}

// ------------------------------------------------------------------ Secrets

/// Secrets Manager: create, read, update, tag, name collision, deletion with
/// a recovery window (pending, unreadable, restorable), forced deletion.
pub async fn secrets(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = secrets_steps(ports, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

async fn secrets_steps(ports: &Ports, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("secrets");
    let api = &ports.secrets;
    let name = &t.names.secret;
    let value1 = serde_json::json!({ "username": t.names.database_user, "password": crate::fake::random_password() })
        .to_string();
    let value2 = serde_json::json!({ "username": t.names.database_user, "password": crate::fake::random_password() })
        .to_string();

    let before = c.ok("describe before create", api.describe_secret(name).await)?;
    c.ensure(before.is_none(), "describe before create", "no secret", &before)?;
    c.err(
        "get_secret_value of a missing secret",
        api.get_secret_value(name).await,
        &[PortErrorKind::NotFound],
    )?;
    c.err(
        "delete_secret of a missing secret",
        api.delete_secret(name, 7).await,
        &[PortErrorKind::NotFound],
    )?;

    let spec = SecretSpec {
        name: name.clone(),
        description: "bbws contract test".into(),
        tags: t.tags.clone(),
        client_token: None,
    };
    let created = c.ok("create_secret", api.create_secret(&spec, &value1).await)?;
    cleanup.push(Undo::Secret(created.arn.clone()));
    c.eq("create_secret", "name", name, &created.name)?;
    c.ensure(
        created.arn.starts_with("arn:aws:secretsmanager:") && created.arn.contains(&format!(":secret:{name}")),
        "create_secret",
        format!("an ARN arn:aws:secretsmanager:…:secret:{name}-…"),
        &created.arn,
    )?;
    c.tags("create_secret", &t.tags, &created.tags)?;
    c.ensure(
        !created.pending_deletion,
        "create_secret",
        "not pending deletion",
        &created,
    )?;

    for (step, key) in [
        ("describe by name", name.as_str()),
        ("describe by ARN", created.arn.as_str()),
    ] {
        let d = c.ok(step, api.describe_secret(key).await)?;
        let d = d.ok_or_else(|| c.fail(step, "the secret", "none"))?;
        c.eq(step, "ARN", &created.arn, &d.arn)?;
        c.eq(step, "name", name, &d.name)?;
        c.tags(step, &t.tags, &d.tags)?;
        c.ensure(!d.pending_deletion, step, "not pending deletion", &d)?;
    }

    let v = c.ok("get_secret_value", api.get_secret_value(&created.arn).await)?;
    c.ensure(
        v == value1,
        "get_secret_value",
        "the value stored at creation",
        "another value",
    )?;
    c.ok("put_secret_value", api.put_secret_value(&created.arn, &value2).await)?;
    let v = c.ok("get_secret_value after put", api.get_secret_value(&created.arn).await)?;
    c.ensure(
        v == value2,
        "get_secret_value after put",
        "the value put",
        "another value",
    )?;

    c.ok("tag_resource", api.tag_resource(&created.arn, &extra_tag()).await)?;
    let d = c.ok("describe after tag_resource", api.describe_secret(name).await)?;
    let d = d.ok_or_else(|| c.fail("describe after tag_resource", "the secret", "none"))?;
    c.tags("describe after tag_resource", &with_extra(&t.tags), &d.tags)?;
    c.ok("untag_resource", api.untag_resource(&created.arn, &extra_keys()).await)?;
    let d = c.ok("describe after untag_resource", api.describe_secret(name).await)?;
    let d = d.ok_or_else(|| c.fail("describe after untag_resource", "the secret", "none"))?;
    c.untagged("describe after untag_resource", &t.tags, &d.tags)?;

    let step = "create_secret with a taken name";
    match api.create_secret(&spec, &value1).await {
        Err(e) if e.kind == PortErrorKind::AlreadyExists => {}
        Err(e) => return Err(c.fail(step, "an AlreadyExists error", e)),
        Ok(s) => {
            cleanup.push(Undo::Secret(s.arn.clone()));
            return Err(c.fail(step, "an AlreadyExists error", s));
        }
    }

    c.ok(
        "delete_secret with a 7-day recovery window",
        api.delete_secret(&created.arn, 7).await,
    )?;
    let d = c.ok("describe while pending deletion", api.describe_secret(name).await)?;
    let d = d.ok_or_else(|| c.fail("describe while pending deletion", "the secret, still described", "none"))?;
    let listed = c.ok("list_secrets while pending deletion", api.list_secrets(name).await)?;
    c.eq(
        "list_secrets while pending deletion",
        "what describe_secret says",
        &vec![d.clone()],
        &listed,
    )?;
    c.ensure(
        d.pending_deletion,
        "describe while pending deletion",
        "pending_deletion = true",
        &d,
    )?;
    c.any_err(
        "get_secret_value while pending deletion",
        api.get_secret_value(&created.arn).await,
    )?;
    if let Ok(s) = api.create_secret(&spec, &value1).await {
        cleanup.push(Undo::Secret(s.arn.clone()));
        return Err(c.fail(
            "create_secret with the name of a secret pending deletion",
            "an error",
            s,
        ));
    }

    c.ok(
        "delete_secret again while pending deletion (a retry whose first answer was lost)",
        api.delete_secret(&created.arn, 7).await,
    )?;
    c.ok("restore_secret", api.restore_secret(&created.arn).await)?;
    let d = c.ok("describe after restore", api.describe_secret(name).await)?;
    let d = d.ok_or_else(|| c.fail("describe after restore", "the secret", "none"))?;
    c.ensure(
        !d.pending_deletion,
        "describe after restore",
        "pending_deletion = false",
        &d,
    )?;
    let v = c.ok(
        "get_secret_value after restore",
        api.get_secret_value(&created.arn).await,
    )?;
    c.ensure(
        v == value2,
        "get_secret_value after restore",
        "the value from before the deletion",
        "another value",
    )?;

    // Recovery window 0: deletion without recovery (AWS's
    // ForceDeleteWithoutRecovery, which completes asynchronously).
    c.ok(
        "delete_secret without recovery (window 0)",
        api.delete_secret(&created.arn, 0).await,
    )?;
    let d = c.ok(
        "describe after deletion without recovery",
        api.describe_secret(name).await,
    )?;
    c.ensure(
        d.as_ref().is_none_or(|d| d.pending_deletion),
        "describe after deletion without recovery",
        "no secret (or one still being deleted)",
        &d,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ Logs

/// CloudWatch Logs: log group lifecycle, prefix search, retention, tags,
/// appending events (which creates the group).
pub async fn logs(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = logs_steps(ports, platform, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

async fn logs_steps(ports: &Ports, platform: &Platform, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("logs");
    let api = &ports.logs;
    let name = &t.names.log_group;
    let find = |groups: &[ObservedLogGroup], n: &str| groups.iter().find(|g| g.name == n).cloned();

    let before = c.ok("describe before create", api.describe_log_groups(name).await)?;
    c.ensure(
        find(&before, name).is_none(),
        "describe before create",
        "no such log group",
        &before,
    )?;

    // Its ARN formed as AWS forms it: describing it must find that one.
    let like = platform.listener_arns.first().map_or("", String::as_str);
    let spec = LogGroupSpec {
        name: name.clone(),
        retention_days: 30,
        tags: t.tags.clone(),
        arn: crate::naming::log_group_arn(like, name),
    };
    let created = c.ok("create_log_group", api.create_log_group(&spec).await)?;
    cleanup.push(Undo::LogGroup(name.clone()));
    c.eq("create_log_group", "name", name, &created.name)?;
    c.ensure(
        created.arn.starts_with("arn:aws:logs:") && created.arn.ends_with(&format!(":log-group:{name}")),
        "create_log_group",
        format!("an ARN arn:aws:logs:…:log-group:{name} (without :*)"),
        &created.arn,
    )?;
    c.eq("create_log_group", "retention", &Some(30), &created.retention_days)?;
    c.tags("create_log_group", &t.tags, &created.tags)?;

    let groups = c.ok("describe after create", api.describe_log_groups(name).await)?;
    let g = find(&groups, name).ok_or_else(|| c.fail("describe after create", "the log group", &groups))?;
    c.eq("describe after create", "ARN", &created.arn, &g.arn)?;
    c.eq("describe after create", "retention", &Some(30), &g.retention_days)?;
    c.tags("describe after create", &t.tags, &g.tags)?;

    c.err(
        "create_log_group with a taken name",
        api.create_log_group(&spec).await,
        &[PortErrorKind::AlreadyExists],
    )?;

    c.ok("put_retention_policy", api.put_retention_policy(name, 60).await)?;
    c.ok("tag_log_group", api.tag_log_group(&created.arn, &extra_tag()).await)?;
    let groups = c.ok("describe after update", api.describe_log_groups(name).await)?;
    let g = find(&groups, name).ok_or_else(|| c.fail("describe after update", "the log group", &groups))?;
    c.eq("describe after update", "retention", &Some(60), &g.retention_days)?;
    c.tags("describe after update", &with_extra(&t.tags), &g.tags)?;

    c.ok(
        "append_event to the group",
        api.append_event(name, "contract", "hello from the contract").await,
    )?;
    let audit = format!("{name}-audit");
    cleanup.push(Undo::LogGroup(audit.clone()));
    c.ok(
        "append_event to a missing group",
        api.append_event(&audit, "contract", "created on demand").await,
    )?;
    c.ok(
        "append_event_to_new_stream, a new stream",
        api.append_event_to_new_stream(name, "contract-new", "first of a new stream")
            .await,
    )?;
    c.ok(
        "append_event_to_new_stream, a stream that exists",
        api.append_event_to_new_stream(name, "contract-new", "second of it")
            .await,
    )?;
    filter_steps(c, api.as_ref(), name).await?;
    let mut of_new = Vec::new();
    let mut page = None;
    loop {
        let got = c.ok("filter_events, the new stream", api.filter_events(name, 0, page).await)?;
        of_new.extend(
            got.events
                .into_iter()
                .filter(|e| e.stream == "contract-new")
                .map(|e| e.message),
        );
        match got.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    c.eq(
        "filter_events, the new stream",
        "both events of append_event_to_new_stream",
        &vec!["first of a new stream".to_owned(), "second of it".to_owned()],
        &of_new,
    )?;
    let groups = c.ok("describe by prefix", api.describe_log_groups(name).await)?;
    c.ensure(
        find(&groups, name).is_some() && find(&groups, &audit).is_some(),
        "describe by prefix",
        format!("both {name} and {audit} (created by append_event)"),
        groups.iter().map(|g| &g.name).collect::<Vec<_>>(),
    )?;

    // A listing of many groups reads their tags in bulk: each still has
    // exactly its own (and an untagged one none).
    let tagged = format!("{name}-bulk-tagged");
    let untagged = format!("{name}-bulk-untagged");
    let mut bulk_tags = t.tags.clone();
    bulk_tags.insert("bbws:contract".into(), "bulk".into());
    for (group, tags) in [(&tagged, bulk_tags.clone()), (&untagged, Tags::new())] {
        cleanup.push(Undo::LogGroup(group.clone()));
        // No ARN given: read back for it.
        let spec = LogGroupSpec {
            name: group.clone(),
            retention_days: 7,
            tags,
            arn: None,
        };
        c.ok("create_log_group (bulk)", api.create_log_group(&spec).await)?;
    }
    let groups = c.ok("describe many by prefix", api.describe_log_groups(name).await)?;
    for (group, want) in [
        (name, with_extra(&t.tags)),
        (&tagged, bulk_tags),
        (&untagged, Tags::new()),
    ] {
        let g = find(&groups, group).ok_or_else(|| c.fail("describe many by prefix", group, &groups))?;
        c.eq("describe many by prefix", "tags", &want, &g.tags)?;
    }
    c.ok(
        "untag_log_group",
        api.untag_log_group(&created.arn, &extra_keys()).await,
    )?;
    let groups = c.ok("describe after untag", api.describe_log_groups(name).await)?;
    let g = find(&groups, name).ok_or_else(|| c.fail("describe after untag", "the log group", &groups))?;
    c.untagged("describe after untag", &t.tags, &g.tags)?;
    c.ok("delete_log_group (bulk tagged)", api.delete_log_group(&tagged).await)?;
    c.ok(
        "delete_log_group (bulk untagged)",
        api.delete_log_group(&untagged).await,
    )?;

    c.ok("delete_log_group", api.delete_log_group(name).await)?;
    c.ok("delete_log_group (appended)", api.delete_log_group(&audit).await)?;
    let groups = c.ok("describe after delete", api.describe_log_groups(name).await)?;
    c.ensure(
        groups.iter().all(|g| g.name != *name && g.name != audit),
        "describe after delete",
        "no log group",
        &groups,
    )?;
    c.err(
        "delete_log_group again",
        api.delete_log_group(name).await,
        &[PortErrorKind::NotFound],
    )?;
    Ok(())
}

/// Reading events back: every stream interleaved oldest first, across
/// pages, from a start time; a missing group is NotFound.
async fn filter_steps(c: Check, api: &dyn crate::ports::LogsApi, name: &str) -> Result<(), String> {
    for i in 0..12 {
        let stream = if i % 2 == 0 { "contract" } else { "contract-2" };
        c.ok(
            "append_event",
            api.append_event(name, stream, &format!("event {i}")).await,
        )?;
    }
    let mut events = Vec::new();
    let mut page = None;
    loop {
        let got = c.ok("filter_events", api.filter_events(name, 0, page).await)?;
        events.extend(got.events);
        match got.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    let mut messages: Vec<String> = events.iter().map(|e| e.message.clone()).collect();
    messages.retain(|m| m.starts_with("event "));
    let expected: Vec<String> = (0..12).map(|i| format!("event {i}")).collect();
    c.eq("filter_events", "every event, oldest first", &expected, &messages)?;
    c.ensure(
        events.windows(2).all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
            && events.iter().all(|e| !e.event_id.is_empty()),
        "filter_events",
        "timestamps in order, each event with an id",
        &events,
    )?;
    let future = c.ok(
        "filter_events from later",
        api.filter_events(name, i64::MAX / 2, None).await,
    )?;
    c.ensure(
        future.events.is_empty(),
        "filter_events from later",
        "no event",
        &future,
    )?;
    c.err(
        "filter_events of a missing group",
        api.filter_events(&format!("{name}-missing"), 0, None).await,
        &[PortErrorKind::NotFound],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ metrics

/// CloudWatch metrics: a query is answered under its own id, in order, and
/// a metric nobody published has no points.
pub async fn metrics(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let c = Check("metrics");
    let query = |id: &str, metric: &str| crate::ports::MetricQuery {
        id: id.into(),
        namespace: "bbws/contract".into(),
        metric: metric.into(),
        dimensions: vec![("ClusterName".into(), platform.cluster.clone())],
        stat: "Sum".into(),
        period_seconds: 300,
    };
    let queries = [
        query("first", "NeverPublished"),
        query("second", "NeverPublishedEither"),
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    let series = c.ok(
        "metric_data",
        ports.metrics.metric_data(&queries, now - 3600, now).await,
    )?;
    let ids: Vec<&str> = series.iter().map(|s| s.id.as_str()).collect();
    c.eq(
        "metric_data",
        "one series per query, in order",
        &vec!["first", "second"],
        &ids,
    )?;
    c.ensure(
        series.iter().all(|s| s.points.is_empty()),
        "metric_data",
        "no points",
        &series,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ alarms

/// The region and account of an ARN (`arn:aws:<service>:<region>:<account>:…`).
fn region_and_account(arn: &str) -> (String, String) {
    let mut fields = arn.split(':').skip(3);
    let region = fields.next().unwrap_or("eu-west-1").to_owned();
    let account = fields.next().unwrap_or("123456789012").to_owned();
    (region, account)
}

/// The alarms a tenant gets, for a load balancer and target group that
/// need not exist (CloudWatch does not look dimensions up).
fn contract_alarms(platform: &Platform, t: &Tenant) -> Vec<AlarmDefinition> {
    let (region, account) = region_and_account(platform.first_listener());
    let topic = platform
        .alarm_topic_arn
        .clone()
        .unwrap_or_else(|| format!("arn:aws:sns:{region}:{account}:bbws-contract"));
    let spec = AlarmsSpec {
        topic_arn: topic,
        names: t.names.alarms.clone(),
        owner: naming::alarm_owner_line(platform.environment, &t.id),
        cluster: platform.cluster.rsplit('/').next().unwrap_or_default().to_owned(),
        service: t.names.service.clone(),
        load_balancer_arn: format!(
            "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/bbws-contract/0123456789abcdef"
        ),
        tags: t.tags.clone(),
    };
    spec.definitions(&format!(
        "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{}/0123456789abcdef",
        t.names.target_group
    ))
}

/// CloudWatch alarms: each put is observed as defined (metric math,
/// dimensions, threshold, periods, the topic as both actions, the
/// comparison and missing-data settings bbws always sets); a second put
/// replaces in place; missing names are absent from a describe and no
/// error to delete.
pub async fn alarms(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let names = t.names.alarms.to_vec();
    let r = alarms_steps(ports, platform, &t).await;
    let _ = ports.alarms.delete_alarms(&names).await;
    r
}

async fn alarms_steps(ports: &Ports, platform: &Platform, t: &Tenant) -> Result<(), String> {
    let c = Check("alarms");
    let api = &ports.alarms;
    let names = t.names.alarms.to_vec();
    let none = c.ok("describe before put", api.describe_alarms(&names).await)?;
    c.ensure(none.is_empty(), "describe before put", "no alarms", &none)?;
    let mut wanted = contract_alarms(platform, t);
    for a in &wanted {
        c.ok("put", api.put_alarm(a, &t.tags).await)?;
    }
    check_alarms(c, "describe after put", api.describe_alarms(&names).await, &wanted)?;
    wanted[0].threshold += 7;
    wanted[0].datapoints_to_alarm = 1;
    c.ok("put again (replace)", api.put_alarm(&wanted[0], &t.tags).await)?;
    check_alarms(c, "describe after replace", api.describe_alarms(&names).await, &wanted)?;
    let one = c.ok("describe one", api.describe_alarms(&names[1..2]).await)?;
    c.eq(
        "describe one",
        "names",
        &vec![names[1].clone()],
        &one.iter().map(|a| a.definition.name.clone()).collect(),
    )?;
    c.ok("delete", api.delete_alarms(&names).await)?;
    let gone = c.ok("describe after delete", api.describe_alarms(&names).await)?;
    c.ensure(gone.is_empty(), "describe after delete", "no alarms", &gone)?;
    c.ok("delete again", api.delete_alarms(&names).await)
}

fn check_alarms(
    c: Check,
    step: &str,
    observed: PortResult<Vec<ObservedAlarm>>,
    wanted: &[AlarmDefinition],
) -> Result<(), String> {
    let observed = c.ok(step, observed)?;
    c.eq(step, "how many", &wanted.len(), &observed.len())?;
    for want in wanted {
        let got = observed.iter().find(|a| a.definition.name == want.name);
        c.ensure(got.is_some_and(|a| a.is(want)), step, format!("{want:?} as set"), got)?;
    }
    Ok(())
}

/// SNS: the platform's alarm topic (when it has one) exists, a topic
/// nobody made does not, and neither answer is an error.
pub async fn topics(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let c = Check("topics");
    if let Some(topic) = &platform.alarm_topic_arn {
        let found = c.ok("topic_exists (the platform's)", ports.topics.topic_exists(topic).await)?;
        c.eq("topic_exists (the platform's)", "exists", &true, &found)?;
    }
    let (region, account) = region_and_account(platform.first_listener());
    let missing = format!(
        "arn:aws:sns:{region}:{account}:bbws-contract-{}",
        naming::generate_tenant_id()
    );
    let found = c.ok("topic_exists (missing)", ports.topics.topic_exists(&missing).await)?;
    c.eq("topic_exists (missing)", "exists", &false, &found)
}

// ------------------------------------------------------------------ ACM

/// How long [`certificates`] waits for a requested certificate to issue
/// (moto: `MOTO_ACM_VALIDATION_WAIT`, 3 s in the stack; the fake: when
/// told, see `FakeCloud::issue_certificates`).
const ISSUE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// ACM and a listener's SNI certificates: a request is pending with its
/// names, the same request (same token) is the same certificate; once
/// issued a listener serves it, adding it twice keeps it once, removing
/// it twice is no error; a deleted certificate is gone and a second
/// delete is NotFound. Not here, because moto is more lenient than AWS
/// and only the fake models it (fake/tests.rs): a listener refuses a
/// pending certificate, and ACM refuses to delete one a listener serves.
/// Not in [`run_all`]: it waits for issuance.
pub async fn certificates(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut arn = None;
    let r = certificates_steps(ports, platform, &t, &mut arn).await;
    if let Some(arn) = arn {
        let _ = ports
            .elbv2
            .remove_listener_certificate(platform.first_listener(), &arn)
            .await;
        let _ = ports.certificates.delete_certificate(&arn).await;
    }
    r
}

async fn certificates_steps(
    ports: &Ports,
    platform: &Platform,
    t: &Tenant,
    created: &mut Option<String>,
) -> Result<(), String> {
    let c = Check("certificates");
    let api = &ports.certificates;
    let domains = vec![
        format!("{}.contract.example.org", t.id),
        format!("www.{}.contract.example.org", t.id),
    ];
    let request = CertificateRequest {
        domains: domains.clone(),
        tags: t.tags.clone(),
        idempotency_token: t.id.replace('-', "_"),
    };
    let arn = c.ok("request", api.request_certificate(&request).await)?;
    *created = Some(arn.clone());
    let again = c.ok("request again", api.request_certificate(&request).await)?;
    c.eq("request again", "the same certificate", &arn, &again)?;
    let cert = c.ok("describe", api.describe_certificate(&arn).await)?;
    let cert = cert.ok_or_else(|| c.fail("describe", "the certificate", "none"))?;
    c.ensure(
        cert.names_exactly(&domains),
        "describe",
        format!("names {domains:?}"),
        &cert.domains,
    )?;
    c.eq("describe", "domain name first", &domains[0], &cert.domains[0])?;
    c.ensure(
        cert.status != CertificateStatus::Issued || !cert.validation_records.is_empty(),
        "describe",
        "validation records",
        &cert,
    )?;
    wait_issued(c, api.as_ref(), &arn).await?;
    listener_certificate_steps(c, ports, platform.first_listener(), &arn).await?;
    c.ok("delete", api.delete_certificate(&arn).await)?;
    let gone = c.ok("describe after delete", api.describe_certificate(&arn).await)?;
    c.eq("describe after delete", "nothing", &None, &gone)?;
    c.err(
        "delete again",
        api.delete_certificate(&arn).await,
        &[PortErrorKind::NotFound],
    )?;
    *created = None;
    Ok(())
}

async fn wait_issued(c: Check, api: &dyn CertificatesApi, arn: &str) -> Result<(), String> {
    let start = std::time::Instant::now();
    loop {
        let cert = c.ok("wait for issue", api.describe_certificate(arn).await)?;
        match cert.map(|x| x.status) {
            Some(CertificateStatus::Issued) => return Ok(()),
            Some(CertificateStatus::PendingValidation) if start.elapsed() < ISSUE_WAIT => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => return Err(c.fail("wait for issue", "ISSUED", other)),
        }
    }
}

async fn listener_certificate_steps(c: Check, ports: &Ports, listener: &str, arn: &str) -> Result<(), String> {
    let elb = &ports.elbv2;
    let served = |l: &[String]| l.iter().filter(|x| *x == arn).count();
    let before = c.ok(
        "listener certificates before",
        elb.listener_certificates(listener).await,
    )?;
    c.eq("listener certificates before", "not served", &0, &served(&before))?;
    c.ok("add to listener", elb.add_listener_certificate(listener, arn).await)?;
    c.ok(
        "add to listener again",
        elb.add_listener_certificate(listener, arn).await,
    )?;
    let after = c.ok("listener certificates", elb.listener_certificates(listener).await)?;
    c.eq("listener certificates", "served once", &1, &served(&after))?;
    c.ok(
        "remove from listener",
        elb.remove_listener_certificate(listener, arn).await,
    )?;
    c.gone("remove again", elb.remove_listener_certificate(listener, arn).await)?;
    let removed = c.ok(
        "listener certificates after remove",
        elb.listener_certificates(listener).await,
    )?;
    c.eq(
        "listener certificates after remove",
        "not served",
        &0,
        &served(&removed),
    )
}

// ------------------------------------------------------------------ scaling

fn cpu_policy(resource_id: &str, target: u32) -> TrackingPolicy {
    TrackingPolicy {
        name: format!("{}-cpu", resource_id.rsplit('/').next().unwrap_or_default()),
        metric: TrackedMetric::Cpu,
        target,
    }
}

/// Application Auto Scaling of the contract's service (it needs one that
/// exists): a target's range and its target-tracking policies, each
/// changed in place; a missing one is NotFound; deregistering takes the
/// policies with it.
async fn scaling_steps(ports: &Ports, rid: &str, label: &str, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("scaling");
    let api = &ports.scaling;
    let before = c.ok("describe_scaling before register", api.describe_scaling(rid).await)?;
    c.eq("describe_scaling before register", "nothing", &None, &before)?;
    // AWS refuses both with a ValidationException; moto 5.2.5 registers
    // them, so either answer passes here (a registered one is removed
    // again) and the fake holds AWS's (fake/tests.rs).
    cleanup.push(Undo::Scaling(rid.to_owned()));
    let missing = format!("{rid}-missing");
    cleanup.push(Undo::Scaling(missing.clone()));
    for (step, id, min, max) in [
        ("register_target with min > max", rid, 3, 1),
        ("register_target of a missing service", missing.as_str(), 0, 1),
    ] {
        match api.register_target(id, min, max).await {
            Ok(()) => {
                let _ = api.deregister_target(id).await;
            }
            Err(e) if e.kind == PortErrorKind::InvalidInput => {}
            Err(e) => return Err(c.fail(step, "InvalidInput (AWS) or success (moto)", e)),
        }
    }
    c.ok("register_target", api.register_target(rid, 0, 2).await)?;
    let cpu = cpu_policy(rid, 60);
    let requests = TrackingPolicy {
        name: format!("{}-requests", cpu.name.trim_end_matches("-cpu")),
        metric: TrackedMetric::RequestsPerTarget {
            resource_label: label.to_owned(),
        },
        target: 100,
    };
    c.ok("put_policy cpu", api.put_policy(rid, &cpu).await)?;
    c.ok("put_policy requests", api.put_policy(rid, &requests).await)?;
    let expected = ObservedScaling {
        resource_id: rid.to_owned(),
        min: 0,
        max: 2,
        policies: vec![cpu.clone(), requests.clone()],
    };
    let got = c.ok("describe_scaling", api.describe_scaling(rid).await)?;
    c.eq(
        "describe_scaling",
        "the target and both policies",
        &Some(expected.clone()),
        &got,
    )?;

    // Changed in place: the range keeps the policies, a put replaces one.
    c.ok("register_target again", api.register_target(rid, 1, 3).await)?;
    c.ok("put_policy cpu again", api.put_policy(rid, &cpu_policy(rid, 45)).await)?;
    c.ok("delete_policy requests", api.delete_policy(rid, &requests.name).await)?;
    c.err(
        "delete_policy requests again",
        api.delete_policy(rid, &requests.name).await,
        &[PortErrorKind::NotFound],
    )?;
    let changed = ObservedScaling {
        min: 1,
        max: 3,
        policies: vec![cpu_policy(rid, 45)],
        ..expected
    };
    let got = c.ok("describe_scaling after changes", api.describe_scaling(rid).await)?;
    c.eq(
        "describe_scaling after changes",
        "the new range and policy",
        &Some(changed),
        &got,
    )?;

    c.ok("deregister_target", api.deregister_target(rid).await)?;
    let got = c.ok("describe_scaling after deregister", api.describe_scaling(rid).await)?;
    c.eq("describe_scaling after deregister", "nothing", &None, &got)?;
    c.err(
        "deregister_target again",
        api.deregister_target(rid).await,
        &[PortErrorKind::NotFound],
    )?;
    // AWS refuses a policy without a target (ObjectNotFoundException);
    // moto 5.2.5 accepts one, so both answers pass here and the fake
    // holds AWS's (fake/tests.rs).
    match api.put_policy(rid, &cpu).await {
        Ok(()) => {
            let _ = api.delete_policy(rid, &cpu.name).await;
        }
        Err(e) if e.kind == PortErrorKind::NotFound => {}
        Err(e) => return Err(c.fail("put_policy without a target", "NotFound (AWS) or success (moto)", e)),
    }
    // A target registered again starts without the old policies.
    c.ok("register_target after deregister", api.register_target(rid, 0, 1).await)?;
    let got = c.ok("describe_scaling after register again", api.describe_scaling(rid).await)?;
    c.ensure(
        got.as_ref().is_some_and(|g| g.policies.is_empty()),
        "describe_scaling after register again",
        "a target with no policy",
        &got,
    )?;
    c.ok("deregister_target at the end", api.deregister_target(rid).await)?;
    Ok(())
}

// ------------------------------------------------------------------ EFS

/// EFS: access point lifecycle on the platform's file system.
pub async fn efs(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = efs_steps(ports, platform, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

async fn efs_steps(ports: &Ports, platform: &Platform, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("efs");
    let api = &ports.efs;
    let fs = &platform.efs_file_system_id;

    let before = c.ok("describe before create", api.describe_access_points(fs).await)?;
    c.ensure(
        before.iter().all(|a| a.name != t.names.access_point),
        "describe before create",
        "no access point of this tenant",
        &before,
    )?;

    let spec = AccessPointSpec {
        file_system_id: fs.clone(),
        name: t.names.access_point.clone(),
        root_directory: t.names.access_point_root.clone(),
        posix_uid: WEB_SERVER_UID,
        tags: t.tags.clone(),
        client_token: None,
    };
    let created = c.ok("create_access_point", api.create_access_point(&spec).await)?;
    cleanup.push(Undo::AccessPoint(created.id.clone()));
    let step = "create_access_point";
    c.ensure(created.id.starts_with("fsap-"), step, "an id fsap-…", &created.id)?;
    c.ensure(
        created.arn.starts_with("arn:aws:elasticfilesystem:")
            && created.arn.ends_with(&format!("access-point/{}", created.id)),
        step,
        "an ARN arn:aws:elasticfilesystem:…:access-point/{id}",
        &created.arn,
    )?;
    c.eq(step, "file system", fs, &created.file_system_id)?;
    c.eq(step, "name", &spec.name, &created.name)?;
    c.eq(step, "root directory", &spec.root_directory, &created.root_directory)?;
    c.eq(step, "POSIX uid", &Some(WEB_SERVER_UID), &created.posix_uid)?;
    c.tags(step, &t.tags, &created.tags)?;
    c.ensure(
        !created.tags.contains_key("Name"),
        step,
        "tags without Name",
        &created.tags,
    )?;

    let all = c.ok("describe after create", api.describe_access_points(fs).await)?;
    let a = all
        .iter()
        .find(|a| a.id == created.id)
        .ok_or_else(|| c.fail("describe after create", "the access point", &all))?;
    c.eq("describe after create", "access point", &created, a)?;

    c.ok("tag_resource", api.tag_resource(&created.id, &extra_tag()).await)?;
    let all = c.ok("describe after tag_resource", api.describe_access_points(fs).await)?;
    let a = all
        .iter()
        .find(|a| a.id == created.id)
        .ok_or_else(|| c.fail("describe after tag_resource", "the access point", &all))?;
    c.tags("describe after tag_resource", &with_extra(&t.tags), &a.tags)?;
    c.eq("describe after tag_resource", "name", &spec.name, &a.name)?;
    c.ok("untag_resource", api.untag_resource(&created.id, &extra_keys()).await)?;
    let all = c.ok("describe after untag_resource", api.describe_access_points(fs).await)?;
    let a = all
        .iter()
        .find(|a| a.id == created.id)
        .ok_or_else(|| c.fail("describe after untag_resource", "the access point", &all))?;
    c.untagged("describe after untag_resource", &t.tags, &a.tags)?;
    c.eq("describe after untag_resource", "name", &spec.name, &a.name)?;

    c.ok("delete_access_point", api.delete_access_point(&created.id).await)?;
    let all = c.ok("describe after delete", api.describe_access_points(fs).await)?;
    c.ensure(
        all.iter().all(|a| a.id != created.id),
        "describe after delete",
        "no such access point",
        &all,
    )?;
    c.err(
        "delete_access_point again",
        api.delete_access_point(&created.id).await,
        &[PortErrorKind::NotFound],
    )?;

    let missing = "fs-0000000000000000f";
    c.err(
        "describe_access_points of an unknown file system",
        api.describe_access_points(missing).await,
        &[PortErrorKind::NotFound, PortErrorKind::InvalidInput],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ ELBv2

/// ELBv2: target group lifecycle, listener rules (priorities, collisions,
/// actions), the load balancer behind the listener.
pub async fn elbv2(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = elbv2_steps(ports, platform, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

/// A move to another listener: the service is put behind the tenant's
/// other target group (a rule forwards to it first: ECS refuses a group no
/// load balancer uses, which the fake models and moto does not check).
async fn service_moves_to_another_target_group(
    ports: &Ports,
    platform: &Platform,
    t: &Tenant,
    svc_spec: &ServiceSpec,
    cleanup: &mut Cleanup,
) -> Result<(), String> {
    let c = Check("ecs");
    let mut spec = target_group_spec(platform, t);
    spec.name = t.names.target_group_alternate.clone();
    let step = "create_target_group (the other name)";
    let tg = c.ok(step, ports.elbv2.create_target_group(&spec).await)?;
    cleanup.push(Undo::TargetGroup(tg.arn.clone()));
    let rule_spec = ListenerRuleSpec {
        listener_arn: platform.first_listener().to_owned(),
        host: format!("moved-{}", t.names.fqdn),
        custom_domains: Vec::new(),
        action: RuleAction::Forward(tg.arn.clone()),
        tags: t.tags.clone(),
    };
    let rule = create_rule_somewhere(ports, c, "create_rule (the other group)", &rule_spec).await?;
    cleanup.push(Undo::Rule(rule.arn.clone()));
    let mapping = ServiceTargetGroup {
        target_group_arn: tg.arn.clone(),
        container_name: svc_spec.container_name.clone(),
        container_port: svc_spec.container_port,
    };
    let step = "set_target_group";
    c.ok(
        step,
        ports
            .ecs
            .set_target_group(&svc_spec.cluster, &svc_spec.name, &mapping)
            .await,
    )?;
    let found = c.ok(
        step,
        ports
            .ecs
            .describe_services(&svc_spec.cluster, std::slice::from_ref(&svc_spec.name))
            .await,
    )?;
    let moved = found.first().ok_or_else(|| c.fail(step, "the service", &found))?;
    c.eq(step, "target groups", &vec![tg.arn.clone()], &moved.target_group_arns)
}

fn target_group_spec(platform: &Platform, t: &Tenant) -> TargetGroupSpec {
    TargetGroupSpec {
        name: t.names.target_group.clone(),
        vpc_id: platform.vpc_id.clone(),
        port: CONTAINER_PORT,
        health_check_path: HEALTH_CHECK_PATH.into(),
        tags: t.tags.clone(),
    }
}

async fn elbv2_steps(ports: &Ports, platform: &Platform, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("elbv2");
    let api = &ports.elbv2;
    let listener = &platform.first_listener().to_owned();

    let lb = c.ok(
        "load_balancer_of_listener",
        api.load_balancer_of_listener(listener).await,
    )?;
    let (dns, zone) = (&lb.load_balancer_dns_name, &lb.load_balancer_zone_id);
    c.ensure(
        !dns.is_empty() && !zone.is_empty() && lb.load_balancer_arn.contains(":loadbalancer/"),
        "load_balancer_of_listener",
        "the load balancer's ARN, a DNS name and a hosted zone",
        (&lb.load_balancer_arn, dns, zone),
    )?;
    let step = "load_balancers_of_listeners";
    let pool = c.ok(
        step,
        api.load_balancers_of_listeners(std::slice::from_ref(listener)).await,
    )?;
    c.eq(step, "the pool's facts", &vec![lb.clone()], &pool)?;
    let gone = format!("{}0", listener.trim_end_matches(|ch: char| ch.is_ascii_hexdigit()));
    c.err(
        "load_balancers_of_listeners with a missing listener",
        api.load_balancers_of_listeners(&[listener.clone(), gone]).await,
        &[PortErrorKind::NotFound, PortErrorKind::InvalidInput],
    )?;
    let attached_before = c.ok(
        "count_target_groups",
        api.count_target_groups(&lb.load_balancer_arn).await,
    )?;

    let missing_tg = format!("{}-x", t.names.target_group.trim_end_matches("-tg"));
    let names = vec![t.names.target_group.clone(), missing_tg.clone()];
    let before = c.ok(
        "describe_target_groups before create",
        api.describe_target_groups(&names).await,
    )?;
    c.ensure(
        before.is_empty(),
        "describe_target_groups before create",
        "no target group (missing names are absent)",
        &before,
    )?;

    let spec = target_group_spec(platform, t);
    let tg = c.ok("create_target_group", api.create_target_group(&spec).await)?;
    cleanup.push(Undo::TargetGroup(tg.arn.clone()));
    let step = "create_target_group";
    c.ensure(
        tg.arn.starts_with("arn:aws:elasticloadbalancing:") && tg.arn.contains(&format!(":targetgroup/{}/", spec.name)),
        step,
        format!("an ARN arn:aws:elasticloadbalancing:…:targetgroup/{}/…", spec.name),
        &tg.arn,
    )?;
    c.eq(step, "name", &spec.name, &tg.name)?;
    c.eq(step, "VPC", &spec.vpc_id, &tg.vpc_id)?;
    c.eq(step, "port", &spec.port, &tg.port)?;
    c.eq(
        step,
        "health check path",
        &spec.health_check_path,
        &tg.health_check_path,
    )?;
    c.tags(step, &t.tags, &tg.tags)?;

    let found = c.ok(
        "describe_target_groups after create",
        api.describe_target_groups(&names).await,
    )?;
    c.ensure(
        found.len() == 1,
        "describe_target_groups after create",
        "exactly the created target group",
        &found,
    )?;
    c.eq("describe_target_groups after create", "target group", &tg, &found[0])?;
    // A refresh of hundreds of tenants asks for hundreds of names at once
    // (AWS's port lists the region then, not twenty names a call).
    let many: Vec<String> = std::iter::once(tg.name.clone())
        .chain((0..200).map(|i| format!("{missing_tg}{i}")))
        .collect();
    let step = "describe_target_groups of 201 names";
    let found = c.ok(step, api.describe_target_groups(&many).await)?;
    c.ensure(found.len() == 1, step, "exactly the created target group", &found)?;
    c.eq(step, "target group", &tg, &found[0])?;
    let tags = c.ok("target_group_tags", api.target_group_tags(&tg.arn).await)?;
    c.tags("target_group_tags", &t.tags, &tags.unwrap_or_default())?;
    let health = c.ok(
        "describe_target_health (no service)",
        api.describe_target_health(&tg.arn).await,
    )?;
    c.eq(
        "describe_target_health (no service)",
        "no registered targets",
        &Vec::<(String, String)>::new(),
        &health,
    )?;

    c.ok(
        "set_health_check_path",
        api.set_health_check_path(&tg.arn, "/healthz").await,
    )?;
    c.ok("add_tags (target group)", api.add_tags(&tg.arn, &extra_tag()).await)?;
    let found = c.ok(
        "describe_target_groups after update",
        api.describe_target_groups(&names).await,
    )?;
    let f = found
        .first()
        .ok_or_else(|| c.fail("describe_target_groups after update", "the target group", &found))?;
    c.eq(
        "describe_target_groups after update",
        "health check path",
        &"/healthz".to_owned(),
        &f.health_check_path,
    )?;
    c.tags("describe_target_groups after update", &with_extra(&t.tags), &f.tags)?;
    c.ok(
        "remove_tags (target group)",
        api.remove_tags(&tg.arn, &extra_keys()).await,
    )?;
    let found = c.ok(
        "describe_target_groups after remove_tags",
        api.describe_target_groups(std::slice::from_ref(&tg.name)).await,
    )?;
    let f = found
        .first()
        .ok_or_else(|| c.fail("describe_target_groups after remove_tags", "the group", &found))?;
    c.untagged("describe_target_groups after remove_tags", &t.tags, &f.tags)?;

    // Rules.
    let rules = c.ok("describe_rules", api.describe_rules(listener).await)?;
    c.ensure(
        rules.iter().all(|r| (1..=50_000).contains(&r.priority)),
        "describe_rules",
        "only numbered rules (the default rule left out)",
        &rules,
    )?;
    let rule_spec = ListenerRuleSpec {
        listener_arn: listener.clone(),
        host: t.names.fqdn.clone(),
        custom_domains: Vec::new(),
        action: RuleAction::Forward(tg.arn.clone()),
        tags: t.tags.clone(),
    };
    let rule = create_rule_somewhere(ports, c, "create_rule", &rule_spec).await?;
    cleanup.push(Undo::Rule(rule.arn.clone()));
    let step = "create_rule";
    c.ensure(
        rule.arn.starts_with("arn:aws:elasticloadbalancing:") && rule.arn.contains(":listener-rule/"),
        step,
        "a listener-rule ARN",
        &rule.arn,
    )?;
    c.eq(step, "listener", listener, &rule.listener_arn)?;
    c.eq(step, "hosts", &vec![rule_spec.host.clone()], &rule.hosts)?;
    c.eq(step, "action", &Some(rule_spec.action.clone()), &rule.action)?;
    c.tags(step, &t.tags, &rule.tags)?;

    let rules = c.ok("describe_rules after create", api.describe_rules(listener).await)?;
    let r = rules
        .iter()
        .find(|r| r.arn == rule.arn)
        .ok_or_else(|| c.fail("describe_rules after create", "the rule", &rules))?;
    c.eq("describe_rules after create", "rule", &rule, r)?;
    // A rule forwarding to a new target group attaches it to the load
    // balancer: what AWS counts against its 100 target groups per ALB (a
    // hard limit, which the fake enforces on CreateRule and moto does not).
    let attached = c.ok(
        "count_target_groups after create_rule",
        api.count_target_groups(&lb.load_balancer_arn).await,
    )?;
    c.eq(
        "count_target_groups after create_rule",
        "target groups attached",
        &(attached_before + 1),
        &attached,
    )?;
    // The same rules for a host: the host's rule with its tags (the host
    // compared case-insensitively), every other rule's priority.
    let step = "describe_rules_routing";
    let upper = rule_spec.host.to_ascii_uppercase();
    let routing = c.ok(step, api.describe_rules_routing(listener, &upper).await)?;
    let r = routing
        .iter()
        .find(|r| r.arn == rule.arn)
        .ok_or_else(|| c.fail(step, "the rule", &routing))?;
    c.eq(step, "rule", &rule, r)?;
    let priorities = |rs: &[ObservedListenerRule]| rs.iter().map(|r| r.priority).collect::<Vec<u32>>();
    c.eq(step, "priorities", &priorities(&rules), &priorities(&routing))?;
    // One tenant's candidates: its rule, found by host alone and by its
    // target group alone, with its tags; every rule's priority.
    for (step, tenant) in [
        (
            "describe_tenant_rules by host",
            TenantRules {
                hosts: vec![upper.clone()],
                target_groups: vec!["not-this-tenants-tg".into()],
            },
        ),
        (
            "describe_tenant_rules by target group",
            TenantRules {
                hosts: Vec::new(),
                target_groups: vec![tg.name.clone()],
            },
        ),
    ] {
        let found = c.ok(step, api.describe_tenant_rules(listener, &tenant).await)?;
        let r = found
            .iter()
            .find(|r| r.arn == rule.arn)
            .ok_or_else(|| c.fail(step, "the rule", &found))?;
        c.eq(step, "rule", &rule, r)?;
        c.eq(step, "priorities", &priorities(&rules), &priorities(&found))?;
    }

    let other = ListenerRuleSpec {
        host: format!("other-{}", t.names.fqdn),
        ..rule_spec.clone()
    };
    match api.create_rule(&other, rule.priority).await {
        Ok(r) => {
            cleanup.push(Undo::Rule(r.arn.clone()));
            return Err(c.fail("create_rule at a taken priority", "a PriorityInUse error", r));
        }
        Err(e) if e.kind == PortErrorKind::PriorityInUse => {}
        Err(e) => {
            return Err(c.fail("create_rule at a taken priority", "a PriorityInUse error", e));
        }
    }

    let suspended = suspended_action();
    // A custom domain as a second host-header value.
    let hosts2 = vec![
        format!("renamed-{}", t.names.fqdn),
        format!("www.{}-custom.example", t.id),
    ];
    c.ok(
        "modify_rule (host, fixed response)",
        api.modify_rule(&rule.arn, &hosts2, &suspended).await,
    )?;
    c.ok("add_tags (rule)", api.add_tags(&rule.arn, &extra_tag()).await)?;
    let rules = c.ok("describe_rules after modify", api.describe_rules(listener).await)?;
    let r = rules
        .iter()
        .find(|r| r.arn == rule.arn)
        .ok_or_else(|| c.fail("describe_rules after modify", "the rule", &rules))?;
    c.eq("describe_rules after modify", "hosts", &hosts2, &r.hosts)?;
    c.eq(
        "describe_rules after modify",
        "action",
        &Some(suspended.clone()),
        &r.action,
    )?;
    c.eq("describe_rules after modify", "priority", &rule.priority, &r.priority)?;
    c.tags("describe_rules after modify", &with_extra(&t.tags), &r.tags)?;
    c.ok(
        "modify_rule (back to forward)",
        api.modify_rule(&rule.arn, &rule_spec.hosts(), &rule_spec.action).await,
    )?;

    c.ok("delete_rule", api.delete_rule(&rule.arn).await)?;
    let rules = c.ok("describe_rules after delete", api.describe_rules(listener).await)?;
    c.ensure(
        rules.iter().all(|r| r.arn != rule.arn),
        "describe_rules after delete",
        "no such rule",
        &rules,
    )?;
    c.err(
        "delete_rule again",
        api.delete_rule(&rule.arn).await,
        &[PortErrorKind::NotFound],
    )?;

    c.ok("delete_target_group", api.delete_target_group(&tg.arn).await)?;
    let found = c.ok(
        "describe_target_groups after delete",
        api.describe_target_groups(&names).await,
    )?;
    c.ensure(
        found.is_empty(),
        "describe_target_groups after delete",
        "no target group",
        &found,
    )?;
    c.gone("delete_target_group again", api.delete_target_group(&tg.arn).await)?;

    let missing_listener = match listener.rsplit_once('/') {
        Some((head, _)) => format!("{head}/0123456789abcdef"),
        None => format!("{listener}-missing"),
    };
    c.err(
        "describe_rules of an unknown listener",
        api.describe_rules(&missing_listener).await,
        &[PortErrorKind::NotFound],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ Route53

/// Route53: an alias A record to the load balancer and a CNAME, created,
/// updated, listed and deleted exactly as observed.
pub async fn route53(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = route53_steps(ports, platform, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

async fn route53_steps(ports: &Ports, platform: &Platform, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("route53");
    let api = &ports.route53;
    let zone = &platform.hosted_zone_id;
    let lb = c.ok(
        "load_balancer_of_listener",
        ports.elbv2.load_balancer_of_listener(platform.first_listener()).await,
    )?;
    let (dns, lb_zone) = (lb.load_balancer_dns_name, lb.load_balancer_zone_id);
    let alias_name = t.names.fqdn.to_ascii_lowercase();
    let cname_name = naming::fqdn(&format!("c-{}", t.id), &platform.domain).to_ascii_lowercase();
    let named =
        |records: &[ObservedDnsRecord], n: &str| records.iter().filter(|r| r.name == n).cloned().collect::<Vec<_>>();

    let before = c.ok("list_records before create", api.list_records(zone).await)?;
    c.ensure(
        named(&before, &alias_name).is_empty() && named(&before, &cname_name).is_empty(),
        "list_records before create",
        "no record of this tenant",
        named(&before, &alias_name),
    )?;

    let alias = DnsRecordSpec {
        zone_id: zone.clone(),
        name: alias_name.clone(),
        target: RecordTarget::Alias {
            dns_name: dns.clone(),
            hosted_zone_id: lb_zone.clone(),
        },
    };
    cleanup.push(Undo::Record(ObservedDnsRecord {
        zone_id: zone.clone(),
        name: alias_name.clone(),
        target: alias.target.clone(),
    }));
    c.ok("create_record (alias)", api.create_record(&alias).await)?;
    c.ok("upsert_record (alias, again)", api.upsert_record(&alias).await)?;
    // CREATE never overwrites: a record of that name and type exists.
    c.err(
        "create_record over an existing record",
        api.create_record(&alias).await,
        &[PortErrorKind::AlreadyExists],
    )?;
    let records = c.ok("list_records after alias", api.list_records(zone).await)?;
    let found = named(&records, &alias_name);
    c.ensure(
        found.len() == 1,
        "list_records after alias",
        format!("exactly one record {alias_name} (without trailing dot)"),
        &found,
    )?;
    c.eq(
        "list_records after alias",
        "target",
        &normalise_target(&alias.target),
        &normalise_target(&found[0].target),
    )?;
    let alias_observed = found[0].clone();

    // A batch: all created in one change; with one existing record among
    // them, none is (Route53 applies a batch whole).
    let batch_spec = |label: &str| DnsRecordSpec {
        zone_id: zone.clone(),
        name: naming::fqdn(&format!("{label}-{}", t.id), &platform.domain).to_ascii_lowercase(),
        target: RecordTarget::Cname(format!("{label}.example.net")),
    };
    let pair = [batch_spec("b1"), batch_spec("b2")];
    for r in &pair {
        cleanup.push(Undo::Record(ObservedDnsRecord {
            zone_id: zone.clone(),
            name: r.name.clone(),
            target: r.target.clone(),
        }));
    }
    c.ok("create_records (two)", api.create_records(zone, &pair).await)?;
    let third = batch_spec("b3");
    c.err(
        "create_records with an existing record",
        api.create_records(zone, &[third.clone(), alias.clone()]).await,
        &[PortErrorKind::AlreadyExists],
    )?;
    let records = c.ok("list_records after create_records", api.list_records(zone).await)?;
    for r in &pair {
        c.ensure(
            named(&records, &r.name).len() == 1,
            "list_records after create_records",
            format!("the batch's record {}", r.name),
            records.len(),
        )?;
    }
    c.ensure(
        named(&records, &third.name).is_empty(),
        "list_records after create_records",
        "nothing of the refused batch",
        named(&records, &third.name),
    )?;

    let cname = DnsRecordSpec {
        zone_id: zone.clone(),
        name: cname_name.clone(),
        target: RecordTarget::Cname(dns.clone()),
    };
    cleanup.push(Undo::Record(ObservedDnsRecord {
        zone_id: zone.clone(),
        name: cname_name.clone(),
        target: cname.target.clone(),
    }));
    c.ok("upsert_record (CNAME)", api.upsert_record(&cname).await)?;
    let records = c.ok("list_records after CNAME", api.list_records(zone).await)?;
    let found = named(&records, &cname_name);
    c.ensure(
        found.len() == 1,
        "list_records after CNAME",
        format!("exactly one record {cname_name}"),
        &found,
    )?;
    c.eq(
        "list_records after CNAME",
        "target",
        &normalise_target(&cname.target),
        &normalise_target(&found[0].target),
    )?;

    // One tenant's read at its names: what the zone listing shows under
    // them, and nothing under a name without records.
    let absent = naming::fqdn(&format!("none-{}", t.id), &platform.domain).to_ascii_lowercase();
    let asked = [alias_name.clone(), cname_name.clone(), pair[0].name.clone(), absent];
    let at_names = c.ok("records_named", api.records_named(zone, &asked).await)?;
    let mut want: Vec<ObservedDnsRecord> = asked.iter().flat_map(|n| named(&records, n)).collect();
    let mut got = at_names.clone();
    let key = |r: &ObservedDnsRecord| (r.name.clone(), format!("{:?}", normalise_target(&r.target)));
    want.sort_by_key(key);
    got.sort_by_key(key);
    c.ensure(
        want.iter().map(key).eq(got.iter().map(key)),
        "records_named",
        format!("the records the listing shows under {asked:?}"),
        &at_names,
    )?;

    let moved = DnsRecordSpec {
        target: RecordTarget::Cname(format!("elsewhere.{}", platform.domain)),
        ..cname.clone()
    };
    c.ok("upsert_record (CNAME, new value)", api.upsert_record(&moved).await)?;
    cleanup.push(Undo::Record(ObservedDnsRecord {
        zone_id: zone.clone(),
        name: cname_name.clone(),
        target: moved.target.clone(),
    }));
    let records = c.ok("list_records after update", api.list_records(zone).await)?;
    let found = named(&records, &cname_name);
    c.ensure(
        found.len() == 1,
        "list_records after update",
        format!("exactly one record {cname_name}"),
        &found,
    )?;
    c.eq(
        "list_records after update",
        "target",
        &normalise_target(&moved.target),
        &normalise_target(&found[0].target),
    )?;
    let cname_observed = found[0].clone();

    c.ok(
        "delete_record (alias, as observed)",
        api.delete_record(&alias_observed).await,
    )?;
    c.ok(
        "delete_record (CNAME, as observed)",
        api.delete_record(&cname_observed).await,
    )?;
    let records = c.ok("list_records after delete", api.list_records(zone).await)?;
    c.ensure(
        named(&records, &alias_name).is_empty() && named(&records, &cname_name).is_empty(),
        "list_records after delete",
        "no record of this tenant",
        named(&records, &cname_name),
    )?;
    c.err(
        "delete_record again",
        api.delete_record(&alias_observed).await,
        &[PortErrorKind::NotFound],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ ECS

/// ECS: task definition revisions (register, latest, list, deregister) and a
/// Fargate service behind a target group (create, update, tag, delete).
pub async fn ecs(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = ecs_steps(ports, platform, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

fn task_definition_spec(platform: &Platform, t: &Tenant, image: &str) -> TaskDefinitionSpec {
    let mut environment = BTreeMap::new();
    environment.insert("WORDPRESS_DB_NAME".into(), t.names.database.clone());
    environment.insert("WORDPRESS_DB_USER".into(), t.names.database_user.clone());
    TaskDefinitionSpec {
        family: t.names.task_family.clone(),
        image: image.into(),
        cpu: 256,
        memory: 512,
        environment,
        secrets: secret_refs(&platform.database.admin_secret_arn),
        file_system_id: platform.efs_file_system_id.clone(),
        access_point_id: "fsap-0123456789abcdef0".into(),
        log_group: t.names.log_group.clone(),
        region: platform.region.clone(),
        execution_role_arn: platform.execution_role_arn.clone(),
        task_role_arn: platform.task_role_arn.clone(),
        tags: t.tags.clone(),
    }
}

fn check_task_definition(
    c: Check,
    step: &str,
    spec: &TaskDefinitionSpec,
    o: &ObservedTaskDefinition,
) -> Result<(), String> {
    c.ensure(
        o.arn.starts_with("arn:aws:ecs:")
            && o.arn
                .ends_with(&format!(":task-definition/{}:{}", spec.family, o.revision)),
        step,
        format!("an ARN arn:aws:ecs:…:task-definition/{}:{{revision}}", spec.family),
        &o.arn,
    )?;
    c.eq(step, "family", &spec.family, &o.family)?;
    c.eq(step, "image", &spec.image, &o.image)?;
    c.eq(step, "cpu", &spec.cpu, &o.cpu)?;
    c.eq(step, "memory", &spec.memory, &o.memory)?;
    c.eq(step, "environment", &spec.environment, &o.environment)?;
    c.eq(step, "secrets", &spec.secrets, &o.secrets)?;
    c.eq(
        step,
        "file system",
        &Some(spec.file_system_id.clone()),
        &o.file_system_id,
    )?;
    c.eq(
        step,
        "access point",
        &Some(spec.access_point_id.clone()),
        &o.access_point_id,
    )?;
    c.eq(step, "log group", &Some(spec.log_group.clone()), &o.log_group)?;
    c.tags(step, &spec.tags, &o.tags)
}

/// Exactly one PRIMARY deployment, every deployment with an id and a
/// revision of the family, counts within reason.
fn check_deployment_shape(c: Check, step: &str, s: &ObservedService) -> Result<(), String> {
    let primaries = s
        .deployments
        .iter()
        .filter(|d| d.status == DeploymentStatus::Primary)
        .count();
    c.ensure(primaries == 1, step, "exactly one PRIMARY deployment", &s.deployments)?;
    c.ensure(
        s.deployments
            .iter()
            .all(|d| !d.id.is_empty() && d.task_definition_arn.contains(":task-definition/")),
        step,
        "deployments with an id and a task definition ARN",
        &s.deployments,
    )
}

/// A new service's deployments: one, PRIMARY, of its revision and count,
/// with a rollout state (the ECS deployment controller reports one).
fn check_deployments(c: Check, step: &str, s: &ObservedService, td: &str, desired: u32) -> Result<(), String> {
    check_deployment_shape(c, step, s)?;
    let p = s
        .primary()
        .ok_or_else(|| c.fail(step, "a PRIMARY deployment", &s.deployments))?;
    c.eq(
        step,
        "PRIMARY deployment's revision",
        &td.to_owned(),
        &p.task_definition_arn,
    )?;
    c.eq(step, "PRIMARY deployment's desired count", &desired, &p.desired_count)?;
    c.ensure(p.rollout_state.is_some(), step, "a rollout state", p.rollout_state)
}

async fn ecs_steps(ports: &Ports, platform: &Platform, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("ecs");
    let api = &ports.ecs;
    let cluster = &platform.cluster;
    let family = &t.names.task_family;
    let svc_names = vec![t.names.service.clone(), format!("{}-missing", t.names.service)];

    let before = c.ok(
        "describe_services before create",
        api.describe_services(cluster, &svc_names).await,
    )?;
    c.ensure(
        before.is_empty(),
        "describe_services before create",
        "no service (missing names are absent)",
        &before,
    )?;
    let latest = c.ok(
        "latest_task_definition before register",
        api.latest_task_definition(family).await,
    )?;
    c.ensure(
        latest.is_none(),
        "latest_task_definition before register",
        "none",
        &latest,
    )?;

    // Task definitions.
    let spec1 = task_definition_spec(platform, t, "wordpress:6.6-php8.3-apache");
    cleanup.push(Undo::TaskFamily(family.clone()));
    let td1 = c.ok("register_task_definition", api.register_task_definition(&spec1).await)?;
    check_task_definition(c, "register_task_definition", &spec1, &td1)?;
    let latest = c.ok(
        "latest_task_definition after register",
        api.latest_task_definition(family).await,
    )?;
    c.eq(
        "latest_task_definition after register",
        "task definition",
        &Some(td1.clone()),
        &latest,
    )?;

    // The service needs a target group a load balancer uses.
    let tg = c.ok(
        "create_target_group (for the service)",
        ports.elbv2.create_target_group(&target_group_spec(platform, t)).await,
    )?;
    cleanup.push(Undo::TargetGroup(tg.arn.clone()));
    let rule_spec = ListenerRuleSpec {
        listener_arn: platform.first_listener().to_owned(),
        host: t.names.fqdn.clone(),
        custom_domains: Vec::new(),
        action: RuleAction::Forward(tg.arn.clone()),
        tags: t.tags.clone(),
    };
    let rule = create_rule_somewhere(ports, c, "create_rule (for the service)", &rule_spec).await?;
    cleanup.push(Undo::Rule(rule.arn.clone()));

    let svc_spec = ServiceSpec {
        cluster: cluster.clone(),
        name: t.names.service.clone(),
        task_definition_arn: td1.arn.clone(),
        desired_count: 0,
        subnet_ids: platform.subnet_ids.clone(),
        security_group_ids: platform.security_group_ids.clone(),
        target_group_arn: tg.arn.clone(),
        container_name: CONTAINER_NAME.into(),
        container_port: CONTAINER_PORT,
        tags: t.tags.clone(),
        client_token: None,
    };
    cleanup.push(Undo::Service(cluster.clone(), svc_spec.name.clone()));
    let svc = c.ok("create_service", api.create_service(&svc_spec).await)?;
    let step = "create_service";
    c.ensure(
        svc.arn.starts_with("arn:aws:ecs:") && svc.arn.ends_with(&format!("/{}", svc_spec.name)),
        step,
        format!("an ARN arn:aws:ecs:…:service/…/{}", svc_spec.name),
        &svc.arn,
    )?;
    c.eq(step, "name", &svc_spec.name, &svc.name)?;
    c.eq(step, "task definition", &td1.arn, &svc.task_definition_arn)?;
    c.eq(step, "desired count", &0, &svc.desired_count)?;
    c.ensure(
        svc.target_group_arns.contains(&tg.arn),
        step,
        "the target group",
        &svc.target_group_arns,
    )?;
    c.eq(step, "status", &"ACTIVE".to_owned(), &svc.status)?;
    c.tags(step, &t.tags, &svc.tags)?;
    check_deployments(c, step, &svc, &td1.arn, 0)?;
    // AWS reports the circuit breaker it was created with; moto does not
    // keep CreateService's deploymentConfiguration (it reports none until
    // an UpdateService), so "none" is accepted here and nowhere else.
    c.ensure(
        matches!(svc.circuit_breaker, None | Some(CircuitBreaker::ROLLBACK)),
        step,
        "the circuit breaker with rollback (or none reported, moto)",
        svc.circuit_breaker,
    )?;

    let found = c.ok(
        "describe_services after create",
        api.describe_services(cluster, &svc_names).await,
    )?;
    c.ensure(
        found.len() == 1,
        "describe_services after create",
        "exactly the created service",
        &found,
    )?;
    let f = &found[0];
    c.eq("describe_services after create", "ARN", &svc.arn, &f.arn)?;
    c.eq(
        "describe_services after create",
        "task definition",
        &td1.arn,
        &f.task_definition_arn,
    )?;
    c.eq(
        "describe_services after create",
        "status",
        &"ACTIVE".to_owned(),
        &f.status,
    )?;
    c.tags("describe_services after create", &t.tags, &f.tags)?;
    check_deployments(c, "describe_services after create", f, &td1.arn, 0)?;
    c.ensure(
        matches!(f.circuit_breaker, None | Some(CircuitBreaker::ROLLBACK)),
        "describe_services after create",
        "the circuit breaker with rollback (or none reported, moto)",
        f.circuit_breaker,
    )?;

    // A new revision and a service update.
    let spec2 = task_definition_spec(platform, t, "wordpress:6.7-php8.3-apache");
    let td2 = c.ok(
        "register_task_definition (second revision)",
        api.register_task_definition(&spec2).await,
    )?;
    check_task_definition(c, "register_task_definition (second revision)", &spec2, &td2)?;
    c.eq(
        "register_task_definition (second revision)",
        "revision",
        &(td1.revision + 1),
        &td2.revision,
    )?;
    let latest = c.ok(
        "latest_task_definition after second register",
        api.latest_task_definition(family).await,
    )?;
    c.eq(
        "latest_task_definition after second register",
        "task definition",
        &Some(td2.clone()),
        &latest,
    )?;
    let listed = c.ok("list_task_definitions", api.list_task_definitions(family).await)?;
    c.ensure(
        listed.contains(&td1.arn) && listed.contains(&td2.arn),
        "list_task_definitions",
        "both revisions",
        &listed,
    )?;
    // The environment-wide listing: a prefix of the family finds it too.
    let prefix = &family[..family.len() - 4];
    let by_prefix = c.ok(
        "list_task_definitions_by_prefix",
        api.list_task_definitions_by_prefix(prefix).await,
    )?;
    c.ensure(
        by_prefix.contains(&td1.arn) && by_prefix.contains(&td2.arn),
        "list_task_definitions_by_prefix",
        "both revisions",
        &by_prefix,
    )?;
    let described = c.ok(
        "describe_task_definition (first revision)",
        api.describe_task_definition(&td1.arn).await,
    )?;
    c.eq(
        "describe_task_definition (first revision)",
        "task definition",
        &Some(td1.clone()),
        &described,
    )?;

    let updated = c.ok(
        "update_service",
        api.update_service(cluster, &svc_spec.name, &td2.arn, 1).await,
    )?;
    c.eq(
        "update_service",
        "task definition",
        &td2.arn,
        &updated.task_definition_arn,
    )?;
    c.eq("update_service", "desired count", &1, &updated.desired_count)?;
    service_moves_to_another_target_group(ports, platform, t, &svc_spec, cleanup).await?;
    c.ok("tag_resource (service)", api.tag_resource(&svc.arn, &extra_tag()).await)?;
    c.ok(
        "tag_resource (task definition)",
        api.tag_resource(&td2.arn, &extra_tag()).await,
    )?;
    let found = c.ok(
        "describe_services after update",
        api.describe_services(cluster, &svc_names).await,
    )?;
    let f = found
        .first()
        .ok_or_else(|| c.fail("describe_services after update", "the service", &found))?;
    c.eq(
        "describe_services after update",
        "task definition",
        &td2.arn,
        &f.task_definition_arn,
    )?;
    c.eq("describe_services after update", "desired count", &1, &f.desired_count)?;
    c.eq(
        "describe_services after update",
        "circuit breaker",
        &Some(CircuitBreaker::ROLLBACK),
        &f.circuit_breaker,
    )?;
    // ECS starts a new PRIMARY deployment of the new revision and keeps the
    // old one ACTIVE until it drains; moto keeps its one deployment (first
    // revision, IN_PROGRESS for ever). So the suite checks the shape only;
    // rolloutState transitions, the old deployment's tasks and failures
    // are the fake's alone (`fake::tests`, `engine::tests`).
    check_deployment_shape(c, "describe_services after update", f)?;
    c.tags("describe_services after update", &with_extra(&t.tags), &f.tags)?;
    c.ok(
        "untag_resource (service)",
        api.untag_resource(&svc.arn, &extra_keys()).await,
    )?;
    let found = c.ok(
        "describe_services after untag_resource",
        api.describe_services(cluster, std::slice::from_ref(&svc_spec.name))
            .await,
    )?;
    let u = found
        .first()
        .ok_or_else(|| c.fail("describe_services after untag_resource", "the service", &found))?;
    c.untagged("describe_services after untag_resource", &t.tags, &u.tags)?;
    let latest = c.ok(
        "latest_task_definition after tag_resource",
        api.latest_task_definition(family).await,
    )?;
    let l = latest.ok_or_else(|| {
        c.fail(
            "latest_task_definition after tag_resource",
            "the second revision",
            "none",
        )
    })?;
    c.tags(
        "latest_task_definition after tag_resource",
        &with_extra(&t.tags),
        &l.tags,
    )?;

    let label = naming::request_count_label(&rule_spec.listener_arn, &tg.arn).unwrap_or_default();
    scaling_steps(
        ports,
        &naming::scaling_resource_id(cluster, &svc_spec.name),
        &label,
        cleanup,
    )
    .await?;

    // Delete the service: gone from describe (or still draining on AWS).
    c.ok("delete_service", api.delete_service(cluster, &svc_spec.name).await)?;
    let found = c.ok(
        "describe_services after delete",
        api.describe_services(cluster, &svc_names).await,
    )?;
    c.ensure(
        found.iter().all(|s| s.status != "ACTIVE"),
        "describe_services after delete",
        "no ACTIVE service",
        &found,
    )?;
    c.err(
        "delete_service again",
        api.delete_service(cluster, &svc_spec.name).await,
        &[PortErrorKind::NotFound],
    )?;
    c.err(
        "update_service of a deleted service",
        api.update_service(cluster, &svc_spec.name, &td2.arn, 1).await,
        &[PortErrorKind::NotFound],
    )?;

    // Deregister both revisions.
    c.ok(
        "deregister_task_definition (first)",
        api.deregister_task_definition(&td1.arn).await,
    )?;
    c.ok(
        "deregister_task_definition (second)",
        api.deregister_task_definition(&td2.arn).await,
    )?;
    let latest = c.ok(
        "latest_task_definition after deregister",
        api.latest_task_definition(family).await,
    )?;
    c.ensure(
        latest.is_none(),
        "latest_task_definition after deregister",
        "none (no ACTIVE revision)",
        &latest,
    )?;
    let listed = c.ok(
        "list_task_definitions after deregister",
        api.list_task_definitions(family).await,
    )?;
    c.ensure(
        listed.is_empty(),
        "list_task_definitions after deregister",
        "no ACTIVE revision",
        &listed,
    )?;
    let by_prefix = c.ok(
        "list_task_definitions_by_prefix after deregister",
        api.list_task_definitions_by_prefix(prefix).await,
    )?;
    c.ensure(
        !by_prefix.contains(&td1.arn) && !by_prefix.contains(&td2.arn),
        "list_task_definitions_by_prefix after deregister",
        "no ACTIVE revision of the family",
        &by_prefix,
    )?;
    let described = c.ok(
        "describe_task_definition after deregister",
        api.describe_task_definition(&td1.arn).await,
    )?;
    c.ensure(
        described.is_none(),
        "describe_task_definition after deregister",
        "none (INACTIVE)",
        &described,
    )?;
    c.gone(
        "deregister_task_definition again",
        api.deregister_task_definition(&td1.arn).await,
    )?;
    Ok(())
}

// ------------------------------------------------------------------ MySQL

/// MySQL: connects with the platform's admin secret, creates, observes,
/// locks and drops a database and a user; hostile names never reach SQL.
pub async fn mysql(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let t = Tenant::new(platform);
    let mut cleanup = Cleanup::default();
    let r = mysql_steps(ports, platform, &t, &mut cleanup).await;
    cleanup.run(ports).await;
    r
}

async fn mysql_steps(ports: &Ports, platform: &Platform, t: &Tenant, cleanup: &mut Cleanup) -> Result<(), String> {
    let c = Check("mysql");
    let db = &platform.database;
    let raw = c.ok(
        "read the admin secret",
        ports.secrets.get_secret_value(&db.admin_secret_arn).await,
    )?;
    #[derive(serde::Deserialize)]
    struct Admin {
        username: String,
        password: String,
    }
    let admin: Admin = serde_json::from_str(&raw).map_err(|_| {
        c.fail(
            "read the admin secret",
            "JSON {\"username\",\"password\"}",
            "something else",
        )
    })?;
    let (host, port) = match (&db.host, db.port) {
        (Some(h), Some(p)) => (h.clone(), p),
        _ => {
            let (h, p) = c.ok(
                "RDS endpoint",
                ports.rds.instance_endpoint(&db.instance_identifier).await,
            )?;
            (db.host.clone().unwrap_or(h), db.port.unwrap_or(p))
        }
    };

    // Wrong credentials: refused at connect, or (for a lazy pool) at first use.
    let wrong = format!("{}-wrong", admin.password);
    let step = "connect with a wrong admin password";
    let login = |password: &str| db.login(&host, port, &admin.username, password);
    match ports.mysql.connect(&login(&wrong)).await {
        Err(e) if e.kind == PortErrorKind::AccessDenied => {}
        Err(e) => return Err(c.fail(step, "an AccessDenied error", e)),
        Ok(m) => {
            let r = m
                .observe(&["mysql".to_owned()], std::slice::from_ref(&admin.username))
                .await;
            c.err(step, r, &[PortErrorKind::AccessDenied])?;
        }
    }

    let m = c.ok("connect as admin", ports.mysql.connect(&login(&admin.password)).await)?;
    cleanup.mysql = Some(m.clone());
    cleanup.push(Undo::Database(t.names.database.clone()));
    cleanup.push(Undo::User(t.names.database_user.clone()));
    let dbs = vec![t.names.database.clone()];
    let users = vec![t.names.database_user.clone()];
    let observe = |step: &'static str| {
        let m = m.clone();
        let (dbs, users) = (dbs.clone(), users.clone());
        async move { c.ok(step, m.observe(&dbs, &users).await) }
    };

    let (d, u) = observe("observe before create").await?;
    c.ensure(
        d.is_empty() && u.is_empty(),
        "observe before create",
        "neither database nor user",
        (&d, &u),
    )?;

    // Hostile names are refused before they reach SQL.
    let hostile = "x';DROP DATABASE mysql;--";
    let invalid = [PortErrorKind::InvalidInput];
    c.err(
        "create_database with a hostile name",
        m.create_database(hostile).await,
        &invalid,
    )?;
    c.err(
        "drop_database with a hostile name",
        m.drop_database(hostile).await,
        &invalid,
    )?;
    let user = MysqlUser {
        name: &t.names.database_user,
        database: &t.names.database,
        max_connections: 7,
    };
    c.err(
        "create_user with a hostile name",
        m.create_user(&MysqlUser { name: hostile, ..user }, "pw").await,
        &invalid,
    )?;
    c.err(
        "create_user on a hostile database name",
        m.create_user(
            &MysqlUser {
                database: hostile,
                ..user
            },
            "pw",
        )
        .await,
        &invalid,
    )?;
    c.err(
        "set_max_connections with a hostile name",
        m.set_max_connections(hostile, 1).await,
        &invalid,
    )?;
    c.err(
        "set_locked with a hostile name",
        m.set_locked(hostile, true).await,
        &invalid,
    )?;
    c.err("drop_user with a hostile name", m.drop_user(hostile).await, &invalid)?;
    let step = "observe with a hostile name";
    match m.observe(&[hostile.to_owned()], &[hostile.to_owned()]).await {
        Ok((d, u)) => c.ensure(
            d.is_empty() && u.is_empty(),
            step,
            "nothing (or an InvalidInput error)",
            (&d, &u),
        )?,
        Err(e) => c.ensure(
            e.kind == PortErrorKind::InvalidInput,
            step,
            "nothing (or an InvalidInput error)",
            e,
        )?,
    }
    let (d, _) = c.ok("observe the mysql schema", m.observe(&["mysql".to_owned()], &[]).await)?;
    c.ensure(
        d.len() == 1,
        "observe the mysql schema after hostile names",
        "the mysql schema, intact",
        &d,
    )?;
    let (_, u) = observe("observe after hostile names").await?;
    c.ensure(u.is_empty(), "observe after hostile names", "no user created", &u)?;

    // Create.
    c.ok("create_database", m.create_database(&t.names.database).await)?;
    let password = crate::fake::random_password();
    c.ok("create_user", m.create_user(&user, &password).await)?;
    let (d, u) = observe("observe after create").await?;
    c.eq(
        "observe after create",
        "databases",
        &vec![ObservedDatabase {
            name: t.names.database.clone(),
        }],
        &d,
    )?;
    c.eq(
        "observe after create",
        "users",
        &vec![ObservedDatabaseUser {
            name: t.names.database_user.clone(),
            locked: false,
            max_connections: 7,
            old_password_retained: false,
        }],
        &u,
    )?;
    // An existing database is never reported as created (a rollback
    // would drop it).
    c.err(
        "create_database again",
        m.create_database(&t.names.database).await,
        &[PortErrorKind::AlreadyExists],
    )?;
    c.err(
        "create_user again",
        m.create_user(&user, &password).await,
        &[PortErrorKind::AlreadyExists],
    )?;
    let empty = c.ok("database_is_empty", m.database_is_empty(&t.names.database).await)?;
    c.ensure(empty, "database_is_empty after create", "an empty database", empty)?;
    let tenant_login = |password: &str| db.login(&host, port, &t.names.database_user, password);
    let own = c.ok(
        "log in as the user",
        ports.mysql.connect(&tenant_login(&password)).await,
    )?;
    dump_steps(m.as_ref(), own.as_ref(), &t.names.database).await?;

    // Update.
    let password2 = crate::fake::random_password();
    let change = c.ok("set_password", m.set_password(&user, &password2, true).await)?;
    c.ok(
        "log in with the new password",
        ports.mysql.connect(&tenant_login(&password2)).await,
    )?;
    let old = ports.mysql.connect(&tenant_login(&password)).await;
    match change {
        // MySQL 8's dual passwords: the old one works until discarded.
        PasswordChange::OldRetained => {
            c.ok("log in with the retained password", old)?;
        }
        PasswordChange::Replaced => {
            c.err("log in with the replaced password", old, &[PortErrorKind::AccessDenied])?;
        }
    }
    c.ok(
        "discard_old_password",
        m.discard_old_password(&t.names.database_user).await,
    )?;
    c.err(
        "log in with the old password after discard",
        ports.mysql.connect(&tenant_login(&password)).await,
        &[PortErrorKind::AccessDenied],
    )?;
    c.ok(
        "set_max_connections",
        m.set_max_connections(&t.names.database_user, 3).await,
    )?;
    c.ok("set_locked(true)", m.set_locked(&t.names.database_user, true).await)?;
    let (_, u) = observe("observe after lock").await?;
    c.eq(
        "observe after lock",
        "users",
        &vec![ObservedDatabaseUser {
            name: t.names.database_user.clone(),
            locked: true,
            max_connections: 3,
            old_password_retained: false,
        }],
        &u,
    )?;
    c.ok("set_locked(false)", m.set_locked(&t.names.database_user, false).await)?;
    let (_, u) = observe("observe after unlock").await?;
    c.eq(
        "observe after unlock",
        "users",
        &vec![ObservedDatabaseUser {
            name: t.names.database_user.clone(),
            locked: false,
            max_connections: 3,
            old_password_retained: false,
        }],
        &u,
    )?;
    c.ok(
        "set_locked(true) before drop",
        m.set_locked(&t.names.database_user, true).await,
    )?;

    // Delete.
    c.ok("drop_user", m.drop_user(&t.names.database_user).await)?;
    c.ok("drop_database", m.drop_database(&t.names.database).await)?;
    let (d, u) = observe("observe after drop").await?;
    c.ensure(
        d.is_empty() && u.is_empty(),
        "observe after drop",
        "neither database nor user",
        (&d, &u),
    )?;
    c.gone("drop_user again", m.drop_user(&t.names.database_user).await)?;
    c.gone("drop_database again", m.drop_database(&t.names.database).await)?;
    c.err(
        "set_locked of a missing user",
        m.set_locked(&t.names.database_user, true).await,
        &[PortErrorKind::NotFound],
    )?;
    Ok(())
}

/// Every item of a dump, in order.
async fn dump_of(m: &dyn MysqlAdmin, database: &str) -> PortResult<Vec<DumpItem>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let collect = async {
        let mut items = Vec::new();
        while let Some(i) = rx.recv().await {
            items.push(i);
        }
        items
    };
    let (dumped, items) = tokio::join!(m.dump(database, tx), collect);
    dumped.map(|()| items)
}

fn statements(items: &[DumpItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match i {
            DumpItem::Statement(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Dump and load: a table loaded as the tenant's own user is dumped by the
/// admin with its values as literals, one statement per line; loading that
/// dump and dumping again gives the same dump; a statement that is not a
/// dump's is refused.
async fn dump_steps(admin: &dyn MysqlAdmin, own: &dyn MysqlAdmin, database: &str) -> Result<(), String> {
    let c = Check("mysql");
    let empty = c.ok("dump an empty database", dump_of(admin, database).await)?;
    c.eq(
        "dump an empty database",
        "items",
        &vec![DumpItem::Tables(Vec::new())],
        &empty,
    )?;
    let table = vec![
        "CREATE TABLE `c` (`id` int NOT NULL, `b` blob, `t` text, PRIMARY KEY (`id`))".to_owned(),
        "INSERT INTO `c` (`id`,`b`,`t`) VALUES (1,X'00FF27',NULL),(2,NULL,'it''s \\\\ x')".to_owned(),
    ];
    c.ok("load a table as the user", own.load(database, &table).await)?;
    let first = c.ok("dump the table", dump_of(admin, database).await)?;
    let dumped = statements(&first);
    c.ensure(
        first.first() == Some(&DumpItem::Tables(vec!["c".into()]))
            && dumped.first().map(String::as_str) == Some("DROP TABLE IF EXISTS `c`")
            && dumped
                .iter()
                .all(|s| crate::mysql::is_dump_statement(s) && !s.contains('\n'))
            && dumped
                .iter()
                .any(|s| s.starts_with("INSERT") && s.contains("X'00FF27'") && s.contains("NULL")),
        "dump the table",
        "the table's name, DROP, CREATE and INSERT with hex literals, one line each",
        &dumped,
    )?;
    c.ok("load the dump", own.load(database, &dumped).await)?;
    let again = c.ok("dump the loaded dump", dump_of(admin, database).await)?;
    c.eq("dump the loaded dump", "items", &first, &again)?;
    c.err(
        "load a statement that is not a dump's",
        own.load(database, &["GRANT ALL ON *.* TO x".to_owned()]).await,
        &[PortErrorKind::InvalidInput],
    )?;
    Ok(())
}

// ------------------------------------------------------------------ S3

/// S3 in the platform's backup bucket (which must exist): objects and
/// multipart uploads, all encrypted with `AES256`; an aborted upload
/// leaves no object; a missing bucket or key is NotFound. The contract's
/// objects stay in the bucket (the port deletes nothing, as bbws never
/// deletes a backup).
pub async fn objects(ports: &Ports, platform: &Platform) -> Result<(), String> {
    let c = Check("s3");
    let Some(backup) = &platform.backup else {
        return Err(c.fail("setup", "a platform with a backup bucket", "none"));
    };
    let (s3, bucket) = (&ports.objects, backup.bucket.as_str());
    let base = format!("{}contract/{}", backup.prefix, naming::generate_tenant_id());
    let small = format!("{base}/small");
    let missing = c.ok("head a missing key", s3.head_object(bucket, &small).await)?;
    c.ensure(missing.is_none(), "head a missing key", "None", &missing)?;
    c.err(
        "get a missing key",
        s3.get_object(bucket, &small).await,
        &[PortErrorKind::NotFound],
    )?;
    c.err(
        "put into a missing bucket",
        s3.put_object("bbws-no-such-bucket-0", &small, b"x".to_vec()).await,
        &[PortErrorKind::NotFound],
    )?;
    c.ok(
        "put_object",
        s3.put_object(bucket, &small, b"small\0body".to_vec()).await,
    )?;
    let got = c.ok("get_object", s3.get_object(bucket, &small).await)?;
    c.eq("get_object", "body", &b"small\0body".to_vec(), &got)?;
    let info = c.ok("head_object", s3.head_object(bucket, &small).await)?;
    let encrypted = Some(ObjectInfo {
        size: 10,
        server_side_encryption: Some("AES256".into()),
    });
    c.eq("head_object", "size and encryption", &encrypted, &info)?;

    let big = format!("{base}/big");
    let first: Vec<u8> = (0..5 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let id = c.ok(
        "create_multipart_upload",
        s3.create_multipart_upload(bucket, &big).await,
    )?;
    let one = c.ok(
        "upload part 1",
        s3.upload_part(bucket, &big, &id, 1, first.clone()).await,
    )?;
    let two = c.ok(
        "upload part 2",
        s3.upload_part(bucket, &big, &id, 2, b"tail".to_vec()).await,
    )?;
    let parts = [(1, one), (2, two)];
    c.ok(
        "complete_multipart_upload",
        s3.complete_multipart_upload(bucket, &big, &id, &parts).await,
    )?;
    let got = c.ok("get the multipart object", s3.get_object(bucket, &big).await)?;
    c.ensure(
        got.len() == first.len() + 4 && got.starts_with(&first) && got.ends_with(b"tail"),
        "get the multipart object",
        "part 1 then part 2",
        got.len(),
    )?;
    let info = c.ok("head the multipart object", s3.head_object(bucket, &big).await)?;
    c.eq(
        "head the multipart object",
        "encryption",
        &Some("AES256".to_owned()),
        &info.and_then(|i| i.server_side_encryption),
    )?;

    let aborted = format!("{base}/aborted");
    let id = c.ok(
        "create an upload to abort",
        s3.create_multipart_upload(bucket, &aborted).await,
    )?;
    c.ok(
        "upload a part to abort",
        s3.upload_part(bucket, &aborted, &id, 1, first).await,
    )?;
    c.ok(
        "abort_multipart_upload",
        s3.abort_multipart_upload(bucket, &aborted, &id).await,
    )?;
    let left = c.ok("head after abort", s3.head_object(bucket, &aborted).await)?;
    c.ensure(left.is_none(), "head after abort", "no object", &left)?;
    Ok(())
}
