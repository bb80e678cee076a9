//! `plan(spec, observed)`: the pure diff between desired and observed.
//!
//! No IO and no failure: everything it needs is in its two arguments, so it is
//! tested table-style, part by part, action by action. Each part's fields are
//! an enum ([`fields`]), so what the plan says and what the engine does are
//! checked by the compiler.

use std::fmt;

use crate::observed::{ForeignPart, ObservedTenant, TenantOutputs};
use crate::parts::*;
use crate::spec::TenantSpec;

pub mod fields;
pub mod operations;
#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod tests;

pub use fields::*;

/// What happens to one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartAction {
    /// Exists as desired.
    NoChange,
    /// Absent: created.
    Create,
    /// Exists; these fields are changed in place (for the task definition: a
    /// new revision).
    Update(Vec<Field>),
    /// Exists; these immutable fields differ, so the part is deleted and
    /// created again (the tenant itself is not replaced).
    Replace(Vec<Field>),
    /// Exists; deleted.
    Delete,
    /// Exists and is kept on destroy, for this reason.
    Retain(&'static str),
}

impl PartAction {
    /// An update of these fields of one part.
    pub fn update<F: PartField>(fields: Vec<F>) -> Self {
        PartAction::Update(fields.into_iter().map(Into::into).collect())
    }

    /// A replacement because these immutable fields of one part differ.
    pub fn replace<F: PartField>(fields: Vec<F>) -> Self {
        PartAction::Replace(fields.into_iter().map(Into::into).collect())
    }

    /// Whether the action touches AWS or MySQL.
    pub fn is_change(&self) -> bool {
        !matches!(self, PartAction::NoChange | PartAction::Retain(_))
    }

    /// Whether this is an in-place update of `field`.
    pub fn updates(&self, field: impl Into<Field>) -> bool {
        let field = field.into();
        matches!(self, PartAction::Update(fields) if fields.contains(&field))
    }

    /// Whether the part will exist, but with ids not known before apply.
    fn renews_identity(&self) -> bool {
        matches!(self, PartAction::Create | PartAction::Replace(_))
    }
}

impl fmt::Display for PartAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartAction::NoChange => f.write_str("no change"),
            PartAction::Create => f.write_str("create"),
            PartAction::Update(fields) => write!(f, "update in place ({})", field_list(fields)),
            PartAction::Replace(fields) => write!(f, "replace ({} cannot change in place)", field_list(fields)),
            PartAction::Delete => f.write_str("delete"),
            PartAction::Retain(why) => write!(f, "retain ({why})"),
        }
    }
}

/// One part's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartChange {
    /// The part.
    pub part: Part,
    /// What happens to it.
    pub action: PartAction,
}

/// The lifecycle diff of one tenant: one [`PartChange`] per part, in
/// creation order (deletes are executed in reverse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPlan {
    /// Tenant id.
    pub tenant_id: String,
    /// One entry per part.
    pub changes: Vec<PartChange>,
    /// Parts under the tenant's names owned by someone else: the plan cannot
    /// be applied while this is not empty.
    pub conflicts: Vec<ForeignPart>,
}

impl TenantPlan {
    /// The action for `part`.
    pub fn action(&self, part: Part) -> &PartAction {
        self.changes
            .iter()
            .find(|c| c.part == part)
            .map_or(&PartAction::NoChange, |c| &c.action)
    }

