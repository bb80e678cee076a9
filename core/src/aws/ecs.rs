//! ECS: services and task definitions.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, Deployment, DeploymentCircuitBreaker,
    DeploymentConfiguration, EfsAuthorizationConfig, EfsAuthorizationConfigIam, EfsTransitEncryption,
    EfsVolumeConfiguration, KeyValuePair, LaunchType, LoadBalancer, LogConfiguration, LogDriver, MountPoint,
    NetworkConfiguration, NetworkMode, PortMapping, PropagateTags, Secret, Service, ServiceField, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus, TransportProtocol, Volume,
};

use super::error::{Endpoint, build_error, on, sdk_error};
use super::retry::{Created, create_unduplicated, unnamed_create_attempts};
use super::tag_pairs;
use crate::naming::{CONTAINER_NAME, family_and_revision};
use crate::parts::*;
use crate::ports::{EcsApi, PortError, PortErrorKind, PortResult};
use aws_config::retry::RetryConfig;
use futures::TryFutureExt;

/// Mount point of the tenant's EFS access point in the container.
const WEB_ROOT: &str = "/var/www/html";
/// Name of the EFS volume in the task definition.
const VOLUME: &str = "wordpress";

/// [`EcsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsEcs {
    client: Client,
    ep: Endpoint,
    /// RegisterTaskDefinition's turn: one at a time in a process (its
    /// bucket is 1 a second; see `create_unduplicated`).
    registering: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl AwsEcs {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsEcs {
            client,
            ep,
            registering: Default::default(),
        }
    }

    /// Describes one task definition (family, `family:rev` or ARN) with
    /// whether it is ACTIVE; `None` when ECS does not know it.
    async fn describe_revision(&self, key: &str) -> PortResult<Option<(ObservedTaskDefinition, bool)>> {
        let op = "DescribeTaskDefinition";
        let r = self
            .client
            .describe_task_definition()
            .task_definition(key)
            .include(TaskDefinitionField::Tags)
            .send()
            .await;
        match r {
            Ok(out) => Ok(out.task_definition().map(|td| {
                let active = td.status().is_none_or(|s| *s == TaskDefinitionStatus::Active);
                (observe_task_definition(td, out.tags()), active)
            })),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_string();
                let msg = e.message().unwrap_or_default().to_ascii_lowercase();
                if code == "ClientException"
                    && (msg.contains("unable to describe")
                        || msg.contains("not found")
                        || msg.contains("does not exist"))
                {
                    return Ok(None);
                }
                let err = sdk_error(&self.ep, op, e);
                if err.kind == PortErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }
}

