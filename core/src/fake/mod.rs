//! In-memory fakes of every port: one [`FakeCloud`] behind every port trait.
//!
//! The fake behaves like AWS and MySQL wherever the trait docs or the real
//! services define behaviour: AWS error codes for missing things, ARNs in
//! AWS format (account [`ACCOUNT_ID`], region [`REGION`]), ECS services that
//! turn `INACTIVE` when deleted, task definition revisions, listener rule
//! priorities that collide, secrets that wait out a recovery window, MySQL
//! identifiers validated before they could reach SQL.
//!
//! Every port call goes through one helper that checks the failure rules
//! set with [`FakeCloud::fail_on`] *first* (a failing call changes
//! nothing), sleeps the configured latency, applies the call to the state
//! under one lock and records a [`FakeCall`].
//!
//! ```
//! # async fn demo() {
//! use bbws_core::fake::FakeCloud;
//!
//! let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
//! let ports = cloud.ports();
//! let rules = ports.elbv2.describe_rules(platform.first_listener()).await.unwrap();
//! assert!(rules.is_empty());
//! assert_eq!(cloud.calls()[0].op, "elbv2.DescribeRules");
//! # }
//! ```
//!
//! [`failing_kth`] wraps *any* [`Ports`] (real or fake) in [`FailingPorts`]
//! that fail the k-th mutating call, for "no orphans" tests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::naming::{CONTAINER_NAME, CONTAINER_PORT};
use crate::parts::*;
use crate::ports::*;
use crate::spec::{DatabaseSettings, Environment, Platform};

mod acm;
mod deployments;
mod ecs;
mod efs;
mod elbv2;
mod events;
mod failing;
mod logs;
mod metrics;
mod misc;
mod mysql;
mod objects;
mod route53;
mod scaling;
mod secrets;
#[cfg(test)]
mod tests;

pub use acm::FakeCertificate;
pub use deployments::{FakeDeployment, failure_threshold};
pub use failing::{FailCounter, FailedCall, FailingPorts, MUTATING_OPS, failing_kth, is_mutating, losing_kth};
pub use metrics::FakeAlarm;
pub use objects::{FakeObject, FakeUpload, MIN_PART_SIZE};
pub use scaling::FakeScalableTarget;

/// The fake's AWS account.
pub const ACCOUNT_ID: &str = "123456789012";
/// The fake's AWS region.
pub const REGION: &str = "eu-west-1";
/// The canonical hosted zone of application load balancers in [`REGION`].
pub const ALB_CANONICAL_ZONE_ID: &str = "Z32O12XQLNTSW2";
/// The backup bucket [`FakeCloud::with_platform`] makes (and names in
/// the platform's `backup`).
pub const BACKUP_BUCKET: &str = "dev-bbws-backups";
/// The SNS topic [`FakeCloud::with_platform`] makes for alarms (the
/// platform leaves `alarm_topic_arn` unset: set it to this to have alarms).
pub const ALARM_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:tenant-alarms";
/// The caller identity STS reports.
pub const CALLER_ARN: &str = "arn:aws:iam::123456789012:user/fake";
/// ECS status of a live service.
pub const ACTIVE: &str = "ACTIVE";
/// ECS status of a deleted service or deregistered task definition.
pub const INACTIVE: &str = "INACTIVE";

/// One port call as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// `{port}.{AWS operation}`, e.g. `ecs.CreateService`, `mysql.CreateUser`.
    pub op: &'static str,
    /// The name or ARN the call was about (for describes: the names asked for).
    pub target: String,
    /// When the call started (tokio's clock, so paused-time tests work).
    pub started: Instant,
    /// When it returned.
    pub finished: Instant,
    /// Whether it succeeded.
    pub ok: bool,
}

struct FailRule {
    op: String,
    target_contains: Option<String>,
    error: PortError,
    remaining: usize,
    /// The call happens, and only its answer is lost.
    after_the_change: bool,
}

impl FailRule {
    fn matches(&self, op: &str, target: &str, after_the_change: bool) -> bool {
        let op_matches =
            self.op == op || self.op == "*" || self.op.strip_suffix('*').is_some_and(|prefix| op.starts_with(prefix));
        op_matches
            && self.remaining > 0
            && self.after_the_change == after_the_change
            && self.target_contains.as_deref().is_none_or(|t| target.contains(t))
    }
}

