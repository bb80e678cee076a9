//! Failure injection over any [`Ports`], in the style of mountpoint-s3's
//! failure-injecting clients: the k-th *mutating* call fails.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::*;

/// Every mutating operation, named as in [`FakeCall::op`]. Reads (describe,
/// list, get, observe, connect, caller identity) are not here and never count.
pub const MUTATING_OPS: &[&str] = &[
    "ecs.CreateService",
    "ecs.UpdateService",
    "ecs.RedeployService",
    "ecs.DeleteService",
    "ecs.RegisterTaskDefinition",
    "ecs.DeregisterTaskDefinition",
    "ecs.TagResource",
    "ecs.UntagResource",
    "elbv2.CreateTargetGroup",
    "elbv2.ModifyTargetGroup",
    "elbv2.DeleteTargetGroup",
    "elbv2.CreateRule",
    "elbv2.ModifyRule",
    "elbv2.DeleteRule",
    "elbv2.AddTags",
    "elbv2.RemoveTags",
    "route53.ChangeResourceRecordSets",
    "efs.CreateAccessPoint",
    "efs.DeleteAccessPoint",
    "efs.TagResource",
    "efs.UntagResource",
    "secrets.CreateSecret",
    "secrets.PutSecretValue",
    "secrets.DeleteSecret",
    "secrets.RestoreSecret",
    "secrets.TagResource",
    "secrets.UntagResource",
    "secrets.UpdateSecret",
    "logs.CreateLogGroup",
    "logs.PutRetentionPolicy",
    "logs.DeleteLogGroup",
    "logs.TagResource",
    "logs.UntagResource",
    "logs.PutLogEvents",
    "events.PutEvents",
    "applicationautoscaling.RegisterScalableTarget",
    "applicationautoscaling.PutScalingPolicy",
    "applicationautoscaling.DeleteScalingPolicy",
    "applicationautoscaling.DeregisterScalableTarget",
    "cloudwatch.PutMetricAlarm",
    "cloudwatch.DeleteAlarms",
    "acm.RequestCertificate",
    "acm.DeleteCertificate",
    "elbv2.AddListenerCertificates",
    "elbv2.RemoveListenerCertificates",
    "mysql.CreateDatabase",
    "mysql.DropDatabase",
    "mysql.CreateUser",
    "mysql.SetPassword",
    "mysql.DiscardOldPassword",
    "mysql.SetMaxConnections",
    "mysql.SetLocked",
    "mysql.DropUser",
    "mysql.Load",
];

/// Whether `op` (as in [`FakeCall::op`]) changes anything.
pub fn is_mutating(op: &str) -> bool {
    MUTATING_OPS.contains(&op)
}

/// The call [`failing_kth`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCall {
    /// Its position among the mutating calls (equals k).
    pub index: usize,
    /// The operation, e.g. `ecs.CreateService`.
    pub op: &'static str,
    /// The name or ARN it was about.
    pub target: String,
}

/// Counts the mutating calls that went through [`failing_kth`]'s ports and
/// remembers which one was failed.
#[derive(Debug)]
pub struct FailCounter {
    k: usize,
    error: PortError,
    seen: AtomicUsize,
    failed: Mutex<Option<FailedCall>>,
    ops: Mutex<Vec<(&'static str, String)>>,
    /// The k-th call is made and only its answer is lost.
    lose_answer: bool,
}

/// A call's result, or `lost` in place of a success (the change happened,
/// the caller never heard).
fn lose<T>(lost: Option<PortError>, result: PortResult<T>) -> PortResult<T> {
    match (lost, result) {
        (Some(e), Ok(_)) => Err(e),
        (_, r) => r,
    }
}

impl FailCounter {
    /// The position of the call that fails (1-based; 0 never fails).
    pub fn k(&self) -> usize {
        self.k
    }

    /// How many mutating calls were seen so far, the failed one included.
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// The call that was failed, once it happened.
    pub fn failed(&self) -> Option<FailedCall> {
        lock(&self.failed).clone()
    }

    /// Whether the k-th call happened (and was failed).
    pub fn fired(&self) -> bool {
        lock(&self.failed).is_some()
    }

    /// Every mutating call seen, in order: `(op, target)`.
    pub fn mutating_calls(&self) -> Vec<(&'static str, String)> {
        lock(&self.ops).clone()
    }