    /// Whether the plan updates `field` of its part in place.
    pub fn updates<F: PartField>(&self, field: F) -> bool {
        self.action(F::PART).updates(field)
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| !c.action.is_change())
    }

    /// Drops conflicts with parts of `tenant_id`: when a tenant replaces
    /// another (a changed tenant id), the old one is deleted first and its
    /// subdomain becomes free.
    pub fn without_conflicts_owned_by(mut self, tenant_id: &str) -> Self {
        self.conflicts.retain(|c| c.owner.as_deref() != Some(tenant_id));
        self
    }

    /// Parts that change.
    pub fn changed_parts(&self) -> Vec<Part> {
        self.changes
            .iter()
            .filter(|c| c.action.is_change())
            .map(|c| c.part)
            .collect()
    }

    /// The computed attributes after apply: `None` where the value is not
    /// known until apply (a part created or replaced).
    pub fn planned_outputs(&self, spec: &TenantSpec, observed: &ObservedTenant) -> PlannedOutputs {
        let names = spec.names();
        let now = observed.outputs(&names);
        let keep = |part: Part, v: Option<String>| -> Option<String> {
            if self.action(part).renews_identity() { None } else { v }
        };
        let task_definition_changes = needs_new_revision(self.action(Part::TaskDefinition));
        PlannedOutputs {
            outputs: TenantOutputs {
                service_arn: keep(Part::Service, now.service_arn),
                // Without a new revision the service ends on the latest
                // one, which it may not run yet (a run killed between the
                // two steps).
                task_definition_arn: if task_definition_changes {
                    None
                } else {
                    observed
                        .task_definition
                        .as_ref()
                        .map(|t| t.arn.clone())
                        .or(now.task_definition_arn)
                },
                target_group_arn: keep(Part::TargetGroup, now.target_group_arn),
                listener_rule_arn: keep(Part::ListenerRule, now.listener_rule_arn),
                listener_rule_priority: if self.action(Part::ListenerRule).renews_identity() {
                    None
                } else {
                    now.listener_rule_priority
                },
                access_point_id: keep(Part::AccessPoint, now.access_point_id),
                // Names are known before apply.
                database_name: Some(names.database.clone()),
                database_user: Some(names.database_user.clone()),
                db_secret_arn: if self.action(Part::Secret).renews_identity()
                    || observed.secret.as_ref().is_some_and(|s| s.pending_deletion)
                {
                    None
                } else {
                    now.db_secret_arn
                },
                log_group_name: Some(names.log_group.clone()),
                ..now
            }
            .certified(self)
            .placed(spec, observed),
        }
    }
}

impl TenantOutputs {
    /// The certificate as planned: known after apply when one is
    /// requested, none once removed.
    fn certified(mut self, plan: &TenantPlan) -> Self {
        let requests = plan.action(Part::Certificate) == &PartAction::Create || plan.updates(CertificateField::Domains);
        if requests {
            self.certificate_arn = None;
            self.certificate_validation_records = None;
        } else if plan.action(Part::Certificate) == &PartAction::Delete {
            self.certificate_arn = None;
            self.certificate_validation_records = Some(Vec::new());
        }
        self
    }

    /// The listener and load balancer as planned: where the rule is (a
    /// replaced rule stays on its listener); else the listener asked for (pinned), or the only one a
    /// single listener without a cap offers; a tenant placed by load is
    /// placed at apply (known after apply).
    fn placed(mut self, spec: &TenantSpec, observed: &ObservedTenant) -> Self {
        if let Some(to) = observed.facts.as_ref().and_then(|f| f.move_to(spec, observed)) {
            self.listener_arn = Some(to.listener_arn.clone());
            self.load_balancer_dns_name = Some(to.load_balancer_dns_name.clone());
            return self;
        }
        if self.listener_arn.is_some() {
            return self;
        }
        let p = &spec.platform;
        let arn = spec
            .listener_arn
            .clone()
            .or_else(|| (!p.places_by_load()).then(|| p.first_listener().to_owned()));
        self.load_balancer_dns_name = arn.as_ref().and_then(|a| {
            let facts = observed.facts.as_ref()?.listener(a)?;
            Some(facts.load_balancer_dns_name.clone())
        });
        self.listener_arn = arn;
        self
    }
}

/// Computed attributes as planned; each `None` is "known after apply".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOutputs {
    /// The values; `None` = unknown until apply.
    pub outputs: TenantOutputs,
}

impl fmt::Display for TenantPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tenant {}:", self.tenant_id)?;
        for c in &self.changes {
            let mark = match c.action {
                PartAction::NoChange => " ",
                PartAction::Create => "+",
                PartAction::Update(_) => "~",
                PartAction::Replace(_) => "±",
                PartAction::Delete => "-",
                PartAction::Retain(_) => "=",
            };
            writeln!(f, "  {mark} {:<16} {}", c.part.as_str(), c.action)?;
        }
        for c in &self.conflicts {
            writeln!(
                f,
                "  ! {:<16} {} exists but is owned by {}",
                c.part.as_str(),
                c.name,
                c.found
            )?;
        }
        Ok(())
    }
}