/// One in-memory cloud: ECS, ELBv2, Route53, EFS, Secrets Manager, CloudWatch
/// Logs, RDS, STS, EventBridge and a MySQL server.
pub struct FakeCloud {
    state: Mutex<FakeState>,
    calls: Mutex<Vec<FakeCall>>,
    rules: Mutex<Vec<FailRule>>,
    latency: Mutex<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeCloud {
    /// An empty cloud: no cluster, load balancer, zone, file system, secret
    /// or database server. Populate it through [`FakeCloud::state`], or use
    /// [`FakeCloud::with_platform`].
    pub fn new() -> Arc<FakeCloud> {
        Arc::new(FakeCloud {
            state: Mutex::new(FakeState::default()),
            calls: Mutex::new(Vec::new()),
            rules: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
        })
    }

    /// The platform a tenant lives on, like the local stack's bootstrap: a
    /// VPC with two subnets and a security group, an ECS cluster
    /// `dev-cluster`, a load balancer with an HTTPS listener, a hosted zone
    /// for `domain`, an EFS file system, an RDS instance with an endpoint,
    /// an admin secret `{"username","password"}` and a MySQL server at the
    /// RDS endpoint that accepts exactly those admin credentials.
    ///
    /// The returned [`Platform`] names all of them (environment dev, region
    /// eu-west-1, execution and task roles set — Fargate needs an execution
    /// role for `awslogs` and secrets; database host/port `None`, so the
    /// endpoint comes from RDS).
    pub fn with_platform(domain: &str) -> (Arc<FakeCloud>, Platform) {
        let cloud = FakeCloud::new();
        let platform = {
            let mut s = cloud.state();
            let env = Environment::Dev;
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();

            let vpc = format!("vpc-{}", s.hex(17));
            let subnets = vec![format!("subnet-{}", s.hex(17)), format!("subnet-{}", s.hex(17))];
            let sg = format!("sg-{}", s.hex(17));
            s.vpcs.insert(vpc.clone());
            s.subnets.extend(subnets.iter().cloned());
            s.security_groups.insert(sg.clone());

            let cluster = format!("{env}-cluster");
            s.clusters.insert(cluster.clone());

            let listener_arn = s.add_load_balancer(&format!("{env}-alb"));

            let zone_id = format!("Z{}", s.hex(20).to_ascii_uppercase());
            s.zones.insert(
                zone_id.clone(),
                FakeZone {
                    id: zone_id.clone(),
                    name: domain.clone(),
                    records: BTreeMap::new(),
                },
            );

            let fs = format!("fs-{}", s.hex(17));
            s.file_systems.insert(fs.clone());

            let db_id = format!("{env}-shared-mysql");
            let db_host = format!("{db_id}.c{}.{REGION}.rds.amazonaws.com", s.hex(11));
            s.rds_instances.insert(db_id.clone(), (db_host.clone(), 3306));

            let admin_password = random_password();
            let admin_name = format!("{env}/bbws/mysql-admin");
            let admin_arn = secrets::secret_arn(&mut s, &admin_name);
            let value = serde_json::json!({ "username": "admin", "password": admin_password }).to_string();
            s.secrets.insert(
                admin_name.clone(),
                FakeSecret {
                    arn: admin_arn.clone(),
                    name: admin_name,
                    value,
                    tags: Tags::new(),
                    pending_deletion: false,
                    description: None,
                },
            );
            s.mysql.admin_user = "admin".into();
            s.mysql.admin_password = admin_password;
            s.mysql.addresses.insert((db_host, 3306));
            s.buckets.insert(BACKUP_BUCKET.into());
            s.topics.insert(ALARM_TOPIC.into());

            Platform {
                environment: env,
                domain,
                region: REGION.into(),
                cluster,
                vpc_id: vpc,
                subnet_ids: subnets,
                security_group_ids: vec![sg],
                listener_arns: vec![listener_arn],
                max_tenants_per_listener: None,
                hosted_zone_id: zone_id,
                efs_file_system_id: fs,
                execution_role_arn: Some(format!("arn:aws:iam::{ACCOUNT_ID}:role/{env}-bbws-task-execution")),
                task_role_arn: Some(format!("arn:aws:iam::{ACCOUNT_ID}:role/{env}-bbws-wordpress")),
                database: DatabaseSettings {
                    instance_identifier: db_id,
                    host: None,
                    port: None,
                    admin_secret_arn: admin_arn,
                    ..DatabaseSettings::default()
                },
                default_tags: BTreeMap::new(),
                events: None,
                backup: Some(crate::spec::BackupSettings {
                    bucket: BACKUP_BUCKET.into(),
                    prefix: "tenants/".into(),
                }),
                alarm_topic_arn: None,
            }
        };
        (cloud, platform)
    }

    /// Every port, backed by this cloud.
    pub fn ports(self: &Arc<Self>) -> Ports {
        let p = Arc::new(Port(self.clone()));
        Ports {
            ecs: p.clone(),
            elbv2: p.clone(),
            route53: p.clone(),
            efs: p.clone(),
            secrets: p.clone(),
            logs: p.clone(),
            metrics: p.clone(),
            scaling: p.clone(),
            certificates: p.clone(),
            alarms: p.clone(),
            topics: p.clone(),
            rds: p.clone(),
            sts: p.clone(),
            events: p.clone(),
            mysql: p.clone(),
            objects: p.clone(),
            site: p,
        }
    }

    /// Every call from now on sleeps `d` (on tokio's clock) before it takes
    /// effect, so that concurrent calls overlap in time.
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.latency) = d;
    }

    /// Every call made so far, in the order they finished.
    pub fn calls(&self) -> Vec<FakeCall> {
        lock(&self.calls).clone()
    }

    /// The calls of one operation (`"ecs.CreateService"`) made so far.
    pub fn calls_to(&self, op: &str) -> Vec<FakeCall> {
        lock(&self.calls).iter().filter(|c| c.op == op).cloned().collect()
    }

    /// Forgets the calls recorded so far.
    pub fn clear_calls(&self) {
        lock(&self.calls).clear();
    }

    /// The next `times` calls of `op` whose target contains
    /// `target_contains` (any target when `None`) fail with `error` and
    /// change nothing. `op` is `{port}.{Operation}` as in [`FakeCall::op`];
    /// `"*"` matches every operation and `"ecs.*"` every one of a port.
    /// Use `usize::MAX` for "always".
    pub fn fail_on(&self, op: &str, target_contains: Option<&str>, error: PortError, times: usize) {
        lock(&self.rules).push(FailRule {
            op: op.to_owned(),
            target_contains: target_contains.map(str::to_owned),
            error,
            remaining: times,
            after_the_change: false,
        });
    }

    /// Like [`Self::fail_on`], but the call is carried out and only its
    /// answer is lost: the caller sees `error` although the change happened
    /// (a timeout or a dropped connection after AWS wrote).
    pub fn lose_answer_on(&self, op: &str, target_contains: Option<&str>, error: PortError, times: usize) {
        lock(&self.rules).push(FailRule {
            op: op.to_owned(),
            target_contains: target_contains.map(str::to_owned),
            error,
            remaining: times,
            after_the_change: true,
        });
    }

    /// Removes every failure rule.
    pub fn clear_failures(&self) {
        lock(&self.rules).clear();
    }

    /// The state, for tests to inspect and to change out of band (drift).
    /// Do not hold the guard across an `.await` on a port call.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.state)
    }

    fn take_failure(&self, op: &str, target: &str, after_the_change: bool) -> Option<PortError> {
        let mut rules = lock(&self.rules);
        let rule = rules.iter_mut().find(|r| r.matches(op, target, after_the_change))?;
        rule.remaining -= 1;
        Some(rule.error.clone())
    }

    /// The one path of every port call: failure rules first, then latency,
    /// then the change under the state lock, then the call log.
    pub(crate) async fn call<T>(
        &self,
        op: &'static str,
        target: impl Into<String>,
        f: impl FnOnce(&mut FakeState) -> PortResult<T>,
    ) -> PortResult<T> {
        let target = target.into();
        let started = Instant::now();
        let injected = self.take_failure(op, &target, false);
        let latency = *lock(&self.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let result = match injected {
            Some(e) => Err(e),
            None => {
                let done = f(&mut lock(&self.state));
                match self.take_failure(op, &target, true) {
                    Some(lost) if done.is_ok() => Err(lost),
                    _ => done,
                }
            }
        };
        let call = FakeCall {
            op,
            target,
            started,
            finished: Instant::now(),
            ok: result.is_ok(),
        };
        lock(&self.calls).push(call);
        result
    }
}