    /// `Err`: fail before the call. `Ok(Some(e))`: make the call, then
    /// lose its answer (`e` instead of a success).
    fn gate(&self, op: &'static str, target: &str) -> PortResult<Option<PortError>> {
        let n = {
            let mut ops = lock(&self.ops);
            ops.push((op, target.to_owned()));
            self.seen.fetch_add(1, Ordering::SeqCst) + 1
        };
        if n == self.k {
            *lock(&self.failed) = Some(FailedCall {
                index: n,
                op,
                target: target.to_owned(),
            });
            if self.lose_answer {
                return Ok(Some(self.error.clone()));
            }
            return Err(self.error.clone());
        }
        Ok(None)
    }
}

/// Wraps `ports` so that the `k`-th mutating call (1-based, counted across
/// all nine ports, MySQL admin connections included) fails with `error`
/// without reaching the inner port. Reads never count and never fail. With
/// `k = 0` nothing fails (the counter still counts).
///
/// ```
/// # async fn demo() {
/// use bbws_core::fake::{FakeCloud, failing_kth};
/// use bbws_core::ports::{PortError, PortErrorKind};
///
/// let (cloud, _platform) = FakeCloud::with_platform("wpdev.example.io");
/// let boom = PortError::new(PortErrorKind::Transient, "ThrottlingException", "injected");
/// let (ports, counter) = failing_kth(cloud.ports(), 3, boom);
/// // … run an apply with `ports`, then:
/// if let Some(f) = counter.failed() {
///     println!("call {} ({} on {}) failed", f.index, f.op, f.target);
/// }
/// # }
/// ```
pub fn failing_kth(ports: Ports, k: usize, error: PortError) -> (Ports, Arc<FailCounter>) {
    wrap(ports, k, error, false)
}

/// Like [`failing_kth`], but the k-th mutating call *is made* and only its
/// answer is lost: the caller sees `error` although the change happened (a
/// timeout after AWS wrote). For "a lost answer anywhere" tests.
pub fn losing_kth(ports: Ports, k: usize, error: PortError) -> (Ports, Arc<FailCounter>) {
    wrap(ports, k, error, true)
}

fn wrap(ports: Ports, k: usize, error: PortError, lose_answer: bool) -> (Ports, Arc<FailCounter>) {
    let counter = Arc::new(FailCounter {
        k,
        error,
        seen: AtomicUsize::new(0),
        failed: Mutex::new(None),
        ops: Mutex::new(Vec::new()),
        lose_answer,
    });
    let ports = Ports {
        ecs: Arc::new(FailingPorts {
            inner: ports.ecs,
            counter: counter.clone(),
        }),
        elbv2: Arc::new(FailingPorts {
            inner: ports.elbv2,
            counter: counter.clone(),
        }),
        route53: Arc::new(FailingPorts {
            inner: ports.route53,
            counter: counter.clone(),
        }),
        efs: Arc::new(FailingPorts {
            inner: ports.efs,
            counter: counter.clone(),
        }),
        secrets: Arc::new(FailingPorts {
            inner: ports.secrets,
            counter: counter.clone(),
        }),
        logs: Arc::new(FailingPorts {
            inner: ports.logs,
            counter: counter.clone(),
        }),
        // Reads only, like the site probe.
        metrics: ports.metrics,
        scaling: Arc::new(FailingPorts {
            inner: ports.scaling,
            counter: counter.clone(),
        }),
        certificates: Arc::new(FailingPorts {
            inner: ports.certificates,
            counter: counter.clone(),
        }),
        alarms: Arc::new(FailingPorts {
            inner: ports.alarms,
            counter: counter.clone(),
        }),
        topics: Arc::new(FailingPorts {
            inner: ports.topics,
            counter: counter.clone(),
        }),
        rds: Arc::new(FailingPorts {
            inner: ports.rds,
            counter: counter.clone(),
        }),
        sts: Arc::new(FailingPorts {
            inner: ports.sts,
            counter: counter.clone(),
        }),
        events: Arc::new(FailingPorts {
            inner: ports.events,
            counter: counter.clone(),
        }),
        mysql: Arc::new(FailingPorts {
            inner: ports.mysql,
            counter: counter.clone(),
        }),
        // Backups write no part of the tenant: nothing to roll back.
        objects: ports.objects,
        // Reads only: nothing to fail for rollback tests.
        site: ports.site,
    };
    (ports, counter)
}

/// One port wrapped by [`failing_kth`]: delegates to the inner port, except
/// that the counter's k-th mutating call fails without reaching it. It
/// implements each port trait for `FailingPorts<dyn Trait>`; the MySQL admin
/// a wrapped connector returns is wrapped too.
pub struct FailingPorts<T: ?Sized> {
    inner: Arc<T>,
    counter: Arc<FailCounter>,
}

impl<T: ?Sized> FailingPorts<T> {
    fn gate(&self, op: &'static str, target: &str) -> PortResult<Option<PortError>> {
        self.counter.gate(op, target)
    }
}

#[async_trait]
impl EcsApi for FailingPorts<dyn EcsApi> {
    async fn describe_services(&self, cluster: &str, names: &[String]) -> PortResult<Vec<ObservedService>> {
        self.inner.describe_services(cluster, names).await
    }
    async fn create_service(&self, spec: &ServiceSpec) -> PortResult<ObservedService> {
        let lost = self.gate("ecs.CreateService", &spec.name)?;
        lose(lost, self.inner.create_service(spec).await)
    }
    async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
    ) -> PortResult<ObservedService> {
        let lost = self.gate("ecs.UpdateService", name)?;
        lose(
            lost,
            self.inner
                .update_service(cluster, name, task_definition_arn, desired_count)
                .await,
        )
    }
    async fn set_target_group(&self, cluster: &str, name: &str, mapping: &ServiceTargetGroup) -> PortResult<()> {
        let lost = self.gate("ecs.UpdateService", name)?;
        lose(lost, self.inner.set_target_group(cluster, name, mapping).await)
    }
    async fn redeploy_service(&self, cluster: &str, name: &str) -> PortResult<()> {
        let lost = self.gate("ecs.RedeployService", name)?;
        lose(lost, self.inner.redeploy_service(cluster, name).await)
    }
    async fn delete_service(&self, cluster: &str, name: &str) -> PortResult<()> {
        let lost = self.gate("ecs.DeleteService", name)?;
        lose(lost, self.inner.delete_service(cluster, name).await)
    }
    async fn latest_task_definition(&self, family: &str) -> PortResult<Option<ObservedTaskDefinition>> {
        self.inner.latest_task_definition(family).await
    }
    async fn register_task_definition(&self, spec: &TaskDefinitionSpec) -> PortResult<ObservedTaskDefinition> {
        let lost = self.gate("ecs.RegisterTaskDefinition", &spec.family)?;
        lose(lost, self.inner.register_task_definition(spec).await)
    }
    async fn list_task_definitions(&self, family: &str) -> PortResult<Vec<String>> {
        self.inner.list_task_definitions(family).await
    }
    async fn list_task_definitions_by_prefix(&self, prefix: &str) -> PortResult<Vec<String>> {
        self.inner.list_task_definitions_by_prefix(prefix).await
    }
    async fn describe_task_definition(&self, arn: &str) -> PortResult<Option<ObservedTaskDefinition>> {
        self.inner.describe_task_definition(arn).await
    }
    async fn deregister_task_definition(&self, arn: &str) -> PortResult<()> {
        let lost = self.gate("ecs.DeregisterTaskDefinition", arn)?;
        lose(lost, self.inner.deregister_task_definition(arn).await)
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        let lost = self.gate("ecs.TagResource", arn)?;
        lose(lost, self.inner.tag_resource(arn, tags).await)
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        let lost = self.gate("ecs.UntagResource", arn)?;
        lose(lost, self.inner.untag_resource(arn, keys).await)
    }
}