/// Whether the part needs a tag update: a desired tag missing or
/// different, or a user tag on the part that the configuration no longer
/// has ([`stale_tags`]).
fn tags_differ(desired: &Tags, observed: &Tags) -> bool {
    desired.iter().any(|(k, v)| observed.get(k) != Some(v)) || !stale_tags(desired, observed).is_empty()
}

/// The tag keys on a part that the desired tags no longer have: the user
/// tags removed from the configuration. bbws's own (`bbws:`) tags and
/// AWS's (`aws:`, which no one may remove) are never among them.
pub fn stale_tags(desired: &Tags, observed: &Tags) -> Vec<String> {
    observed
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .filter(|k| !k.starts_with(crate::naming::RESERVED_TAG_PREFIX) && !k.to_ascii_lowercase().starts_with("aws:"))
        .cloned()
        .collect()
}

/// Diffs desired against observed, part by part.
pub fn plan(spec: &TenantSpec, observed: &ObservedTenant) -> TenantPlan {
    let facts = observed.facts.clone().unwrap_or(PlatformFacts {
        listeners: Vec::new(),
        database_host: String::new(),
        database_port: 3306,
    });
    let d = DesiredTenant::new(spec, &facts, observed);
    let rotate = rotates_password(spec, observed);
    // A rotation that stopped after the secret was written left the old
    // password usable beside the new one (MySQL 8's dual passwords): the
    // tasks are restarted with the secret's password, then the old one goes.
    let old_password_left = !rotate && observed.database_user.as_ref().is_some_and(|u| u.old_password_retained);
    let secret = secret_action(&d, observed, rotate);
    let secret_renewed = secret.renews_identity();
    let database = if observed.database.is_some() {
        PartAction::NoChange
    } else {
        PartAction::Create
    };
    // A new secret holds a new password the user must get.
    let user = database_user_action(spec, observed, secret_renewed || rotate, old_password_left);
    let access_point = access_point_action(&d, observed);
    let log_group = log_group_action(&d, observed);
    let moving = facts.move_to(spec, observed).is_some();
    let target_group = target_group_action(&d, observed, moving);
    let tg_moves = moves_in_place(&target_group);
    let tg_renewed = target_group.renews_identity() && !tg_moves;
    let task_definition = task_definition_action(&d, observed, secret_renewed, access_point.renews_identity());
    let rule = listener_rule_action(&d, observed, tg_renewed, moving);
    let dns = dns_record_action(&d, observed);
    let service = service_action(
        &d,
        observed,
        TargetGroupChange {
            renewed: tg_renewed,
            moves: tg_moves,
        },
        needs_new_revision(&task_definition),
        rotate || old_password_left,
    );
    let scaling = scaling_action(&d, observed, tg_renewed || tg_moves);
    let certificate = certificate_action(&d, observed);
    let alarms = alarms_action(&d, observed, tg_renewed || tg_moves);
    let changes = [
        (Part::Secret, secret),
        (Part::Database, database),
        (Part::DatabaseUser, user),
        (Part::AccessPoint, access_point),
        (Part::LogGroup, log_group),
        (Part::TargetGroup, target_group),
        (Part::TaskDefinition, task_definition),
        (Part::ListenerRule, rule),
        (Part::DnsRecord, dns),
        (Part::Service, service),
    ]
    .into_iter()
    .chain(scaling.map(|a| (Part::Scaling, a)))
    .chain(certificate.map(|a| (Part::Certificate, a)))
    .chain(alarms.map(|a| (Part::Alarms, a)))
    .map(|(part, action)| PartChange { part, action })
    .collect();
    TenantPlan {
        tenant_id: spec.tenant_id.clone(),
        changes,
        conflicts: observed.foreign.clone(),
    }
}