/// The handle every port trait is implemented on.
struct Port(Arc<FakeCloud>);

// ------------------------------------------------------------------ state

/// Everything the fake cloud holds. Plain maps with public fields: tests read
/// them and change them out of band to simulate drift.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeState {
    /// What STS reports as the caller.
    pub caller_arn: String,
    /// VPC ids target groups may be created in.
    pub vpcs: BTreeSet<String>,
    /// Subnet ids.
    pub subnets: BTreeSet<String>,
    /// Security group ids.
    pub security_groups: BTreeSet<String>,
    /// ECS cluster names.
    pub clusters: BTreeSet<String>,
    /// ECS services by `(cluster name, service name)`; deleted ones stay
    /// with status `INACTIVE` until a service of that name is created again.
    pub services: BTreeMap<(String, String), FakeService>,
    /// Task definition revisions by family; index `i` is revision `i + 1`.
    pub task_definitions: BTreeMap<String, Vec<FakeTaskDefinition>>,
    /// Load balancers by ARN.
    pub load_balancers: BTreeMap<String, FakeLoadBalancer>,
    /// Listeners (with their rules) by ARN.
    pub listeners: BTreeMap<String, FakeListener>,
    /// Target groups by ARN.
    pub target_groups: BTreeMap<String, FakeTargetGroup>,
    /// Non-default rules a listener may hold (AWS's default quota is 100).
    pub max_rules_per_listener: usize,
    /// Route53 hosted zones by id (without `/hostedzone/`).
    pub zones: BTreeMap<String, FakeZone>,
    /// EFS file system ids.
    pub file_systems: BTreeSet<String>,
    /// EFS access points by id.
    pub access_points: BTreeMap<String, ObservedAccessPoint>,
    /// Secrets by name.
    pub secrets: BTreeMap<String, FakeSecret>,
    /// Log groups by name.
    pub log_groups: BTreeMap<String, FakeLogGroup>,
    /// Metric data points, as PutMetricData stores them.
    pub metric_points: Vec<FakeMetricPoint>,
    /// Application Auto Scaling targets by resource id
    /// (`service/{cluster}/{service}`).
    pub scalable_targets: BTreeMap<String, FakeScalableTarget>,
    /// ACM certificates by ARN.
    pub certificates: BTreeMap<String, FakeCertificate>,
    /// CloudWatch alarms by name.
    pub alarms: BTreeMap<String, FakeAlarm>,
    /// SNS topic ARNs.
    pub topics: BTreeSet<String>,
    /// Every EventBridge event put, in order (each names its bus).
    pub events: Vec<BusEvent>,
    /// RDS instances: identifier → endpoint `(host, port)`.
    pub rds_instances: BTreeMap<String, (String, u16)>,
    /// The MySQL server.
    pub mysql: FakeMysql,
    /// S3 bucket names.
    pub buckets: BTreeSet<String>,
    /// S3 objects by `(bucket, key)`.
    pub objects: BTreeMap<(String, String), FakeObject>,
    /// S3 multipart uploads in progress, by upload id.
    pub uploads: BTreeMap<String, FakeUpload>,
    /// Sites that answer: URL → HTTP status; any other does not resolve.
    pub sites: BTreeMap<String, u16>,
    /// When set, new deployments' tasks neither start nor fail (held
    /// PENDING): a deployment stays IN_PROGRESS, the old one keeps its
    /// tasks, and ECS's circuit breaker has nothing to count.
    pub tasks_stall: bool,
    /// Idempotency tokens seen by creates: `(operation, token)` → what the
    /// first call made (service `cluster/name`, access point id, secret
    /// name), so that a retry answers that part, as AWS does.
    pub client_tokens: BTreeMap<(String, String), String>,
    /// Images whose tasks exit at start: a deployment of a revision with
    /// one fails at the circuit breaker's threshold and is rolled back.
    pub failing_images: BTreeSet<String>,
    next_id: u64,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState {
            caller_arn: CALLER_ARN.into(),
            vpcs: BTreeSet::new(),
            subnets: BTreeSet::new(),
            security_groups: BTreeSet::new(),
            clusters: BTreeSet::new(),
            services: BTreeMap::new(),
            task_definitions: BTreeMap::new(),
            load_balancers: BTreeMap::new(),
            listeners: BTreeMap::new(),
            target_groups: BTreeMap::new(),
            max_rules_per_listener: 100,
            zones: BTreeMap::new(),
            file_systems: BTreeSet::new(),
            access_points: BTreeMap::new(),
            secrets: BTreeMap::new(),
            log_groups: BTreeMap::new(),
            metric_points: Vec::new(),
            scalable_targets: BTreeMap::new(),
            certificates: BTreeMap::new(),
            alarms: BTreeMap::new(),
            topics: BTreeSet::new(),
            events: Vec::new(),
            rds_instances: BTreeMap::new(),
            mysql: FakeMysql::default(),
            buckets: BTreeSet::new(),
            objects: BTreeMap::new(),
            uploads: BTreeMap::new(),
            sites: BTreeMap::new(),
            tasks_stall: false,
            client_tokens: BTreeMap::new(),
            failing_images: BTreeSet::new(),
            next_id: 0,
        }
    }
}