impl AwsEcs {
    /// Every ACTIVE revision's ARN, of one family or of all, every page.
    async fn active_revisions(&self, family: Option<&str>) -> PortResult<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .list_task_definitions()
                .set_family_prefix(family.map(str::to_owned))
                .status(TaskDefinitionStatus::Active)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(on(&self.ep, "ListTaskDefinitions"))?;
            out.extend(r.task_definition_arns().iter().cloned());
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// One DescribeServices call (up to ten names).
async fn describe_service_batch(
    client: &Client,
    ep: &Endpoint,
    cluster: &str,
    batch: Vec<String>,
) -> PortResult<Vec<ObservedService>> {
    let r = client
        .describe_services()
        .cluster(cluster)
        .set_services(Some(batch))
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(on(ep, "DescribeServices"))?;
    Ok(r.services()
        .iter()
        .filter(|s| s.status().is_some_and(|st| !st.eq_ignore_ascii_case("INACTIVE")))
        .map(|s| observe_service(s, cluster))
        .collect())
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

fn ecs_tags(tags: &Tags) -> Vec<Tag> {
    tag_pairs(tags)
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn observe_service(s: &Service, cluster: &str) -> ObservedService {
    ObservedService {
        arn: s.service_arn().unwrap_or_default().to_string(),
        name: s.service_name().unwrap_or_default().to_string(),
        cluster: cluster.to_string(),
        task_definition_arn: s.task_definition().unwrap_or_default().to_string(),
        desired_count: to_u32(s.desired_count()),
        running_count: to_u32(s.running_count()),
        target_group_arns: s
            .load_balancers()
            .iter()
            .filter_map(|l| l.target_group_arn().map(str::to_string))
            .collect(),
        status: s.status().unwrap_or_default().to_string(),
        tags: tags_of(s.tags()),
        deployments: s.deployments().iter().map(observe_deployment).collect(),
        circuit_breaker: s
            .deployment_configuration()
            .and_then(|c| c.deployment_circuit_breaker())
            .map(|b| CircuitBreaker {
                enable: b.enable(),
                rollback: b.rollback(),
            }),
    }
}

fn observe_deployment(d: &Deployment) -> ObservedDeployment {
    ObservedDeployment {
        id: d.id().unwrap_or_default().to_string(),
        // A status ECS may add later counts as drained, never as PRIMARY.
        status: d
            .status()
            .and_then(DeploymentStatus::parse)
            .unwrap_or(DeploymentStatus::Inactive),
        rollout_state: d.rollout_state().and_then(|r| RolloutState::parse(r.as_str())),
        rollout_state_reason: d.rollout_state_reason().unwrap_or_default().to_string(),
        task_definition_arn: d.task_definition().unwrap_or_default().to_string(),
        desired_count: to_u32(d.desired_count()),
        pending_count: to_u32(d.pending_count()),
        running_count: to_u32(d.running_count()),
    }
}

/// bbws's deployment configuration: the circuit breaker with rollback
/// ([`CircuitBreaker::ROLLBACK`]), sent with every create and update so
/// that a service made before bbws set it gets it too.
fn deployment_configuration() -> DeploymentConfiguration {
    let b = CircuitBreaker::ROLLBACK;
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(b.enable)
                .rollback(b.rollback)
                .build(),
        )
        .build()
}

fn observe_task_definition(td: &TaskDefinition, tags: &[Tag]) -> ObservedTaskDefinition {
    let container = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(CONTAINER_NAME))
        .or(td.container_definitions().first());
    let environment: BTreeMap<String, String> = container
        .map(|c| {
            c.environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?.to_string(), kv.value().unwrap_or_default().to_string())))
                .collect()
        })
        .unwrap_or_default();
    let secrets: BTreeMap<String, String> = container
        .map(|c| {
            c.secrets()
                .iter()
                .map(|s| (s.name().to_string(), s.value_from().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let efs = td
        .volumes()
        .iter()
        .find(|v| v.name() == Some(VOLUME))
        .or_else(|| td.volumes().iter().find(|v| v.efs_volume_configuration().is_some()))
        .and_then(|v| v.efs_volume_configuration());
    let log_group = container
        .and_then(|c| c.log_configuration())
        .and_then(|l| l.options())
        .and_then(|o| o.get("awslogs-group"))
        .cloned();
    let parse = |s: Option<&str>| s.and_then(|s| s.trim().parse::<u32>().ok()).unwrap_or(0);
    ObservedTaskDefinition {
        arn: td.task_definition_arn().unwrap_or_default().to_string(),
        family: td.family().unwrap_or_default().to_string(),
        revision: td.revision(),
        image: container.and_then(|c| c.image()).unwrap_or_default().to_string(),
        cpu: parse(td.cpu()),
        memory: parse(td.memory()),
        environment,
        secrets,
        file_system_id: efs.map(|e| e.file_system_id().to_string()),
        access_point_id: efs
            .and_then(|e| e.authorization_config())
            .and_then(|a| a.access_point_id())
            .map(str::to_string),
        log_group,
        tags: tags_of(tags),
    }
}

#[async_trait]
impl EcsApi for AwsEcs {
    async fn describe_services(&self, cluster: &str, names: &[String]) -> PortResult<Vec<ObservedService>> {
        use futures::{StreamExt, TryStreamExt};
        // Ten names a call (the API's limit), a few calls at a time.
        let batches: Vec<Vec<String>> = names.chunks(10).map(<[String]>::to_vec).collect();
        let pages: Vec<Vec<ObservedService>> = futures::stream::iter(batches)
            .map(|batch| {
                let (client, ep, cluster) = (self.client.clone(), self.ep.clone(), cluster.to_owned());
                async move { describe_service_batch(&client, &ep, &cluster, batch).await }
            })
            .buffered(4)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn create_service(&self, spec: &ServiceSpec) -> PortResult<ObservedService> {
        let op = "CreateService";
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(spec.subnet_ids.clone()))
            .set_security_groups(Some(spec.security_group_ids.clone()))
            .assign_public_ip(AssignPublicIp::Disabled)
            .build()
            .map_err(|e| build_error(op, e))?;
        let lb = LoadBalancer::builder()
            .target_group_arn(&spec.target_group_arn)
            .container_name(&spec.container_name)
            .container_port(i32::from(spec.container_port))
            .build();
        let r = self
            .client
            .create_service()
            .cluster(&spec.cluster)
            .service_name(&spec.name)
            .task_definition(&spec.task_definition_arn)
            .desired_count(i32::try_from(spec.desired_count).unwrap_or(i32::MAX))
            .launch_type(LaunchType::Fargate)
            .network_configuration(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
            .load_balancers(lb)
            .deployment_configuration(deployment_configuration())
            .set_tags(Some(ecs_tags(&spec.tags)))
            .propagate_tags(PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .set_client_token(spec.client_token.clone())
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let s = r
            .service()
            .ok_or_else(|| PortError::new(PortErrorKind::Other, op, "CreateService returned no service"))?;
        let mut o = observe_service(s, &spec.cluster);
        if o.tags.is_empty() {
            // CreateService does not always echo the tags it just applied.
            o.tags = spec.tags.clone();
        }
        Ok(o)
    }

    async fn set_target_group(&self, cluster: &str, name: &str, mapping: &ServiceTargetGroup) -> PortResult<()> {
        let lb = LoadBalancer::builder()
            .target_group_arn(&mapping.target_group_arn)
            .container_name(&mapping.container_name)
            .container_port(i32::from(mapping.container_port))
            .build();
        self.client
            .update_service()
            .cluster(cluster)
            .service(name)
            .load_balancers(lb)
            .deployment_configuration(deployment_configuration())
            .send()
            .await
            .map_err(on(&self.ep, "UpdateService"))?;
        Ok(())
    }

    async fn redeploy_service(&self, cluster: &str, name: &str) -> PortResult<()> {
        let op = "UpdateService";
        self.client
            .update_service()
            .cluster(cluster)
            .service(name)
            .force_new_deployment(true)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        Ok(())
    }

    async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
    ) -> PortResult<ObservedService> {
        let op = "UpdateService";
        let mut req = self
            .client
            .update_service()
            .cluster(cluster)
            .service(name)
            .deployment_configuration(deployment_configuration())
            .desired_count(i32::try_from(desired_count).unwrap_or(i32::MAX));
        if !task_definition_arn.is_empty() {
            req = req.task_definition(task_definition_arn);
        }
        let r = req.send().await.map_err(on(&self.ep, op))?;
        let s = r
            .service()
            .ok_or_else(|| PortError::new(PortErrorKind::Other, op, "UpdateService returned no service"))?;
        // ECS refuses to update an INACTIVE (deleted) service with
        // ServiceNotActiveException; emulators may not.
        if s.status().is_some_and(|st| st.eq_ignore_ascii_case("INACTIVE")) {
            return Err(PortError::new(
                PortErrorKind::NotFound,
                "ServiceNotActiveException",
                format!("{op}: service {name} is not ACTIVE (INACTIVE)"),
            ));
        }
        Ok(observe_service(s, cluster))
    }

    async fn delete_service(&self, cluster: &str, name: &str) -> PortResult<()> {
        // Deleting a deleted (INACTIVE) service must report NotFound, as ECS
        // does; emulators accept it silently, so look first.
        let r = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeServices"))?;
        match r.services().first().and_then(|s| s.status()) {
            Some("ACTIVE") => {}
            status => {
                let (code, what) = match status {
                    None => ("ServiceNotFoundException", "not found".to_string()),
                    Some(s) => ("ServiceNotActiveException", format!("not ACTIVE ({s})")),
                };
                return Err(PortError::new(
                    PortErrorKind::NotFound,
                    code,
                    format!("DeleteService: service {name} {what}"),
                ));
            }
        }
        self.client
            .delete_service()
            .cluster(cluster)
            .service(name)
            .force(true)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteService"))?;
        Ok(())
    }

    async fn latest_task_definition(&self, family: &str) -> PortResult<Option<ObservedTaskDefinition>> {
        // By family, ECS describes the latest ACTIVE revision.
        match self.describe_revision(family).await? {
            None => Ok(None),
            Some((td, true)) if td.family == family => Ok(Some(td)),
            Some(_) => {
                // An emulator may describe an INACTIVE latest revision: look
                // for the highest ACTIVE one explicitly.
                let arns = self.list_task_definitions(family).await?;
                let best = arns
                    .iter()
                    .filter_map(|a| family_and_revision(a).map(|(_, r)| (r, a)))
                    .max_by_key(|(r, _)| *r);
                match best {
                    None => Ok(None),
                    Some((_, arn)) => self.describe_task_definition(arn).await,
                }
            }
        }
    }

    async fn register_task_definition(&self, spec: &TaskDefinitionSpec) -> PortResult<ObservedTaskDefinition> {
        let op = "RegisterTaskDefinition";
        let container = container_definition(spec)?;
        let efs = efs_volume(spec)?;
        let volume = Volume::builder().name(VOLUME).efs_volume_configuration(efs).build();
        let request = self
            .client
            .register_task_definition()
            .family(&spec.family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .container_definitions(container)
            .volumes(volume)
            .set_execution_role_arn(spec.execution_role_arn.clone())
            .set_task_role_arn(spec.task_role_arn.clone())
            .set_tags((!spec.tags.is_empty()).then(|| ecs_tags(&spec.tags)));
        // A revision has no unique name: the SDK's own retry of a request
        // whose answer was lost would register a second one. So the port
        // retries, and first looks for the revision this run registered.
        let attempts = unnamed_create_attempts(self.client.config().retry_config());
        let sent = create_unduplicated(
            attempts,
            Some(&self.registering),
            || {
                request
                    .clone()
                    .customize()
                    .config_override(aws_sdk_ecs::config::Builder::default().retry_config(RetryConfig::disabled()))
                    .send()
                    .map_err(on(&self.ep, op))
            },
            || self.made_by_this_run(spec),
        )
        .await?;
        let r = match sent {
            Created::Answered(r) => r,
            Created::Found(made) => return Ok(made),
        };
        let td = r.task_definition().ok_or_else(|| {
            PortError::new(
                PortErrorKind::Other,
                op,
                "RegisterTaskDefinition returned no task definition",
            )
        })?;
        let mut o = observe_task_definition(td, r.tags());
        if o.tags.is_empty() {
            o.tags = spec.tags.clone();
        }
        Ok(o)
    }

    async fn list_task_definitions(&self, family: &str) -> PortResult<Vec<String>> {
        // ECS's familyPrefix is the whole family name.
        let mut arns = self.active_revisions(Some(family)).await?;
        arns.retain(|a| family_and_revision(a).is_some_and(|(f, _)| f == family));
        Ok(arns)
    }

    async fn list_task_definitions_by_prefix(&self, prefix: &str) -> PortResult<Vec<String>> {
        // familyPrefix matches a whole family only: page through the
        // region's ACTIVE revisions (100 a page) and keep ours.
        let mut arns = self.active_revisions(None).await?;
        arns.retain(|a| family_and_revision(a).is_some_and(|(f, _)| f.starts_with(prefix)));
        Ok(arns)
    }

    async fn describe_task_definition(&self, arn: &str) -> PortResult<Option<ObservedTaskDefinition>> {
        Ok(self
            .describe_revision(arn)
            .await?
            .filter(|(_, active)| *active)
            .map(|(td, _)| td))
    }

    async fn deregister_task_definition(&self, arn: &str) -> PortResult<()> {
        let op = "DeregisterTaskDefinition";
        match self
            .client
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.code().unwrap_or_default().to_string();
                let msg = e.message().unwrap_or_default().to_ascii_lowercase();
                let mut err = sdk_error(&self.ep, op, e);
                if code == "ClientException"
                    && (msg.contains("inactive")
                        || msg.contains("not found")
                        || msg.contains("unable to describe")
                        || msg.contains("does not exist"))
                {
                    // Already deregistered (or never there).
                    err.kind = PortErrorKind::NotFound;
                }
                Err(err)
            }
        }
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(ecs_tags(tags)))
            .send()
            .await
            .map_err(on(&self.ep, "TagResource"))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(on(&self.ep, "UntagResource"))?;
        Ok(())
    }
}

impl AwsEcs {
    /// The family's latest revision when the run that registers `spec` made
    /// it (its run tag), i.e. an attempt whose answer was lost.
    async fn made_by_this_run(&self, spec: &TaskDefinitionSpec) -> Option<ObservedTaskDefinition> {
        let run = spec.tags.get(crate::naming::TAG_RUN)?;
        let latest = self.latest_task_definition(&spec.family).await.ok()??;
        (latest.tags.get(crate::naming::TAG_RUN) == Some(run)).then_some(latest)
    }
}

/// The WordPress container of a tenant's task definition.
fn container_definition(spec: &TaskDefinitionSpec) -> PortResult<ContainerDefinition> {
    let op = "RegisterTaskDefinition";
    let environment: Vec<KeyValuePair> = spec
        .environment
        .iter()
        .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
        .collect();
    let secrets = spec
        .secrets
        .iter()
        .map(|(k, v)| Secret::builder().name(k).value_from(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error(op, e))?;
    let logs = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", &spec.log_group)
        .options("awslogs-region", &spec.region)
        .options("awslogs-stream-prefix", CONTAINER_NAME)
        .build()
        .map_err(|e| build_error(op, e))?;
    Ok(ContainerDefinition::builder()
        .name(CONTAINER_NAME)
        .image(&spec.image)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(i32::from(crate::naming::CONTAINER_PORT))
                .protocol(TransportProtocol::Tcp)
                .build(),
        )
        .set_environment(Some(environment))
        .set_secrets(Some(secrets))
        .mount_points(
            MountPoint::builder()
                .source_volume(VOLUME)
                .container_path(WEB_ROOT)
                .read_only(false)
                .build(),
        )
        .log_configuration(logs)
        .build())
}

/// The EFS volume through the tenant's access point, encrypted in transit.
fn efs_volume(spec: &TaskDefinitionSpec) -> PortResult<EfsVolumeConfiguration> {
    let op = "RegisterTaskDefinition";
    EfsVolumeConfiguration::builder()
        .file_system_id(&spec.file_system_id)
        .transit_encryption(EfsTransitEncryption::Enabled)
        .authorization_config(
            EfsAuthorizationConfig::builder()
                .access_point_id(&spec.access_point_id)
                .iam(EfsAuthorizationConfigIam::Enabled)
                .build(),
        )
        .build()
        .map_err(|e| build_error(op, e))
}
