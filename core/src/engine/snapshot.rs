//! The snapshot of the environment one process has read: a typed field per
//! listing and per read by name, each entry stamped with the write
//! generation and the time its read began. Every write through the engine
//! bumps the generation and names the tenant it wrote: nothing read before
//! it is used for that tenant after it (nor what a read under way while it
//! ran found), while the other tenants' parts — other names, which that
//! write did not touch — are still answered from what was read. A fleet
//! apply's plans of the tenants still to come thus share the listings
//! instead of reading them again after every create. What counts across
//! tenants (a pool's load: its rules and target groups) is used only when
//! no write at all happened since ([`Scope::Unwritten`]). An entry older
//! than [`TTL`] is not used either (what someone else may have changed
//! meanwhile). Task definition revisions are immutable by ARN and stay
//! across generations.
//!
//! Only a refresh ([`crate::batch::Refresh`]) reads the snapshot; every
//! observation records into it.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::{Duration, Instant};

use super::Engine;
use super::observe::{NameReads, Reads};
use crate::naming::TenantNames;
use crate::observed::{ObservedTenant, TenantKey};
use crate::parts::*;

/// How long an entry may be used after its read began.
pub const TTL: Duration = Duration::from_secs(30);

/// The generation and the time at which a read began, and whom it is for.
#[derive(Clone, Debug)]
pub(super) struct Stamp {
    generation: u64,
    at: Instant,
    scope: Scope,
}

/// Whom a read from the snapshot answers for, and so which writes since
/// the entry was read make it unusable.
#[derive(Clone, Debug, Default)]
pub(super) enum Scope {
    /// Everyone (a count across tenants): any write.
    #[default]
    Unwritten,
    /// These tenants (by [`TenantNames::id`]): a write to one of them.
    Tenants(Arc<[String]>),
    /// A plan-time estimate of a pool's load, which counts the new tenants
    /// its process plans apart ([`crate::placement::PlacementClaims`]) and
    /// is checked again at apply: no write makes it unusable, the TTL
    /// does.
    Estimate,
}

impl Scope {
    fn of(id: &str) -> Scope {
        Scope::Tenants(Arc::from([id.to_owned()]))
    }
}

/// One entry of the snapshot.
#[derive(Clone, Debug)]
pub(super) struct Stamped<T> {
    stamp: Stamp,
    value: T,
}

/// An environment-wide listing.
pub(super) type Listing<T> = Option<Stamped<Arc<Vec<T>>>>;

/// Reads by name: what was found under each name asked, or that nothing was.
pub(super) type ByName<T> = HashMap<String, Stamped<Option<T>>>;

/// What this process has read of the environment.
#[derive(Default)]
pub(super) struct Snapshot {
    /// Bumped by every write through the engine.
    generation: u64,
    /// The generation of each tenant's last write (by [`TenantNames::id`]).
    written: HashMap<String, u64>,
    /// The pool listeners' rules.
    pub(super) rules: Listing<ObservedListenerRule>,
    /// Target groups attached to each pool load balancer, by its ARN.
    pub(super) target_group_counts: Listing<(String, u32)>,
    /// The hosted zone's record sets.
    pub(super) records: Listing<ObservedDnsRecord>,
    /// The file system's access points.
    pub(super) access_points: Listing<ObservedAccessPoint>,
    /// Every log group under `/ecs/{env}-`.
    pub(super) log_groups: Listing<ObservedLogGroup>,
    /// Every secret under `{env}-`.
    pub(super) secrets: Listing<ObservedSecret>,
    /// The ARNs of the environment's ACTIVE task definition revisions.
    pub(super) revision_arns: Listing<String>,
    /// Services by name (DescribeServices).
    pub(super) services: ByName<ObservedService>,
    /// Target groups by name (DescribeTargetGroups).
    pub(super) target_groups: ByName<ObservedTargetGroup>,
    /// Databases by name (the MySQL query).
    pub(super) databases: ByName<ObservedDatabase>,
    /// Database users by name (the MySQL query).
    pub(super) users: ByName<ObservedDatabaseUser>,
    /// Secrets by name, as an observation of one tenant reads them
    /// (DescribeSecret).
    pub(super) secret: ByName<ObservedSecret>,
    /// Log groups by name, as an observation of one tenant reads them.
    pub(super) log_group: ByName<ObservedLogGroup>,
    /// The latest revision by family, as an observation of one tenant reads
    /// it.
    pub(super) latest_revision: ByName<ObservedTaskDefinition>,
    /// The pool listeners' rules as a load count read them (only the
    /// ownership tags are sure), apart from `rules`, which observations
    /// read user tags from.
    pub(super) load_rules: Listing<ObservedListenerRule>,
    /// Each rule's tags as last read or as made, by rule ARN: what counting
    /// a listener's tenants needs, the ownership tags, which bbws sets
    /// when it makes a rule and never changes. Kept across generations:
    /// placing each new tenant of a fleet then reads the tags of the rules
    /// it has not seen only, not one DescribeTags per twenty rules.
    pub(super) rule_tags: HashMap<String, Tags>,
    /// Revisions by ARN: immutable, so kept across generations (and seeded
    /// by the caller, [`Engine::know_revision`]).
    pub(super) revisions: HashMap<String, ObservedTaskDefinition>,
}