#[async_trait]
impl Elbv2Api for FailingPorts<dyn Elbv2Api> {
    async fn describe_target_groups(&self, names: &[String]) -> PortResult<Vec<ObservedTargetGroup>> {
        self.inner.describe_target_groups(names).await
    }
    async fn target_group_tags(&self, arn: &str) -> PortResult<Option<Tags>> {
        self.inner.target_group_tags(arn).await
    }
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> PortResult<ObservedTargetGroup> {
        let lost = self.gate("elbv2.CreateTargetGroup", &spec.name)?;
        lose(lost, self.inner.create_target_group(spec).await)
    }
    async fn set_health_check_path(&self, arn: &str, path: &str) -> PortResult<()> {
        let lost = self.gate("elbv2.ModifyTargetGroup", arn)?;
        lose(lost, self.inner.set_health_check_path(arn, path).await)
    }
    async fn describe_target_health(&self, arn: &str) -> PortResult<Vec<(String, String)>> {
        self.inner.describe_target_health(arn).await
    }
    async fn delete_target_group(&self, arn: &str) -> PortResult<()> {
        let lost = self.gate("elbv2.DeleteTargetGroup", arn)?;
        lose(lost, self.inner.delete_target_group(arn).await)
    }
    async fn describe_rules(&self, listener_arn: &str) -> PortResult<Vec<ObservedListenerRule>> {
        self.inner.describe_rules(listener_arn).await
    }
    async fn describe_rules_tagging(
        &self,
        listener_arn: &str,
        read_tags: &(dyn for<'r> Fn(&'r ObservedListenerRule) -> bool + Sync),
    ) -> PortResult<Vec<ObservedListenerRule>> {
        self.inner.describe_rules_tagging(listener_arn, read_tags).await
    }
    async fn create_rule(&self, spec: &ListenerRuleSpec, priority: u32) -> PortResult<ObservedListenerRule> {
        let lost = self.gate("elbv2.CreateRule", &spec.host)?;
        lose(lost, self.inner.create_rule(spec, priority).await)
    }
    async fn modify_rule(&self, arn: &str, hosts: &[String], action: &RuleAction) -> PortResult<()> {
        let lost = self.gate("elbv2.ModifyRule", arn)?;
        lose(lost, self.inner.modify_rule(arn, hosts, action).await)
    }
    async fn delete_rule(&self, arn: &str) -> PortResult<()> {
        let lost = self.gate("elbv2.DeleteRule", arn)?;
        lose(lost, self.inner.delete_rule(arn).await)
    }
    async fn load_balancer_of_listener(&self, listener_arn: &str) -> PortResult<ListenerFacts> {
        self.inner.load_balancer_of_listener(listener_arn).await
    }

    async fn count_target_groups(&self, load_balancer_arn: &str) -> PortResult<u32> {
        self.inner.count_target_groups(load_balancer_arn).await
    }
    async fn add_tags(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        let lost = self.gate("elbv2.AddTags", arn)?;
        lose(lost, self.inner.add_tags(arn, tags).await)
    }
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        let lost = self.gate("elbv2.RemoveTags", arn)?;
        lose(lost, self.inner.remove_tags(arn, keys).await)
    }
    async fn listener_certificates(&self, listener_arn: &str) -> PortResult<Vec<String>> {
        self.inner.listener_certificates(listener_arn).await
    }
    async fn add_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()> {
        let lost = self.gate("elbv2.AddListenerCertificates", certificate_arn)?;
        lose(
            lost,
            self.inner.add_listener_certificate(listener_arn, certificate_arn).await,
        )
    }
    async fn remove_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()> {
        let lost = self.gate("elbv2.RemoveListenerCertificates", certificate_arn)?;
        lose(
            lost,
            self.inner
                .remove_listener_certificate(listener_arn, certificate_arn)
                .await,
        )
    }
}

