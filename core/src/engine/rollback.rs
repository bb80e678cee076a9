//! Rollback: what a run created, so that a failed run removes exactly
//! that, newest first.

use super::apply::Run;
use super::ignore_not_found;
use crate::parts::{ObservedDnsRecord, Part};
use crate::ports::{PortError, PortErrorKind};

/// Something this run created, so that a failure can remove it again.
#[derive(Debug, Clone)]
pub(super) enum Created {
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
    /// A registered scalable target (its resource id).
    Scaling(String),
    /// A requested certificate (its ARN).
    Certificate(String),
    /// Alarms put (their names).
    Alarms(Vec<String>),
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
            Created::Scaling(_) => Part::Scaling,
            Created::Certificate(_) => Part::Certificate,
            Created::Alarms(_) => Part::Alarms,
        }
    }
}

impl Run<'_> {
    /// Removes what this run created, newest first. Returns the parts removed
    /// and the ones that could not be (named, so nothing is left silently).
    pub(super) async fn rollback(&self) -> (Vec<Part>, Vec<String>) {
        let created: Vec<Created> = self.created.lock().map(|v| v.clone()).unwrap_or_default();
        let ports = &self.engine.ports;
        let mut removed = Vec::new();
        let mut errors = Vec::new();
        for c in created.into_iter().rev() {
            let result = match &c {
                Created::Scaling(id) => ignore_not_found(ports.scaling.deregister_target(id).await),
                Created::Certificate(arn) => self.forget_certificate(arn).await,
                Created::Alarms(names) => ports.alarms.delete_alarms(names).await,
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