impl Snapshot {
    /// The stamp of a read for `scope` that begins now.
    pub(super) fn stamp_for(&self, scope: Scope) -> Stamp {
        Stamp {
            generation: self.generation,
            at: Instant::now(),
            scope,
        }
    }

    /// The stamp of a read that begins now, for everyone.
    #[cfg(test)]
    pub(super) fn stamp(&self) -> Stamp {
        self.stamp_for(Scope::Unwritten)
    }

    /// Whether an entry read under `read` may be used for `scope`: within
    /// the TTL, and (for everyone) with no write since or (for tenants)
    /// with none of theirs since.
    fn is_current(&self, read: &Stamp, scope: &Scope) -> bool {
        let unwritten = match scope {
            Scope::Unwritten => read.generation == self.generation,
            Scope::Tenants(ids) => ids
                .iter()
                .all(|id| self.written.get(id).is_none_or(|w| read.generation >= *w)),
            Scope::Estimate => true,
        };
        unwritten && read.at.elapsed() < TTL
    }

    /// A listing, if current for `scope`.
    pub(super) fn listing<T>(&self, listing: &Listing<T>, scope: &Scope) -> Option<Arc<Vec<T>>> {
        listing
            .as_ref()
            .filter(|e| self.is_current(&e.stamp, scope))
            .map(|e| e.value.clone())
    }

    /// What was found under `name` (`Some(None)`: nothing), if current for
    /// `scope` (the tenant the name is of).
    pub(super) fn by_name<T: Clone>(&self, map: &ByName<T>, name: &str, scope: &Scope) -> Option<Option<T>> {
        map.get(name)
            .filter(|e| self.is_current(&e.stamp, scope))
            .map(|e| e.value.clone())
    }

    fn knows<T>(&self, map: &ByName<T>, name: &str, scope: &Scope) -> bool {
        map.get(name).is_some_and(|e| self.is_current(&e.stamp, scope))
    }

    /// Whether a read under `stamp` may replace what is held: not one
    /// older than the entry it would replace.
    fn may_record(stamp: &Stamp, held: Option<&Stamp>) -> bool {
        held.is_none_or(|h| h.generation <= stamp.generation)
    }

    /// Records a listing read under `stamp` (whom it may answer for is
    /// judged when it is used).
    pub(super) fn record_listing<T>(
        &mut self,
        stamp: Stamp,
        field: fn(&mut Self) -> &mut Listing<T>,
        value: Arc<Vec<T>>,
    ) {
        let held = field(self).as_ref().map(|e| e.stamp.clone());
        if Self::may_record(&stamp, held.as_ref()) {
            *field(self) = Some(Stamped { stamp, value });
        }
    }

