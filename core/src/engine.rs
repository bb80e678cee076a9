//! The engine: observes tenants through the ports, and executes a
//! [`TenantPlan`] — creating independent parts concurrently and dependent ones
//! in order, and removing what this run created when a step fails.
//!
//! Every step is idempotent with respect to observation: re-running `observe
//! → plan → apply` after any partial failure converges, because parts left
//! behind are found by name and ownership tags and adopted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::try_join_all;
use tokio::sync::OnceCell;

use crate::error::{CoreError, PartOrPlatform};
use crate::naming::TenantNames;
use crate::observed::{ForeignPart, ObservedTenant, TenantKey, describe_owner, owned_by};
use crate::parts::*;
use crate::plan::{PartAction, TenantPlan, needs_new_revision};
use crate::ports::{MysqlAdmin, MysqlUser, PasswordChange, PortError, PortErrorKind, Ports};
use crate::spec::{Platform, TenantSpec, TenantStatus};

/// Days a deleted tenant secret can still be restored.
pub const SECRET_RECOVERY_WINDOW_DAYS: u32 = 7;
/// Highest priority an ALB listener rule may have.
pub const MAX_RULE_PRIORITY: u32 = 50_000;
const PRIORITY_ATTEMPTS: u32 = 12;

/// Executes plans for tenants of one platform.
pub struct Engine {
    platform: Arc<Platform>,
    ports: Ports,
    facts: OnceCell<PlatformFacts>,
    mysql: OnceCell<Arc<dyn MysqlAdmin>>,
    /// Serialises priority allocation within this process; across processes
    /// `PriorityInUse` is handled by re-reading and picking again.
    listener_lock: tokio::sync::Mutex<()>,
    /// Environment-wide listings (rules, records, access points, log
    /// groups, secrets) shared by the batches of one refresh: Terraform
    /// reads at most `-parallelism` resources at once, so a refresh is many
    /// batches, and each would otherwise list everything again.
    listings: std::sync::Mutex<HashMap<String, CachedListing>>,
    /// Task definition revisions already described, by ARN. A revision's
    /// content never changes, so a batched observation that finds it still
    /// ACTIVE (one environment-wide listing) need not describe it again.
    /// Seeded by the caller too ([`Engine::know_revision`]): the provider
    /// keeps the last revision it saw in Terraform's private state.
    revisions: std::sync::Mutex<HashMap<String, ObservedTaskDefinition>>,
    /// Per-name reads made ahead during a fleet refresh (see
    /// [`Engine::observe`]); cleared with the listings.
    ahead: std::sync::Mutex<ReadAhead>,
    /// Held by a batch while it makes its per-name reads, so that a batch
    /// arriving meanwhile waits for the read-ahead instead of repeating it.
    reading: tokio::sync::Mutex<()>,
}

/// What the per-name reads (DescribeServices, DescribeTargetGroups, the
/// MySQL query) found for each name asked, and what they found nothing for.
#[derive(Default)]
struct ReadAhead {
    at: Option<std::time::Instant>,
    services: HashMap<String, Option<ObservedService>>,
    target_groups: HashMap<String, Option<ObservedTargetGroup>>,
    databases: HashMap<String, Option<ObservedDatabase>>,
    users: HashMap<String, Option<ObservedDatabaseUser>>,
}

impl ReadAhead {
    fn is_fresh(&self) -> bool {
        self.at.is_some_and(|at| at.elapsed() < LISTING_TTL)
    }

    /// Itself, emptied first when too old to use.
    fn fresh(&mut self) -> &mut Self {
        if !self.is_fresh() {
            *self = ReadAhead {
                at: Some(std::time::Instant::now()),
                ..ReadAhead::default()
            };
        }
        self
    }

    fn has(&self, n: &TenantNames) -> bool {
        self.services.contains_key(&n.service)
            && self.target_groups.contains_key(&n.target_group)
            && self.databases.contains_key(&n.database)
            && self.users.contains_key(&n.database_user)
    }
}

/// What one observation read, before it is split by tenant.
struct Reads<'a> {
    facts: &'a PlatformFacts,
    services: &'a [ObservedService],
    target_groups: &'a [ObservedTargetGroup],
    rules: &'a [ObservedListenerRule],
    records: &'a [ObservedDnsRecord],
    access_points: &'a [ObservedAccessPoint],
    log_groups: &'a [ObservedLogGroup],
    databases: &'a [ObservedDatabase],
    users: &'a [ObservedDatabaseUser],
}

/// Most tenants one batch reads ahead for.
const READ_AHEAD_MAX: usize = 1000;

/// A listing and when it was read.
type CachedListing = (std::time::Instant, Arc<dyn std::any::Any + Send + Sync>);

/// How long a batch may reuse another batch's listing.
const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// What a destroy did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestroyReport {
    /// Parts deleted.
    pub deleted: Vec<Part>,
    /// What was kept, one sentence each (shown to the user).
    pub retained: Vec<String>,
}

/// Something this run created, so that a failure can remove it again.
#[derive(Debug, Clone)]
enum Created {
    Secret(String),
    Database(String),
    DatabaseUser(String),
    AccessPoint(String),
    LogGroup(String),
    TargetGroup(String),
    TaskDefinition(String),
    ListenerRule(String),
    DnsRecord(ObservedDnsRecord),
    Service(String, String),
}

impl Created {
    fn part(&self) -> Part {
        match self {
            Created::Secret(_) => Part::Secret,
            Created::Database(_) => Part::Database,
            Created::DatabaseUser(_) => Part::DatabaseUser,
            Created::AccessPoint(_) => Part::AccessPoint,
            Created::LogGroup(_) => Part::LogGroup,
            Created::TargetGroup(_) => Part::TargetGroup,
            Created::TaskDefinition(_) => Part::TaskDefinition,
            Created::ListenerRule(_) => Part::ListenerRule,
            Created::DnsRecord(_) => Part::DnsRecord,
            Created::Service(..) => Part::Service,
        }
    }
}

/// A failed step: which, on what part, and why.
struct StepFailure {
    step: String,
    part: Part,
    error: CoreError,
}

type StepResult<T> = Result<T, StepFailure>;

fn fail(step: &str, part: Part, operation: &'static str) -> impl FnOnce(PortError) -> StepFailure {
    let step = format!("{step} {part}");
    move |e| StepFailure {
        step,
        part,
        error: CoreError::port(part, operation, e),
    }
}

