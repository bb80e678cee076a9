//! The engine: observes tenants through the ports, and executes a
//! [`TenantPlan`] — creating independent parts concurrently and dependent ones
//! in order, and removing what this run created when a step fails.
//!
//! Every step is idempotent with respect to observation: re-running `observe
//! → plan → apply` after any partial failure converges, because parts left
//! behind are found by name and ownership tags and adopted.
//!
//! - `platform` — facts and the MySQL admin connection, once per engine;
//! - `observe` — observation and discovery; `snapshot` — what this
//!   process has read, typed, stamped with the write generation;
//! - `apply` — one function per stage; `rollout` — the steady-state
//!   wait; `rollback` — what a failed run created;
//! - `destroy`; `priority` — listener-rule priorities; `placement` — the
//!   listener pool's load, placement and its re-check;
//! - `made` — what a run's creates answered, the after-observation of
//!   a whole create;
//! - `planned` — a plan's observation, for the apply right after it;
//! - `backup` — database dumps to the backup bucket, and restores.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::error::CoreError;
use crate::observed::ObservedTenant;
use crate::parts::{Part, PlatformFacts};
use crate::plan::TenantPlan;
use crate::ports::{MysqlAdmin, PortError, PortErrorKind, Ports};
use crate::spec::{Platform, TenantSpec};

mod alarms;
#[cfg(test)]
mod alarms_tests;
mod apply;
mod backup;
mod certificate;
#[cfg(test)]
mod certificate_tests;
mod create;
mod credentials;
mod destroy;
mod lease;
mod listener_move;
mod made;
mod observe;
mod operations;
mod orphans;
#[cfg(test)]
mod ownership_tests;
mod placement;
mod planned;
mod platform;
#[cfg(test)]
mod pool_tests;
mod priority;
mod rollback;
mod rollout;
#[cfg(test)]
mod scaling_tests;
mod snapshot;
mod telemetry;
#[cfg(test)]
mod tests;
mod token;

pub use backup::{BackupReport, DUMP_MAGIC, PART_SIZE, Progress, RestoreReport, parse_s3_uri};
pub use operations::DeploymentWait;
pub use telemetry::{FOLLOW_FIRST_PAUSE, FOLLOW_MAX_PAUSE, LogTail, METRICS, TenantMetric, TenantMetrics};

pub use crate::credentials::{ApplyInputs, DbPassword, generate_password};
pub use destroy::{DestroyReport, SECRET_RECOVERY_WINDOW_DAYS};
pub use orphans::Orphan;
pub use planned::MAX_AGE as PLANNED_MAX_AGE;
pub use priority::{MAX_RULE_PRIORITY, pick_priority};
use snapshot::Snapshot;
pub use snapshot::TTL as SNAPSHOT_TTL;
#[cfg(test)]
pub(crate) use snapshot::latest_revisions;
pub use token::RunToken;

/// Executes plans for tenants of one platform.
pub struct Engine {
    platform: Arc<Platform>,
    ports: Ports,
    facts: OnceCell<PlatformFacts>,
    /// Set once `alarm_topic_arn` was found to exist.
    alarm_topic: OnceCell<()>,
    /// Public hosted zones of the account by domain (`None`: none of that
    /// name), as looked up for validation records: Route53 allows five
    /// requests a second per account, and a plan and its apply would ask
    /// the same names again.
    zones: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
    mysql: OnceCell<Arc<dyn MysqlAdmin>>,
    /// Serialises priority allocation within this process; across processes
    /// `PriorityInUse` is handled by re-reading and picking again.
    listener_lock: tokio::sync::Mutex<()>,
    /// What this process has read of the environment, for the batches of
    /// a refresh: Terraform reads at most `-parallelism` resources at once,
    /// so a refresh is many batches, and each would otherwise list
    /// everything again. Every write through the engine bumps its
    /// generation; task definition revisions (immutable) stay, and the
    /// caller may seed them ([`Engine::know_revision`]).
    snapshot: std::sync::Mutex<Snapshot>,
    /// Held by a batch while it makes its per-name reads, so that a batch
    /// arriving meanwhile waits for the read-ahead instead of repeating it.
    reading: tokio::sync::Mutex<()>,
    /// Set by [`Engine::stop`] (Terraform's StopProvider, Ctrl-C): runs
    /// launch no further stage and roll back what they created.
    stopping: tokio::sync::watch::Sender<bool>,
    /// Secrets whose creation lease a finished run of this engine left
    /// (see [`Engine::release_finished_leases`]).
    finished_leases: std::sync::Mutex<Vec<(String, String)>>,
    /// Tenants this process placed on a pool listener (tenant id →
    /// listener): one Terraform walk creates many tenants at once from
    /// reads that cannot see each other's rules yet, so each placement
    /// counts the others'. A failed create gives its slot back.
    placements: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    /// What the plans of this process observed, for the applies that
    /// follow them ([`planned`]).
    planned: planned::Planned,
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
        // Concurrent applies of this process share Route53 change batches.
        let ports = Ports {
            route53: Arc::new(crate::dns_batch::Route53Batcher::new(ports.route53)),
            ..ports
        };
        Engine {
            platform,
            ports,
            facts: OnceCell::new(),
            alarm_topic: OnceCell::new(),
            zones: std::sync::Mutex::default(),
            mysql: OnceCell::new(),
            listener_lock: tokio::sync::Mutex::new(()),
            snapshot: std::sync::Mutex::new(Snapshot::default()),
            reading: tokio::sync::Mutex::new(()),
            stopping: tokio::sync::watch::Sender::new(false),
            finished_leases: std::sync::Mutex::new(Vec::new()),
            placements: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            planned: planned::Planned::default(),
        }
    }

    /// Asks every run of this engine to stop: no further stage starts, the
    /// running calls finish, and each run removes what it created (so the
    /// next apply converges from where AWS is). Returns at once.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether [`Engine::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once [`Engine::stop`] is called.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        // An error means the sender is gone, i.e. the engine: nothing to wait for.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// The platform.
    pub fn platform(&self) -> &Arc<Platform> {
        &self.platform
    }

    /// The ports (for callers that need a direct read, e.g. the caller ARN).
    pub fn ports(&self) -> &Ports {
        &self.ports
    }
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
    let key = crate::TenantKey {
        tenant_id: spec.tenant_id.clone(),
        subdomains,
        custom_domains: spec.custom_domains.clone(),
    };
    let observed = engine.observe_key(&key).await?;
    let plan = crate::plan(spec, &observed);
    Ok((observed, plan))
}
