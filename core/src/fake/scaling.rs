//! Application Auto Scaling of ECS services, as AWS documents it where
//! moto is more lenient: a target needs an existing service and
//! `min <= max`; registering moves the service's desired count into the
//! range; a policy needs a registered target (`ObjectNotFoundException`,
//! moto accepts it); deregistering removes the target's policies (moto
//! keeps them); a missing target or policy is `ObjectNotFoundException`
//! (moto: `ValidationException`).

use async_trait::async_trait;

use super::*;

const VALIDATION: &str = "ValidationException";
const NOT_FOUND: &str = "ObjectNotFoundException";

/// A registered scalable target of a service's desired count.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeScalableTarget {
    /// Fewest tasks.
    pub min: u32,
    /// Most tasks.
    pub max: u32,
    /// Target-tracking policies by name.
    pub policies: BTreeMap<String, TrackingPolicy>,
}

/// `service/{cluster}/{service}` → (cluster, service).
fn service_of(resource_id: &str) -> PortResult<(&str, &str)> {
    match resource_id.split('/').collect::<Vec<_>>().as_slice() {
        ["service", cluster, service] if !cluster.is_empty() && !service.is_empty() => Ok((cluster, service)),
        _ => Err(invalid(
            VALIDATION,
            format!("unsupported resource id {resource_id:?}: service/{{cluster}}/{{service}}"),
        )),
    }
}

fn no_target(resource_id: &str) -> PortError {
    not_found(
        NOT_FOUND,
        format!("No scalable target registered for service namespace: ecs, resource ID: {resource_id}"),
    )
}

fn check_policy(policy: &TrackingPolicy) -> PortResult<()> {
    if policy.target == 0 {
        return Err(invalid(VALIDATION, "the target value must be a positive number"));
    }
    if policy.name.is_empty() || policy.name.len() > 256 {
        return Err(invalid(VALIDATION, "a policy name has 1 to 256 characters"));
    }
    match &policy.metric {
        TrackedMetric::RequestsPerTarget { resource_label } if !resource_label.contains("/targetgroup/") => {
            Err(invalid(
                VALIDATION,
                "ALBRequestCountPerTarget needs a resource label app/…/targetgroup/…",
            ))
        }
        _ => Ok(()),
    }
}

fn register(s: &mut FakeState, resource_id: &str, min: u32, max: u32) -> PortResult<()> {
    let (cluster, name) = service_of(resource_id)?;
    let key = (cluster.to_owned(), name.to_owned());
    let Some(service) = s.services.get_mut(&key).filter(|svc| svc.status == "ACTIVE") else {
        return Err(invalid(VALIDATION, format!("ECS service doesn't exist: {resource_id}")));
    };
    if min > max {
        return Err(invalid(
            VALIDATION,
            "Maximum capacity cannot be less than minimum capacity",
        ));
    }
    // AWS scales a desired count outside the new range into it.
    service.desired_count = service.desired_count.clamp(min, max);
    let target = s
        .scalable_targets
        .entry(resource_id.to_owned())
        .or_insert(FakeScalableTarget {
            min,
            max,
            policies: BTreeMap::new(),
        });
    target.min = min;
    target.max = max;
    Ok(())
}

#[async_trait]
impl ScalingApi for Port {
    async fn describe_scaling(&self, resource_id: &str) -> PortResult<Option<ObservedScaling>> {
        self.0
            .call("applicationautoscaling.DescribeScalableTargets", resource_id, |s| {
                Ok(s.scalable_targets.get(resource_id).map(|t| ObservedScaling {
                    resource_id: resource_id.to_owned(),
                    min: t.min,
                    max: t.max,
                    policies: t.policies.values().cloned().collect(),
                }))
            })
            .await
    }

    async fn register_target(&self, resource_id: &str, min: u32, max: u32) -> PortResult<()> {
        self.0
            .call("applicationautoscaling.RegisterScalableTarget", resource_id, |s| {
                register(s, resource_id, min, max)
            })
            .await
    }

    async fn put_policy(&self, resource_id: &str, policy: &TrackingPolicy) -> PortResult<()> {
        self.0
            .call("applicationautoscaling.PutScalingPolicy", resource_id, |s| {
                check_policy(policy)?;
                let target = s
                    .scalable_targets
                    .get_mut(resource_id)
                    .ok_or_else(|| no_target(resource_id))?;
                target.policies.insert(policy.name.clone(), policy.clone());
                Ok(())
            })
            .await
    }

    async fn delete_policy(&self, resource_id: &str, name: &str) -> PortResult<()> {
        self.0
            .call("applicationautoscaling.DeleteScalingPolicy", resource_id, |s| {
                let target = s
                    .scalable_targets
                    .get_mut(resource_id)
                    .ok_or_else(|| no_target(resource_id))?;
                match target.policies.remove(name) {
                    Some(_) => Ok(()),
                    None => Err(not_found(NOT_FOUND, format!("No scaling policy found: {name}"))),
                }
            })
            .await
    }

    async fn deregister_target(&self, resource_id: &str) -> PortResult<()> {
        self.0
            .call(
                "applicationautoscaling.DeregisterScalableTarget",
                resource_id,
                |s| match s.scalable_targets.remove(resource_id) {
                    Some(_) => Ok(()),
                    None => Err(no_target(resource_id)),
                },
            )
            .await
    }
}