/// A new password version (db_password_wo_version) rotates the password in
/// the secret and in MySQL, and restarts the tasks that read it at start.
fn rotates_password(spec: &TenantSpec, observed: &ObservedTenant) -> bool {
    let held_version = observed
        .secret
        .as_ref()
        .and_then(|s| s.description.as_deref())
        .and_then(crate::parts::TenantSettings::from_description)
        .and_then(|s| s.db_password_version);
    observed.secret.is_some() && spec.db_password_version.is_some() && held_version != spec.db_password_version
}

fn secret_action(d: &DesiredTenant, observed: &ObservedTenant, rotate: bool) -> PartAction {
    let Some(s) = &observed.secret else {
        return PartAction::Create;
    };
    let mut f = Vec::new();
    if s.pending_deletion {
        f.push(SecretField::Restore);
    }
    if rotate {
        f.push(SecretField::Password);
    }
    if s.description.as_deref() != Some(d.secret.description.as_str()) {
        f.push(SecretField::Settings);
    }
    if tags_differ(&d.secret.tags, &s.tags) {
        f.push(SecretField::Tags);
    }
    update_or_none(f)
}

fn database_user_action(
    spec: &TenantSpec,
    observed: &ObservedTenant,
    new_password: bool,
    old_password_left: bool,
) -> PartAction {
    let Some(u) = &observed.database_user else {
        return PartAction::Create;
    };
    let mut f = Vec::new();
    if u.locked {
        f.push(DatabaseUserField::Unlock);
    }
    if new_password {
        f.push(DatabaseUserField::Password);
    }
    if u.max_connections != spec.db_max_connections {
        f.push(DatabaseUserField::MaxConnections);
    }
    if old_password_left {
        f.push(DatabaseUserField::DiscardOldPassword);
    }
    update_or_none(f)
}

fn access_point_action(d: &DesiredTenant, observed: &ObservedTenant) -> PartAction {
    let Some(a) = &observed.access_point else {
        return PartAction::Create;
    };
    let mut immutable = Vec::new();
    if a.root_directory != d.access_point.root_directory {
        immutable.push(AccessPointField::RootDirectory);
    }
    if a.posix_uid != Some(d.access_point.posix_uid) {
        immutable.push(AccessPointField::PosixUser);
    }
    if a.file_system_id != d.access_point.file_system_id {
        immutable.push(AccessPointField::FileSystemId);
    }
    if !immutable.is_empty() {
        PartAction::replace(immutable)
    } else if tags_differ(&d.access_point.tags, &a.tags) {
        PartAction::update(vec![AccessPointField::Tags])
    } else {
        PartAction::NoChange
    }
}

fn log_group_action(d: &DesiredTenant, observed: &ObservedTenant) -> PartAction {
    let Some(l) = &observed.log_group else {
        return PartAction::Create;
    };
    let mut f = Vec::new();
    if l.retention_days != Some(d.log_group.retention_days) {
        f.push(LogGroupField::RetentionDays);
    }
    if tags_differ(&d.log_group.tags, &l.tags) {
        f.push(LogGroupField::Tags);
    }
    update_or_none(f)
}

/// Whether the target group is replaced by a move alone: a new one under
/// the other name beside the old, which the service then leaves.
pub fn moves_in_place(action: &PartAction) -> bool {
    matches!(action, PartAction::Replace(f) if f.as_slice() == [Field::TargetGroup(TargetGroupField::LoadBalancer)])
}

fn target_group_action(d: &DesiredTenant, observed: &ObservedTenant, moving: bool) -> PartAction {
    let Some(t) = &observed.target_group else {
        return PartAction::Create;
    };
    let mut immutable = Vec::new();
    if t.vpc_id != d.target_group.vpc_id {
        immutable.push(TargetGroupField::VpcId);
    }
    if t.port != d.target_group.port {
        immutable.push(TargetGroupField::Port);
    }
    if moving {
        immutable.push(TargetGroupField::LoadBalancer);
    }
    if !immutable.is_empty() {
        return PartAction::replace(immutable);
    }
    let mut f = Vec::new();
    if observed.has_leftovers(Part::TargetGroup) {
        f.push(TargetGroupField::RemoveLeftover);
    }
    if t.health_check_path != d.target_group.health_check_path {
        f.push(TargetGroupField::HealthCheckPath);
    }
    if tags_differ(&d.target_group.tags, &t.tags) {
        f.push(TargetGroupField::Tags);
    }
    update_or_none(f)
}