fn ignore_not_found(r: Result<(), PortError>) -> Result<(), PortError> {
    match r {
        Err(e) if e.kind == PortErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl Engine {
    /// An engine for `platform` talking through `ports`. No IO happens until
    /// the first observation.
    pub fn new(platform: Arc<Platform>, ports: Ports) -> Self {
        Engine {
            platform,
            ports,
            facts: OnceCell::new(),
            mysql: OnceCell::new(),
            listener_lock: tokio::sync::Mutex::new(()),
            listings: std::sync::Mutex::new(HashMap::new()),
            revisions: std::sync::Mutex::new(HashMap::new()),
            ahead: std::sync::Mutex::new(ReadAhead::default()),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    /// The platform.
    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// The ports (for callers that need a direct read, e.g. the caller ARN).
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The load balancer and database endpoint, resolved once per engine.
    pub async fn facts(&self) -> Result<&PlatformFacts, CoreError> {
        self.facts
            .get_or_try_init(|| async {
                let p = &self.platform;
                let lb = self.ports.elbv2.load_balancer_of_listener(&p.listener_arn);
                let db = self.database_endpoint();
                let ((dns, zone), (host, port)) = futures::try_join!(
                    async {
                        lb.await.map_err(|e| match e.kind {
                            PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                                setting: "listener_arn",
                                message: format!(
                                    "listener {:?} was not found ({e}); set listener_arn to the ARN of the environment's shared HTTPS listener (aws elbv2 describe-listeners)",
                                    p.listener_arn
                                ),
                            },
                            _ => CoreError::port(PartOrPlatform::Platform, "DescribeListeners", e),
                        })
                    },
                    db
                )?;
                Ok(PlatformFacts {
                    load_balancer_dns_name: dns,
                    load_balancer_zone_id: zone,
                    database_host: host,
                    database_port: port,
                })
            })
            .await
    }

    async fn database_endpoint(&self) -> Result<(String, u16), CoreError> {
        let db = &self.platform.database;
        if let (Some(host), Some(port)) = (&db.host, db.port) {
            return Ok((host.clone(), port));
        }
        let (host, port) = self
            .ports
            .rds
            .instance_endpoint(&db.instance_identifier)
            .await
            .map_err(|e| match e.kind {
                PortErrorKind::NotFound => CoreError::Platform {
                    setting: "database.instance_identifier",
                    message: format!(
                        "RDS instance {:?} was not found ({e}); set it to the identifier of the environment's shared MySQL instance, or set database.host and database.port",
                        db.instance_identifier
                    ),
                },
                _ => CoreError::port(PartOrPlatform::Platform, "DescribeDBInstances", e),
            })?;
        Ok((db.host.clone().unwrap_or(host), db.port.unwrap_or(port)))
    }

    /// The MySQL admin connection, opened once with the admin secret (or
    /// an IAM token).
    async fn mysql(&self) -> Result<&Arc<dyn MysqlAdmin>, CoreError> {
        self.mysql
            .get_or_try_init(|| async {
                let facts = self.facts().await?;
                let db = &self.platform.database;
                let login = match db.admin_auth {
                    crate::spec::AdminAuth::Password => {
                        let admin = self.admin_secret().await?;
                        db.login(
                            &facts.database_host,
                            facts.database_port,
                            &admin.username,
                            &admin.password,
                        )
                    }
                    crate::spec::AdminAuth::Iam => self.iam_login(&facts.database_host, facts.database_port).await?,
                };
                self.ports
                    .mysql
                    .connect(&login)
                    .await
                    .map_err(|e| mysql_connect_error(&login, &e))
            })
            .await
    }

    /// The admin's `{"username","password"}` from `database.admin_secret_arn`.
    async fn admin_secret(&self) -> Result<AdminCredentials, CoreError> {
        let arn = &self.platform.database.admin_secret_arn;
        let raw = self.ports.secrets.get_secret_value(arn).await.map_err(|e| match e.kind {
            PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                setting: "database.admin_secret_arn",
                message: format!("the admin secret {arn:?} could not be read ({e}); it must hold JSON {{\"username\",\"password\"}} of the MySQL admin"),
            },
            _ => CoreError::port(PartOrPlatform::Platform, "GetSecretValue", e),
        })?;
        serde_json::from_str(&raw).map_err(|_| CoreError::Platform {
            setting: "database.admin_secret_arn",
            message: format!("the admin secret {arn:?} is not JSON with \"username\" and \"password\""),
        })
    }

    /// An RDS IAM login: the user from `database.admin_username` (else the
    /// admin secret's), a fresh token as its password.
    async fn iam_login(&self, host: &str, port: u16) -> Result<crate::ports::MysqlLogin, CoreError> {
        let db = &self.platform.database;
        let user = match &db.admin_username {
            Some(u) => u.clone(),
            None if !db.admin_secret_arn.is_empty() => self.admin_secret().await?.username,
            None => {
                return Err(CoreError::Platform {
                    setting: "database.admin_username",
                    message: "admin_auth = \"iam\" needs the MySQL user to log in as: set database.admin_username"
                        .into(),
                });
            }
        };
        let token = self
            .ports
            .rds
            .auth_token(host, port, &user)
            .await
            .map_err(|e| CoreError::Platform {
                setting: "database.admin_auth",
                message: format!("could not sign an RDS IAM authentication token for {user:?}: {e}"),
            })?;
        let mut login = db.login(host, port, &user, &token);
        login.cleartext = true;
        Ok(login)
    }

    /// Observes one tenant.
    pub async fn observe_one(&self, tenant_id: &str, subdomains: &[String]) -> Result<ObservedTenant, CoreError> {
        let key = TenantKey {
            tenant_id: tenant_id.to_owned(),
            subdomains: subdomains.to_vec(),
        };
        let mut all = self.observe(std::slice::from_ref(&key)).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// Observes a set of tenants with shared reads: one call per listener,
    /// zone, file system and log-group prefix, batched service and target
    /// group descriptions, one MySQL query — whatever the number of tenants.
    pub async fn observe(&self, keys: &[TenantKey]) -> Result<Vec<ObservedTenant>, CoreError> {
        self.observe_with(keys, keys.len() > 1).await
    }

    /// [`Self::observe`] for one batch of a refresh ([`crate::batch`]):
    /// shared listings are used even for a batch of one, a straggler of
    /// the refresh whose listings an earlier batch made.
    pub async fn observe_batch(&self, keys: &[TenantKey]) -> Result<Vec<ObservedTenant>, CoreError> {
        let shared = keys.len() > 1 || !self.listed_tenants().is_empty();
        self.observe_with(keys, shared).await
    }

    async fn observe_with(&self, keys: &[TenantKey], shared: bool) -> Result<Vec<ObservedTenant>, CoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let p = &self.platform;
        let env = p.environment;
        let facts = self.facts().await?.clone();
        let names: Vec<TenantNames> = keys
            .iter()
            .map(|k| {
                let sub = k.subdomains.first().cloned().unwrap_or_else(|| k.tenant_id.clone());
                TenantNames::new(env, &k.tenant_id, &sub, &p.domain)
            })
            .collect();
        let _reading = if shared { Some(self.reading.lock().await) } else { None };
        // The per-name reads. A batch of a refresh whose listings an earlier
        // batch made (a fleet: Terraform reads `-parallelism` resources at a
        // time) reads ahead for every tenant those listings show, so that
        // the batches after it find everything read.
        let wanted: Vec<TenantNames> = if shared {
            let mut ahead = self.ahead();
            let ahead = ahead.fresh();
            let mut wanted: Vec<TenantNames> = names.iter().filter(|n| !ahead.has(n)).cloned().collect();
            if !wanted.is_empty() {
                let asked: HashSet<&str> = keys.iter().map(|k| k.tenant_id.as_str()).collect();
                wanted.extend(
                    self.listed_tenants()
                        .into_iter()
                        .filter(|id| !asked.contains(id.as_str()))
                        .map(|id| TenantNames::new(env, &id, &id, &p.domain))
                        .filter(|n| !ahead.has(n))
                        .take(READ_AHEAD_MAX),
                );
            }
            wanted
        } else {
            names.clone()
        };
        let service_names: Vec<String> = wanted.iter().map(|n| n.service.clone()).collect();
        let tg_names: Vec<String> = wanted.iter().map(|n| n.target_group.clone()).collect();
        let databases: Vec<String> = wanted.iter().map(|n| n.database.clone()).collect();
        let users: Vec<String> = wanted.iter().map(|n| n.database_user.clone()).collect();
        let log_prefix = if !shared {
            names[0].log_group.clone()
        } else {
            format!("/ecs/{env}-")
        };
        let mysql = self.mysql().await?;

        let platform_err = |op: &'static str| move |e| CoreError::port(PartOrPlatform::Platform, op, e);
        let part_err = |part: Part, op: &'static str| move |e| CoreError::port(part, op, e);
        let (services, tgs, rules, records, aps, log_groups, (dbs, db_users), tds, secrets) = futures::try_join!(
            async {
                if service_names.is_empty() {
                    return Ok(Vec::new());
                }
                self.ports.ecs.describe_services(&p.cluster, &service_names).await.map_err(part_err(Part::Service, "DescribeServices"))
            },
            async {
                if tg_names.is_empty() {
                    return Ok(Vec::new());
                }
                self.ports.elbv2.describe_target_groups(&tg_names).await.map_err(part_err(Part::TargetGroup, "DescribeTargetGroups"))
            },
            async {
                self.listing(shared, format!("rules:{}", p.listener_arn), self.ports.elbv2.describe_rules(&p.listener_arn)).await.map_err(|e| match e.kind {
                    PortErrorKind::NotFound => CoreError::Platform { setting: "listener_arn", message: format!("listener {:?} was not found: {e}", p.listener_arn) },
                    _ => CoreError::port(Part::ListenerRule, "DescribeRules", e),
                })
            },
            async {
                self.listing(shared, format!("records:{}", p.hosted_zone_id), self.ports.route53.list_records(&p.hosted_zone_id)).await.map_err(|e| match e.kind {
                    PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                        setting: "hosted_zone_id",
                        message: format!("hosted zone {:?} was not found ({e}); set hosted_zone_id to the Route53 zone of {}", p.hosted_zone_id, p.domain),
                    },
                    _ => platform_err("ListResourceRecordSets")(e),
                })
            },
            async {
                self.listing(shared, format!("aps:{}", p.efs_file_system_id), self.ports.efs.describe_access_points(&p.efs_file_system_id)).await.map_err(|e| match e.kind {
                    PortErrorKind::NotFound | PortErrorKind::InvalidInput => CoreError::Platform {
                        setting: "efs_file_system_id",
                        message: format!("EFS file system {:?} was not found ({e}); set efs_file_system_id to the environment's WordPress file system (fs-…)", p.efs_file_system_id),
                    },
                    _ => CoreError::port(Part::AccessPoint, "DescribeAccessPoints", e),
                })
            },
            async { self.listing(shared, format!("logs:{log_prefix}"), self.ports.logs.describe_log_groups(&log_prefix)).await.map_err(part_err(Part::LogGroup, "DescribeLogGroups")) },
            async {
                if databases.is_empty() && users.is_empty() {
                    return Ok((Vec::new(), Vec::new()));
                }
                mysql.observe(&databases, &users).await.map_err(part_err(Part::Database, "observe"))
            },
            async {
                if !shared {
                    return try_join_all(names.iter().map(|n| self.ports.ecs.latest_task_definition(&n.task_family)))
                        .await
                        .map_err(part_err(Part::TaskDefinition, "DescribeTaskDefinition"));
                }
                // Many tenants: one listing of the environment's ACTIVE
                // revisions; only revisions not seen before are described.
                let prefix = format!("{env}-");
                let arns = self
                    .listing(shared, format!("revisions:{prefix}"), self.ports.ecs.list_task_definitions_by_prefix(&prefix))
                    .await
                    .map_err(part_err(Part::TaskDefinition, "ListTaskDefinitions"))?;
                let latest = latest_revisions(&arns);
                try_join_all(names.iter().map(|n| async {
                    match latest.get(n.task_family.as_str()) {
                        None => Ok(None),
                        Some(arn) => self.revision(arn).await,
                    }
                }))
                .await
                .map_err(part_err(Part::TaskDefinition, "DescribeTaskDefinition"))
            },
            async {
                if !shared {
                    return try_join_all(names.iter().map(|n| self.ports.secrets.describe_secret(&n.secret)))
                        .await
                        .map_err(part_err(Part::Secret, "DescribeSecret"));
                }
                // Many tenants: one listing of the environment's secrets.
                let prefix = format!("{env}-");
                let listed = self
                    .listing(shared, format!("secrets:{prefix}"), self.ports.secrets.list_secrets(&prefix))
                    .await
                    .map_err(part_err(Part::Secret, "ListSecrets"))?;
                Ok(names
                    .iter()
                    .map(|n| listed.iter().find(|s| s.name == n.secret).cloned())
                    .collect::<Vec<_>>())
            },
        )
        .map_err(|e| self.cluster_hint(e))?;
        let (services, tgs, dbs, db_users) = if shared {
            // Record what was read, found or not; answer from the record.
            let mut ahead = self.ahead();
            let ahead = ahead.fresh();
            for n in &wanted {
                let found = services.iter().find(|s| s.name == n.service).cloned();
                ahead.services.insert(n.service.clone(), found);
                let found = tgs.iter().find(|t| t.name == n.target_group).cloned();
                ahead.target_groups.insert(n.target_group.clone(), found);
                let found = dbs.iter().find(|d| d.name == n.database).cloned();
                ahead.databases.insert(n.database.clone(), found);
                let found = db_users.iter().find(|u| u.name == n.database_user).cloned();
                ahead.users.insert(n.database_user.clone(), found);
            }
            (
                names
                    .iter()
                    .filter_map(|n| pick(&ahead.services, &n.service))
                    .collect::<Vec<_>>(),
                names
                    .iter()
                    .filter_map(|n| pick(&ahead.target_groups, &n.target_group))
                    .collect::<Vec<_>>(),
                names
                    .iter()
                    .filter_map(|n| pick(&ahead.databases, &n.database))
                    .collect::<Vec<_>>(),
                names
                    .iter()
                    .filter_map(|n| pick(&ahead.users, &n.database_user))
                    .collect::<Vec<_>>(),
            )
        } else {
            (services, tgs, dbs, db_users)
        };

        let reads = Reads {
            facts: &facts,
            services: &services,
            target_groups: &tgs,
            rules: &rules,
            records: &records,
            access_points: &aps,
            log_groups: &log_groups,
            databases: &dbs,
            users: &db_users,
        };
        Ok(keys
            .iter()
            .zip(&names)
            .zip(tds.into_iter().zip(secrets))
            .map(|((key, n), (td, secret))| self.assemble(key, n, &reads, td, secret))
            .collect())
    }

    /// One tenant's observation out of what a batch read, each part found
    /// by name and checked for ownership.
    fn assemble(
        &self,
        key: &TenantKey,
        n: &TenantNames,
        reads: &Reads<'_>,
        td: Option<ObservedTaskDefinition>,
        secret: Option<ObservedSecret>,
    ) -> ObservedTenant {
        let p = &self.platform;
        let env = p.environment;
        let Reads {
            facts,
            services,
            target_groups: tgs,
            rules,
            records,
            access_points: aps,
            log_groups,
            databases: dbs,
            users: db_users,
        } = *reads;
        let tid = key.tenant_id.as_str();
        let mut o = ObservedTenant {
            tenant_id: tid.to_owned(),
            facts: Some(facts.clone()),
            ..Default::default()
        };
        let mut foreign = Vec::new();
        let mut adopt = |part: Part, name: &str, tags: &Tags| -> bool {
            if owned_by(tags, tid, env) {
                true
            } else {
                foreign.push(ForeignPart {
                    part,
                    name: name.to_owned(),
                    found: describe_owner(tags),
                    owner: owner_of(tags),
                });
                false
            }
        };
        o.service = services
            .iter()
            .find(|s| s.name == n.service)
            .filter(|s| adopt(Part::Service, &s.name, &s.tags))
            .cloned();
        o.target_group = tgs
            .iter()
            .find(|t| t.name == n.target_group)
            .filter(|t| adopt(Part::TargetGroup, &t.name, &t.tags))
            .cloned();
        if let Some(t) = &td {
            self.know_revision(t.clone());
        }
        o.task_definition = td.filter(|t| adopt(Part::TaskDefinition, &t.family, &t.tags));
        o.secret = secret.filter(|s| adopt(Part::Secret, &s.name, &s.tags));
        o.log_group = log_groups
            .iter()
            .find(|l| l.name == n.log_group)
            .filter(|l| adopt(Part::LogGroup, &l.name, &l.tags))
            .cloned();
        // Access points have no unique name: ours carry our tags. One
        // with our Name tag but other tags is someone else's.
        o.access_point = aps
            .iter()
            .find(|a| a.name == n.access_point && owned_by(&a.tags, tid, env))
            .cloned();
        if o.access_point.is_none()
            && let Some(a) = aps.iter().find(|a| a.name == n.access_point)
        {
            adopt(Part::AccessPoint, &a.id, &a.tags);
        }
        // Listener rule: ours by tags; a rule routing our host that is
        // not ours means the subdomain is taken.
        o.listener_rule = rules.iter().find(|r| owned_by(&r.tags, tid, env)).cloned();
        if let Some(r) = rules
            .iter()
            .find(|r| r.hosts.contains(&n.fqdn) && !owned_by(&r.tags, tid, env))
        {
            foreign.push(ForeignPart {
                part: Part::ListenerRule,
                name: format!("host {} (rule priority {})", n.fqdn, r.priority),
                found: describe_owner(&r.tags),
                owner: owner_of(&r.tags),
            });
        }
        // DNS: records under any name the tenant used that point at the
        // platform's load balancer.
        let mut candidates: HashSet<String> = key
            .subdomains
            .iter()
            .map(|s| crate::naming::fqdn(s, &p.domain))
            .collect();
        candidates.insert(n.fqdn.clone());
        if let Some(sub) = o.routed_subdomain(&p.domain) {
            candidates.insert(crate::naming::fqdn(&sub, &p.domain));
        }
        for r in records.iter().filter(|r| candidates.contains(&r.name)) {
            if points_at(&r.target, facts) {
                o.dns_records.push(r.clone());
            } else if r.name == n.fqdn {
                foreign.push(ForeignPart {
                    part: Part::DnsRecord,
                    name: r.name.clone(),
                    found: "a record pointing elsewhere".into(),
                    owner: None,
                });
            }
        }
        o.database = dbs.iter().find(|d| d.name == n.database).cloned();
        o.database_user = db_users.iter().find(|u| u.name == n.database_user).cloned();
        o.foreign = foreign;
        o
    }

    /// One tenant's observation from what this process has read already
    /// (the listings and read-ahead of the refresh under way), without a
    /// request; `None` when anything it needs was not read. A batch of the
    /// refresh would find exactly this, only later: the batching window
    /// is for reads that have to be made.
    pub fn observe_read(&self, key: &TenantKey) -> Option<ObservedTenant> {
        let p = &self.platform;
        let env = p.environment;
        let facts = self.facts.get()?;
        let sub = key.subdomains.first().cloned().unwrap_or_else(|| key.tenant_id.clone());
        let n = TenantNames::new(env, &key.tenant_id, &sub, &p.domain);
        let (services, target_groups, databases, users): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = {
            let ahead = self.ahead();
            if !ahead.is_fresh() || !ahead.has(&n) {
                return None;
            }
            (
                pick(&ahead.services, &n.service).into_iter().collect(),
                pick(&ahead.target_groups, &n.target_group).into_iter().collect(),
                pick(&ahead.databases, &n.database).into_iter().collect(),
                pick(&ahead.users, &n.database_user).into_iter().collect(),
            )
        };
        let prefix = format!("{env}-");
        let revisions = self.cached_listing::<String>(&format!("revisions:{prefix}"))?;
        let td = match latest_revisions(&revisions).get(n.task_family.as_str()) {
            None => None,
            Some(arn) => Some(self.revisions().get(*arn).cloned()?),
        };
        let secrets = self.cached_listing::<ObservedSecret>(&format!("secrets:{prefix}"))?;
        let secret = secrets.iter().find(|s| s.name == n.secret).cloned();
        // Borrowed, not copied: every tenant of a refresh reads them.
        let rules = self.cached_listing::<ObservedListenerRule>(&format!("rules:{}", p.listener_arn))?;
        let records = self.cached_listing::<ObservedDnsRecord>(&format!("records:{}", p.hosted_zone_id))?;
        let aps = self.cached_listing::<ObservedAccessPoint>(&format!("aps:{}", p.efs_file_system_id))?;
        let log_groups = self.cached_listing::<ObservedLogGroup>(&format!("logs:/ecs/{prefix}"))?;
        let reads = Reads {
            facts,
            services: &services,
            target_groups: &target_groups,
            rules: &rules,
            records: &records,
            access_points: &aps,
            log_groups: &log_groups,
            databases: &databases,
            users: &users,
        };
        Some(self.assemble(key, &n, &reads, td, secret))
    }

    /// A shared listing this process holds and may still use.
    fn cached_listing<T: Send + Sync + 'static>(&self, key: &str) -> Option<Arc<Vec<T>>> {
        let (_, v) = self
            .listings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .filter(|(at, _)| at.elapsed() < LISTING_TTL)
            .cloned()?;
        v.downcast::<Vec<T>>().ok()
    }

    /// Tells the engine of a revision observed before, e.g. by an earlier
    /// process. Revisions are immutable: if a later observation finds the
    /// same ARN still ACTIVE, this is what it holds, and describing it again
    /// would only cost a request per tenant.
    pub fn know_revision(&self, revision: ObservedTaskDefinition) {
        if !revision.arn.is_empty() {
            self.revisions().insert(revision.arn.clone(), revision);
        }
    }

    fn revisions(&self) -> std::sync::MutexGuard<'_, HashMap<String, ObservedTaskDefinition>> {
        self.revisions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One revision, known or described.
    async fn revision(&self, arn: &str) -> crate::ports::PortResult<Option<ObservedTaskDefinition>> {
        if let Some(known) = self.revisions().get(arn).cloned() {
            return Ok(Some(known));
        }
        let described = self.ports.ecs.describe_task_definition(arn).await?;
        if let Some(td) = &described {
            self.know_revision(td.clone());
        }
        Ok(described)
    }

    /// Forgets the revisions of one family: a write may re-tag or
    /// deregister them.
    fn forget_revisions(&self, family: &str) {
        self.revisions().retain(|_, r| r.family != family);
    }

    /// A listing, from the cache when `shared` (a batch of several tenants)
    /// and fresh enough; single-tenant observations always read.
    async fn listing<T, F>(&self, shared: bool, key: String, fetch: F) -> crate::ports::PortResult<Arc<Vec<T>>>
    where
        T: Send + Sync + 'static,
        F: Future<Output = crate::ports::PortResult<Vec<T>>>,
    {
        if shared && let Some(v) = self.cached_listing::<T>(&key) {
            return Ok(v);
        }
        // Shared, not copied: a listing of a fleet is the biggest thing a
        // refresh holds, and every batch of it reads the same one.
        let v = Arc::new(fetch.await?);
        if shared {
            self.listings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key, (std::time::Instant::now(), v.clone()));
        }
        Ok(v)
    }

    /// Forgets shared listings and what was read ahead: a write makes them
    /// stale.
    fn forget_listings(&self) {
        self.listings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        *self.ahead() = ReadAhead::default();
    }

    fn ahead(&self) -> std::sync::MutexGuard<'_, ReadAhead> {
        self.ahead.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tenant ids the environment-wide listings cached by an earlier
    /// batch show (task definition families, secrets, log groups); empty
    /// when no batch listed yet.
    fn listed_tenants(&self) -> Vec<String> {
        let env = self.platform.environment;
        let env_prefix = format!("{env}-");
        let mut ids: Vec<String> = Vec::new();
        if let Some(arns) = self.cached_listing::<String>(&format!("revisions:{env_prefix}")) {
            ids.extend(
                latest_revisions(&arns)
                    .keys()
                    .filter_map(|f| f.strip_prefix(&env_prefix))
                    .map(str::to_owned),
            );
        }
        if let Some(groups) = self.cached_listing::<ObservedLogGroup>(&format!("logs:/ecs/{env_prefix}")) {
            let prefix = format!("/ecs/{env_prefix}");
            ids.extend(
                groups
                    .iter()
                    .filter_map(|g| g.name.strip_prefix(&prefix))
                    .map(str::to_owned),
            );
        }
        ids.retain(|id| crate::validate::is_tenant_id(id));
        ids.sort();
        ids.dedup();
        ids
    }

    /// The ids of every tenant of this environment, found by ownership tags
    /// on the listener's rules and on the log groups under `/ecs/{env}-`
    /// (two reads, whatever the number of tenants), sorted.
    pub async fn discover(&self) -> Result<Vec<String>, CoreError> {
        let p = &self.platform;
        let env = p.environment;
        let (rules, groups) = futures::try_join!(
            async {
                self.ports
                    .elbv2
                    .describe_rules(&p.listener_arn)
                    .await
                    .map_err(|e| CoreError::port(Part::ListenerRule, "DescribeRules", e))
            },
            async {
                self.ports
                    .logs
                    .describe_log_groups(&format!("/ecs/{env}-"))
                    .await
                    .map_err(|e| CoreError::port(Part::LogGroup, "DescribeLogGroups", e))
            },
        )?;
        let ours = |tags: &Tags| {
            (tags.get(crate::naming::TAG_ENVIRONMENT).map(String::as_str) == Some(env.as_str()))
                .then(|| tags.get(crate::naming::TAG_TENANT).cloned())
                .flatten()
                .filter(|id| crate::validate::is_tenant_id(id))
        };
        let mut ids: Vec<String> = rules
            .iter()
            .filter_map(|r| ours(&r.tags))
            .chain(groups.iter().filter_map(|g| ours(&g.tags)))
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    fn cluster_hint(&self, e: CoreError) -> CoreError {
        match &e {
            CoreError::Port {
                part: PartOrPlatform::Part(Part::Service),
                source,
                ..
            } if source.code.contains("ClusterNotFound") => CoreError::Platform {
                setting: "cluster",
                message: format!(
                    "ECS cluster {:?} was not found ({source}); set cluster to the environment's cluster (default \"{{env}}-cluster\")",
                    self.platform.cluster
                ),
            },
            _ => e,
        }
    }

    /// Executes `plan` (from [`crate::plan()`] of `spec` and `observed`), then
    /// observes again and returns the truth. On failure, removes exactly the
    /// parts this run created and reports the step.
    pub async fn apply(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
    ) -> Result<ObservedTenant, CoreError> {
        self.apply_with(spec, observed, plan, &ApplyInputs::default()).await
    }

    /// [`Self::apply`] with inputs that exist at apply time only, such as a
    /// user-supplied database password.
    /// Every apply that changes something leaves an audit record.
    pub async fn apply_with(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        inputs: &ApplyInputs,
    ) -> Result<ObservedTenant, CoreError> {
        self.forget_listings();
        self.forget_revisions(&spec.names().task_family);
        let result = self.converge(spec, observed, plan, inputs).await;
        self.forget_listings();
        if !plan.is_empty() || result.is_err() {
            let operation = crate::audit::operation_of(spec, observed);
            let error = result.as_ref().err().map(ToString::to_string);
            self.audit(operation, &spec.tenant_id, crate::audit::parts_of(plan), error)
                .await;
        }
        result
    }

    async fn converge(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        inputs: &ApplyInputs,
    ) -> Result<ObservedTenant, CoreError> {
        if let Some(c) = plan.conflicts.first() {
            return Err(CoreError::NotOwned {
                part: c.part,
                name: c.name.clone(),
                tenant_id: spec.tenant_id.clone(),
                found: c.found.clone(),
            });
        }
        tracing::info!(tenant = %spec.tenant_id, changes = %plan.changes.iter().filter(|c| c.action != PartAction::NoChange).map(|c| format!("{}: {}", c.part, c.action)).collect::<Vec<_>>().join("; "), "applying");
        let run = Run {
            engine: self,
            spec,
            observed,
            plan,
            inputs,
            created: Mutex::new(Vec::new()),
        };
        match run.execute().await {
            Ok(()) => {}
            Err(failure) => {
                tracing::warn!(tenant = %spec.tenant_id, step = %failure.step, part = %failure.part, error = %failure.error, "apply failed; rolling back what this run created");
                let (rolled_back, rollback_errors) = run.rollback().await;
                return Err(CoreError::Apply {
                    step: failure.step,
                    part: failure.part,
                    source: Box::new(failure.error),
                    rolled_back,
                    rollback_errors,
                });
            }
        }
        let mut subdomains = vec![spec.subdomain.clone()];
        subdomains.extend(observed.routed_subdomain(&self.platform.domain));
        self.observe_one(&spec.tenant_id, &subdomains).await
    }

    /// Destroys the tenant per [`crate::plan_destroy`], in reverse creation
    /// order. Refused when the spec's guards say so.
    /// Every destroy, refused or not, leaves an audit record.
    pub async fn destroy(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
    ) -> Result<DestroyReport, CoreError> {
        self.forget_listings();
        self.forget_revisions(&spec.names().task_family);
        let result = self.tear_down(spec, observed, plan).await;
        self.forget_listings();
        let error = result.as_ref().err().map(ToString::to_string);
        self.audit("delete", &spec.tenant_id, crate::audit::parts_of(plan), error)
            .await;
        result
    }

    async fn tear_down(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
    ) -> Result<DestroyReport, CoreError> {
        spec.check_destroy()?;
        let p = &self.platform;
        let names = spec.names();
        let mut report = DestroyReport::default();
        let step = |part: Part, op: &'static str| {
            move |e: PortError| CoreError::Apply {
                step: format!("delete {part}"),
                part,
                source: Box::new(CoreError::port(part, op, e)),
                rolled_back: Vec::new(),
                rollback_errors: Vec::new(),
            }
        };
        let deleting = |part: Part| plan.action(part) == &PartAction::Delete;

        if deleting(Part::Service) {
            ignore_not_found(self.ports.ecs.delete_service(&p.cluster, &names.service).await)
                .map_err(step(Part::Service, "DeleteService"))?;
            report.deleted.push(Part::Service);
        }
        if deleting(Part::ListenerRule)
            && let Some(r) = &observed.listener_rule
        {
            ignore_not_found(self.ports.elbv2.delete_rule(&r.arn).await)
                .map_err(step(Part::ListenerRule, "DeleteRule"))?;
            report.deleted.push(Part::ListenerRule);
        }
        if deleting(Part::DnsRecord) {
            for r in &observed.dns_records {
                ignore_not_found(self.ports.route53.delete_record(r).await)
                    .map_err(step(Part::DnsRecord, "ChangeResourceRecordSets"))?;
            }
            report.deleted.push(Part::DnsRecord);
        }
        if deleting(Part::TaskDefinition) {
            let arns = self
                .ports
                .ecs
                .list_task_definitions(&names.task_family)
                .await
                .map_err(step(Part::TaskDefinition, "ListTaskDefinitions"))?;
            for arn in arns {
                ignore_not_found(self.ports.ecs.deregister_task_definition(&arn).await)
                    .map_err(step(Part::TaskDefinition, "DeregisterTaskDefinition"))?;
            }
            report.deleted.push(Part::TaskDefinition);
        }
        if deleting(Part::TargetGroup)
            && let Some(t) = &observed.target_group
        {
            self.delete_target_group(&t.arn)
                .await
                .map_err(step(Part::TargetGroup, "DeleteTargetGroup"))?;
            report.deleted.push(Part::TargetGroup);
        }
        if deleting(Part::AccessPoint)
            && let Some(a) = &observed.access_point
        {
            ignore_not_found(self.ports.efs.delete_access_point(&a.id).await)
                .map_err(step(Part::AccessPoint, "DeleteAccessPoint"))?;
            report.deleted.push(Part::AccessPoint);
        }
        if observed.access_point.is_some() {
            report.retained.push(format!(
                "files under {} on EFS file system {} are kept (bbws deletes the access point, not the files)",
                names.access_point_root, p.efs_file_system_id
            ));
        }
        if deleting(Part::LogGroup) {
            ignore_not_found(self.ports.logs.delete_log_group(&names.log_group).await)
                .map_err(step(Part::LogGroup, "DeleteLogGroup"))?;
            report.deleted.push(Part::LogGroup);
        }
        if deleting(Part::Secret)
            && let Some(s) = &observed.secret
        {
            ignore_not_found(
                self.ports
                    .secrets
                    .delete_secret(&s.arn, SECRET_RECOVERY_WINDOW_DAYS)
                    .await,
            )
            .map_err(step(Part::Secret, "DeleteSecret"))?;
            report.deleted.push(Part::Secret);
        }
        let mysql = self.mysql().await?;
        match plan.action(Part::DatabaseUser) {
            PartAction::Delete => {
                mysql
                    .drop_user(&names.database_user)
                    .await
                    .map_err(step(Part::DatabaseUser, "DROP USER"))?;
                report.deleted.push(Part::DatabaseUser);
            }
            PartAction::Update(_) | PartAction::Retain(_) => {
                if plan.action(Part::DatabaseUser).is_change() {
                    mysql
                        .set_locked(&names.database_user, true)
                        .await
                        .map_err(step(Part::DatabaseUser, "ALTER USER ACCOUNT LOCK"))?;
                }
                report.retained.push(format!(
                    "MySQL user {} is kept, locked (retain_data_on_destroy = true)",
                    names.database_user
                ));
            }
            _ => {}
        }
        match plan.action(Part::Database) {
            PartAction::Delete => {
                mysql
                    .drop_database(&names.database)
                    .await
                    .map_err(step(Part::Database, "DROP DATABASE"))?;
                report.deleted.push(Part::Database);
            }
            PartAction::Retain(_) => {
                report.retained.push(format!(
                    "MySQL database {} is kept (retain_data_on_destroy = true)",
                    names.database
                ));
            }
            _ => {}
        }
        Ok(report)
    }

    /// A target group stays in use for a moment after its service and rule
    /// are deleted; retry `ResourceInUse` for a while.
    async fn delete_target_group(&self, arn: &str) -> Result<(), PortError> {
        let mut delay = Duration::from_millis(200);
        for _ in 0..8 {
            match ignore_not_found(self.ports.elbv2.delete_target_group(arn).await) {
                Err(e) if e.code == "ResourceInUse" => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
        ignore_not_found(self.ports.elbv2.delete_target_group(arn).await)
    }

    /// Creates a listener rule at a free priority. Priorities are spread by
    /// tenant id so that concurrent creators rarely pick the same one; on
    /// `PriorityInUse` the rules are read again and another is picked.
    async fn create_rule(&self, spec: &ListenerRuleSpec, tenant_id: &str) -> Result<ObservedListenerRule, PortError> {
        let _serialised = self.listener_lock.lock().await;
        let mut last = None;
        for attempt in 0..PRIORITY_ATTEMPTS {
            let rules = self.ports.elbv2.describe_rules(&spec.listener_arn).await?;
            let taken: HashSet<u32> = rules.iter().map(|r| r.priority).collect();
            let Some(priority) = pick_priority(tenant_id, &taken, attempt) else {
                return Err(PortError::new(
                    PortErrorKind::Other,
                    "TooManyRules",
                    "the listener has no free rule priority",
                ));
            };
            match self.ports.elbv2.create_rule(spec, priority).await {
                Err(e) if e.kind == PortErrorKind::PriorityInUse => {
                    last = Some(e);
                    use rand::Rng;
                    let jitter = rand::rng().random_range(10..100u64);
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
                other => return other,
            }
        }
        Err(last
            .unwrap_or_else(|| PortError::new(PortErrorKind::PriorityInUse, "PriorityInUse", "no free priority found")))
    }
}

/// What a read-ahead map holds for `name`, if it found something.
fn pick<T: Clone>(m: &HashMap<String, Option<T>>, name: &str) -> Option<T> {
    m.get(name).cloned().flatten()
}

/// The highest revision of each family among `arns`
/// (`…:task-definition/{family}:{revision}`), by family.
pub(crate) fn latest_revisions(arns: &[String]) -> HashMap<&str, &str> {
    let mut best: HashMap<&str, (i32, &str)> = HashMap::new();
    for arn in arns {
        let Some((family, rev)) = crate::naming::family_and_revision(arn) else {
            continue;
        };
        let e = best.entry(family).or_insert((rev, arn));
        if rev > e.0 {
            *e = (rev, arn);
        }
    }
    best.into_iter().map(|(f, (_, arn))| (f, arn)).collect()
}

fn owner_of(tags: &Tags) -> Option<String> {
    tags.get(crate::naming::TAG_TENANT).cloned()
}

/// Picks a free priority: a start derived from the tenant id (FNV-1a), moved
/// on each attempt, then the next free one upwards.
pub fn pick_priority(tenant_id: &str, taken: &HashSet<u32>, attempt: u32) -> Option<u32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tenant_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let span = u64::from(MAX_RULE_PRIORITY);
    let start = (h.wrapping_add(u64::from(attempt) * 7_919) % span) as u32 + 1;
    (0..MAX_RULE_PRIORITY)
        .map(|i| (start - 1 + i) % MAX_RULE_PRIORITY + 1)
        .find(|p| !taken.contains(p))
}

fn points_at(target: &RecordTarget, facts: &PlatformFacts) -> bool {
    let norm = |s: &str| {
        s.trim_end_matches('.')
            .trim_start_matches("dualstack.")
            .to_ascii_lowercase()
    };
    let lb = norm(&facts.load_balancer_dns_name);
    match target {
        RecordTarget::Alias { dns_name, .. } => norm(dns_name) == lb,
        RecordTarget::Cname(v) => norm(v) == lb,
    }
}

/// One execution of a plan.
struct Run<'a> {
    engine: &'a Engine,
    spec: &'a TenantSpec,
    observed: &'a ObservedTenant,
    plan: &'a TenantPlan,
    inputs: &'a ApplyInputs,
    created: Mutex<Vec<Created>>,
}

