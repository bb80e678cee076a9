//! ECS: services and task definitions.

use async_trait::async_trait;

use super::*;

const SERVICE_NOT_FOUND: &str = "ServiceNotFoundException";
const SERVICE_NOT_ACTIVE: &str = "ServiceNotActiveException";

/// The cluster name of a cluster name or ARN.
fn cluster_name(cluster: &str) -> &str {
    match cluster.strip_prefix("arn:") {
        Some(_) => cluster.rsplit('/').next().unwrap_or(cluster),
        None => cluster,
    }
}

/// The service name of a service name or ARN.
fn service_name(name: &str) -> &str {
    match name.strip_prefix("arn:") {
        Some(_) => name.rsplit('/').next().unwrap_or(name),
        None => name,
    }
}

/// `(family, revision)` of `family:revision` or a task definition ARN.
fn parse_task_definition(arn: &str) -> Option<(&str, i32)> {
    let tail = match arn.strip_prefix("arn:") {
        Some(_) => arn.split_once(":task-definition/")?.1,
        None => arn,
    };
    let (family, rev) = tail.rsplit_once(':')?;
    Some((family, rev.parse().ok()?))
}

fn valid_ecs_name(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl FakeState {
    fn cluster(&self, cluster: &str) -> PortResult<String> {
        let name = cluster_name(cluster);
        if self.clusters.contains(name) {
            Ok(name.to_owned())
        } else {
            Err(not_found("ClusterNotFoundException", "Cluster not found."))
        }
    }

    fn task_definition(&self, arn: &str) -> Option<&FakeTaskDefinition> {
        let (family, rev) = parse_task_definition(arn)?;
        let index = usize::try_from(rev).ok()?.checked_sub(1)?;
        self.task_definitions.get(family)?.get(index)
    }

    fn task_definition_mut(&mut self, arn: &str) -> Option<&mut FakeTaskDefinition> {
        let (family, rev) = parse_task_definition(arn)?;
        let index = usize::try_from(rev).ok()?.checked_sub(1)?;
        self.task_definitions.get_mut(family)?.get_mut(index)
    }

    /// A task definition a service may be created with or moved to.
    fn launchable(&self, arn: &str) -> PortResult<()> {
        match self.task_definition(arn) {
            None => Err(invalid("ClientException", format!("TaskDefinition not found: {arn}"))),
            Some(t) if t.status != ACTIVE => {
                Err(invalid("ClientException", format!("TaskDefinition is inactive: {arn}")))
            }
            Some(_) => Ok(()),
        }
    }

    fn live_service_mut(&mut self, cluster: &str, name: &str) -> PortResult<&mut FakeService> {
        let cluster = self.cluster(cluster)?;
        match self.services.get_mut(&(cluster, service_name(name).to_owned())) {
            None => Err(not_found(SERVICE_NOT_FOUND, "Service not found.")),
            Some(s) if s.status != ACTIVE => Err(not_found(SERVICE_NOT_ACTIVE, "Service was not ACTIVE.")),
            Some(s) => Ok(s),
        }
    }
}

impl FakeService {
    fn observe(&self, cluster_as_given: &str) -> ObservedService {
        ObservedService {
            arn: self.arn.clone(),
            name: self.name.clone(),
            cluster: cluster_as_given.to_owned(),
            task_definition_arn: self.task_definition_arn.clone(),
            desired_count: self.desired_count,
            running_count: self.running_count(),
            target_group_arns: vec![self.target_group_arn.clone()],
            status: self.status.clone(),
            tags: self.tags.clone(),
            deployments: self.observed_deployments(),
            circuit_breaker: Some(self.circuit_breaker),
        }
    }
}

impl FakeTaskDefinition {
    fn observe(&self) -> ObservedTaskDefinition {
        let s = &self.spec;
        let some = |v: &String| (!v.is_empty()).then(|| v.clone());
        ObservedTaskDefinition {
            arn: self.arn.clone(),
            family: s.family.clone(),
            revision: self.revision,
            image: s.image.clone(),
            cpu: s.cpu,
            memory: s.memory,
            environment: s.environment.clone(),
            secrets: s.secrets.clone(),
            file_system_id: some(&s.file_system_id),
            access_point_id: some(&s.access_point_id),
            log_group: some(&s.log_group),
            tags: s.tags.clone(),
        }
    }
}

#[async_trait]
impl EcsApi for Port {
    async fn describe_services(&self, cluster: &str, names: &[String]) -> PortResult<Vec<ObservedService>> {
        self.0
            .call("ecs.DescribeServices", names.join(","), |s| {
                let c = s.cluster(cluster)?;
                // Time passes for the deployments of what is looked at.
                for n in names {
                    s.advance_deployments(&(c.clone(), service_name(n).to_owned()));
                }
                Ok(names
                    .iter()
                    .filter_map(|n| s.service(&c, service_name(n)))
                    .map(|svc| svc.observe(cluster))
                    .collect())
            })
            .await
    }

    async fn create_service(&self, spec: &ServiceSpec) -> PortResult<ObservedService> {
        self.0
            .call("ecs.CreateService", spec.name.clone(), |s| {
                let cluster = s.cluster(&spec.cluster)?;
                if !valid_ecs_name(&spec.name) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!(
                            "invalid service name {:?}: up to 255 letters, numbers, hyphens and underscores",
                            spec.name
                        ),
                    ));
                }
                // Like ECS: a retry with the client token of the call that
                // made the service answers that service.
                let key = format!("{cluster}/{}", spec.name);
                if s.made_with_token("ecs.CreateService", spec.client_token.as_ref()) == Some(&key)
                    && let Some(existing) = s.service(&cluster, &spec.name)
                {
                    return Ok(existing.observe(&spec.cluster));
                }
                if s.service(&cluster, &spec.name).is_some() {
                    return Err(exists(
                        "InvalidParameterException",
                        "Creation of service was not idempotent.",
                    ));
                }
                s.launchable(&spec.task_definition_arn)?;
                if spec.subnet_ids.is_empty() {
                    return Err(invalid("InvalidParameterException", "subnets can not be empty."));
                }
                if !s.target_groups.contains_key(&spec.target_group_arn) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!(
                            "The target group with targetGroupArn {} does not exist.",
                            spec.target_group_arn
                        ),
                    ));
                }
                if !s.target_group_in_use(&spec.target_group_arn) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!(
                            "The target group with targetGroupArn {} does not have an associated load balancer.",
                            spec.target_group_arn
                        ),
                    ));
                }
                if !container_matches(&spec.container_name, spec.container_port) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!(
                            "The container {} did not have a container port {} defined.",
                            spec.container_name, spec.container_port
                        ),
                    ));
                }
                check_tags(&spec.tags, "InvalidParameterException")?;
                let deployment = format!("ecs-svc/{}", s.hex(19));
                let mut svc = FakeService {
                    arn: format!("arn:aws:ecs:{REGION}:{ACCOUNT_ID}:service/{cluster}/{}", spec.name),
                    cluster: cluster.clone(),
                    name: spec.name.clone(),
                    task_definition_arn: spec.task_definition_arn.clone(),
                    desired_count: spec.desired_count,
                    deployments: Vec::new(),
                    circuit_breaker: CircuitBreaker::ROLLBACK,
                    redeployments: 0,
                    status: ACTIVE.into(),
                    subnet_ids: spec.subnet_ids.clone(),
                    security_group_ids: spec.security_group_ids.clone(),
                    target_group_arn: spec.target_group_arn.clone(),
                    container_name: spec.container_name.clone(),
                    container_port: spec.container_port,
                    tags: spec.tags.clone(),
                };
                svc.deploy(deployment, &spec.task_definition_arn);
                let observed = svc.observe(&spec.cluster);
                s.services.insert((cluster, spec.name.clone()), svc);
                s.remember_token("ecs.CreateService", spec.client_token.as_ref(), key);
                Ok(observed)
            })
            .await
    }

    async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
    ) -> PortResult<ObservedService> {
        self.0
            .call("ecs.UpdateService", name, |s| {
                let deployment = format!("ecs-svc/{}", s.hex(19));
                let current = s.live_service_mut(cluster, name)?.task_definition_arn.clone();
                // ECS refuses to move a service to an INACTIVE revision, but
                // one already running an INACTIVE revision may still scale.
                let moving = !task_definition_arn.is_empty() && task_definition_arn != current;
                if moving {
                    s.launchable(task_definition_arn)?;
                }
                let svc = s.live_service_mut(cluster, name)?;
                svc.circuit_breaker = CircuitBreaker::ROLLBACK;
                svc.scale(desired_count);
                // A new revision is a new deployment; a new count is not.
                if moving {
                    svc.deploy(deployment, task_definition_arn);
                }
                Ok(svc.observe(cluster))
            })
            .await
    }

    async fn set_target_group(&self, cluster: &str, name: &str, mapping: &ServiceTargetGroup) -> PortResult<()> {
        self.0
            .call("ecs.UpdateService", name, |s| {
                let arn = &mapping.target_group_arn;
                if !s.target_groups.contains_key(arn) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!("The target group with targetGroupArn {arn} does not exist."),
                    ));
                }
                // As ECS: the group must be behind a load balancer already.
                if !s.target_group_in_use(arn) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!(
                            "The target group with targetGroupArn {arn} does not have an associated load balancer."
                        ),
                    ));
                }
                if !container_matches(&mapping.container_name, mapping.container_port) {
                    return Err(invalid(
                        "InvalidParameterException",
                        format!(
                            "The container {} did not have a container port {} defined.",
                            mapping.container_name, mapping.container_port
                        ),
                    ));
                }
                let deployment = format!("ecs-svc/{}", s.hex(19));
                let svc = s.live_service_mut(cluster, name)?;
                svc.target_group_arn.clone_from(arn);
                svc.circuit_breaker = CircuitBreaker::ROLLBACK;
                let current = svc.task_definition_arn.clone();
                svc.deploy(deployment, &current);
                Ok(())
            })
            .await
    }

    async fn redeploy_service(&self, cluster: &str, name: &str) -> PortResult<()> {
        self.0
            .call("ecs.RedeployService", name, |s| {
                let deployment = format!("ecs-svc/{}", s.hex(19));
                let svc = s.live_service_mut(cluster, name)?;
                svc.redeployments += 1;
                let current = svc.task_definition_arn.clone();
                svc.deploy(deployment, &current);
                Ok(())
            })
            .await
    }

    async fn delete_service(&self, cluster: &str, name: &str) -> PortResult<()> {
        self.0
            .call("ecs.DeleteService", name, |s| {
                let svc = s.live_service_mut(cluster, name)?;
                svc.status = INACTIVE.into();
                svc.desired_count = 0;
                svc.deployments.clear();
                Ok(())
            })
            .await
    }

    async fn latest_task_definition(&self, family: &str) -> PortResult<Option<ObservedTaskDefinition>> {
        self.0
            .call("ecs.DescribeTaskDefinition", family, |s| {
                Ok(s.task_definitions
                    .get(family)
                    .and_then(|revs| revs.iter().rev().find(|t| t.status == ACTIVE))
                    .map(FakeTaskDefinition::observe))
            })
            .await
    }

    async fn register_task_definition(&self, spec: &TaskDefinitionSpec) -> PortResult<ObservedTaskDefinition> {
        self.0
            .call("ecs.RegisterTaskDefinition", spec.family.clone(), |s| {
                if !valid_ecs_name(&spec.family) {
                    return Err(invalid("ClientException", format!("invalid family {:?}: up to 255 letters, numbers, hyphens and underscores", spec.family)));
                }
                if spec.image.trim().is_empty() {
                    return Err(invalid("ClientException", "Container.image should not be null or empty."));
                }
                if !crate::validate::fargate_accepts(i64::from(spec.cpu), i64::from(spec.memory)) {
                    return Err(invalid("ClientException", "No Fargate configuration exists for given values."));
                }
                let no_role = spec.execution_role_arn.as_deref().is_none_or(str::is_empty);
                if no_role && !spec.log_group.is_empty() {
                    return Err(invalid("ClientException", "Fargate requires task definition to have execution role ARN to support log driver awslogs."));
                }
                if no_role && !spec.secrets.is_empty() {
                    return Err(invalid("ClientException", "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."));
                }
                if !spec.access_point_id.is_empty() && spec.file_system_id.is_empty() {
                    return Err(invalid("ClientException", "efsVolumeConfiguration.fileSystemId should not be null or empty."));
                }
                check_tags(&spec.tags, "ClientException")?;
                let revs = s.task_definitions.entry(spec.family.clone()).or_default();
                let revision = i32::try_from(revs.len() + 1).unwrap_or(i32::MAX);
                let t = FakeTaskDefinition {
                    arn: format!("arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/{}:{revision}", spec.family),
                    revision,
                    status: ACTIVE.into(),
                    spec: spec.clone(),
                };
                let observed = t.observe();
                revs.push(t);
                Ok(observed)
            })
            .await
    }

    async fn list_task_definitions(&self, family: &str) -> PortResult<Vec<String>> {
        self.0
            .call("ecs.ListTaskDefinitions", family, |s| {
                Ok(s.task_definitions
                    .get(family)
                    .map(|revs| {
                        revs.iter()
                            .filter(|t| t.status == ACTIVE)
                            .map(|t| t.arn.clone())
                            .collect()
                    })
                    .unwrap_or_default())
            })
            .await
    }

    async fn list_task_definitions_by_prefix(&self, prefix: &str) -> PortResult<Vec<String>> {
        self.0
            .call("ecs.ListTaskDefinitions", prefix, |s| {
                Ok(s.task_definitions
                    .iter()
                    .filter(|(family, _)| family.starts_with(prefix))
                    .flat_map(|(_, revs)| revs.iter().filter(|t| t.status == ACTIVE).map(|t| t.arn.clone()))
                    .collect())
            })
            .await
    }

    async fn describe_task_definition(&self, arn: &str) -> PortResult<Option<ObservedTaskDefinition>> {
        self.0
            .call("ecs.DescribeTaskDefinition", arn, |s| {
                Ok(s.task_definition(arn)
                    .filter(|t| t.status == ACTIVE)
                    .map(FakeTaskDefinition::observe))
            })
            .await
    }

    async fn deregister_task_definition(&self, arn: &str) -> PortResult<()> {
        self.0
            .call("ecs.DeregisterTaskDefinition", arn, |s| {
                if parse_task_definition(arn).is_none() {
                    return Err(invalid(
                        "ClientException",
                        format!("Invalid revision number. Number: {arn}"),
                    ));
                }
                // Deregistering an INACTIVE revision again succeeds, as in ECS.
                let t = s
                    .task_definition_mut(arn)
                    .ok_or_else(|| not_found("ClientException", "The specified task definition does not exist."))?;
                t.status = INACTIVE.into();
                Ok(())
            })
            .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.0
            .call("ecs.TagResource", arn, |s| {
                if arn.contains(":task-definition/") {
                    let t = s.task_definition_mut(arn).ok_or_else(|| {
                        not_found(
                            "ResourceNotFoundException",
                            "The specified resource could not be found.",
                        )
                    })?;
                    t.spec.tags = merged_tags(&t.spec.tags, tags, "InvalidParameterException")?;
                    return Ok(());
                }
                if arn.contains(":service/") {
                    let svc = s.services.values_mut().find(|svc| svc.arn == arn).ok_or_else(|| {
                        not_found(
                            "ResourceNotFoundException",
                            "The specified resource could not be found.",
                        )
                    })?;
                    if svc.status != ACTIVE {
                        return Err(not_found(SERVICE_NOT_ACTIVE, "Service was not ACTIVE."));
                    }
                    svc.tags = merged_tags(&svc.tags, tags, "InvalidParameterException")?;
                    return Ok(());
                }
                Err(invalid(
                    "InvalidParameterException",
                    format!("the resource {arn:?} cannot be tagged by this port"),
                ))
            })
            .await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.0
            .call("ecs.UntagResource", arn, |s| {
                let missing = || {
                    not_found(
                        "ResourceNotFoundException",
                        "The specified resource could not be found.",
                    )
                };
                let tags = if arn.contains(":task-definition/") {
                    &mut s.task_definition_mut(arn).ok_or_else(missing)?.spec.tags
                } else {
                    let svc = s.services.values_mut().find(|svc| svc.arn == arn).ok_or_else(missing)?;
                    if svc.status != ACTIVE {
                        return Err(not_found(SERVICE_NOT_ACTIVE, "Service was not ACTIVE."));
                    }
                    &mut svc.tags
                };
                untagged(tags, keys, "InvalidParameterException")
            })
            .await
    }
}
