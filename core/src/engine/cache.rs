//! The caches of a fleet refresh, in one process: environment-wide
//! listings shared by the batches of a refresh, the per-name reads made
//! ahead for the batches to come, and task definition revisions (immutable,
//! kept by ARN). Every write through the engine drops the listings and the
//! read-ahead; a single-tenant observation never reads them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::Engine;
use super::observe::{NameReads, Reads};
use crate::naming::TenantNames;
use crate::observed::{ObservedTenant, TenantKey};
use crate::parts::*;

/// What the per-name reads (DescribeServices, DescribeTargetGroups, the
/// MySQL query) found for each name asked, and what they found nothing for.
#[derive(Default)]
pub(super) struct ReadAhead {
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

/// Most tenants one batch reads ahead for.
const READ_AHEAD_MAX: usize = 1000;

/// A listing and when it was read.
pub(super) type CachedListing = (std::time::Instant, Arc<dyn std::any::Any + Send + Sync>);

/// How long a batch may reuse another batch's listing.
const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl Engine {
    /// The names a batch of a refresh reads: those of its tenants not read
    /// ahead yet and, when there are any, every tenant the shared listings
    /// of an earlier batch show (a fleet: Terraform reads `-parallelism`
    /// resources at a time), so that the batches after it find everything
    /// read.
    pub(super) fn names_to_read(&self, keys: &[TenantKey], names: &[TenantNames]) -> Vec<TenantNames> {
        let p = &self.platform;
        let mut ahead = self.ahead();
        let ahead = ahead.fresh();
        let mut wanted: Vec<TenantNames> = names.iter().filter(|n| !ahead.has(n)).cloned().collect();
        if !wanted.is_empty() {
            let asked: HashSet<&str> = keys.iter().map(|k| k.tenant_id.as_str()).collect();
            wanted.extend(
                self.listed_tenants()
                    .into_iter()
                    .filter(|id| !asked.contains(id.as_str()))
                    .map(|id| TenantNames::new(p.environment, &id, &id, &p.domain))
                    .filter(|n| !ahead.has(n))
                    .take(READ_AHEAD_MAX),
            );
        }
        wanted
    }

    /// Records what the per-name reads found for `wanted`, found or not,
    /// and answers `names` from the record.
    pub(super) fn answer_from_read_ahead(
        &self,
        wanted: &[TenantNames],
        names: &[TenantNames],
        read: NameReads,
    ) -> NameReads {
        let mut ahead = self.ahead();
        let ahead = ahead.fresh();
        for n in wanted {
            let found = read.services.iter().find(|s| s.name == n.service).cloned();
            ahead.services.insert(n.service.clone(), found);
            let found = read.target_groups.iter().find(|t| t.name == n.target_group).cloned();
            ahead.target_groups.insert(n.target_group.clone(), found);
            let found = read.databases.iter().find(|d| d.name == n.database).cloned();
            ahead.databases.insert(n.database.clone(), found);
            let found = read.users.iter().find(|u| u.name == n.database_user).cloned();
            ahead.users.insert(n.database_user.clone(), found);
        }
        NameReads {
            services: names.iter().filter_map(|n| pick(&ahead.services, &n.service)).collect(),
            target_groups: names
                .iter()
                .filter_map(|n| pick(&ahead.target_groups, &n.target_group))
                .collect(),
            databases: names
                .iter()
                .filter_map(|n| pick(&ahead.databases, &n.database))
                .collect(),
            users: names
                .iter()
                .filter_map(|n| pick(&ahead.users, &n.database_user))
                .collect(),
        }
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
        let n = self.names_of(key);
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
    pub(super) async fn revision(&self, arn: &str) -> crate::ports::PortResult<Option<ObservedTaskDefinition>> {
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
    pub(super) fn forget_revisions(&self, family: &str) {
        self.revisions().retain(|_, r| r.family != family);
    }

    /// A listing, from the cache when `shared` (a batch of several tenants)
    /// and fresh enough; single-tenant observations always read.
    pub(super) async fn listing<T, F>(
        &self,
        shared: bool,
        key: String,
        fetch: F,
    ) -> crate::ports::PortResult<Arc<Vec<T>>>
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
    pub(super) fn forget_listings(&self) {
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
    pub(super) fn listed_tenants(&self) -> Vec<String> {
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