    /// Records what a read by name found under `name`.
    pub(super) fn record<T>(
        &mut self,
        stamp: Stamp,
        field: fn(&mut Self) -> &mut ByName<T>,
        name: &str,
        value: Option<T>,
    ) {
        let held = field(self).get(name).map(|e| e.stamp.clone());
        if Self::may_record(&stamp, held.as_ref()) {
            field(self).insert(name.to_owned(), Stamped { stamp, value });
        }
    }

    /// Whether the per-name reads of `n` (service, target group, database,
    /// user) are all held.
    pub(super) fn has_names(&self, n: &TenantNames) -> bool {
        let scope = Scope::of(&n.id);
        self.knows(&self.services, &n.service, &scope)
            && self.knows(&self.target_groups, &n.target_group, &scope)
            && self.knows(&self.databases, &n.database, &scope)
            && self.knows(&self.users, &n.database_user, &scope)
    }

    /// The per-name reads of `names` that are held, found or not.
    pub(super) fn held_names<'a>(&self, names: impl IntoIterator<Item = &'a TenantNames>) -> NameReads {
        let mut held = NameReads::default();
        for n in names {
            let scope = Scope::of(&n.id);
            held.services
                .extend(self.by_name(&self.services, &n.service, &scope).flatten());
            held.target_groups
                .extend(self.by_name(&self.target_groups, &n.target_group, &scope).flatten());
            held.databases
                .extend(self.by_name(&self.databases, &n.database, &scope).flatten());
            held.users
                .extend(self.by_name(&self.users, &n.database_user, &scope).flatten());
        }
        held
    }

    /// Records what the per-name reads under `stamp` found for each of
    /// `wanted`, found or not.
    pub(super) fn record_names(&mut self, stamp: &Stamp, wanted: &[TenantNames], read: &NameReads) {
        for n in wanted {
            let found = read.services.iter().find(|s| s.name == n.service).cloned();
            self.record(stamp.clone(), |s| &mut s.services, &n.service, found);
            let found = read.target_groups.iter().find(|t| t.name == n.target_group).cloned();
            self.record(stamp.clone(), |s| &mut s.target_groups, &n.target_group, found);
            let found = read.databases.iter().find(|d| d.name == n.database).cloned();
            self.record(stamp.clone(), |s| &mut s.databases, &n.database, found);
            let found = read.users.iter().find(|u| u.name == n.database_user).cloned();
            self.record(stamp.clone(), |s| &mut s.users, &n.database_user, found);
        }
    }

    /// A tenant's secret: from the environment's listing, else as read by
    /// name; `None` when neither is held.
    fn held_secret(&self, n: &TenantNames) -> Option<Option<ObservedSecret>> {
        let scope = Scope::of(&n.id);
        match self.listing(&self.secrets, &scope) {
            Some(all) => Some(all.iter().find(|s| s.name == n.secret).cloned()),
            None => self.by_name(&self.secret, &n.secret, &scope),
        }
    }

    /// A tenant's log groups: the environment's listing, else its own group
    /// as read by name.
    fn held_log_groups(&self, n: &TenantNames) -> Option<Arc<Vec<ObservedLogGroup>>> {
        let scope = Scope::of(&n.id);
        self.listing(&self.log_groups, &scope).or_else(|| {
            Some(Arc::new(
                self.by_name(&self.log_group, &n.log_group, &scope)?
                    .into_iter()
                    .collect(),
            ))
        })
    }

    /// A tenant's latest revision: from the listing of ACTIVE revisions
    /// when that revision is known, else as read by family.
    fn held_task_definition(&self, n: &TenantNames) -> Option<Option<ObservedTaskDefinition>> {
        let scope = Scope::of(&n.id);
        let from_listing = self.listing(&self.revision_arns, &scope).and_then(|arns| {
            match latest_revisions(&arns).get(n.task_family.as_str()) {
                None => Some(None),
                Some(arn) => self.revisions.get(*arn).cloned().map(Some),
            }
        });
        from_listing.or_else(|| self.by_name(&self.latest_revision, &n.task_family, &scope))
    }

    /// The pool's rules as counting its load needs them, if current for
    /// `scope`: the observations' listing, else the load's own.
    pub(super) fn rules_for_load(&self, scope: &Scope) -> Option<Arc<Vec<ObservedListenerRule>>> {
        self.listing(&self.rules, scope)
            .or_else(|| self.listing(&self.load_rules, scope))
    }

    /// Learns the tags of rules whose tags were read (or which were made).
    pub(super) fn learn_rule_tags<'a>(&mut self, rules: impl IntoIterator<Item = &'a ObservedListenerRule>) {
        for r in rules {
            self.rule_tags.insert(r.arn.clone(), r.tags.clone());
        }
    }

    /// A write of one tenant's parts (`id`: its [`TenantNames::id`]): what
    /// was read is stale for that tenant, and for counts across tenants.
    pub(super) fn bump_tenant(&mut self, id: &str) {
        self.generation += 1;
        self.written.insert(id.to_owned(), self.generation);
    }
}

