//! Application Auto Scaling of ECS services: scalable targets on
//! `ecs:service:DesiredCount` and their target-tracking policies.

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalingPolicy, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use super::error::{Endpoint, build_error, on};
use crate::ports::{ObservedScaling, PortError, PortErrorKind, PortResult, ScalingApi, TrackedMetric, TrackingPolicy};

/// [`ScalingApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsScaling {
    client: Client,
    ep: Endpoint,
}

/// A target value as a whole number, saturating at the bounds of `u32`.
fn rounded(value: f64) -> u32 {
    let r = value.round();
    if r <= 0.0 {
        0
    } else if r >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In range and whole: the conversion is exact.
        r as u32
    }
}

impl AwsScaling {
    /// A port over `client`.
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsScaling { client, ep }
    }
}

fn capacity(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// AWS answers a missing target or policy `ObjectNotFoundException`;
/// moto answers `ValidationException` "No scalable target found" /
/// "No scaling policy found". Both are NotFound to the engine.
fn not_found_as_such(e: PortError) -> PortError {
    // The message carries the operation's name in front.
    let missing = ["No scalable target", "No scaling policy"]
        .iter()
        .any(|m| e.message.contains(m));
    if e.kind == PortErrorKind::InvalidInput && missing {
        PortError {
            kind: PortErrorKind::NotFound,
            ..e
        }
    } else {
        e
    }
}

fn tracking(p: &ScalingPolicy) -> Option<TrackingPolicy> {
    let config = p.target_tracking_scaling_policy_configuration()?;
    let spec = config.predefined_metric_specification()?;
    let metric = match spec.predefined_metric_type() {
        MetricType::EcsServiceAverageCpuUtilization => TrackedMetric::Cpu,
        MetricType::AlbRequestCountPerTarget => TrackedMetric::RequestsPerTarget {
            resource_label: spec.resource_label().unwrap_or_default().to_owned(),
        },
        // A policy on a metric bbws does not set: not one of ours.
        _ => return None,
    };
    Some(TrackingPolicy {
        name: p.policy_name().to_owned(),
        metric,
        // Whole numbers are what bbws writes; a fractional one set by
        // hand reads rounded (and then differs from the desired one only
        // if its rounding does).
        target: rounded(config.target_value()),
    })
}

impl AwsScaling {
    async fn policies(&self, resource_id: &str) -> PortResult<Vec<TrackingPolicy>> {
        let mut policies = Vec::new();
        let mut token = None;
        loop {
            let r = self
                .client
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeScalingPolicies"))?;
            // moto matches the resource id as a substring: keep exact ones.
            let exact = r.scaling_policies().iter().filter(|p| p.resource_id() == resource_id);
            policies.extend(exact.filter_map(tracking));
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(policies)
    }
}

#[async_trait]
impl ScalingApi for AwsScaling {
    async fn describe_scaling(&self, resource_id: &str) -> PortResult<Option<ObservedScaling>> {
        let r = self
            .client
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeScalableTargets"))?;
        let Some(target) = r.scalable_targets().iter().find(|t| t.resource_id() == resource_id) else {
            return Ok(None);
        };
        Ok(Some(ObservedScaling {
            resource_id: resource_id.to_owned(),
            min: count(target.min_capacity()),
            max: count(target.max_capacity()),
            policies: self.policies(resource_id).await?,
        }))
    }

    async fn register_target(&self, resource_id: &str, min: u32, max: u32) -> PortResult<()> {
        self.client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(capacity(min))
            .max_capacity(capacity(max))
            .send()
            .await
            .map_err(on(&self.ep, "RegisterScalableTarget"))?;
        Ok(())
    }

    async fn put_policy(&self, resource_id: &str, policy: &TrackingPolicy) -> PortResult<()> {
        const OP: &str = "PutScalingPolicy";
        let (metric, label) = match &policy.metric {
            TrackedMetric::Cpu => (MetricType::EcsServiceAverageCpuUtilization, None),
            TrackedMetric::RequestsPerTarget { resource_label } => {
                (MetricType::AlbRequestCountPerTarget, Some(resource_label.clone()))
            }
        };
        let spec = PredefinedMetricSpecification::builder()
            .predefined_metric_type(metric)
            .set_resource_label(label)
            .build()
            .map_err(|e| build_error(OP, e))?;
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(f64::from(policy.target))
            .predefined_metric_specification(spec)
            .build()
            .map_err(|e| build_error(OP, e))?;
        self.client
            .put_scaling_policy()
            .policy_name(&policy.name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .map_err(on(&self.ep, OP))?;
        Ok(())
    }

    async fn delete_policy(&self, resource_id: &str, name: &str) -> PortResult<()> {
        self.client
            .delete_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteScalingPolicy"))
            .map_err(not_found_as_such)?;
        Ok(())
    }

    async fn deregister_target(&self, resource_id: &str) -> PortResult<()> {
        // AWS deletes a target's policies with it; moto keeps them, and a
        // later registration would bring them back. Deleting them first
        // holds on both.
        for p in self.policies(resource_id).await? {
            match self.delete_policy(resource_id, &p.name).await {
                Err(e) if e.kind != PortErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        self.client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(on(&self.ep, "DeregisterScalableTarget"))
            .map_err(not_found_as_such)?;
        Ok(())
    }
}