/// Any difference is a new revision (tags alone re-tag the current one).
fn task_definition_action(
    d: &DesiredTenant,
    observed: &ObservedTenant,
    secret_renewed: bool,
    access_point_renewed: bool,
) -> PartAction {
    use TaskDefinitionField as F;
    let Some(t) = &observed.task_definition else {
        return PartAction::Create;
    };
    let want = &d.task_definition;
    let differs = [
        (F::Image, t.image != want.image),
        (F::Cpu, t.cpu != want.cpu),
        (F::Memory, t.memory != want.memory),
        (F::Environment, t.environment != want.environment),
        (F::Secrets, secret_renewed || t.secrets != want.secrets),
        (
            F::AccessPoint,
            access_point_renewed || t.access_point_id.as_deref() != Some(want.access_point_id.as_str()),
        ),
        (
            F::FileSystem,
            t.file_system_id.as_deref() != Some(want.file_system_id.as_str()),
        ),
        (F::LogGroup, t.log_group.as_deref() != Some(want.log_group.as_str())),
        (F::Tags, tags_differ(&want.tags, &t.tags)),
    ];
    update_or_none(differs.into_iter().filter(|(_, d)| *d).map(|(f, _)| f).collect())
}

fn listener_rule_action(
    d: &DesiredTenant,
    observed: &ObservedTenant,
    target_group_renewed: bool,
    moving: bool,
) -> PartAction {
    let Some(r) = &observed.listener_rule else {
        return PartAction::Create;
    };
    if moving {
        return PartAction::replace(vec![ListenerRuleField::Listener]);
    }
    let mut f = Vec::new();
    if observed.has_leftovers(Part::ListenerRule) {
        f.push(ListenerRuleField::RemoveLeftover);
    }
    if !d.listener_rule.routes_exactly(&r.hosts) {
        f.push(ListenerRuleField::Host);
    }
    let action_ok = match (&d.listener_rule.action, &r.action) {
        (RuleAction::Forward(_), Some(RuleAction::Forward(arn))) => {
            !target_group_renewed && observed.target_group.as_ref().is_some_and(|t| &t.arn == arn)
        }
        (want, got) => Some(want) == got.as_ref(),
    };
    if !action_ok {
        f.push(ListenerRuleField::Action);
    }
    if tags_differ(&d.listener_rule.tags, &r.tags) {
        f.push(ListenerRuleField::Tags);
    }
    update_or_none(f)
}

/// The record under the desired name, and stale ones under previous names
/// (a changed subdomain).
fn dns_record_action(d: &DesiredTenant, observed: &ObservedTenant) -> PartAction {
    let stale = observed.dns_records.iter().any(|r| r.name != d.dns_record.name);
    match observed.dns_record(&d.dns_record.name) {
        None if stale => PartAction::replace(vec![DnsRecordField::Name]),
        None => PartAction::Create,
        Some(r) => {
            let mut f = Vec::new();
            if r.target != d.dns_record.target {
                f.push(DnsRecordField::Target);
            }
            if stale {
                f.push(DnsRecordField::RemovePreviousName);
            }
            update_or_none(f)
        }
    }
}

/// What happens to the target group, as the service sees it.
struct TargetGroupChange {
    /// Made anew under its name: a service behind the old one is replaced.
    renewed: bool,
    /// Made anew under the other name (a move): the service is pointed at
    /// it in place.
    moves: bool,
}

