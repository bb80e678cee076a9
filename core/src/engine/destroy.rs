//! Destroy: every part the destroy plan deletes, in reverse creation order;
//! what `retain_data_on_destroy` keeps is reported, not deleted.

use std::time::Duration;

use super::{Engine, ignore_not_found};
use crate::error::CoreError;
use crate::naming::TenantNames;
use crate::observed::{ObservedTenant, owned_by};
use crate::parts::Part;
use crate::plan::{PartAction, TenantPlan};
use crate::ports::PortError;
use crate::spec::TenantSpec;

/// Days a deleted tenant secret can still be restored.
pub const SECRET_RECOVERY_WINDOW_DAYS: u32 = 7;

/// What a destroy did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestroyReport {
    /// Parts deleted.
    pub deleted: Vec<Part>,
    /// What was kept, one sentence each (shown to the user).
    pub retained: Vec<String>,
    /// The backup taken before the database was deleted
    /// (`backup_before_destroy`), as `s3://bucket/key`.
    pub backup: Option<String>,
}

/// A failed delete, as the error of the destroy.
fn step(part: Part, op: &'static str) -> impl FnOnce(PortError) -> CoreError {
    move |e: PortError| CoreError::Apply {
        step: format!("delete {part}"),
        part,
        source: Box::new(CoreError::port(part, op, e)),
        rolled_back: Vec::new(),
        rollback_errors: Vec::new(),
    }
}

impl Engine {
    /// Destroys the tenant per [`crate::plan_destroy`], in reverse creation
    /// order. Refused when the spec's guards say so.
    /// Every destroy, refused or not, leaves an audit record.
    pub async fn destroy(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        plan: &TenantPlan,
    ) -> Result<DestroyReport, CoreError> {
        self.bump_generation_of(&spec.tenant_id);
        self.forget_revisions(&spec.names().task_family);
        self.forget_planned(&spec.tenant_id);
        let result = self.tear_down(spec, observed, plan).await;
        self.bump_generation_of(&spec.tenant_id);
        self.forget_planned(&spec.tenant_id);
        let error = result.as_ref().err().map(ToString::to_string);
        let resources = crate::events::resources_of(observed);
        self.audit_about(
            "delete",
            &spec.tenant_id,
            crate::audit::parts_of(plan),
            error,
            resources,
        )
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
        let names = spec.names();
        let mut report = DestroyReport::default();
        // Before anything is deleted: a failed backup deletes nothing.
        if let Some(settings) = &self.platform.backup
            && spec.backs_up_before_destroy()
            && plan.action(Part::Database) == &PartAction::Delete
            && observed.database.is_some()
        {
            let backup = self.backup_database(&spec.tenant_id, settings, None).await?;
            report.backup = Some(backup.uri);
        }
        self.delete_routing(&names, observed, plan, &mut report).await?;
        self.delete_stray_target_groups(&spec.tenant_id, &names, observed)
            .await?;
        self.delete_storage(&names, observed, plan, &mut report).await?;
        self.delete_database(&names, plan, &mut report).await?;
        Ok(report)
    }

    /// The service, listener rule, DNS records, task definition revisions
    /// and target group: what serves the tenant.
    async fn delete_routing(
        &self,
        names: &TenantNames,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        report: &mut DestroyReport,
    ) -> Result<(), CoreError> {
        let p = &self.platform;
        let deleting = |part: Part| plan.action(part) == &PartAction::Delete;
        // Before the service, whose tags mark them.
        if deleting(Part::Alarms) {
            self.delete_alarms(observed).await?;
            report.deleted.push(Part::Alarms);
        }
        // Before the service, whose tags name it.
        if deleting(Part::Certificate) {
            self.delete_certificates(observed).await?;
            report.deleted.push(Part::Certificate);
        }
        // Before the service: a target of a deleted service is left behind.
        if deleting(Part::Scaling)
            && let Some(s) = &observed.scaling
        {
            ignore_not_found(self.ports.scaling.deregister_target(&s.resource_id).await)
                .map_err(step(Part::Scaling, "DeregisterScalableTarget"))?;
            report.deleted.push(Part::Scaling);
        }
        if deleting(Part::Service) {
            ignore_not_found(self.ports.ecs.delete_service(&p.cluster, &names.service).await)
                .map_err(step(Part::Service, "DeleteService"))?;
            report.deleted.push(Part::Service);
        }
        if deleting(Part::ListenerRule) {
            // With the rules a move a run did not finish left.
            for r in observed.listener_rule.iter().chain(&observed.leftover_rules) {
                ignore_not_found(self.ports.elbv2.delete_rule(&r.arn).await)
                    .map_err(step(Part::ListenerRule, "DeleteRule"))?;
            }
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
        if deleting(Part::TargetGroup) {
            for t in observed.target_group.iter().chain(&observed.leftover_target_groups) {
                self.delete_target_group(&t.arn)
                    .await
                    .map_err(step(Part::TargetGroup, "DeleteTargetGroup"))?;
            }
            report.deleted.push(Part::TargetGroup);
        }
        Ok(())
    }

    /// A move a killed run left before it made the new rule leaves a target
    /// group under the tenant's other name that no rule or service points
    /// at, so observation never saw it: read the names not seen, one call
    /// each (a missing name is no error then), and delete what is ours.
    async fn delete_stray_target_groups(
        &self,
        tenant_id: &str,
        names: &TenantNames,
        observed: &ObservedTenant,
    ) -> Result<(), CoreError> {
        let seen =
            |name: &str| (observed.target_group.iter().chain(&observed.leftover_target_groups)).any(|t| t.name == name);
        for name in [&names.target_group, &names.target_group_alternate] {
            if seen(name) {
                continue;
            }
            let found = self
                .ports
                .elbv2
                .describe_target_groups(std::slice::from_ref(name))
                .await
                .map_err(step(Part::TargetGroup, "DescribeTargetGroups"))?;
            let env = self.platform.environment;
            for t in found.iter().filter(|t| owned_by(&t.tags, tenant_id, env)) {
                self.delete_target_group(&t.arn)
                    .await
                    .map_err(step(Part::TargetGroup, "DeleteTargetGroup"))?;
            }
        }
        Ok(())
    }

    /// The access point (never the files under it), log group and secret.
    async fn delete_storage(
        &self,
        names: &TenantNames,
        observed: &ObservedTenant,
        plan: &TenantPlan,
        report: &mut DestroyReport,
    ) -> Result<(), CoreError> {
        let p = &self.platform;
        let deleting = |part: Part| plan.action(part) == &PartAction::Delete;
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
        Ok(())
    }

    /// The database user and database: all of destroy's MySQL work.
    async fn delete_database(
        &self,
        names: &TenantNames,
        plan: &TenantPlan,
        report: &mut DestroyReport,
    ) -> Result<(), CoreError> {
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
        Ok(())
    }

    /// A target group stays in use for a moment after its service and rule
    /// are deleted; retry `ResourceInUse` for a while.
    pub(super) async fn delete_target_group(&self, arn: &str) -> Result<(), PortError> {
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
}