#[async_trait]
impl Route53Api for FailingPorts<dyn Route53Api> {
    async fn list_records(&self, zone_id: &str) -> PortResult<Vec<ObservedDnsRecord>> {
        self.inner.list_records(zone_id).await
    }
    async fn records_named(&self, zone_id: &str, names: &[String]) -> PortResult<Vec<ObservedDnsRecord>> {
        self.inner.records_named(zone_id, names).await
    }
    async fn create_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        let lost = self.gate("route53.ChangeResourceRecordSets", &format!("CREATE {}", spec.name))?;
        lose(lost, self.inner.create_record(spec).await)
    }
    async fn create_records(&self, zone_id: &str, specs: &[DnsRecordSpec]) -> PortResult<()> {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let lost = self.gate(
            "route53.ChangeResourceRecordSets",
            &format!("CREATE {}", names.join(" CREATE ")),
        )?;
        lose(lost, self.inner.create_records(zone_id, specs).await)
    }
    async fn upsert_record(&self, spec: &DnsRecordSpec) -> PortResult<()> {
        let lost = self.gate("route53.ChangeResourceRecordSets", &format!("UPSERT {}", spec.name))?;
        lose(lost, self.inner.upsert_record(spec).await)
    }
    async fn delete_record(&self, record: &ObservedDnsRecord) -> PortResult<()> {
        let lost = self.gate("route53.ChangeResourceRecordSets", &format!("DELETE {}", record.name))?;
        lose(lost, self.inner.delete_record(record).await)
    }
    async fn public_zone_named(&self, name: &str) -> PortResult<Option<String>> {
        self.inner.public_zone_named(name).await
    }
}