fn service_action(
    d: &DesiredTenant,
    observed: &ObservedTenant,
    target_group: TargetGroupChange,
    new_revision: bool,
    rotate: bool,
) -> PartAction {
    let Some(s) = &observed.service else {
        return PartAction::Create;
    };
    if target_group.renewed || (!target_group.moves && !s.target_group_arns.contains(&d.service.target_group_arn)) {
        return PartAction::replace(vec![ServiceField::TargetGroup]);
    }
    let mut f = Vec::new();
    if target_group.moves {
        f.push(ServiceField::TargetGroup);
    }
    let runs_latest = observed
        .task_definition
        .as_ref()
        .is_some_and(|t| t.arn == s.task_definition_arn);
    if new_revision || !runs_latest {
        f.push(ServiceField::TaskDefinition);
    }
    // Under scaling the count is scaling's to move, within its range.
    let count_ok = match &d.scaling {
        Some(sc) => (sc.min..=sc.max).contains(&s.desired_count),
        None => s.desired_count == d.service.desired_count,
    };
    if !count_ok {
        f.push(ServiceField::DesiredCount);
    }
    // Unreported (an emulator's create) is not judged: ECS always reports it.
    if s.circuit_breaker.is_some_and(|b| b != CircuitBreaker::ROLLBACK) {
        f.push(ServiceField::CircuitBreaker);
    }
    // Tasks read the password at start: running ones must be replaced
    // after a rotation (a new revision does that anyway).
    if rotate && !f.contains(&ServiceField::TaskDefinition) {
        f.push(ServiceField::Redeploy);
    }
    if tags_differ(&d.service.tags, &s.tags) || !service_stale_tags(&d.service.tags, &s.tags).is_empty() {
        f.push(ServiceField::Tags);
    }
    update_or_none(f)
}

/// The tag keys to remove from the service: the user's removed ones, and
/// bbws's autoscaling marker once scaling is gone ([`stale_tags`] keeps
/// bbws's own tags).
pub fn service_stale_tags(desired: &Tags, observed: &Tags) -> Vec<String> {
    let mut keys = stale_tags(desired, observed);
    let marker = crate::naming::TAG_AUTOSCALING;
    if observed.contains_key(marker) && !desired.contains_key(marker) {
        keys.push(marker.to_owned());
    }
    keys
}

/// The service's scaling: `None` (no entry in the plan) while neither
/// wanted nor there. `target_group_renewed`: the request-count policy
/// follows a new target group.
fn scaling_action(d: &DesiredTenant, observed: &ObservedTenant, target_group_renewed: bool) -> Option<PartAction> {
    let (want, got) = match (&d.scaling, &observed.scaling) {
        (None, None) => return None,
        (None, Some(_)) => return Some(PartAction::Delete),
        (Some(_), None) => return Some(PartAction::Create),
        (Some(want), Some(got)) => (want, got),
    };
    let mut f = Vec::new();
    if (got.min, got.max) != (want.min, want.max) {
        f.push(ScalingField::Range);
    }
    let target_group = observed.target_group.as_ref().map_or("", |t| t.arn.as_str());
    let mut desired = want.policies(&d.listener_rule.listener_arn, target_group);
    let mut held = got.policies.clone();
    desired.sort_by(|a, b| a.name.cmp(&b.name));
    held.sort_by(|a, b| a.name.cmp(&b.name));
    let follows_new_group = target_group_renewed && want.requests_per_target.is_some();
    if desired != held || follows_new_group {
        f.push(ScalingField::Policies);
    }
    Some(update_or_none(f))
}