impl FakeState {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A load balancer `lb_name` with an HTTPS listener (default action: a
    /// 404 fixed response); returns the listener's ARN. A second call makes
    /// a second ALB, for a listener pool.
    pub fn add_load_balancer(&mut self, lb_name: &str) -> String {
        let lb_id = self.hex(16);
        let lb_arn = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:loadbalancer/app/{lb_name}/{lb_id}");
        let dns_name = format!(
            "{lb_name}-{}.{REGION}.elb.amazonaws.com",
            self.next() % 1_000_000_000 + 1_000_000_000
        );
        self.load_balancers.insert(
            lb_arn.clone(),
            FakeLoadBalancer {
                arn: lb_arn.clone(),
                name: lb_name.to_owned(),
                dns_name,
                canonical_hosted_zone_id: ALB_CANONICAL_ZONE_ID.into(),
                tags: Tags::new(),
            },
        );
        let listener_arn = format!(
            "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener/app/{lb_name}/{lb_id}/{}",
            self.hex(16)
        );
        self.listeners.insert(
            listener_arn.clone(),
            FakeListener {
                arn: listener_arn.clone(),
                load_balancer_arn: lb_arn,
                default_action: RuleAction::FixedResponse {
                    status: 404,
                    content_type: "text/plain".into(),
                    body: "no such site".into(),
                },
                rules: BTreeMap::new(),
                certificates: Vec::new(),
                tags: Tags::new(),
            },
        );
        listener_arn
    }

    /// `len` lower-case hex digits, unique and random-looking, deterministic
    /// per cloud.
    pub fn hex(&mut self, len: usize) -> String {
        let n = self.next();
        let a = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let b = (n ^ 0xD1B5_4A32_D192_ED03).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let s = format!("{a:016x}{b:016x}");
        s[s.len().saturating_sub(len)..].to_owned()
    }

    /// What an earlier create with `token` made, if `op` saw it before.
    fn made_with_token(&self, op: &str, token: Option<&String>) -> Option<&String> {
        self.client_tokens.get(&(op.to_owned(), token?.clone()))
    }

    fn remember_token(&mut self, op: &str, token: Option<&String>, made: String) {
        if let Some(t) = token {
            self.client_tokens.insert((op.to_owned(), t.clone()), made);
        }
    }

    /// The live (not `INACTIVE`) service `name` in `cluster`.
    pub fn service(&self, cluster: &str, name: &str) -> Option<&FakeService> {
        self.services
            .get(&(cluster.to_owned(), name.to_owned()))
            .filter(|s| s.status != INACTIVE)
    }

    /// Every non-default rule of every listener.
    pub fn rules(&self) -> impl Iterator<Item = &FakeRule> {
        self.listeners.values().flat_map(|l| l.rules.values())
    }

    /// Whether a listener (default action or a rule) forwards to the target
    /// group, i.e. whether it has an associated load balancer.
    pub fn target_group_in_use(&self, arn: &str) -> bool {
        self.listeners.values().any(|l| {
            matches!(&l.default_action, RuleAction::Forward(t) if t == arn)
                || l.rules
                    .values()
                    .any(|r| matches!(&r.action, RuleAction::Forward(t) if t == arn))
        })
    }
}

/// An ECS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeService {
    /// `arn:aws:ecs:…:service/{cluster}/{name}`.
    pub arn: String,
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub name: String,
    /// Task definition in use.
    pub task_definition_arn: String,
    /// Desired count.
    pub desired_count: u32,
    /// Deployments (see `deployments.rs`); the running count is theirs.
    pub deployments: Vec<FakeDeployment>,
    /// The deployment circuit breaker.
    pub circuit_breaker: CircuitBreaker,
    /// Deployments started by `forceNewDeployment`.
    pub redeployments: u32,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// Subnets.
    pub subnet_ids: Vec<String>,
    /// Security groups.
    pub security_group_ids: Vec<String>,
    /// Target group of the load balancer mapping.
    pub target_group_arn: String,
    /// Container of the load balancer mapping.
    pub container_name: String,
    /// Container port of the load balancer mapping.
    pub container_port: u16,
    /// Tags.
    pub tags: Tags,
}