#[async_trait]
impl EfsApi for FailingPorts<dyn EfsApi> {
    async fn describe_access_points(&self, file_system_id: &str) -> PortResult<Vec<ObservedAccessPoint>> {
        self.inner.describe_access_points(file_system_id).await
    }
    async fn create_access_point(&self, spec: &AccessPointSpec) -> PortResult<ObservedAccessPoint> {
        let lost = self.gate("efs.CreateAccessPoint", &spec.name)?;
        lose(lost, self.inner.create_access_point(spec).await)
    }
    async fn delete_access_point(&self, id: &str) -> PortResult<()> {
        let lost = self.gate("efs.DeleteAccessPoint", id)?;
        lose(lost, self.inner.delete_access_point(id).await)
    }
    async fn tag_resource(&self, id: &str, tags: &Tags) -> PortResult<()> {
        let lost = self.gate("efs.TagResource", id)?;
        lose(lost, self.inner.tag_resource(id, tags).await)
    }
    async fn untag_resource(&self, id: &str, keys: &[String]) -> PortResult<()> {
        let lost = self.gate("efs.UntagResource", id)?;
        lose(lost, self.inner.untag_resource(id, keys).await)
    }
}

#[async_trait]
impl SecretsApi for FailingPorts<dyn SecretsApi> {
    async fn list_secrets(&self, prefix: &str) -> PortResult<Vec<ObservedSecret>> {
        self.inner.list_secrets(prefix).await
    }
    async fn describe_secret(&self, name: &str) -> PortResult<Option<ObservedSecret>> {
        self.inner.describe_secret(name).await
    }
    async fn create_secret(&self, spec: &SecretSpec, value: &str) -> PortResult<ObservedSecret> {
        let lost = self.gate("secrets.CreateSecret", &spec.name)?;
        lose(lost, self.inner.create_secret(spec, value).await)
    }
    async fn get_secret_value(&self, arn: &str) -> PortResult<String> {
        self.inner.get_secret_value(arn).await
    }
    async fn put_secret_value(&self, arn: &str, value: &str) -> PortResult<()> {
        let lost = self.gate("secrets.PutSecretValue", arn)?;
        lose(lost, self.inner.put_secret_value(arn, value).await)
    }
    async fn delete_secret(&self, arn: &str, recovery_window_days: u32) -> PortResult<()> {
        let lost = self.gate("secrets.DeleteSecret", arn)?;
        lose(lost, self.inner.delete_secret(arn, recovery_window_days).await)
    }
    async fn restore_secret(&self, arn: &str) -> PortResult<()> {
        let lost = self.gate("secrets.RestoreSecret", arn)?;
        lose(lost, self.inner.restore_secret(arn).await)
    }
    async fn set_description(&self, arn: &str, description: &str) -> PortResult<()> {
        let lost = self.gate("secrets.UpdateSecret", arn)?;
        lose(lost, self.inner.set_description(arn, description).await)
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        let lost = self.gate("secrets.TagResource", arn)?;
        lose(lost, self.inner.tag_resource(arn, tags).await)
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        let lost = self.gate("secrets.UntagResource", arn)?;
        lose(lost, self.inner.untag_resource(arn, keys).await)
    }
}

#[async_trait]
impl AlarmsApi for FailingPorts<dyn AlarmsApi> {
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<ObservedAlarm>> {
        self.inner.describe_alarms(names).await
    }
    async fn put_alarm(&self, alarm: &AlarmDefinition, tags: &Tags) -> PortResult<()> {
        let lost = self.gate("cloudwatch.PutMetricAlarm", &alarm.name)?;
        lose(lost, self.inner.put_alarm(alarm, tags).await)
    }
    async fn delete_alarms(&self, names: &[String]) -> PortResult<()> {
        let lost = self.gate("cloudwatch.DeleteAlarms", &names.join(","))?;
        lose(lost, self.inner.delete_alarms(names).await)
    }
}