/// Most tenants one batch reads ahead for.
const READ_AHEAD_MAX: usize = 1000;

impl Engine {
    pub(super) fn snapshot(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.snapshot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A write of one tenant's parts is about to happen, or happened:
    /// nothing read before it may answer for that tenant after it.
    pub(super) fn bump_generation_of(&self, tenant_id: &str) {
        let id = format!("{}-{tenant_id}", self.platform.environment);
        self.snapshot().bump_tenant(&id);
    }

    /// The names a batch of a refresh reads, and what the snapshot holds
    /// for the rest: those of its tenants not held yet and, when there are
    /// any, every tenant the environment's listings show (a fleet:
    /// Terraform reads `-parallelism` resources at a time), so that the
    /// batches after it find everything read.
    pub(super) fn names_to_read(&self, keys: &[TenantKey], names: &[TenantNames]) -> (Vec<TenantNames>, NameReads) {
        let p = &self.platform;
        let listed = self.listed_tenants();
        let snap = self.snapshot();
        let (held, mut wanted): (Vec<&TenantNames>, Vec<&TenantNames>) = names.iter().partition(|n| snap.has_names(n));
        let held = snap.held_names(held);
        let mut wanted: Vec<TenantNames> = wanted.drain(..).cloned().collect();
        if !wanted.is_empty() {
            let asked: std::collections::HashSet<&str> = keys.iter().map(|k| k.tenant_id.as_str()).collect();
            wanted.extend(
                listed
                    .into_iter()
                    .filter(|id| !asked.contains(id.as_str()))
                    .map(|id| TenantNames::new(p.environment, &id, &id, &p.domain))
                    .filter(|n| !snap.has_names(n))
                    .take(READ_AHEAD_MAX),
            );
        }
        (wanted, held)
    }

    /// One tenant's observation from the snapshot, without a request;
    /// `None` when anything it needs is not held. A batch of the refresh
    /// would find exactly this, only later: the batching window is for
    /// reads that have to be made.
    pub(crate) fn answer_from_snapshot(&self, key: &TenantKey) -> Option<ObservedTenant> {
        let facts = self.facts.get()?;
        let n = self.names_of(key);
        let scope = Scope::of(&n.id);
        let (held, rules, records, access_points, log_groups, secret, td) = {
            let snap = self.snapshot();
            if !snap.has_names(&n) {
                return None;
            }
            (
                snap.held_names([&n]),
                snap.listing(&snap.rules, &scope)?,
                snap.listing(&snap.records, &scope)?,
                snap.listing(&snap.access_points, &scope)?,
                snap.held_log_groups(&n)?,
                snap.held_secret(&n)?,
                snap.held_task_definition(&n)?,
            )
        };
        let reads = Reads {
            facts,
            services: &held.services,
            target_groups: &held.target_groups,
            rules: &rules,
            records: &records,
            access_points: &access_points,
            log_groups: &log_groups,
            databases: &held.databases,
            users: &held.users,
        };
        // A moved tenant's other target group is not among the names the
        // snapshot holds, nor is a scaled service's scaling: such a tenant
        // is read, not answered.
        let scaled = |o: &ObservedTenant| {
            o.service.as_ref().is_some_and(|s| {
                s.tags.contains_key(crate::naming::TAG_AUTOSCALING)
                    || s.tags.contains_key(crate::naming::TAG_CERTIFICATE)
                    || s.tags.contains_key(crate::naming::TAG_CERTIFICATE_SUPERSEDED)
                    || s.tags.contains_key(crate::naming::TAG_ALARMS)
            })
        };
        Some(self.assemble(key, &n, &reads, td, secret))
            .filter(|o| super::observe::unread_target_group(o, &n).is_none() && !scaled(o))
    }

    /// Tells the engine of a revision observed before, e.g. by an earlier
    /// process. Revisions are immutable: if a later observation finds the
    /// same ARN still ACTIVE, this is what it holds, and describing it again
    /// would only cost a request per tenant.
    pub fn know_revision(&self, revision: ObservedTaskDefinition) {
        if !revision.arn.is_empty() {
            self.snapshot().revisions.insert(revision.arn.clone(), revision);
        }
    }

    /// One revision, known or described.
    pub(super) async fn revision(&self, arn: &str) -> crate::ports::PortResult<Option<ObservedTaskDefinition>> {
        if let Some(known) = self.snapshot().revisions.get(arn).cloned() {
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
        self.snapshot().revisions.retain(|_, r| r.family != family);
    }

    /// A listing: from the snapshot when `shared` (a batch of a refresh)
    /// and current; read otherwise, and recorded under `stamp`.
    pub(super) async fn listing<T, F>(
        &self,
        shared: bool,
        stamp: &Stamp,
        field: fn(&mut Snapshot) -> &mut Listing<T>,
        fetch: F,
    ) -> crate::ports::PortResult<Arc<Vec<T>>>
    where
        F: Future<Output = crate::ports::PortResult<Vec<T>>>,
    {
        if shared {
            let mut snap = self.snapshot();
            let held = field(&mut snap).clone();
            if let Some(v) = snap.listing(&held, &stamp.scope) {
                return Ok(v);
            }
        }
        // Shared, not copied: a listing of a fleet is the biggest thing a
        // refresh holds, and every batch of it reads the same one.
        let v = Arc::new(fetch.await?);
        self.snapshot().record_listing(stamp.clone(), field, v.clone());
        Ok(v)
    }

    /// Whether this process has listed the environment, however long ago:
    /// it is in a fleet walk (a refresh, or the plans of a fleet apply).
    pub(super) fn has_listed(&self) -> bool {
        self.snapshot().revision_arns.is_some()
    }

    /// The tenant ids the environment's listings held show (task
    /// definition families, log groups); empty when no batch listed yet.
    pub(super) fn listed_tenants(&self) -> Vec<String> {
        let env = self.platform.environment;
        let env_prefix = format!("{env}-");
        let group_prefix = format!("/ecs/{env_prefix}");
        let (arns, groups) = {
            let snap = self.snapshot();
            // Which tenants exist, to read ahead for: no tenant's own parts.
            let anyone = Scope::Tenants(Arc::from([]));
            (
                snap.listing(&snap.revision_arns, &anyone),
                snap.listing(&snap.log_groups, &anyone),
            )
        };
        let mut ids: Vec<String> = Vec::new();
        if let Some(arns) = arns {
            ids.extend(
                latest_revisions(&arns)
                    .keys()
                    .filter_map(|f| f.strip_prefix(&env_prefix))
                    .map(str::to_owned),
            );
        }
        if let Some(groups) = groups {
            ids.extend(
                groups
                    .iter()
                    .filter_map(|g| g.name.strip_prefix(&group_prefix))
                    .map(str::to_owned),
            );
        }
        ids.retain(|id| crate::validate::is_tenant_id(id));
        ids.sort();
        ids.dedup();
        ids
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What may happen between a read and its use.
    enum Between {
        Nothing,
        Wait(Duration),
        /// A write of the tenant (`dev-1`) after the read was recorded.
        Write,
        /// A write of the tenant while the read was under way: it began
        /// before.
        WriteDuringTheRead,
        /// A write of another tenant (`dev-2`).
        WriteOfAnother,
    }

    fn rule(priority: u32) -> ObservedListenerRule {
        ObservedListenerRule {
            arn: format!("arn:rule:{priority}"),
            listener_arn: "arn:listener".into(),
            priority,
            hosts: vec!["a.example.io".into()],
            action: None,
            tags: Tags::new(),
        }
    }

    fn revision(arn: &str) -> ObservedTaskDefinition {
        ObservedTaskDefinition {
            arn: arn.into(),
            family: "dev-1".into(),
            revision: 1,
            image: "wordpress:6".into(),
            cpu: 256,
            memory: 512,
            environment: Default::default(),
            secrets: Default::default(),
            file_system_id: None,
            access_point_id: None,
            log_group: None,
            tags: Tags::new(),
        }
    }

    /// An entry is used for a tenant only if no write of that tenant came
    /// after its read began, and within the TTL; a count across tenants
    /// only if no write at all came; revisions survive a write.
    #[tokio::test(start_paused = true)]
    async fn an_entry_is_used_for_a_tenant_not_written_since_within_the_ttl() {
        // (case, what happens, used for dev-1, used for everyone)
        let cases = [
            ("used at once", Between::Nothing, true, true),
            (
                "used just within the TTL",
                Between::Wait(TTL - Duration::from_millis(1)),
                true,
                true,
            ),
            ("not used at the TTL", Between::Wait(TTL), false, false),
            ("not used after a write of the tenant", Between::Write, false, false),
            (
                "not used when a write of the tenant overtook its read",
                Between::WriteDuringTheRead,
                false,
                false,
            ),
            (
                "used after another tenant's write, but not for a count",
                Between::WriteOfAnother,
                true,
                false,
            ),
        ];
        let tenant = Scope::of("dev-1");
        for (name, between, used, counted) in cases {
            let mut snap = Snapshot::default();
            snap.revisions.insert("arn:td:1".into(), revision("arn:td:1"));
            let stamp = snap.stamp();
            if matches!(between, Between::WriteDuringTheRead) {
                snap.bump_tenant("dev-1");
            }
            snap.record_listing(stamp.clone(), |s| &mut s.rules, Arc::new(vec![rule(7)]));
            snap.record(stamp, |s| &mut s.services, "dev-1-service", None);
            match between {
                Between::Wait(d) => tokio::time::advance(d).await,
                Between::Write => snap.bump_tenant("dev-1"),
                Between::WriteOfAnother => snap.bump_tenant("dev-2"),
                Between::Nothing | Between::WriteDuringTheRead => {}
            }
            let rules = snap.listing(&snap.rules, &tenant);
            assert_eq!(rules.is_some(), used, "{name}: the listing");
            assert_eq!(rules.map(|r| r[0].priority), used.then_some(7), "{name}: its content");
            assert_eq!(
                snap.listing(&snap.rules, &Scope::Unwritten).is_some(),
                counted,
                "{name}: the listing, for a count across tenants"
            );
            assert_eq!(
                snap.by_name(&snap.services, "dev-1-service", &tenant),
                used.then_some(None),
                "{name}: a name read and found absent"
            );
            assert_eq!(
                snap.by_name(&snap.services, "dev-2-service", &tenant),
                None,
                "{name}: a name never read"
            );
            assert!(snap.revisions.contains_key("arn:td:1"), "{name}: revisions stay");
        }
    }

    #[test]
    fn an_older_read_never_replaces_a_newer_one() {
        let mut snap = Snapshot::default();
        let old = snap.stamp();
        snap.bump_tenant("dev-1");
        let new = snap.stamp();
        snap.record_listing(new, |s| &mut s.rules, Arc::new(vec![rule(8)]));
        snap.record_listing(old, |s| &mut s.rules, Arc::new(vec![rule(7)]));
        let rules = snap.listing(&snap.rules, &Scope::of("dev-1")).expect("held");
        assert_eq!(rules[0].priority, 8, "the newer read stays");
    }
}