/// One task definition revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTaskDefinition {
    /// `arn:aws:ecs:…:task-definition/{family}:{revision}`.
    pub arn: String,
    /// Revision.
    pub revision: i32,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// What was registered; `spec.tags` are the revision's current tags.
    pub spec: TaskDefinitionSpec,
}

/// An application load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLoadBalancer {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// DNS name.
    pub dns_name: String,
    /// Canonical hosted zone (for alias records).
    pub canonical_hosted_zone_id: String,
    /// Tags.
    pub tags: Tags,
}

/// A listener and its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeListener {
    /// ARN.
    pub arn: String,
    /// Its load balancer.
    pub load_balancer_arn: String,
    /// The default rule's action (never returned by `describe_rules`).
    pub default_action: RuleAction,
    /// Non-default rules by ARN.
    pub rules: BTreeMap<String, FakeRule>,
    /// The certificates it serves by SNI (its default one left out).
    pub certificates: Vec<String>,
    /// Tags.
    pub tags: Tags,
}

/// A listener rule with one host-header condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRule {
    /// ARN.
    pub arn: String,
    /// Priority, unique on the listener.
    pub priority: u32,
    /// Host header values.
    pub hosts: Vec<String>,
    /// Action.
    pub action: RuleAction,
    /// Tags.
    pub tags: Tags,
}