#[async_trait]
impl CertificatesApi for FailingPorts<dyn CertificatesApi> {
    async fn describe_certificate(&self, arn: &str) -> PortResult<Option<ObservedCertificate>> {
        self.inner.describe_certificate(arn).await
    }
    async fn request_certificate(&self, request: &CertificateRequest) -> PortResult<String> {
        let lost = self.gate("acm.RequestCertificate", &request.domains.join(","))?;
        lose(lost, self.inner.request_certificate(request).await)
    }
    async fn delete_certificate(&self, arn: &str) -> PortResult<()> {
        let lost = self.gate("acm.DeleteCertificate", arn)?;
        lose(lost, self.inner.delete_certificate(arn).await)
    }
}

#[async_trait]
impl ScalingApi for FailingPorts<dyn ScalingApi> {
    async fn describe_scaling(&self, resource_id: &str) -> PortResult<Option<ObservedScaling>> {
        self.inner.describe_scaling(resource_id).await
    }
    async fn register_target(&self, resource_id: &str, min: u32, max: u32) -> PortResult<()> {
        let lost = self.gate("applicationautoscaling.RegisterScalableTarget", resource_id)?;
        lose(lost, self.inner.register_target(resource_id, min, max).await)
    }
    async fn put_policy(&self, resource_id: &str, policy: &TrackingPolicy) -> PortResult<()> {
        let lost = self.gate("applicationautoscaling.PutScalingPolicy", resource_id)?;
        lose(lost, self.inner.put_policy(resource_id, policy).await)
    }
    async fn delete_policy(&self, resource_id: &str, name: &str) -> PortResult<()> {
        let lost = self.gate("applicationautoscaling.DeleteScalingPolicy", resource_id)?;
        lose(lost, self.inner.delete_policy(resource_id, name).await)
    }
    async fn deregister_target(&self, resource_id: &str) -> PortResult<()> {
        let lost = self.gate("applicationautoscaling.DeregisterScalableTarget", resource_id)?;
        lose(lost, self.inner.deregister_target(resource_id).await)
    }
}

#[async_trait]
impl LogsApi for FailingPorts<dyn LogsApi> {
    async fn describe_log_groups(&self, prefix: &str) -> PortResult<Vec<ObservedLogGroup>> {
        self.inner.describe_log_groups(prefix).await
    }
    async fn create_log_group(&self, spec: &LogGroupSpec) -> PortResult<ObservedLogGroup> {
        let lost = self.gate("logs.CreateLogGroup", &spec.name)?;
        lose(lost, self.inner.create_log_group(spec).await)
    }
    async fn put_retention_policy(&self, name: &str, days: u32) -> PortResult<()> {
        let lost = self.gate("logs.PutRetentionPolicy", name)?;
        lose(lost, self.inner.put_retention_policy(name, days).await)
    }
    async fn delete_log_group(&self, name: &str) -> PortResult<()> {
        let lost = self.gate("logs.DeleteLogGroup", name)?;
        lose(lost, self.inner.delete_log_group(name).await)
    }
    async fn tag_log_group(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        let lost = self.gate("logs.TagResource", arn)?;
        lose(lost, self.inner.tag_log_group(arn, tags).await)
    }
    async fn untag_log_group(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        let lost = self.gate("logs.UntagResource", arn)?;
        lose(lost, self.inner.untag_log_group(arn, keys).await)
    }
    async fn append_event(&self, group: &str, stream: &str, message: &str) -> PortResult<()> {
        let lost = self.gate("logs.PutLogEvents", &format!("{group}:{stream}"))?;
        lose(lost, self.inner.append_event(group, stream, message).await)
    }

    async fn append_event_to_new_stream(&self, group: &str, stream: &str, message: &str) -> PortResult<()> {
        let lost = self.gate("logs.PutLogEvents", &format!("{group}:{stream}"))?;
        lose(
            lost,
            self.inner.append_event_to_new_stream(group, stream, message).await,
        )
    }
    async fn filter_events(&self, group: &str, start_ms: i64, page: Option<String>) -> PortResult<LogEventPage> {
        self.inner.filter_events(group, start_ms, page).await
    }
}

