//! Autoscaling of the service against the in-memory cloud: created with
//! the tenant, not fought over, parked on suspend, repaired, removed
//! before the service, and rolled back with a failed create.

use std::sync::Arc;

use super::*;
use crate::fake::{FakeCloud, failing_kth};
use crate::plan::{PartAction, ScalingField, ServiceField};
use crate::ports::TrackedMetric;
use crate::spec::{Autoscaling, TenantInput, TenantStatus};
use crate::{plan, plan_destroy};

const ID: &str = "123456789012";

fn setup() -> (Arc<FakeCloud>, Arc<Platform>, Engine) {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    (cloud, platform, engine)
}

fn scaled(platform: Arc<Platform>) -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(ID.into()),
        autoscaling: Some(crate::spec::AutoscalingInput {
            min: Some(1),
            max: Some(4),
            ..Default::default()
        }),
        ..TenantInput::default()
    }
    .resolve(platform)
    .expect("valid spec")
}

async fn converge(engine: &Engine, s: &TenantSpec) -> ObservedTenant {
    let observed = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
    let p = plan(s, &observed);
    engine.apply(s, &observed, &p).await.expect("apply")
}

fn resource_id(s: &TenantSpec) -> String {
    crate::naming::scaling_resource_id(&s.platform.cluster, &s.names().service)
}

/// (min, max, policy names) of the fake's target, if registered.
fn target(cloud: &FakeCloud, s: &TenantSpec) -> Option<(u32, u32, Vec<String>)> {
    let state = cloud.state();
    let t = state.scalable_targets.get(&resource_id(s))?;
    Some((t.min, t.max, t.policies.keys().cloned().collect()))
}

fn set_desired_count(cloud: &FakeCloud, s: &TenantSpec, n: u32) {
    let mut state = cloud.state();
    let key = (s.platform.cluster.clone(), s.names().service);
    state.services.get_mut(&key).expect("service").desired_count = n;
}

#[tokio::test]
async fn scaling_follows_the_block_and_is_not_fought_over() {
    let (cloud, platform, engine) = setup();
    let mut s = scaled(platform);
    let after = converge(&engine, &s).await;
    let cpu = crate::naming::scaling_policy_name(&s.names().service, "cpu");
    assert_eq!(target(&cloud, &s), Some((1, 4, vec![cpu.clone()])));
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));

    // Scaling moved the count inside its range: no drift.
    set_desired_count(&cloud, &s, 3);
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert!(plan(&s, &now).is_empty(), "{}", plan(&s, &now));
    // Outside it (set by hand): back into range.
    set_desired_count(&cloud, &s, 9);
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert!(plan(&s, &now).updates(ServiceField::DesiredCount));

    // Suspend parks scaling at zero; resume restores the range.
    s.status = TenantStatus::Suspended;
    converge(&engine, &s).await;
    assert_eq!(target(&cloud, &s).map(|t| (t.0, t.1)), Some((0, 0)));
    assert_eq!(
        cloud
            .state()
            .service(&s.platform.cluster, &s.names().service)
            .map(|x| x.desired_count),
        Some(0)
    );
    s.status = TenantStatus::Active;
    let after = converge(&engine, &s).await;
    assert_eq!(target(&cloud, &s).map(|t| (t.0, t.1)), Some((1, 4)));
    let count = cloud
        .state()
        .service(&s.platform.cluster, &s.names().service)
        .map(|x| x.desired_count);
    assert!(count.is_some_and(|c| (1..=4).contains(&c)), "{count:?}");
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));

    // A request-count policy on the tenant's target group.
    s.autoscaling = Some(Autoscaling {
        requests_per_target: Some(500),
        cpu_target: 70,
        ..s.autoscaling.expect("scaled")
    });
    let p = plan(&s, &after);
    assert_eq!(
        p.action(Part::Scaling),
        &PartAction::update(vec![ScalingField::Policies])
    );
    let after = converge(&engine, &s).await;
    let policies = &after.scaling.as_ref().expect("scaling").policies;
    assert_eq!(policies.len(), 2, "{policies:?}");
    let tg = after.target_group.as_ref().expect("target group");
    let label = policies.iter().find_map(|p| match &p.metric {
        TrackedMetric::RequestsPerTarget { resource_label } => Some(resource_label.clone()),
        TrackedMetric::Cpu => None,
    });
    assert!(label.is_some_and(|l| tg.arn.ends_with(l.split("/targetgroup/").nth(1).unwrap_or("?"))));
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));

    // Without the block: the target goes, then the service's marker.
    s.autoscaling = None;
    assert_eq!(plan(&s, &after).action(Part::Scaling), &PartAction::Delete);
    let after = converge(&engine, &s).await;
    assert_eq!(target(&cloud, &s), None);
    let svc = after.service.as_ref().expect("service");
    assert!(!svc.tags.contains_key(crate::naming::TAG_AUTOSCALING));
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
}

#[tokio::test]
async fn drift_of_the_scaling_is_repaired_and_destroy_removes_it_first() {
    let (cloud, platform, engine) = setup();
    let s = scaled(platform);
    converge(&engine, &s).await;
    cloud
        .state()
        .scalable_targets
        .get_mut(&resource_id(&s))
        .expect("target")
        .max = 20;
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert_eq!(
        plan(&s, &now).action(Part::Scaling),
        &PartAction::update(vec![ScalingField::Range])
    );
    converge(&engine, &s).await;
    assert_eq!(target(&cloud, &s).map(|t| t.1), Some(4));

    cloud.state().scalable_targets.clear();
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert_eq!(plan(&s, &now).action(Part::Scaling), &PartAction::Create);
    let after = converge(&engine, &s).await;
    assert!(target(&cloud, &s).is_some());

    let d = plan_destroy(&s, &after);
    assert_eq!(d.action(Part::Scaling), &PartAction::Delete);
    engine.destroy(&s, &after, &d).await.expect("destroy");
    assert!(cloud.state().scalable_targets.is_empty());
}

/// Fails each mutating call of an autoscaled create in turn: nothing is
/// left, the scalable target included, and a re-apply converges.
#[tokio::test]
async fn a_failed_autoscaled_create_leaves_no_scalable_target() {
    let mut k = 1;
    let mut failed_scaling_steps = 0;
    loop {
        let (cloud, platform, _) = setup();
        let injected = PortError::new(PortErrorKind::Other, "InjectedFailure", "boom");
        let (failing, counter) = failing_kth(cloud.ports(), k, injected);
        let engine = Engine::new(platform.clone(), failing);
        let s = scaled(platform.clone());
        let observed = engine.observe_tenant(ID, &[]).await.expect("observe");
        let p = plan(&s, &observed);
        let result = engine.apply(&s, &observed, &p).await;
        let Some(failed) = counter.failed() else {
            result.expect("no failure injected");
            break;
        };
        if result.is_ok() {
            // Best-effort calls (audit, lease removal) do not fail the apply.
            k += 1;
            continue;
        }
        failed_scaling_steps += usize::from(failed.op.starts_with("applicationautoscaling."));
        assert!(cloud.state().scalable_targets.is_empty(), "k={k} ({})", failed.op);
        let clean = Engine::new(platform.clone(), cloud.ports());
        let left = clean.observe_tenant(ID, &[]).await.expect("observe");
        assert!(!left.exists(), "k={k} ({}): {left:?}", failed.op);
        k += 1;
    }
    assert_eq!(failed_scaling_steps, 2, "register and put policy were each failed once");
}