/// A target group (type `ip`, HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTargetGroup {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// VPC.
    pub vpc_id: String,
    /// Port.
    pub port: u16,
    /// Health check path.
    pub health_check_path: String,
    /// Tags.
    pub tags: Tags,
}

/// A hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeZone {
    /// Id (`Z…`).
    pub id: String,
    /// Domain, lower case, without trailing dot.
    pub name: String,
    /// Records by `(name lower case without trailing dot, "A" | "CNAME")`.
    pub records: BTreeMap<(String, String), RecordTarget>,
}

/// A Secrets Manager secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSecret {
    /// `arn:aws:secretsmanager:…:secret:{name}-{6 characters}`.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Current string value.
    pub value: String,
    /// Tags.
    pub tags: Tags,
    /// Scheduled for deletion (restorable).
    pub pending_deletion: bool,
    /// Description.
    pub description: Option<String>,
}

/// One data point of a fake metric.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeMetricPoint {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric: String,
    /// Dimensions, sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// Unix seconds.
    pub timestamp: i64,
    /// The value.
    pub value: f64,
}

/// One event of a fake log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLogEvent {
    /// Unix milliseconds.
    pub timestamp_ms: i64,
    /// The message.
    pub message: String,
    /// CloudWatch's event id.
    pub event_id: String,
}

/// A CloudWatch log group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeLogGroup {
    /// Name.
    pub name: String,
    /// ARN without the trailing `:*`.
    pub arn: String,
    /// Retention; `None` never expires.
    pub retention_days: Option<u32>,
    /// Tags.
    pub tags: Tags,
    /// Events per stream, oldest first.
    pub streams: BTreeMap<String, Vec<FakeLogEvent>>,
    /// Creation time, Unix milliseconds.
    pub created_ms: Option<i64>,
}

