//! What a run made, as AWS answered its creates: the observation after a
//! whole tenant's create, without reading every part back.
//!
//! Each create already answers with the part (the create of a target group
//! and of a log group read it back; the others echo it), so reading the
//! tenant again right after cost ten more AWS requests — a quarter of a
//! fleet create's, against AWS's rates — to learn what the run was just
//! told. The service alone is read again: it moves on by itself (its
//! first deployment starts tasks). Only a whole create is composed: every
//! part made by this run and no optional part wanted; anything else (an
//! update, a repair, a certificate, scaling, alarms) is read back, because
//! what it changed is not all in the answers. The database and its user are read from MySQL,
//! which costs no AWS request.

use crate::observed::ObservedTenant;
use crate::parts::*;
use crate::plan::{PartAction, TenantPlan};

/// The parts a run's creates answered with.
#[derive(Debug, Default)]
pub(super) struct Made {
    pub(super) secret: Option<ObservedSecret>,
    pub(super) access_point: Option<ObservedAccessPoint>,
    pub(super) log_group: Option<ObservedLogGroup>,
    pub(super) target_group: Option<ObservedTargetGroup>,
    pub(super) task_definition: Option<ObservedTaskDefinition>,
    pub(super) listener_rule: Option<ObservedListenerRule>,
    pub(super) service: Option<ObservedService>,
}

impl Made {
    /// Whether `plan` of `base` is a whole create: all ten parts created,
    /// nothing optional wanted, nothing left of an earlier run.
    pub(super) fn is_whole_create(base: &ObservedTenant, plan: &TenantPlan) -> bool {
        let all_created = Part::ALL.iter().all(|p| plan.action(*p) == &PartAction::Create);
        let optional_untouched = [Part::Scaling, Part::Certificate, Part::Alarms]
            .iter()
            .all(|p| plan.action(*p) == &PartAction::NoChange);
        let nothing_left = base.leftover_rules.is_empty() && base.leftover_target_groups.is_empty();
        all_created && optional_untouched && nothing_left && base.foreign.is_empty()
    }

    /// The tenant after a whole create ([`Self::is_whole_create`]): `None`
    /// unless every AWS part's answer is here. `database`: what MySQL
    /// shows of the database and its user.
    pub(super) fn whole_create(
        &self,
        base: &ObservedTenant,
        records: Vec<ObservedDnsRecord>,
        database: (Option<ObservedDatabase>, Option<ObservedDatabaseUser>),
    ) -> Option<ObservedTenant> {
        Some(ObservedTenant {
            tenant_id: base.tenant_id.clone(),
            facts: base.facts.clone(),
            secret: Some(self.secret.clone()?),
            database: Some(database.0?),
            database_user: Some(database.1?),
            access_point: Some(self.access_point.clone()?),
            log_group: Some(self.log_group.clone()?),
            target_group: Some(self.target_group.clone()?),
            task_definition: Some(self.task_definition.clone()?),
            listener_rule: Some(self.listener_rule.clone()?),
            dns_records: records,
            service: Some(self.service.clone()?),
            ..ObservedTenant::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::engine::{Engine, observe_and_plan};
    use crate::fake::FakeCloud;
    use crate::spec::{TenantInput, TenantSpec, TenantStatus};

    fn setup(status: TenantStatus) -> (Arc<FakeCloud>, Engine, TenantSpec) {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Engine::new(platform.clone(), cloud.ports());
        let spec = TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some("123456789012".into()),
            subdomain: Some("acme".into()),
            status: Some(status.as_str().to_owned()),
            tags: [("team".to_owned(), "web".to_owned())].into(),
            ..TenantInput::default()
        }
        .resolve(platform)
        .expect("valid spec");
        (cloud, engine, spec)
    }

    /// AWS reads after the last create.
    fn reads_after_last_create(cloud: &FakeCloud) -> Vec<&'static str> {
        let calls = cloud.calls();
        let last = calls.iter().rposition(|c| c.op.contains(".Create")).unwrap_or(0);
        calls[last + 1..]
            .iter()
            .filter(|c| [".Describe", ".List", ".Get"].iter().any(|r| c.op.contains(r)))
            // The audit record's caller identity, asked once per process.
            .filter(|c| c.op != "sts.GetCallerIdentity")
            .map(|c| c.op)
            .collect()
    }

    #[tokio::test]
    async fn a_whole_create_answers_what_a_read_back_would_read_without_reading_it() {
        for status in [TenantStatus::Active, TenantStatus::Suspended] {
            let (cloud, engine, spec) = setup(status);
            let (observed, plan) = observe_and_plan(&engine, &spec, &[]).await.expect("plan");
            cloud.clear_calls();
            let after = engine.apply(&spec, &observed, &plan).await.expect("apply");
            // The service alone: its first deployment moves on by itself.
            assert_eq!(reads_after_last_create(&cloud), ["ecs.DescribeServices"], "{status:?}");
            let read = engine
                .observe_tenant(&spec.tenant_id, std::slice::from_ref(&spec.subdomain))
                .await
                .expect("read back");
            assert_eq!(after, read, "{status:?}: composed against read");
            assert!(crate::plan(&spec, &after).is_empty(), "{}", crate::plan(&spec, &after));
        }
    }

    #[tokio::test]
    async fn anything_but_a_whole_create_is_read_back() {
        let (cloud, engine, spec) = setup(TenantStatus::Active);
        let (observed, plan) = observe_and_plan(&engine, &spec, &[]).await.expect("plan");
        engine.apply(&spec, &observed, &plan).await.expect("apply");
        // A part gone: the repair creates one part, and reads the rest back.
        let gone = cloud
            .state()
            .access_points
            .keys()
            .next()
            .cloned()
            .expect("an access point");
        cloud.state().access_points.remove(&gone);
        let (observed, plan) = observe_and_plan(&engine, &spec, &[]).await.expect("plan");
        cloud.clear_calls();
        let after = engine.apply(&spec, &observed, &plan).await.expect("repair");
        assert!(
            cloud.calls().iter().any(|c| c.op == "ecs.DescribeServices"),
            "read back: {:?}",
            cloud.calls()
        );
        assert!(after.access_point.is_some() && crate::plan(&spec, &after).is_empty());
    }
}
