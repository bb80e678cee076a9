//! Moving a tenant to another listener of the pool, in place (SPEC §8:
//! "change it to move one"). A target group belongs to one load balancer,
//! so the move makes a second one under the tenant's other name
//! (`TenantNames::target_group_alternate`) with a rule on the new listener
//! forwarding to it, points the service at it (a new deployment), and once
//! the service runs there points the DNS record at the new load balancer;
//! only then are the old rule and target group removed. Until the service
//! is moved a failure rolls back to where the tenant was; after it, the
//! new parts are the tenant's and the next apply finishes the move. What a
//! run killed half-way left is found by the next observation (the
//! tenant's rules on other listeners, its target group under the other
//! name) and reused or removed.

use super::apply::{RuleNow, Run};
use super::rollback::Created;
use super::{StepResult, fail, ignore_not_found};
use crate::parts::*;
use crate::plan::{Field, ListenerRuleField, PartAction};
use crate::spec::TenantStatus;

impl Run<'_> {
    /// Whether this run moves the tenant to another listener.
    pub(super) fn moving(&self) -> bool {
        matches!(self.action(Part::ListenerRule),
            PartAction::Replace(f) if f.contains(&Field::ListenerRule(ListenerRuleField::Listener)))
    }

    /// The target group on the new load balancer: the one a killed move
    /// left under that name, else a new one.
    pub(super) async fn target_group_to_move_to(&self, desired: &DesiredTenant) -> StepResult<ObservedTargetGroup> {
        let left = (self.observed.leftover_target_groups.iter()).find(|t| t.name == desired.target_group.name);
        match left {
            Some(t) => Ok(t.clone()),
            None => self.create_target_group(&desired.target_group).await,
        }
    }

    /// The tenant's rule on `listener` that a killed move left.
    pub(super) fn leftover_rule_on(&self, listener: &str) -> Option<&ObservedListenerRule> {
        (self.observed.leftover_rules.iter()).find(|r| r.listener_arn == listener)
    }

    /// A left rule made to route as `wanted` (forwarding to the new group).
    pub(super) async fn reuse_leftover_rule(
        &self,
        rule: &ObservedListenerRule,
        wanted: &ListenerRuleSpec,
    ) -> StepResult<Option<RuleNow>> {
        if !wanted.routes_exactly(&rule.hosts) || rule.action.as_ref() != Some(&wanted.action) {
            self.ports()
                .elbv2
                .modify_rule(&rule.arn, &wanted.hosts(), &wanted.action)
                .await
                .map_err(fail("update", Part::ListenerRule, "ModifyRule"))?;
        }
        Ok(Some((rule.arn.clone(), Some(wanted.action.clone()))))
    }

    /// Points the service at the new target group. From here the new group
    /// and rule carry the tenant: a rollback no longer removes them. A
    /// suspended tenant's new rule gets the suspended page back.
    pub(super) async fn move_service(&self, desired: &DesiredTenant, rule: Option<&RuleNow>) -> StepResult<()> {
        let svc = &desired.service;
        let mapping = ServiceTargetGroup {
            target_group_arn: svc.target_group_arn.clone(),
            container_name: svc.container_name.clone(),
            container_port: svc.container_port,
        };
        self.ports()
            .ecs
            .set_target_group(&svc.cluster, &svc.name, &mapping)
            .await
            .map_err(fail("update", Part::Service, "UpdateService(loadBalancers)"))?;
        if let Ok(mut created) = self.created.lock() {
            created.retain(|c| !matches!(c, Created::TargetGroup(_) | Created::ListenerRule(_)));
        }
        if let (Some((arn, _)), TenantStatus::Suspended) = (rule, self.spec.status) {
            self.ports()
                .elbv2
                .modify_rule(arn, &desired.listener_rule.hosts(), &suspended_action())
                .await
                .map_err(fail("update", Part::ListenerRule, "ModifyRule"))?;
        }
        Ok(())
    }

    /// After a move (or to finish one a run left): the tenant's rules other
    /// than `rule`, then its target groups other than `target_group` (a
    /// group a rule forwards to cannot be deleted).
    pub(super) async fn remove_moved_from(&self, target_group: &str, rule: Option<&str>) -> StepResult<()> {
        let moved = self.moving();
        let old_rule = self.observed.listener_rule.iter().filter(|_| moved);
        let rules = old_rule.chain(&self.observed.leftover_rules);
        for r in rules.filter(|r| Some(r.arn.as_str()) != rule) {
            ignore_not_found(self.ports().elbv2.delete_rule(&r.arn).await).map_err(fail(
                "delete old",
                Part::ListenerRule,
                "DeleteRule",
            ))?;
        }
        let old_group = self.observed.target_group.iter().filter(|_| moved);
        let groups = old_group.chain(&self.observed.leftover_target_groups);
        for t in groups.filter(|t| t.arn != target_group) {
            self.engine.delete_target_group(&t.arn).await.map_err(fail(
                "delete old",
                Part::TargetGroup,
                "DeleteTargetGroup",
            ))?;
        }
        Ok(())
    }
}
