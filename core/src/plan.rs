//! `plan(spec, observed)`: the pure diff between desired and observed.
//!
//! No IO and no failure: everything it needs is in its two arguments, so it is
//! tested table-style, part by part, action by action.

use std::fmt;

use crate::observed::{ForeignPart, ObservedTenant, TenantOutputs};
use crate::parts::*;
use crate::spec::TenantSpec;

/// What happens to one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartAction {
    /// Exists as desired.
    NoChange,
    /// Absent: created.
    Create,
    /// Exists; these fields are changed in place (for the task definition: a
    /// new revision).
    Update(Vec<&'static str>),
    /// Exists; these immutable fields differ, so the part is deleted and
    /// created again (the tenant itself is not replaced).
    Replace(Vec<&'static str>),
    /// Exists; deleted.
    Delete,
    /// Exists and is kept on destroy, for this reason.
    Retain(&'static str),
}

impl PartAction {
    /// Whether the action touches AWS or MySQL.
    pub fn is_change(&self) -> bool {
        !matches!(self, PartAction::NoChange | PartAction::Retain(_))
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
            PartAction::Update(fields) => write!(f, "update in place ({})", fields.join(", ")),
            PartAction::Replace(fields) => write!(f, "replace ({} cannot change in place)", fields.join(", ")),
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
                task_definition_arn: if task_definition_changes {
                    None
                } else {
                    now.task_definition_arn
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
            },
        }
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

fn tags_differ(desired: &Tags, observed: &Tags) -> bool {
    desired.iter().any(|(k, v)| observed.get(k) != Some(v))
}

/// Diffs desired against observed, part by part.
pub fn plan(spec: &TenantSpec, observed: &ObservedTenant) -> TenantPlan {
    let facts = observed.facts.clone().unwrap_or(PlatformFacts {
        load_balancer_dns_name: String::new(),
        load_balancer_zone_id: String::new(),
        database_host: String::new(),
        database_port: 3306,
    });
    let d = DesiredTenant::new(spec, &facts, observed);
    let mut changes = Vec::with_capacity(10);
    let mut push = |part, action| changes.push(PartChange { part, action });

    // Secret. A new password version (db_password_wo_version) rotates the
    // password in the secret and in MySQL, and restarts the tasks that
    // read it at start.
    let held_version = observed
        .secret
        .as_ref()
        .and_then(|s| s.description.as_deref())
        .and_then(crate::parts::TenantSettings::from_description)
        .and_then(|s| s.db_password_version);
    let rotate =
        observed.secret.is_some() && spec.db_password_version.is_some() && held_version != spec.db_password_version;
    // A rotation that stopped after the secret was written left the old
    // password usable beside the new one (MySQL 8's dual passwords): the
    // tasks are restarted with the secret's password, then the old one goes.
    let old_password_left = !rotate && observed.database_user.as_ref().is_some_and(|u| u.old_password_retained);
    let secret = match &observed.secret {
        None => PartAction::Create,
        Some(s) => {
            let mut f = Vec::new();
            if s.pending_deletion {
                f.push("restore");
            }
            if rotate {
                f.push("password");
            }
            if s.description.as_deref() != Some(d.secret.description.as_str()) {
                f.push("settings");
            }
            if tags_differ(&d.secret.tags, &s.tags) {
                f.push("tags");
            }
            update_or_none(f)
        }
    };
    let secret_renewed = secret.renews_identity();
    push(Part::Secret, secret);

    // Database and user.
    push(
        Part::Database,
        if observed.database.is_some() {
            PartAction::NoChange
        } else {
            PartAction::Create
        },
    );
    let user = match &observed.database_user {
        None => PartAction::Create,
        Some(u) => {
            let mut f = Vec::new();
            if u.locked {
                f.push("unlock");
            }
            // A new secret holds a new password the user must get.
            if secret_renewed || rotate {
                f.push("password");
            }
            if u.max_connections != spec.db_max_connections {
                f.push("max_connections");
            }
            if old_password_left {
                f.push("discard_old_password");
            }
            update_or_none(f)
        }
    };
    push(Part::DatabaseUser, user);

    // Access point.
    let ap = match &observed.access_point {
        None => PartAction::Create,
        Some(a) => {
            let mut immutable = Vec::new();
            if a.root_directory != d.access_point.root_directory {
                immutable.push("root_directory");
            }
            if a.posix_uid != Some(d.access_point.posix_uid) {
                immutable.push("posix_user");
            }
            if a.file_system_id != d.access_point.file_system_id {
                immutable.push("file_system_id");
            }
            if !immutable.is_empty() {
                PartAction::Replace(immutable)
            } else if tags_differ(&d.access_point.tags, &a.tags) {
                PartAction::Update(vec!["tags"])
            } else {
                PartAction::NoChange
            }
        }
    };
    let ap_renewed = ap.renews_identity();
    push(Part::AccessPoint, ap);

    // Log group.
    let lg = match &observed.log_group {
        None => PartAction::Create,
        Some(l) => {
            let mut f = Vec::new();
            if l.retention_days != Some(d.log_group.retention_days) {
                f.push("retention_days");
            }
            if tags_differ(&d.log_group.tags, &l.tags) {
                f.push("tags");
            }
            update_or_none(f)
        }
    };
    push(Part::LogGroup, lg);

    // Target group.
    let tg = match &observed.target_group {
        None => PartAction::Create,
        Some(t) => {
            let mut immutable = Vec::new();
            if t.vpc_id != d.target_group.vpc_id {
                immutable.push("vpc_id");
            }
            if t.port != d.target_group.port {
                immutable.push("port");
            }
            if !immutable.is_empty() {
                PartAction::Replace(immutable)
            } else {
                let mut f = Vec::new();
                if t.health_check_path != d.target_group.health_check_path {
                    f.push("health_check_path");
                }
                if tags_differ(&d.target_group.tags, &t.tags) {
                    f.push("tags");
                }
                update_or_none(f)
            }
        }
    };
    let tg_renewed = tg.renews_identity();
    push(Part::TargetGroup, tg);

    // Task definition: any difference is a new revision.
    let td = match &observed.task_definition {
        None => PartAction::Create,
        Some(t) => {
            let want = &d.task_definition;
            let mut f = Vec::new();
            if t.image != want.image {
                f.push("image");
            }
            if t.cpu != want.cpu {
                f.push("cpu");
            }
            if t.memory != want.memory {
                f.push("memory");
            }
            if t.environment != want.environment {
                f.push("environment");
            }
            if secret_renewed || t.secrets != want.secrets {
                f.push("secrets");
            }
            if ap_renewed || t.access_point_id.as_deref() != Some(want.access_point_id.as_str()) {
                f.push("access_point");
            }
            if t.file_system_id.as_deref() != Some(want.file_system_id.as_str()) {
                f.push("file_system");
            }
            if t.log_group.as_deref() != Some(want.log_group.as_str()) {
                f.push("log_group");
            }
            if tags_differ(&want.tags, &t.tags) {
                f.push("tags");
            }
            update_or_none(f)
        }
    };
    let td_changes = needs_new_revision(&td);
    push(Part::TaskDefinition, td);

    // Listener rule.
    let rule = match &observed.listener_rule {
        None => PartAction::Create,
        Some(r) => {
            let mut f = Vec::new();
            if r.hosts != [d.listener_rule.host.clone()] {
                f.push("host");
            }
            let action_ok = match (&d.listener_rule.action, &r.action) {
                (RuleAction::Forward(_), Some(RuleAction::Forward(arn))) => {
                    !tg_renewed && observed.target_group.as_ref().is_some_and(|t| &t.arn == arn)
                }
                (want, got) => Some(want) == got.as_ref(),
            };
            if !action_ok {
                f.push("action");
            }
            if tags_differ(&d.listener_rule.tags, &r.tags) {
                f.push("tags");
            }
            update_or_none(f)
        }
    };
    push(Part::ListenerRule, rule);

    // DNS record: the one under the desired name, and stale ones under
    // previous names (a changed subdomain).
    let stale = observed.dns_records.iter().any(|r| r.name != d.dns_record.name);
    let dns = match observed.dns_record(&d.dns_record.name) {
        None if stale => PartAction::Replace(vec!["name"]),
        None => PartAction::Create,
        Some(r) => {
            let mut f = Vec::new();
            if r.target != d.dns_record.target {
                f.push("target");
            }
            if stale {
                f.push("remove_previous_name");
            }
            update_or_none(f)
        }
    };
    push(Part::DnsRecord, dns);

    // Service.
    let svc = match &observed.service {
        None => PartAction::Create,
        Some(s) => {
            if tg_renewed || !s.target_group_arns.contains(&d.service.target_group_arn) {
                PartAction::Replace(vec!["target_group"])
            } else {
                let mut f = Vec::new();
                let runs_latest = observed
                    .task_definition
                    .as_ref()
                    .is_some_and(|t| t.arn == s.task_definition_arn);
                if td_changes || !runs_latest {
                    f.push("task_definition");
                }
                if s.desired_count != d.service.desired_count {
                    f.push("desired_count");
                }
                // Tasks read the password at start: running ones must be
                // replaced after a rotation (a new revision does that anyway).
                if (rotate || old_password_left) && !f.contains(&"task_definition") {
                    f.push("redeploy");
                }
                if tags_differ(&d.service.tags, &s.tags) {
                    f.push("tags");
                }
                update_or_none(f)
            }
        }
    };
    push(Part::Service, svc);

    TenantPlan {
        tenant_id: spec.tenant_id.clone(),
        changes,
        conflicts: observed.foreign.clone(),
    }
}

/// Whether the task definition action registers a new revision (tags alone
/// are changed on the existing one).
pub fn needs_new_revision(action: &PartAction) -> bool {
    match action {
        PartAction::Create | PartAction::Replace(_) => true,
        PartAction::Update(fields) => fields.iter().any(|f| *f != "tags"),
        _ => false,
    }
}

fn update_or_none(fields: Vec<&'static str>) -> PartAction {
    if fields.is_empty() {
        PartAction::NoChange
    } else {
        PartAction::Update(fields)
    }
}

/// What destroying the tenant does: every existing part is deleted, except
/// the data kept by `retain_data_on_destroy` (database and user, locked).
pub fn plan_destroy(spec: &TenantSpec, observed: &ObservedTenant) -> TenantPlan {
    let changes = Part::ALL
        .iter()
        .map(|&part| {
            let action = if !observed.has(part) {
                PartAction::NoChange
            } else if spec.retain_data_on_destroy && part == Part::Database {
                PartAction::Retain("retain_data_on_destroy = true")
            } else if spec.retain_data_on_destroy && part == Part::DatabaseUser {
                if observed.database_user.as_ref().is_some_and(|u| u.locked) {
                    PartAction::Retain("retain_data_on_destroy = true; already locked")
                } else {
                    PartAction::Update(vec!["lock"])
                }
            } else if part == Part::Secret && observed.secret.as_ref().is_some_and(|s| s.pending_deletion) {
                PartAction::NoChange
            } else {
                PartAction::Delete
            };
            PartChange { part, action }
        })
        .collect();
    TenantPlan {
        tenant_id: spec.tenant_id.clone(),
        changes,
        conflicts: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
            listener_arn: "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/lb/1/2".into(),
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
            load_balancer_dns_name: "lb-1.eu-west-1.elb.amazonaws.com".into(),
            load_balancer_zone_id: "ZLB".into(),
            database_host: "db.local".into(),
            database_port: 3306,
        }
    }

    /// An observation exactly matching `spec`: every part exists as desired.
    pub(crate) fn converged(spec: &TenantSpec) -> ObservedTenant {
        let mut o = ObservedTenant {
            tenant_id: spec.tenant_id.clone(),
            facts: Some(facts()),
            ..Default::default()
        };
        o.secret = Some(ObservedSecret {
            arn: "arn:secret".into(),
            name: spec.names().secret,
            tags: spec.tags(),
            pending_deletion: false,
            description: Some(TenantSettings::of(spec).to_description()),
        });
        o.access_point = Some(ObservedAccessPoint {
            id: "fsap-1".into(),
            arn: "arn:ap".into(),
            file_system_id: "fs-1".into(),
            name: spec.names().access_point,
            root_directory: spec.names().access_point_root,
            posix_uid: Some(crate::naming::WEB_SERVER_UID),
            tags: spec.tags(),
        });
        o.target_group = Some(ObservedTargetGroup {
            arn: "arn:tg".into(),
            name: spec.names().target_group,
            vpc_id: "vpc-1".into(),
            port: 80,
            health_check_path: crate::naming::HEALTH_CHECK_PATH.into(),
            tags: spec.tags(),
        });
        let d = DesiredTenant::new(spec, &facts(), &o);
        o.database = Some(ObservedDatabase {
            name: d.names.database.clone(),
        });
        o.database_user = Some(ObservedDatabaseUser {
            name: d.names.database_user.clone(),
            locked: false,
            max_connections: spec.db_max_connections,
            old_password_retained: false,
        });
        o.log_group = Some(ObservedLogGroup {
            name: d.log_group.name.clone(),
            arn: "arn:lg".into(),
            retention_days: Some(d.log_group.retention_days),
            tags: spec.tags(),
        });
        let t = &d.task_definition;
        o.task_definition = Some(ObservedTaskDefinition {
            arn: "arn:td:1".into(),
            family: t.family.clone(),
            revision: 1,
            image: t.image.clone(),
            cpu: t.cpu,
            memory: t.memory,
            environment: t.environment.clone(),
            secrets: t.secrets.clone(),
            file_system_id: Some(t.file_system_id.clone()),
            access_point_id: Some(t.access_point_id.clone()),
            log_group: Some(t.log_group.clone()),
            tags: spec.tags(),
        });
        o.listener_rule = Some(ObservedListenerRule {
            arn: "arn:rule".into(),
            listener_arn: d.listener_rule.listener_arn.clone(),
            priority: 7,
            hosts: vec![d.listener_rule.host.clone()],
            action: Some(d.listener_rule.action.clone()),
            tags: spec.tags(),
        });
        o.dns_records = vec![ObservedDnsRecord {
            zone_id: "Z1".into(),
            name: d.dns_record.name.clone(),
            target: d.dns_record.target.clone(),
        }];
        o.service = Some(ObservedService {
            arn: "arn:svc".into(),
            name: d.service.name.clone(),
            cluster: "dev-cluster".into(),
            task_definition_arn: "arn:td:1".into(),
            desired_count: d.service.desired_count,
            running_count: d.service.desired_count,
            target_group_arns: vec!["arn:tg".into()],
            status: "ACTIVE".into(),
            tags: spec.tags(),
        });
        o
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
        let p = plan(&s, &converged(&s));
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
        let td = |f: &'static str| (Part::TaskDefinition, Update(vec![f]));
        let svc = (Part::Service, Update(vec!["task_definition"]));
        let table: Vec<(Part, Vec<(Part, PartAction)>)> = vec![
            (
                Part::Secret,
                vec![
                    (Part::Secret, Create),
                    (Part::DatabaseUser, Update(vec!["password"])),
                    td("secrets"),
                    svc.clone(),
                ],
            ),
            (Part::Database, vec![(Part::Database, Create)]),
            (Part::DatabaseUser, vec![(Part::DatabaseUser, Create)]),
            (
                Part::AccessPoint,
                vec![(Part::AccessPoint, Create), td("access_point"), svc.clone()],
            ),
            (Part::LogGroup, vec![(Part::LogGroup, Create)]),
            (
                Part::TargetGroup,
                vec![
                    (Part::TargetGroup, Create),
                    (Part::ListenerRule, Update(vec!["action"])),
                    (Part::Service, Replace(vec!["target_group"])),
                ],
            ),
            (Part::TaskDefinition, vec![(Part::TaskDefinition, Create), svc.clone()]),
            (Part::ListenerRule, vec![(Part::ListenerRule, Create)]),
            (Part::DnsRecord, vec![(Part::DnsRecord, Create)]),
            (Part::Service, vec![(Part::Service, Create)]),
        ];
        let s = spec();
        for (missing, expected) in table {
            let mut o = converged(&s);
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
            }
            assert_eq!(actions(&plan(&s, &o)), expected, "missing {missing}");
        }
    }

    /// Each attribute change maps to the parts SPEC §3 says it touches.
    #[test]
    fn attribute_changes_update_the_right_parts() {
        use PartAction::*;
        type Case = (&'static str, fn(&mut TenantSpec), Vec<(Part, PartAction)>);
        let svc_td = (Part::Service, Update(vec!["task_definition"]));
        let table: Vec<Case> = vec![
            (
                "desired_count",
                |s| s.desired_count = 5,
                // The secret's description remembers it for imports of a
                // suspended tenant (whose service runs none).
                vec![
                    (Part::Secret, Update(vec!["settings"])),
                    (Part::Service, Update(vec!["desired_count"])),
                ],
            ),
            (
                "name",
                |s| s.name = "ACME Ltd".into(),
                vec![(Part::Secret, Update(vec!["settings"]))],
            ),
            (
                "cpu+memory",
                |s| {
                    s.cpu = 1024;
                    s.memory = 2048
                },
                vec![(Part::TaskDefinition, Update(vec!["cpu", "memory"])), svc_td.clone()],
            ),
            (
                "image",
                |s| s.image = "example.com/wp".into(),
                vec![(Part::TaskDefinition, Update(vec!["image"])), svc_td.clone()],
            ),
            (
                "wordpress_version",
                |s| s.wordpress_version = "6.7".into(),
                vec![(Part::TaskDefinition, Update(vec!["image"])), svc_td.clone()],
            ),
            (
                "php_version",
                |s| s.php_version = "8.2".into(),
                vec![(Part::TaskDefinition, Update(vec!["image"])), svc_td.clone()],
            ),
            (
                "env vars",
                |s| {
                    s.environment_variables.insert("WP_DEBUG".into(), "1".into());
                },
                vec![(Part::TaskDefinition, Update(vec!["environment"])), svc_td.clone()],
            ),
            (
                "subdomain",
                |s| s.subdomain = "acme2".into(),
                vec![
                    (Part::ListenerRule, Update(vec!["host"])),
                    (Part::DnsRecord, Replace(vec!["name"])),
                ],
            ),
            (
                "retention",
                |s| s.log_retention_days = 90,
                vec![(Part::LogGroup, Update(vec!["retention_days"]))],
            ),
            (
                "suspend",
                |s| s.status = TenantStatus::Suspended,
                vec![
                    (Part::ListenerRule, Update(vec!["action"])),
                    (Part::Service, Update(vec!["desired_count"])),
                ],
            ),
            // Tags never cause a new revision or a replacement.
            (
                "tags",
                |s| {
                    s.tags.insert("team".into(), "x".into());
                },
                Part::ALL
                    .iter()
                    .filter(|p| !matches!(p, Part::Database | Part::DatabaseUser | Part::DnsRecord))
                    .map(|p| (*p, Update(vec!["tags"])))
                    .collect(),
            ),
        ];
        for (what, change, expected) in table {
            let before = spec();
            let o = converged(&before);
            let mut after = before.clone();
            change(&mut after);
            assert_eq!(actions(&plan(&after, &o)), expected, "change {what}");
        }
    }

    #[test]
    fn drift_is_repaired_part_by_part() {
        use PartAction::*;
        let s = spec();
        type Drift = (&'static str, fn(&mut ObservedTenant), Vec<(Part, PartAction)>);
        let table: Vec<Drift> = vec![
            (
                "desired count",
                |o| o.service.as_mut().unwrap().desired_count = 9,
                vec![(Part::Service, Update(vec!["desired_count"]))],
            ),
            (
                "rule host",
                |o| o.listener_rule.as_mut().unwrap().hosts = vec!["evil.example".into()],
                vec![(Part::ListenerRule, Update(vec!["host"]))],
            ),
            (
                "retention",
                |o| o.log_group.as_mut().unwrap().retention_days = None,
                vec![(Part::LogGroup, Update(vec!["retention_days"]))],
            ),
            (
                "user locked",
                |o| o.database_user.as_mut().unwrap().locked = true,
                vec![(Part::DatabaseUser, Update(vec!["unlock"]))],
            ),
            (
                "connection limit changed behind our back",
                |o| o.database_user.as_mut().unwrap().max_connections = 1000,
                vec![(Part::DatabaseUser, Update(vec!["max_connections"]))],
            ),
            (
                "secret pending deletion",
                |o| o.secret.as_mut().unwrap().pending_deletion = true,
                vec![(Part::Secret, Update(vec!["restore"]))],
            ),
            (
                "service on old revision",
                |o| o.service.as_mut().unwrap().task_definition_arn = "arn:td:0".into(),
                vec![(Part::Service, Update(vec!["task_definition"]))],
            ),
            (
                "access point root",
                |o| o.access_point.as_mut().unwrap().root_directory = "/other".into(),
                vec![
                    (Part::AccessPoint, Replace(vec!["root_directory"])),
                    (Part::TaskDefinition, Update(vec!["access_point"])),
                    (Part::Service, Update(vec!["task_definition"])),
                ],
            ),
            (
                "target group vpc",
                |o| o.target_group.as_mut().unwrap().vpc_id = "vpc-2".into(),
                vec![
                    (Part::TargetGroup, Replace(vec!["vpc_id"])),
                    (Part::ListenerRule, Update(vec!["action"])),
                    (Part::Service, Replace(vec!["target_group"])),
                ],
            ),
            (
                "dns target",
                |o| o.dns_records[0].target = RecordTarget::Cname("x".into()),
                vec![(Part::DnsRecord, Update(vec!["target"]))],
            ),
        ];
        for (what, drift, expected) in table {
            let mut o = converged(&s);
            drift(&mut o);
            assert_eq!(actions(&plan(&s, &o)), expected, "drift {what}");
        }
    }

    #[test]
    fn destroy_deletes_all_but_retained_data() {
        use PartAction::*;
        let mut s = spec();
        let o = converged(&s);
        let p = plan_destroy(&s, &o);
        assert_eq!(p.action(Part::Database), &Retain("retain_data_on_destroy = true"));
        assert_eq!(p.action(Part::DatabaseUser), &Update(vec!["lock"]));
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
        let mut o = converged(&s);
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
        let o = converged(&s);
        let out = plan(&bigger, &o).planned_outputs(&bigger, &o).outputs;
        assert_eq!(out.task_definition_arn, None);
        assert_eq!(out.target_group_arn.as_deref(), Some("arn:tg"));
    }

    #[test]
    fn foreign_parts_are_conflicts() {
        let s = spec();
        let mut o = converged(&s);
        o.foreign.push(ForeignPart {
            part: Part::TargetGroup,
            name: "dev-123456789012-tg".into(),
            found: "no bbws ownership tags".into(),
            owner: None,
        });
        assert_eq!(plan(&s, &o).conflicts.len(), 1);
    }
}