impl Run<'_> {
    fn record(&self, c: Created) {
        if let Ok(mut v) = self.created.lock() {
            v.push(c);
        }
    }

    fn action(&self, part: Part) -> &PartAction {
        self.plan.action(part)
    }

    async fn execute(&self) -> StepResult<()> {
        let e = self.engine;
        let ports = &e.ports;
        let facts = e.facts().await.map_err(|error| StepFailure {
            step: "read platform".into(),
            part: Part::Secret,
            error,
        })?;
        let mut d = DesiredTenant::new(self.spec, facts, self.observed);
        let names = d.names.clone();
        let mysql = e.mysql().await.map_err(|error| StepFailure {
            step: "connect".into(),
            part: Part::Database,
            error,
        })?;

        // A secret pending deletion is restored before anything reads it.
        if let (PartAction::Update(f), Some(s)) = (self.action(Part::Secret), &self.observed.secret)
            && f.contains(&"restore")
        {
            ports
                .secrets
                .restore_secret(&s.arn)
                .await
                .map_err(fail("restore", Part::Secret, "RestoreSecret"))?;
        }
        // The password: the user's or a new one with a new secret or a
        // rotation; else the secret's, when the user must be created.
        let rotate = matches!(self.action(Part::Secret), PartAction::Update(f) if f.contains(&"password"));
        let repair_secret = Mutex::new(false);
        let rotation: Mutex<Option<PasswordChange>> = Mutex::new(None);
        let chosen = || {
            self.inputs
                .db_password
                .as_ref()
                .map_or_else(generate_password, |p| p.expose().to_owned())
        };
        let password = if self.action(Part::Secret) == &PartAction::Create || rotate {
            Some(chosen())
        } else if self.action(Part::DatabaseUser) == &PartAction::Create {
            Some(self.secret_password().await?.unwrap_or_else(|| {
                // A secret that holds no usable password gets a new one,
                // written before the user exists: never a user whose
                // password nobody knows.
                *repair_secret.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
                generate_password()
            }))
        } else {
            None
        };
        let credentials = DbCredentials {
            host: facts.database_host.clone(),
            port: facts.database_port,
            database: names.database.clone(),
            username: names.database_user.clone(),
            password: password.clone().unwrap_or_default(),
        };

        // Stage 1: independent parts, concurrently.
        let secret_step = async {
            match self.action(Part::Secret) {
                PartAction::Create => {
                    let value = serde_json::to_string(&credentials).unwrap_or_default();
                    let s = ports.secrets.create_secret(&d.secret, &value).await.map_err(fail(
                        "create",
                        Part::Secret,
                        "CreateSecret",
                    ))?;
                    self.record(Created::Secret(s.arn.clone()));
                    Ok(Some(s))
                }
                PartAction::Update(f) => {
                    let s = self.observed.secret.clone();
                    if let Some(s) = &s
                        && f.contains(&"tags")
                    {
                        ports.secrets.tag_resource(&s.arn, &d.secret.tags).await.map_err(fail(
                            "update",
                            Part::Secret,
                            "TagResource",
                        ))?;
                    }
                    // A new password is written by the database step, once
                    // MySQL accepts it (see `rotate_password`).
                    // After a rotation the settings (which record the
                    // password's version) are written once MySQL has the new
                    // password too, so a failure in between rotates again.
                    if let Some(s) = &s
                        && f.contains(&"settings")
                        && !rotate
                    {
                        ports
                            .secrets
                            .set_description(&s.arn, &d.secret.description)
                            .await
                            .map_err(fail("update", Part::Secret, "UpdateSecret"))?;
                    }
                    Ok(s)
                }
                _ => Ok(self.observed.secret.clone()),
            }
        };
        let database_step = async {
            if self.action(Part::Database) == &PartAction::Create {
                match mysql.create_database(&names.database).await {
                    Ok(()) => self.record(Created::Database(names.database.clone())),
                    // Created meanwhile (another run of this tenant): found,
                    // not created by this run, so never dropped by its rollback.
                    Err(e) if e.kind == PortErrorKind::AlreadyExists => {}
                    Err(e) => return Err(fail("create", Part::Database, "CREATE DATABASE")(e)),
                }
            }
            let pw = password.as_deref().unwrap_or_default();
            let user = MysqlUser {
                name: &names.database_user,
                database: &names.database,
                max_connections: self.spec.db_max_connections,
            };
            match self.action(Part::DatabaseUser) {
                PartAction::Create => {
                    let repair = *repair_secret.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let (true, Some(s)) = (repair, &self.observed.secret) {
                        let value = serde_json::to_string(&credentials).unwrap_or_default();
                        ports.secrets.put_secret_value(&s.arn, &value).await.map_err(fail(
                            "repair",
                            Part::Secret,
                            "PutSecretValue",
                        ))?;
                    }
                    mysql
                        .create_user(&user, pw)
                        .await
                        .map_err(fail("create", Part::DatabaseUser, "CREATE USER"))?;
                    self.record(Created::DatabaseUser(names.database_user.clone()));
                }
                PartAction::Update(f) => {
                    if f.contains(&"password") && password.is_some() && self.action(Part::Secret) == &PartAction::Create
                    {
                        // A new secret (the old one is gone) is created with
                        // this password by the secret step.
                        mysql.set_password(&user, pw, false).await.map_err(fail(
                            "update",
                            Part::DatabaseUser,
                            "ALTER USER",
                        ))?;
                    } else if f.contains(&"password") && password.is_some() {
                        let change = self.rotate_password(mysql.as_ref(), &user, &credentials).await?;
                        *rotation.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(change);
                    } else if f.contains(&"max_connections") {
                        mysql
                            .set_max_connections(user.name, user.max_connections)
                            .await
                            .map_err(fail("update", Part::DatabaseUser, "ALTER USER"))?;
                    }
                    if f.contains(&"discard_old_password") {
                        // Discarded once the service has restarted (below).
                        *rotation.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some(PasswordChange::OldRetained);
                    }
                    if f.contains(&"unlock") {
                        mysql.set_locked(&names.database_user, false).await.map_err(fail(
                            "update",
                            Part::DatabaseUser,
                            "ALTER USER ACCOUNT UNLOCK",
                        ))?;
                    }
                }
                _ => {}
            }
            Ok::<_, StepFailure>(())
        };
        let access_point_step = async {
            match self.action(Part::AccessPoint) {
                PartAction::Create | PartAction::Replace(_) => {
                    let a = ports.efs.create_access_point(&d.access_point).await.map_err(fail(
                        "create",
                        Part::AccessPoint,
                        "CreateAccessPoint",
                    ))?;
                    self.record(Created::AccessPoint(a.id.clone()));
                    Ok(Some(a))
                }
                PartAction::Update(_) => {
                    if let Some(a) = &self.observed.access_point {
                        ports.efs.tag_resource(&a.id, &d.access_point.tags).await.map_err(fail(
                            "update",
                            Part::AccessPoint,
                            "TagResource",
                        ))?;
                    }
                    Ok(self.observed.access_point.clone())
                }
                _ => Ok(self.observed.access_point.clone()),
            }
        };
        let log_group_step = async {
            match self.action(Part::LogGroup) {
                PartAction::Create => {
                    let l = ports.logs.create_log_group(&d.log_group).await.map_err(fail(
                        "create",
                        Part::LogGroup,
                        "CreateLogGroup",
                    ))?;
                    self.record(Created::LogGroup(l.name.clone()));
                }
                PartAction::Update(f) => {
                    if f.contains(&"retention_days") {
                        ports
                            .logs
                            .put_retention_policy(&d.log_group.name, d.log_group.retention_days)
                            .await
                            .map_err(fail("update", Part::LogGroup, "PutRetentionPolicy"))?;
                    }
                    if let (true, Some(l)) = (f.contains(&"tags"), &self.observed.log_group) {
                        ports.logs.tag_log_group(&l.arn, &d.log_group.tags).await.map_err(fail(
                            "update",
                            Part::LogGroup,
                            "TagResource",
                        ))?;
                    }
                }
                _ => {}
            }
            Ok::<_, StepFailure>(())
        };
        let target_group_step = async {
            match self.action(Part::TargetGroup) {
                PartAction::Create => {
                    let t = ports.elbv2.create_target_group(&d.target_group).await.map_err(fail(
                        "create",
                        Part::TargetGroup,
                        "CreateTargetGroup",
                    ))?;
                    self.record(Created::TargetGroup(t.arn.clone()));
                    Ok(Some(t))
                }
                PartAction::Replace(_) => {
                    // The name is unique, so the old group goes first — and
                    // with it the service and rule that use it.
                    if let Some(s) = &self.observed.service {
                        ignore_not_found(ports.ecs.delete_service(&s.cluster, &s.name).await).map_err(fail(
                            "replace",
                            Part::Service,
                            "DeleteService",
                        ))?;
                    }
                    if let Some(r) = &self.observed.listener_rule {
                        ignore_not_found(ports.elbv2.delete_rule(&r.arn).await).map_err(fail(
                            "replace",
                            Part::ListenerRule,
                            "DeleteRule",
                        ))?;
                    }
                    if let Some(t) = &self.observed.target_group {
                        e.delete_target_group(&t.arn).await.map_err(fail(
                            "replace",
                            Part::TargetGroup,
                            "DeleteTargetGroup",
                        ))?;
                    }
                    let t = ports.elbv2.create_target_group(&d.target_group).await.map_err(fail(
                        "create",
                        Part::TargetGroup,
                        "CreateTargetGroup",
                    ))?;
                    self.record(Created::TargetGroup(t.arn.clone()));
                    Ok(Some(t))
                }
                PartAction::Update(f) => {
                    if let Some(t) = &self.observed.target_group {
                        if f.contains(&"health_check_path") {
                            ports
                                .elbv2
                                .set_health_check_path(&t.arn, &d.target_group.health_check_path)
                                .await
                                .map_err(fail("update", Part::TargetGroup, "ModifyTargetGroup"))?;
                        }
                        if f.contains(&"tags") {
                            ports.elbv2.add_tags(&t.arn, &d.target_group.tags).await.map_err(fail(
                                "update",
                                Part::TargetGroup,
                                "AddTags",
                            ))?;
                        }
                    }
                    Ok(self.observed.target_group.clone())
                }
                _ => Ok(self.observed.target_group.clone()),
            }
        };
        let (secret, (), access_point, (), target_group) = join5(
            secret_step,
            database_step,
            access_point_step,
            log_group_step,
            target_group_step,
        )
        .await?;
        if rotate
            && let (Some(s), PartAction::Update(f)) = (&secret, self.action(Part::Secret))
            && f.contains(&"settings")
        {
            ports
                .secrets
                .set_description(&s.arn, &d.secret.description)
                .await
                .map_err(fail("update", Part::Secret, "UpdateSecret"))?;
        }

        // Fill in what stage 1 produced.
        let secret_arn = secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let tg_arn = target_group.as_ref().map(|t| t.arn.clone()).unwrap_or_default();
        d.task_definition.secrets = secret_refs(&secret_arn);
        d.task_definition.access_point_id = access_point.as_ref().map(|a| a.id.clone()).unwrap_or_default();
        d.service.target_group_arn = tg_arn.clone();
        if let RuleAction::Forward(arn) = &mut d.listener_rule.action {
            *arn = tg_arn;
        }

        // Stage 2: the task definition.
        let td_action = self.action(Part::TaskDefinition);
        let td_arn = if needs_new_revision(td_action) {
            let t = ports
                .ecs
                .register_task_definition(&d.task_definition)
                .await
                .map_err(fail("register", Part::TaskDefinition, "RegisterTaskDefinition"))?;
            self.record(Created::TaskDefinition(t.arn.clone()));
            t.arn
        } else {
            let current = self
                .observed
                .task_definition
                .as_ref()
                .map(|t| t.arn.clone())
                .unwrap_or_default();
            if td_action.is_change() {
                ports
                    .ecs
                    .tag_resource(&current, &d.task_definition.tags)
                    .await
                    .map_err(fail("update", Part::TaskDefinition, "TagResource"))?;
            }
            current
        };
        d.service.task_definition_arn = td_arn;

        // Stage 3: routing and DNS, concurrently.
        let rule_arn: Mutex<Option<(String, Option<RuleAction>)>> = Mutex::new(None);
        let rule_step = async {
            // Replacing the target group deleted the rule that used it.
            if let Some(r) = &self.observed.listener_rule {
                *rule_arn.lock().map_err(|_| poisoned(Part::ListenerRule))? = Some((r.arn.clone(), r.action.clone()));
            }
            let must_create = matches!(
                self.action(Part::ListenerRule),
                PartAction::Create | PartAction::Replace(_)
            ) || matches!(self.action(Part::TargetGroup), PartAction::Replace(_));
            match (self.action(Part::ListenerRule), &self.observed.listener_rule) {
                _ if must_create => {
                    // ECS only places a service behind a target group that a
                    // listener forwards to: a new rule forwards first, and a
                    // suspended tenant's fixed response is set after stage 4.
                    let mut forwarding = d.listener_rule.clone();
                    forwarding.action = RuleAction::Forward(d.service.target_group_arn.clone());
                    let r = e.create_rule(&forwarding, &self.spec.tenant_id).await.map_err(fail(
                        "create",
                        Part::ListenerRule,
                        "CreateRule",
                    ))?;
                    self.record(Created::ListenerRule(r.arn.clone()));
                    *rule_arn.lock().map_err(|_| poisoned(Part::ListenerRule))? = Some((r.arn, r.action));
                }
                (PartAction::Update(f), Some(r)) => {
                    if f.iter().any(|f| *f == "host" || *f == "action") {
                        ports
                            .elbv2
                            .modify_rule(&r.arn, &d.listener_rule.host, &d.listener_rule.action)
                            .await
                            .map_err(fail("update", Part::ListenerRule, "ModifyRule"))?;
                    }
                    if f.contains(&"tags") {
                        ports.elbv2.add_tags(&r.arn, &d.listener_rule.tags).await.map_err(fail(
                            "update",
                            Part::ListenerRule,
                            "AddTags",
                        ))?;
                    }
                }
                _ => {}
            }
            Ok::<_, StepFailure>(())
        };
        let dns_step = async {
            let action = self.action(Part::DnsRecord);
            if action.is_change() && action != &PartAction::Delete {
                let existed = self.observed.dns_record(&d.dns_record.name).is_some();
                ports.route53.upsert_record(&d.dns_record).await.map_err(fail(
                    "upsert",
                    Part::DnsRecord,
                    "ChangeResourceRecordSets",
                ))?;
                if !existed {
                    self.record(Created::DnsRecord(ObservedDnsRecord {
                        zone_id: d.dns_record.zone_id.clone(),
                        name: d.dns_record.name.clone(),
                        target: d.dns_record.target.clone(),
                    }));
                }
            }
            Ok::<_, StepFailure>(())
        };
        futures::future::try_join(rule_step, dns_step).await?;

        // Stage 4: the service.
        let svc = &d.service;
        let recreate_service = matches!(self.action(Part::TargetGroup), PartAction::Replace(_));
        let rule = rule_arn.lock().map_err(|_| poisoned(Part::ListenerRule))?.clone();
        let rule_now = match (&rule, self.action(Part::ListenerRule)) {
            // A modified rule now has the desired action.
            (Some((arn, _)), PartAction::Update(f)) if f.contains(&"action") => {
                Some((arn.clone(), Some(d.listener_rule.action.clone())))
            }
            (r, _) => r.clone(),
        };
        match self.action(Part::Service) {
            PartAction::Create => {
                self.create_service_behind(svc, rule_now.as_ref()).await?;
            }
            PartAction::Replace(_) => {
                if !recreate_service && let Some(s) = &self.observed.service {
                    ignore_not_found(ports.ecs.delete_service(&s.cluster, &s.name).await).map_err(fail(
                        "replace",
                        Part::Service,
                        "DeleteService",
                    ))?;
                }
                self.create_service_behind(svc, rule_now.as_ref()).await?;
            }
            PartAction::Update(f) => {
                if f.iter().any(|f| *f == "task_definition" || *f == "desired_count") {
                    ports
                        .ecs
                        .update_service(&svc.cluster, &svc.name, &svc.task_definition_arn, svc.desired_count)
                        .await
                        .map_err(fail("update", Part::Service, "UpdateService"))?;
                }
                if f.contains(&"redeploy") {
                    ports.ecs.redeploy_service(&svc.cluster, &svc.name).await.map_err(fail(
                        "update",
                        Part::Service,
                        "UpdateService(forceNewDeployment)",
                    ))?;
                }
                if let (true, Some(s)) = (f.contains(&"tags"), &self.observed.service) {
                    ports.ecs.tag_resource(&s.arn, &svc.tags).await.map_err(fail(
                        "update",
                        Part::Service,
                        "TagResource",
                    ))?;
                }
            }
            _ => {}
        }

        if self.spec.wait_for_steady_state && self.action(Part::Service).is_change() {
            self.wait_for_steady_state().await?;
        }

        // Stage 5: remove what was replaced, now that nothing uses it.
        if let (PartAction::Replace(_), Some(old)) = (self.action(Part::AccessPoint), &self.observed.access_point) {
            ignore_not_found(ports.efs.delete_access_point(&old.id).await).map_err(fail(
                "delete old",
                Part::AccessPoint,
                "DeleteAccessPoint",
            ))?;
        }
        for stale in self.observed.dns_records.iter().filter(|r| r.name != d.dns_record.name) {
            ignore_not_found(ports.route53.delete_record(stale).await).map_err(fail(
                "delete old",
                Part::DnsRecord,
                "ChangeResourceRecordSets",
            ))?;
        }
        // The tasks run with the new password now: the old one may go.
        if *rotation.lock().unwrap_or_else(std::sync::PoisonError::into_inner) == Some(PasswordChange::OldRetained) {
            mysql.discard_old_password(&names.database_user).await.map_err(fail(
                "rotate",
                Part::DatabaseUser,
                "ALTER USER DISCARD OLD PASSWORD",
            ))?;
        }
        Ok(())
    }

    /// The password the tenant's secret holds, if it holds one.
    async fn secret_password(&self) -> StepResult<Option<String>> {
        let arn = self.observed.secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let raw = self.engine.ports.secrets.get_secret_value(&arn).await.map_err(fail(
            "read",
            Part::Secret,
            "GetSecretValue",
        ))?;
        Ok(serde_json::from_str::<DbCredentials>(&raw)
            .ok()
            .map(|c| c.password)
            .filter(|p| !p.is_empty()))
    }

    /// Rotation that never locks the tenant out: MySQL takes the new
    /// password first (keeping the old one beside it where the server has
    /// dual passwords), then the secret; if the secret cannot be written,
    /// MySQL gets the old password back, so that the secret's password
    /// still logs in.
    async fn rotate_password(
        &self,
        mysql: &dyn MysqlAdmin,
        user: &MysqlUser<'_>,
        credentials: &DbCredentials,
    ) -> StepResult<PasswordChange> {
        let old = self.secret_password().await.ok().flatten();
        let change = mysql
            .set_password(user, &credentials.password, true)
            .await
            .map_err(fail("rotate", Part::DatabaseUser, "ALTER USER"))?;
        let arn = self.observed.secret.as_ref().map(|s| s.arn.clone()).unwrap_or_default();
        let value = serde_json::to_string(credentials).unwrap_or_default();
        if let Err(e) = self.engine.ports.secrets.put_secret_value(&arn, &value).await {
            if let (PasswordChange::Replaced, Some(old)) = (change, &old)
                && let Err(undo) = mysql.set_password(user, old, false).await
            {
                tracing::error!(user = user.name, error = %undo, "could not give MySQL the old password back");
            }
            return Err(fail("rotate", Part::Secret, "PutSecretValue")(e));
        }
        Ok(change)
    }

    /// Polls the service until it runs the desired tasks. An update that
    /// does not get there in time is pointed back at the revision it ran
    /// before; either way the step fails and says so.
    async fn wait_for_steady_state(&self) -> StepResult<()> {
        let ports = &self.engine.ports;
        let p = &self.engine.platform;
        let name = self.spec.names().service;
        let want = self.spec.effective_desired_count();
        let timeout = self.spec.steady_state_timeout;
        let started = tokio::time::Instant::now();
        let mut last = None;
        loop {
            let now = ports
                .ecs
                .describe_services(&p.cluster, std::slice::from_ref(&name))
                .await
                .map_err(fail("wait for", Part::Service, "DescribeServices"))?;
            if let Some(s) = now.into_iter().next() {
                if s.running_count == want && s.desired_count == want {
                    return Ok(());
                }
                last = Some(s.running_count);
            }
            if started.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(STEADY_STATE_POLL.min(timeout)).await;
        }
        let running = last.map_or("no".to_owned(), |n| n.to_string());
        let mut message = format!(
            "the service did not reach a steady state within {}s ({running} of {want} tasks running)",
            timeout.as_secs()
        );
        if let Some(previous) = &self.observed.service
            && !previous.task_definition_arn.is_empty()
        {
            ports
                .ecs
                .update_service(&p.cluster, &name, &previous.task_definition_arn, previous.desired_count)
                .await
                .map_err(fail("roll back", Part::Service, "UpdateService"))?;
            message.push_str(&format!(
                "; rolled the service back to {} — fix the image or settings and apply again",
                previous.task_definition_arn
            ));
        }
        Err(StepFailure {
            step: "wait for steady state".into(),
            part: Part::Service,
            error: CoreError::port(
                Part::Service,
                "DescribeServices",
                PortError::new(PortErrorKind::Other, "ServiceNotStable", message),
            ),
        })
    }

    /// Creates the service; the rule must forward to the target group while
    /// ECS attaches the service, then gets the desired action (the suspended
    /// page) back.
    async fn create_service_behind(
        &self,
        svc: &ServiceSpec,
        rule: Option<&(String, Option<RuleAction>)>,
    ) -> StepResult<()> {
        let ports = &self.engine.ports;
        let forward = RuleAction::Forward(svc.target_group_arn.clone());
        let host = self.spec.names().fqdn;
        let needs_forward = rule.filter(|(_, action)| action.as_ref() != Some(&forward));
        if let Some((arn, _)) = needs_forward {
            ports.elbv2.modify_rule(arn, &host, &forward).await.map_err(fail(
                "update",
                Part::ListenerRule,
                "ModifyRule",
            ))?;
        }
        let s = ports
            .ecs
            .create_service(svc)
            .await
            .map_err(fail("create", Part::Service, "CreateService"))?;
        self.record(Created::Service(svc.cluster.clone(), s.name));
        if let (Some((arn, _)), TenantStatus::Suspended) = (rule, self.spec.status) {
            ports
                .elbv2
                .modify_rule(arn, &host, &suspended_action())
                .await
                .map_err(fail("update", Part::ListenerRule, "ModifyRule"))?;
        }
        Ok(())
    }

    /// Removes what this run created, newest first. Returns the parts removed
    /// and the ones that could not be (named, so nothing is left silently).
    async fn rollback(&self) -> (Vec<Part>, Vec<String>) {
        let created: Vec<Created> = self.created.lock().map(|v| v.clone()).unwrap_or_default();
        let ports = &self.engine.ports;
        let mut removed = Vec::new();
        let mut errors = Vec::new();
        for c in created.into_iter().rev() {
            let result = match &c {
                Created::Service(cluster, name) => ignore_not_found(ports.ecs.delete_service(cluster, name).await),
                Created::TaskDefinition(arn) => ignore_not_found(ports.ecs.deregister_task_definition(arn).await),
                Created::ListenerRule(arn) => ignore_not_found(ports.elbv2.delete_rule(arn).await),
                Created::DnsRecord(r) => ignore_not_found(ports.route53.delete_record(r).await),
                Created::TargetGroup(arn) => self.engine.delete_target_group(arn).await,
                Created::LogGroup(name) => ignore_not_found(ports.logs.delete_log_group(name).await),
                Created::AccessPoint(id) => ignore_not_found(ports.efs.delete_access_point(id).await),
                // Force-delete (no recovery window): the secret never held
                // anything that outlives this run.
                Created::Secret(arn) => ignore_not_found(ports.secrets.delete_secret(arn, 0).await),
                Created::DatabaseUser(name) => match self.engine.mysql().await {
                    Ok(m) => ignore_not_found(m.drop_user(name).await),
                    Err(e) => Err(PortError::new(PortErrorKind::Other, "connect", e.to_string())),
                },
                // Even a database this run created is kept once it holds
                // tables: something else wrote to it meanwhile.
                Created::Database(name) => match self.engine.mysql().await {
                    Ok(m) => match m.database_is_empty(name).await {
                        Ok(true) => ignore_not_found(m.drop_database(name).await),
                        Ok(false) => {
                            tracing::warn!(database = %name, "rollback keeps a database that holds tables");
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(PortError::new(PortErrorKind::Other, "connect", e.to_string())),
                },
            };
            match result {
                Ok(()) => removed.push(c.part()),
                Err(e) => errors.push(format!("{}: {e}", c.part())),
            }
        }
        (removed, errors)
    }
}

fn poisoned(part: Part) -> StepFailure {
    StepFailure {
        step: format!("record {part}"),
        part,
        error: CoreError::port(
            part,
            "internal",
            PortError::new(PortErrorKind::Other, "Poisoned", "a concurrent step panicked"),
        ),
    }
}

/// Awaits five steps concurrently, always to the end (so that everything a
/// step created is recorded before a rollback), then reports the first error.
async fn join5<A, B, C, D, E>(
    a: impl Future<Output = StepResult<A>>,
    b: impl Future<Output = StepResult<B>>,
    c: impl Future<Output = StepResult<C>>,
    d: impl Future<Output = StepResult<D>>,
    e: impl Future<Output = StepResult<E>>,
) -> StepResult<(A, B, C, D, E)> {
    let (a, b, c, d, e) = futures::join!(a, b, c, d, e);
    Ok((a?, b?, c?, d?, e?))
}

/// How often a steady-state wait asks ECS.
const STEADY_STATE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// What exists at apply time only and must never be in a plan or state.
#[derive(Debug, Default, Clone)]
pub struct ApplyInputs {
    /// A user-supplied database password (`db_password_wo`); generated when
    /// `None`.
    pub db_password: Option<DbPassword>,
}

/// The admin's credentials in `database.admin_secret_arn`.
#[derive(serde::Deserialize)]
struct AdminCredentials {
    username: String,
    password: String,
}

/// A failed admin login, as a diagnostic naming the setting to fix.
fn mysql_connect_error(login: &crate::ports::MysqlLogin, e: &PortError) -> CoreError {
    let (host, port, user) = (&login.host, login.port, &login.user);
    let (setting, advice) = match e.code.as_str() {
        "TlsHandshakeFailed" => (
            "database.ssl_ca",
            "pass the CA that signed the server's certificate in database.ssl_ca (PEM text; for RDS the AWS global bundle, ssl_ca = file(\"global-bundle.pem\")), or the host name the certificate names in database.host",
        ),
        "PlaintextPasswordWithoutTls" | "CleartextWithoutVerifiedTls" | "ER_SECURE_TRANSPORT_REQUIRED" => (
            "database.ssl_mode",
            "use TLS: database.ssl_mode = \"VERIFY_IDENTITY\" (the default)",
        ),
        _ => (
            "database",
            "check database.host/port (or the RDS endpoint) and the credentials in database.admin_secret_arn",
        ),
    };
    CoreError::Platform {
        setting,
        message: format!("cannot administer MySQL at {host}:{port} as {user:?}: {e}. To fix: {advice}"),
    }
}

/// A password that never prints: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct DbPassword(String);

impl DbPassword {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        DbPassword(password.into())
    }

    /// The password itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DbPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbPassword(<redacted>)")
    }
}