/// The MySQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMysql {
    /// Admin user name.
    pub admin_user: String,
    /// Admin password.
    pub admin_password: String,
    /// `(host, port)` pairs the server answers on; anything else refuses
    /// the connection like an unreachable server.
    pub addresses: BTreeSet<(String, u16)>,
    /// Schemas, including the system ones (`mysql`, `information_schema`…).
    pub databases: BTreeSet<String>,
    /// Users (host `%`) by name.
    pub users: BTreeMap<String, FakeMysqlUser>,
    /// Databases holding tables (and how many), for the data-safety rules.
    pub tables: BTreeMap<String, u32>,
    /// The rows of tables as a dump has them: database → table → its
    /// `CREATE TABLE` and one `INSERT` per row (what `load` ran; `dump`
    /// answers them).
    pub table_rows: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// MySQL 8's dual passwords (`RETAIN CURRENT PASSWORD`); off, as on
    /// MariaDB.
    pub dual_passwords: bool,
    /// The TLS mode of the last login (the fake checks no certificate).
    pub last_ssl_mode: Option<crate::spec::SslMode>,
}

impl Default for FakeMysql {
    fn default() -> Self {
        FakeMysql {
            admin_user: String::new(),
            admin_password: String::new(),
            addresses: BTreeSet::new(),
            databases: ["information_schema", "mysql", "performance_schema", "sys"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            users: BTreeMap::new(),
            tables: BTreeMap::new(),
            table_rows: BTreeMap::new(),
            dual_passwords: false,
            last_ssl_mode: None,
        }
    }
}

/// A MySQL user `'name'@'%'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMysqlUser {
    /// Password.
    pub password: String,
    /// The old password, still accepted after `RETAIN CURRENT PASSWORD`.
    pub retained_password: Option<String>,
    /// `MAX_USER_CONNECTIONS`.
    pub max_connections: u32,
    /// `ACCOUNT LOCK`.
    pub locked: bool,
    /// Databases the user has `ALL` on.
    pub grants: BTreeSet<String>,
}

// ------------------------------------------------------------------ helpers

/// The token the fake RDS signs for `user` at `host:port`; the fake MySQL
/// server takes it as the admin's password, over cleartext auth only.
pub fn fake_iam_token(host: &str, port: u16, user: &str) -> String {
    format!("{host}:{port}/?Action=connect&DBUser={user}&X-Amz-Signature=fake")
}

/// 32 random letters and digits.
pub(crate) fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn not_found(code: &str, message: impl Into<String>) -> PortError {
    PortError::new(PortErrorKind::NotFound, code, message)
}

fn invalid(code: &str, message: impl Into<String>) -> PortError {
    PortError::new(PortErrorKind::InvalidInput, code, message)
}

fn exists(code: &str, message: impl Into<String>) -> PortError {
    PortError::new(PortErrorKind::AlreadyExists, code, message)
}

/// AWS's common tag rules: at most 50, keys 1-128 and values 0-256
/// characters, the `aws:` prefix reserved.
fn check_tags(tags: &Tags, code: &str) -> PortResult<()> {
    if tags.len() > 50 {
        return Err(invalid(code, format!("{} tags exceed the limit of 50", tags.len())));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(invalid(code, format!("tag key {k:?} must be 1 to 128 characters")));
        }
        if v.chars().count() > 256 {
            return Err(invalid(code, format!("the value of tag {k:?} exceeds 256 characters")));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(code, format!("tag key {k:?} uses the reserved prefix aws:")));
        }
    }
    Ok(())
}

/// `existing` with `new` added or overwritten, checked against the limits.
fn merged_tags(existing: &Tags, new: &Tags, code: &str) -> PortResult<Tags> {
    let mut tags = existing.clone();
    tags.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    check_tags(&tags, code)?;
    Ok(tags)
}

/// `existing` without `keys`, as every AWS untag call does it: missing keys
/// are no error, the reserved `aws:` prefix cannot be removed.
fn untagged(existing: &mut Tags, keys: &[String], code: &str) -> PortResult<()> {
    if let Some(k) = keys.iter().find(|k| k.to_ascii_lowercase().starts_with("aws:")) {
        return Err(invalid(code, format!("tag key {k:?} uses the reserved prefix aws:")));
    }
    existing.retain(|k, _| !keys.contains(k));
    Ok(())
}

/// The fake's tasks define one container, [`CONTAINER_NAME`] on
/// [`CONTAINER_PORT`], like the real task definitions.
fn container_matches(name: &str, port: u16) -> bool {
    name == CONTAINER_NAME && port == CONTAINER_PORT
}