#[async_trait]
impl RdsApi for FailingPorts<dyn RdsApi> {
    async fn instance_endpoint(&self, identifier: &str) -> PortResult<(String, u16)> {
        self.inner.instance_endpoint(identifier).await
    }
    async fn auth_token(&self, host: &str, port: u16, user: &str) -> PortResult<String> {
        self.inner.auth_token(host, port, user).await
    }
}

#[async_trait]
impl TopicsApi for FailingPorts<dyn TopicsApi> {
    async fn topic_exists(&self, arn: &str) -> PortResult<bool> {
        self.inner.topic_exists(arn).await
    }
}

#[async_trait]
impl StsApi for FailingPorts<dyn StsApi> {
    async fn caller_arn(&self) -> PortResult<String> {
        self.inner.caller_arn().await
    }
}

#[async_trait]
impl EventsApi for FailingPorts<dyn EventsApi> {
    async fn put_event(&self, event: &BusEvent) -> PortResult<()> {
        let lost = self.gate("events.PutEvents", &event.bus_name)?;
        lose(lost, self.inner.put_event(event).await)
    }
}

#[async_trait]
impl MysqlConnector for FailingPorts<dyn MysqlConnector> {
    async fn connect(&self, login: &MysqlLogin) -> PortResult<Arc<dyn MysqlAdmin>> {
        let admin = self.inner.connect(login).await?;
        Ok(Arc::new(FailingPorts {
            inner: admin,
            counter: self.counter.clone(),
        }))
    }
}

#[async_trait]
impl MysqlAdmin for FailingPorts<dyn MysqlAdmin> {
    async fn observe(
        &self,
        databases: &[String],
        users: &[String],
    ) -> PortResult<(Vec<ObservedDatabase>, Vec<ObservedDatabaseUser>)> {
        self.inner.observe(databases, users).await
    }
    async fn create_database(&self, name: &str) -> PortResult<()> {
        let lost = self.gate("mysql.CreateDatabase", name)?;
        lose(lost, self.inner.create_database(name).await)
    }
    async fn database_is_empty(&self, name: &str) -> PortResult<bool> {
        self.inner.database_is_empty(name).await
    }
    async fn drop_database(&self, name: &str) -> PortResult<()> {
        let lost = self.gate("mysql.DropDatabase", name)?;
        lose(lost, self.inner.drop_database(name).await)
    }
    async fn create_user(&self, user: &MysqlUser<'_>, password: &str) -> PortResult<()> {
        let lost = self.gate("mysql.CreateUser", user.name)?;
        lose(lost, self.inner.create_user(user, password).await)
    }
    async fn set_password(&self, user: &MysqlUser<'_>, password: &str, retain_old: bool) -> PortResult<PasswordChange> {
        let lost = self.gate("mysql.SetPassword", user.name)?;
        lose(lost, self.inner.set_password(user, password, retain_old).await)
    }
    async fn discard_old_password(&self, name: &str) -> PortResult<()> {
        let lost = self.gate("mysql.DiscardOldPassword", name)?;
        lose(lost, self.inner.discard_old_password(name).await)
    }
    async fn set_max_connections(&self, name: &str, max_connections: u32) -> PortResult<()> {
        let lost = self.gate("mysql.SetMaxConnections", name)?;
        lose(lost, self.inner.set_max_connections(name, max_connections).await)
    }
    async fn set_locked(&self, name: &str, locked: bool) -> PortResult<()> {
        let lost = self.gate("mysql.SetLocked", name)?;
        lose(lost, self.inner.set_locked(name, locked).await)
    }
    async fn drop_user(&self, name: &str) -> PortResult<()> {
        let lost = self.gate("mysql.DropUser", name)?;
        lose(lost, self.inner.drop_user(name).await)
    }
    async fn dump(&self, database: &str, out: tokio::sync::mpsc::Sender<DumpItem>) -> PortResult<()> {
        self.inner.dump(database, out).await
    }
    async fn load(&self, database: &str, statements: &[String]) -> PortResult<()> {
        let lost = self.gate("mysql.Load", database)?;
        lose(lost, self.inner.load(database, statements).await)
    }
}