impl std::fmt::Display for DbPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A database password from the OS CSPRNG: 32 characters, letters and
/// digits only, so it survives every quoting layer unchanged.
pub fn generate_password() -> String {
    use rand::{Rng, TryRngCore};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Observes and plans in one go, for callers that do not keep an
/// observation around.
pub async fn observe_and_plan(
    engine: &Engine,
    spec: &TenantSpec,
    previous_subdomains: &[String],
) -> Result<(ObservedTenant, TenantPlan), CoreError> {
    let mut subdomains = vec![spec.subdomain.clone()];
    subdomains.extend(previous_subdomains.iter().cloned());
    let observed = engine.observe_one(&spec.tenant_id, &subdomains).await?;
    let plan = crate::plan(spec, &observed);
    Ok((observed, plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeCloud, failing_kth};
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
        assert_eq!(p.action(Part::DatabaseUser), &PartAction::Update(vec!["password"]));
        assert!(matches!(p.action(Part::Secret), PartAction::Update(f) if f.contains(&"password")));
        assert_eq!(p.action(Part::Service), &PartAction::Update(vec!["redeploy"]));
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
            .observe_one(&s.tenant_id, &[s.subdomain.clone()])
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
            .observe_one(&s.tenant_id, &[s.subdomain.clone()])
            .await
            .expect("observe");
        let retry = plan(&s, &now);
        assert!(
            matches!(retry.action(Part::DatabaseUser), PartAction::Update(f) if f.contains(&"password")),
            "the version is not recorded before MySQL has the password:\n{retry}"
        );
        engine.apply_with(&s, &now, &retry, &inputs).await.expect("retry");
        assert_eq!(
            passwords(&cloud, &s),
            ("rotated-Pass-1".into(), "rotated-Pass-1".into())
        );
    }

    #[tokio::test]
    async fn an_update_that_does_not_become_stable_is_rolled_back() {
        let (cloud, platform, engine) = setup();
        let mut s = spec(platform, "123456789012");
        let before = converge(&engine, &s).await.expect("apply");
        let previous = before.service.as_ref().expect("service").task_definition_arn.clone();

        s.wait_for_steady_state = true;
        s.steady_state_timeout = std::time::Duration::from_millis(300);
        s.php_version = "8.2".into();
        cloud.state().tasks_stall = true;
        let e = converge(&engine, &s).await.expect_err("not stable");
        let text = e.to_string();
        assert!(
            text.contains("steady state") && text.contains("rolled the service back"),
            "{text}"
        );
        assert_eq!(e.code(), Some("ServiceNotStable"));
        let now = engine
            .observe_one(&s.tenant_id, &[s.subdomain.clone()])
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
            .observe_one(&s.tenant_id, std::slice::from_ref(&s.subdomain))
            .await
            .expect("observe");
        let left: Vec<Part> = Part::ALL.into_iter().filter(|p| gone.has(*p)).collect();
        // The secret waits out its recovery window: observed, but pending.
        assert_eq!(left, [Part::Secret, Part::Database, Part::DatabaseUser]);
        assert!(gone.secret.as_ref().is_some_and(|s| s.pending_deletion));
        assert!(gone.database_user.as_ref().is_some_and(|u| u.locked));
    }

    #[tokio::test]
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
        let stage1 = [
            "secrets.CreateSecret",
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
                    // fail (or undo) the apply it describes.
                    if let Some(failed) = counter.failed() {
                        assert_eq!(
                            failed.op, "logs.PutLogEvents",
                            "k={k}: succeeded although a call failed"
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
                        .observe_one(&s.tenant_id, std::slice::from_ref(&s.subdomain))
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
}