/// The custom domains' certificate: `None` (no entry in the plan) while
/// neither wanted nor there. A certificate for other names (or one that
/// can never be issued) is requested anew; an issued one not served by the
/// tenant's listener is added to it; once the current one serves, a
/// superseded one goes. A pending one waits: nothing to do until ACM
/// issues it.
fn certificate_action(d: &DesiredTenant, observed: &ObservedTenant) -> Option<PartAction> {
    let want = match (&d.certificate, observed.has_certificate()) {
        (None, false) => return None,
        (None, true) => return Some(PartAction::Delete),
        (Some(want), _) => want,
    };
    let Some(current) = &observed.certificate else {
        return Some(PartAction::Create);
    };
    let unusable = matches!(current.status, crate::ports::CertificateStatus::Unusable(_));
    if unusable || !current.names_exactly(&want.request.domains) {
        return Some(PartAction::update(vec![CertificateField::Domains]));
    }
    let listener = &d.listener_rule.listener_arn;
    let issued = current.status == crate::ports::CertificateStatus::Issued;
    let served_here = observed.serves(listener, &current.arn);
    let served_elsewhere = (observed.served_certificates.iter()).any(|(l, c)| *c == current.arn && l != listener);
    let mut f = Vec::new();
    if issued && (!served_here || served_elsewhere) {
        f.push(CertificateField::Listener);
    }
    if observed.superseded_certificate.is_some() && issued {
        f.push(CertificateField::Superseded);
    }
    if !issued && !observed.validation_missing.is_empty() {
        f.push(CertificateField::Validation);
    }
    Some(update_or_none(f))
}

/// The alarms: `None` (no entry in the plan) while neither wanted nor
/// there; each one missing or not as defined (for the target group the
/// tenant has, or a new one) is put again.
fn alarms_action(d: &DesiredTenant, observed: &ObservedTenant, target_group_renewed: bool) -> Option<PartAction> {
    let want = match (&d.alarms, observed.has_alarms()) {
        (None, false) => return None,
        (None, true) => return Some(PartAction::Delete),
        (Some(want), _) => want,
    };
    if observed.alarms.is_empty() {
        return Some(PartAction::Create);
    }
    let target_group = observed.target_group.as_ref().map_or("", |t| t.arn.as_str());
    let defined = want.definitions(target_group);
    let as_defined = defined.iter().all(|a| observed.alarms.iter().any(|o| o.is(a)));
    let mut f = Vec::new();
    if !as_defined || target_group_renewed || observed.alarms.len() != defined.len() {
        f.push(AlarmsField::Definitions);
    }
    Some(update_or_none(f))
}

/// Whether the task definition action registers a new revision (tags alone
/// are changed on the existing one).
pub fn needs_new_revision(action: &PartAction) -> bool {
    match action {
        PartAction::Create | PartAction::Replace(_) => true,
        PartAction::Update(fields) => fields
            .iter()
            .any(|f| *f != Field::TaskDefinition(TaskDefinitionField::Tags)),
        _ => false,
    }
}

fn update_or_none<F: PartField>(fields: Vec<F>) -> PartAction {
    if fields.is_empty() {
        PartAction::NoChange
    } else {
        PartAction::update(fields)
    }
}

/// What destroying the tenant does: every existing part is deleted, except
/// the data kept by `retain_data_on_destroy` (database and user, locked).
pub fn plan_destroy(spec: &TenantSpec, observed: &ObservedTenant) -> TenantPlan {
    let changes = Part::ALL
        .iter()
        .map(|&part| {
            let action = if !observed.has(part) && !observed.has_leftovers(part) {
                PartAction::NoChange
            } else if spec.retain_data_on_destroy && part == Part::Database {
                PartAction::Retain("retain_data_on_destroy = true")
            } else if spec.retain_data_on_destroy && part == Part::DatabaseUser {
                if observed.database_user.as_ref().is_some_and(|u| u.locked) {
                    PartAction::Retain("retain_data_on_destroy = true; already locked")
                } else {
                    PartAction::update(vec![DatabaseUserField::Lock])
                }
            } else if part == Part::Secret && observed.secret.as_ref().is_some_and(|s| s.pending_deletion) {
                PartAction::NoChange
            } else {
                PartAction::Delete
            };
            PartChange { part, action }
        })
        .chain(observed.scaling.is_some().then_some(PartChange {
            part: Part::Scaling,
            action: PartAction::Delete,
        }))
        .chain(observed.has_certificate().then_some(PartChange {
            part: Part::Certificate,
            action: PartAction::Delete,
        }))
        .chain(observed.has_alarms().then_some(PartChange {
            part: Part::Alarms,
            action: PartAction::Delete,
        }))
        .collect();
    TenantPlan {
        tenant_id: spec.tenant_id.clone(),
        changes,
        conflicts: Vec::new(),
    }
}
