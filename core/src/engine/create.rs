//! Creates that are safe after a lost answer and never count a part they
//! found as their own.
//!
//! Every part is created with this run's [`TAG_RUN`](crate::naming::TAG_RUN)
//! tag (and, where the API has one, an idempotency token derived from the
//! run token). When a create fails, the part is looked up by name: found
//! with this run's tag, the call did happen and only its answer was lost —
//! the part is this run's, recorded for rollback, and the run goes on;
//! found with another run's tag (or none), someone else made it meanwhile —
//! this run stops with [`CoreError::CreatedElsewhere`] and its rollback
//! leaves that part alone; not found, the error stands.

use super::apply::Run;
use super::rollback::Created;
use super::{StepFailure, StepResult, fail};
use crate::error::CoreError;
use crate::naming::TAG_RUN;
use crate::observed::describe_owner;
use crate::parts::*;
use crate::ports::{PortError, PortErrorKind, PortResult};

impl Run<'_> {
    /// The outcome of a create that failed with `error`, given what a
    /// lookup by name `found`.
    fn settle<T>(
        &self,
        part: Part,
        op: &'static str,
        name: &str,
        error: PortError,
        found: PortResult<Option<T>>,
        tags: impl Fn(&T) -> &Tags,
    ) -> StepResult<T> {
        match found {
            Ok(Some(t)) if self.token.made(tags(&t)) => {
                tracing::info!(%part, name, error = %error, "the create's answer was lost, but it made the part: this run's");
                Ok(t)
            }
            Ok(Some(t)) => Err(self.created_elsewhere(part, name, tags(&t))),
            _ => Err(fail("create", part, op)(error)),
        }
    }

    pub(super) fn created_elsewhere(&self, part: Part, name: &str, tags: &Tags) -> StepFailure {
        let run = tags
            .get(TAG_RUN)
            .map_or_else(String::new, |r| format!(", {TAG_RUN}={r}"));
        StepFailure {
            step: format!("create {part}"),
            part,
            error: CoreError::CreatedElsewhere {
                part,
                name: name.to_owned(),
                tenant_id: self.spec.tenant_id.clone(),
                found: format!("{}{run}", describe_owner(tags)),
            },
        }
    }

    pub(super) async fn create_secret(&self, spec: &SecretSpec, value: &str) -> StepResult<ObservedSecret> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        spec.client_token = Some(self.token.client_token("secrets.CreateSecret", &spec.name));
        let secrets = &self.ports().secrets;
        let s = match secrets.create_secret(&spec, value).await {
            Ok(s) => s,
            Err(e) => {
                let found = secrets.describe_secret(&spec.name).await;
                self.settle(Part::Secret, "CreateSecret", &spec.name, e, found, |s| &s.tags)?
            }
        };
        self.record(Created::Secret(s.arn.clone()));
        self.made(|m| m.secret = Some(s.clone()));
        Ok(s)
    }

    pub(super) async fn create_access_point(&self, spec: &AccessPointSpec) -> StepResult<ObservedAccessPoint> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        spec.client_token = Some(self.token.client_token("efs.CreateAccessPoint", &spec.name));
        let efs = &self.ports().efs;
        let a = match efs.create_access_point(&spec).await {
            Ok(a) => a,
            // Access points have no unique name: only this run's own counts
            // as found (another run's is simply another access point).
            Err(e) => {
                let found = efs.describe_access_points(&spec.file_system_id).await.map(|all| {
                    all.into_iter()
                        .find(|a| a.name == spec.name && self.token.made(&a.tags))
                });
                self.settle(Part::AccessPoint, "CreateAccessPoint", &spec.name, e, found, |a| {
                    &a.tags
                })?
            }
        };
        self.record(Created::AccessPoint(a.id.clone()));
        self.made(|m| m.access_point = Some(a.clone()));
        Ok(a)
    }

    pub(super) async fn create_log_group(&self, spec: &LogGroupSpec) -> StepResult<()> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        let logs = &self.ports().logs;
        let group = match logs.create_log_group(&spec).await {
            Ok(l) => l,
            Err(e) => {
                let found = logs
                    .describe_log_groups(&spec.name)
                    .await
                    .map(|all| all.into_iter().find(|l| l.name == spec.name));
                self.settle(Part::LogGroup, "CreateLogGroup", &spec.name, e, found, |l| &l.tags)?
            }
        };
        self.record(Created::LogGroup(group.name.clone()));
        self.made(|m| m.log_group = Some(group));
        Ok(())
    }

    /// ELBv2 answers an existing group of the same name and settings as if
    /// it had created it: the group is this run's only if it carries this
    /// run's tag.
    pub(super) async fn create_target_group(&self, spec: &TargetGroupSpec) -> StepResult<ObservedTargetGroup> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        let elbv2 = &self.ports().elbv2;
        let t = match elbv2.create_target_group(&spec).await {
            // Its tags say whose it is: the answer's are the request's.
            Ok(t) => match elbv2.target_group_tags(&t.arn).await {
                Ok(Some(tags)) if self.token.made(&tags) => ObservedTargetGroup { tags, ..t },
                Ok(Some(tags)) => return Err(self.created_elsewhere(Part::TargetGroup, &spec.name, &tags)),
                // Not readable back: not known to be ours, so never recorded.
                Ok(None) => {
                    return Err(fail("create", Part::TargetGroup, "DescribeTags")(PortError::new(
                        PortErrorKind::NotFound,
                        "TargetGroupNotFound",
                        format!("target group {} was created but cannot be read back", spec.name),
                    )));
                }
                Err(e) => return Err(fail("create", Part::TargetGroup, "DescribeTags")(e)),
            },
            Err(e) => {
                let found = elbv2
                    .describe_target_groups(std::slice::from_ref(&spec.name))
                    .await
                    .map(|all| all.into_iter().find(|t| t.name == spec.name));
                self.settle(Part::TargetGroup, "CreateTargetGroup", &spec.name, e, found, |t| {
                    &t.tags
                })?
            }
        };
        self.record(Created::TargetGroup(t.arn.clone()));
        self.made(|m| m.target_group = Some(t.clone()));
        Ok(t)
    }

    /// A new revision. RegisterTaskDefinition always adds one: after a lost
    /// answer the family's latest revision, if this run's, is the one it
    /// made.
    pub(super) async fn register_task_definition(&self, spec: &TaskDefinitionSpec) -> StepResult<String> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        let ecs = &self.ports().ecs;
        let t = match ecs.register_task_definition(&spec).await {
            Ok(t) => t,
            Err(e) => match ecs.latest_task_definition(&spec.family).await {
                Ok(Some(t)) if self.token.made(&t.tags) => t,
                _ => return Err(fail("register", Part::TaskDefinition, "RegisterTaskDefinition")(e)),
            },
        };
        let arn = t.arn.clone();
        self.record(Created::TaskDefinition(arn.clone()));
        self.made(|m| m.task_definition = Some(t));
        Ok(arn)
    }

    /// The listener rule for the tenant's host, found on the listener or
    /// created ([`super::Engine::create_rule`]); a rule for the host that
    /// this run did not make is someone else's.
    pub(super) async fn create_listener_rule(&self, spec: &ListenerRuleSpec) -> StepResult<ObservedListenerRule> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        let r = self
            .engine
            .create_rule(&spec, &self.spec.tenant_id)
            .await
            .map_err(fail("create", Part::ListenerRule, "CreateRule"))?;
        if !self.token.made(&r.tags) {
            return Err(self.created_elsewhere(Part::ListenerRule, &format!("host {}", spec.host), &r.tags));
        }
        self.record(Created::ListenerRule(r.arn.clone()));
        self.made(|m| m.listener_rule = Some(r.clone()));
        Ok(r)
    }

    pub(super) async fn create_service(&self, spec: &ServiceSpec) -> StepResult<ObservedService> {
        let mut spec = spec.clone();
        spec.tags = self.token.stamp(&spec.tags);
        spec.client_token = Some(self.token.client_token("ecs.CreateService", &spec.name));
        let ecs = &self.ports().ecs;
        let s = match ecs.create_service(&spec).await {
            Ok(s) => s,
            Err(e) => {
                let found = ecs
                    .describe_services(&spec.cluster, std::slice::from_ref(&spec.name))
                    .await
                    .map(|all| all.into_iter().find(|s| s.name == spec.name && s.status == "ACTIVE"));
                self.settle(Part::Service, "CreateService", &spec.name, e, found, |s| &s.tags)?
            }
        };
        self.record(Created::Service(spec.cluster.clone(), s.name.clone()));
        self.made(|m| m.service = Some(s.clone()));
        Ok(s)
    }
}
