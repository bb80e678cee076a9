//! One narrow trait per API the engine talks to. The real implementations
//! live in [`crate::aws`] and [`crate::mysql`]; `fake` (feature `testing`) holds
//! in-memory ones for tests. Only plain data from [`crate::parts`] crosses
//! these traits: SDK types never leave `aws/`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::parts::*;

/// How a port call failed, classified so the engine can decide what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortErrorKind {
    /// The thing does not exist.
    NotFound,
    /// It already exists (name taken).
    AlreadyExists,
    /// The listener rule priority is taken.
    PriorityInUse,
    /// Throttling or a transient server/network fault: retry later.
    Transient,
    /// Credentials missing, expired or not allowed.
    AccessDenied,
    /// The request was invalid.
    InvalidInput,
    /// Anything else.
    Other,
}

/// An error from a port: the service's error code and message, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PortError {
    /// Classification.
    pub kind: PortErrorKind,
    /// Service error code (`ServiceNotFoundException`, `ER_DBACCESS_DENIED_ERROR`…).
    pub code: String,
    /// Message from the service, never containing secrets.
    pub message: String,
    /// How many times the call was sent, retries included; 0 when not
    /// known (no answer to count on, or not an AWS call).
    pub attempts: u32,
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl PortError {
    /// An error of `kind`.
    pub fn new(kind: PortErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        PortError {
            kind,
            code: code.into(),
            message: message.into(),
            attempts: 0,
        }
    }

    /// The same error, known to have been sent `attempts` times.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, PortErrorKind::Transient | PortErrorKind::PriorityInUse)
    }

    /// Whether the service throttled the call (its request rate, not a
    /// fault): the codes AWS services throttle with, as the SDK's retry
    /// classifier knows them.
    pub fn is_throttling(&self) -> bool {
        const THROTTLING: &[&str] = &[
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "BandwidthLimitExceeded",
            "RequestThrottled",
            "SlowDown",
            "PriorRequestNotComplete",
            "ProvisionedThroughputExceededException",
            "Http429",
        ];
        self.kind == PortErrorKind::Transient
            && (self.code.contains("Throttl") || THROTTLING.contains(&self.code.as_str()))
    }
}

/// Result of a port call.
pub type PortResult<T> = Result<T, PortError>;

/// Amazon ECS: services and task definitions.
#[async_trait]
pub trait EcsApi: Send + Sync {
    /// Services by name in a cluster (at most 10 names per AWS call; the
    /// implementation batches). Missing services are simply absent.
    async fn describe_services(&self, cluster: &str, names: &[String]) -> PortResult<Vec<ObservedService>>;
    /// Creates a Fargate service with the deployment circuit breaker on,
    /// rollback included ([`CircuitBreaker::ROLLBACK`](crate::parts::CircuitBreaker::ROLLBACK)).
    async fn create_service(&self, spec: &ServiceSpec) -> PortResult<ObservedService>;
    /// Points the service at a task definition (an empty ARN keeps the
    /// current one) and sets the desired count; sets the circuit breaker
    /// with rollback too, so an older service gets it on its next update.
    async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        task_definition_arn: &str,
        desired_count: u32,
    ) -> PortResult<ObservedService>;
    /// Puts the service behind another target group (`UpdateService` with
    /// `loadBalancers`: a new deployment; the old tasks leave the old
    /// group as the new ones become healthy in the new one).
    async fn set_target_group(&self, cluster: &str, name: &str, mapping: &ServiceTargetGroup) -> PortResult<()>;
    /// Starts a new deployment of the current task definition
    /// (`forceNewDeployment`), so tasks re-read their secrets.
    async fn redeploy_service(&self, cluster: &str, name: &str) -> PortResult<()>;
    /// Deletes the service (forced: it need not be scaled down first).
    async fn delete_service(&self, cluster: &str, name: &str) -> PortResult<()>;
    /// The latest ACTIVE revision of a family, with tags.
    async fn latest_task_definition(&self, family: &str) -> PortResult<Option<ObservedTaskDefinition>>;
    /// Registers a new revision.
    async fn register_task_definition(&self, spec: &TaskDefinitionSpec) -> PortResult<ObservedTaskDefinition>;
    /// ARNs of every ACTIVE revision of a family.
    async fn list_task_definitions(&self, family: &str) -> PortResult<Vec<String>>;
    /// ARNs of every ACTIVE revision of every family whose name starts with
    /// `prefix` (one listing for a whole environment's tenants).
    async fn list_task_definitions_by_prefix(&self, prefix: &str) -> PortResult<Vec<String>>;
    /// One revision by ARN, with tags; `None` when ECS does not know it or
    /// it is no longer ACTIVE.
    async fn describe_task_definition(&self, arn: &str) -> PortResult<Option<ObservedTaskDefinition>>;
    /// Deregisters one revision.
    async fn deregister_task_definition(&self, arn: &str) -> PortResult<()>;
    /// Adds or overwrites tags.
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()>;
    /// Removes the tags with these keys (`UntagResource`).
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()>;
}

/// Elastic Load Balancing v2: target groups and listener rules.
#[async_trait]
pub trait Elbv2Api: Send + Sync {
    /// Target groups by name, with tags. Missing names are absent.
    async fn describe_target_groups(&self, names: &[String]) -> PortResult<Vec<ObservedTargetGroup>>;
    /// One target group's tags by ARN (`DescribeTags`); `None` when it does
    /// not exist.
    async fn target_group_tags(&self, arn: &str) -> PortResult<Option<Tags>>;
    /// Creates an `ip` target group with the health check.
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> PortResult<ObservedTargetGroup>;
    /// Sets the health check path.
    async fn set_health_check_path(&self, arn: &str, path: &str) -> PortResult<()>;
    /// Deletes a target group.
    async fn delete_target_group(&self, arn: &str) -> PortResult<()>;
    /// Health of the targets registered in a target group, as
    /// `(target id, state)` pairs (`healthy`, `unhealthy`, `initial`, …).
    async fn describe_target_health(&self, arn: &str) -> PortResult<Vec<(String, String)>>;
    /// Every rule of a listener (all pages), with tags; the default rule is
    /// left out.
    async fn describe_rules(&self, listener_arn: &str) -> PortResult<Vec<ObservedListenerRule>>;
    /// Every rule of a listener as [`Elbv2Api::describe_rules`] has them,
    /// but only the rules routing `host` (case-insensitively) are sure to
    /// carry their tags; the others' may be empty. What picking a priority
    /// needs, without one `DescribeTags` per twenty rules of the listener.
    async fn describe_rules_routing(&self, listener_arn: &str, host: &str) -> PortResult<Vec<ObservedListenerRule>> {
        let _ = host;
        self.describe_rules(listener_arn).await
    }
    /// Every rule of a listener as [`Elbv2Api::describe_rules`] has them,
    /// but only the rules `tenant` may hold are sure to carry their tags:
    /// one tenant's observation, with one `DescribeTags` for its few
    /// candidates instead of one per twenty rules of the listener.
    async fn describe_tenant_rules(
        &self,
        listener_arn: &str,
        tenant: &TenantRules,
    ) -> PortResult<Vec<ObservedListenerRule>> {
        let _ = tenant;
        self.describe_rules(listener_arn).await
    }
    /// Every rule of a listener as [`Elbv2Api::describe_rules`] has them,
    /// but only the rules `read_tags` selects are sure to carry their tags:
    /// counting a listener's tenants, a caller that already knows a rule's
    /// ownership tags (set when the rule is made, never changed) reads the
    /// tags of the rules it has not seen only.
    async fn describe_rules_tagging(
        &self,
        listener_arn: &str,
        read_tags: &(dyn for<'r> Fn(&'r ObservedListenerRule) -> bool + Sync),
    ) -> PortResult<Vec<ObservedListenerRule>> {
        let _ = read_tags;
        self.describe_rules(listener_arn).await
    }
    /// [`Elbv2Api::describe_tenant_rules`] of every listener of a pool.
    async fn describe_pool_tenant_rules(
        &self,
        listener_arns: &[String],
        tenant: &TenantRules,
    ) -> PortResult<Vec<ObservedListenerRule>> {
        let each =
            futures::future::try_join_all(listener_arns.iter().map(|l| self.describe_tenant_rules(l, tenant))).await?;
        Ok(each.into_iter().flatten().collect())
    }
    /// The rules of every listener of a pool, one listing each (each rule
    /// names its listener).
    async fn describe_pool_rules(&self, listener_arns: &[String]) -> PortResult<Vec<ObservedListenerRule>> {
        let each = futures::future::try_join_all(listener_arns.iter().map(|l| self.describe_rules(l))).await?;
        Ok(each.into_iter().flatten().collect())
    }
    /// Creates a host-header rule; fails with `PriorityInUse` when taken.
    async fn create_rule(&self, spec: &ListenerRuleSpec, priority: u32) -> PortResult<ObservedListenerRule>;
    /// Sets the host header values and action of a rule.
    async fn modify_rule(&self, arn: &str, hosts: &[String], action: &RuleAction) -> PortResult<()>;
    /// Deletes a rule.
    async fn delete_rule(&self, arn: &str) -> PortResult<()>;
    /// The listener's load balancer: its ARN, DNS name and canonical
    /// hosted zone.
    async fn load_balancer_of_listener(&self, listener_arn: &str) -> PortResult<ListenerFacts>;
    /// [`Elbv2Api::load_balancer_of_listener`] of every listener of a pool,
    /// in its order. AWS's port asks for them together (one
    /// `DescribeListeners`, one `DescribeLoadBalancers` per twenty), which
    /// fails as a whole when one is missing.
    async fn load_balancers_of_listeners(&self, listener_arns: &[String]) -> PortResult<Vec<ListenerFacts>> {
        futures::future::try_join_all(listener_arns.iter().map(|l| self.load_balancer_of_listener(l))).await
    }
    /// How many target groups the load balancer is attached to (AWS allows
    /// 100 per ALB): `DescribeTargetGroups` by `LoadBalancerArn`, all pages.
    async fn count_target_groups(&self, load_balancer_arn: &str) -> PortResult<u32>;
    /// Adds or overwrites tags.
    async fn add_tags(&self, arn: &str, tags: &Tags) -> PortResult<()>;
    /// Removes the tags with these keys (`RemoveTags`).
    async fn remove_tags(&self, arn: &str, keys: &[String]) -> PortResult<()>;
    /// The certificates a listener serves by SNI, its default one left
    /// out (`DescribeListenerCertificates`, all pages).
    async fn listener_certificates(&self, listener_arn: &str) -> PortResult<Vec<String>>;
    /// Adds a certificate to a listener's SNI list
    /// (`AddListenerCertificates`); adding one already there succeeds. AWS
    /// refuses a certificate that is not issued and a 26th one
    /// (`TooManyCertificates`).
    async fn add_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()>;
    /// Removes a certificate from a listener (`RemoveListenerCertificates`);
    /// removing one that is not there succeeds.
    async fn remove_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()>;
}

// -------------------------------------------------------------------- ACM

/// Where an ACM certificate is in its life, as bbws acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Waiting for its DNS validation records (`PENDING_VALIDATION`).
    PendingValidation,
    /// Issued: a listener may serve it.
    Issued,
    /// Never to be issued or no longer valid (`VALIDATION_TIMED_OUT`,
    /// `FAILED`, `EXPIRED`, `REVOKED`, `INACTIVE`): a new one is needed.
    Unusable(String),
}

/// A DNS record that proves control of one of a certificate's names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ValidationRecord {
    /// The record's name (ends with a dot, as ACM writes it).
    pub name: String,
    /// Its type (`CNAME`).
    pub record_type: String,
    /// Its value.
    pub value: String,
}

/// An ACM certificate as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCertificate {
    /// ARN.
    pub arn: String,
    /// Its names: the domain name first, then the other names.
    pub domains: Vec<String>,
    /// Status.
    pub status: CertificateStatus,
    /// The validation records ACM has published so far (one per name,
    /// names sharing a record listed once).
    pub validation_records: Vec<ValidationRecord>,
}

impl ObservedCertificate {
    /// Whether it names exactly `domains` (in any order).
    pub fn names_exactly(&self, domains: &[String]) -> bool {
        let mut a = self.domains.clone();
        let mut b = domains.to_vec();
        a.sort();
        b.sort();
        a == b
    }
}

/// What a certificate is requested for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Its names: the first is the domain name, the rest the other names.
    pub domains: Vec<String>,
    /// Tags, set with the request.
    pub tags: Tags,
    /// ACM's idempotency token (`\w+`, at most 32 characters): the same
    /// request with the same token within an hour returns the same
    /// certificate, so a retried or re-run request makes no second one.
    pub idempotency_token: String,
}

/// AWS Certificate Manager: the tenants' certificates for their custom
/// domains, validated by DNS.
#[async_trait]
pub trait CertificatesApi: Send + Sync {
    /// A certificate by ARN; `None` when there is none (deleted).
    async fn describe_certificate(&self, arn: &str) -> PortResult<Option<ObservedCertificate>>;
    /// Requests a DNS-validated certificate; its ARN.
    async fn request_certificate(&self, request: &CertificateRequest) -> PortResult<String>;
    /// Deletes a certificate; a missing one is `NotFound`. AWS refuses one
    /// a load balancer still uses (`ResourceInUseException`, transient:
    /// ELB lets go of a removed certificate shortly after).
    async fn delete_certificate(&self, arn: &str) -> PortResult<()>;
}

/// Route53: the tenant's record.
#[async_trait]
pub trait Route53Api: Send + Sync {
    /// Every record of the zone (all pages), names without the trailing
    /// dot: A aliases and CNAMEs as such, any other as
    /// [`RecordTarget::Other`].
    async fn list_records(&self, zone_id: &str) -> PortResult<Vec<ObservedDnsRecord>>;
    /// The records under exactly these names (any type), as
    /// [`Self::list_records`] shows them: one tenant's, read at the names
    /// (a listing from each name) instead of the whole zone, so that its
    /// cost does not grow with the fleet.
    async fn records_named(&self, zone_id: &str, names: &[String]) -> PortResult<Vec<ObservedDnsRecord>>;
    /// Creates a record (`CREATE`): `AlreadyExists` when a record of that
    /// name and type exists, so that nobody's record is ever overwritten.
    async fn create_record(&self, spec: &DnsRecordSpec) -> PortResult<()>;
    /// Creates several records of one zone in one change batch (`CREATE`
    /// each): all or none, as Route53 applies a batch, and `AlreadyExists`
    /// when any of them exists. What concurrent creates share
    /// ([`crate::dns_batch::Route53Batcher`]): Route53 allows five requests a
    /// second for the whole account.
    async fn create_records(&self, zone_id: &str, specs: &[DnsRecordSpec]) -> PortResult<()>;
    /// Creates or replaces a record (`UPSERT`): only for a record that is
    /// the tenant's own.
    async fn upsert_record(&self, spec: &DnsRecordSpec) -> PortResult<()>;
    /// Deletes a record exactly as observed.
    async fn delete_record(&self, record: &ObservedDnsRecord) -> PortResult<()>;
    /// The id (`Z…`) of the account's public hosted zone named exactly
    /// `name` (no trailing dot), if it has one (`ListHostedZonesByName`).
    async fn public_zone_named(&self, name: &str) -> PortResult<Option<String>>;
}

/// EFS: access points.
#[async_trait]
pub trait EfsApi: Send + Sync {
    /// Every access point of a file system, with tags.
    async fn describe_access_points(&self, file_system_id: &str) -> PortResult<Vec<ObservedAccessPoint>>;
    /// Creates an access point.
    async fn create_access_point(&self, spec: &AccessPointSpec) -> PortResult<ObservedAccessPoint>;
    /// Deletes an access point.
    async fn delete_access_point(&self, id: &str) -> PortResult<()>;
    /// Adds or overwrites tags.
    async fn tag_resource(&self, id: &str, tags: &Tags) -> PortResult<()>;
    /// Removes the tags with these keys (`UntagResource`).
    async fn untag_resource(&self, id: &str, keys: &[String]) -> PortResult<()>;
}

/// Secrets Manager.
#[async_trait]
pub trait SecretsApi: Send + Sync {
    /// Metadata of a secret by name or ARN, including one pending deletion.
    async fn describe_secret(&self, name: &str) -> PortResult<Option<ObservedSecret>>;
    /// Every secret whose name starts with `prefix`, including those pending
    /// deletion (all pages): one call per hundred tenants instead of one each.
    async fn list_secrets(&self, prefix: &str) -> PortResult<Vec<ObservedSecret>>;
    /// Creates a secret with a value.
    async fn create_secret(&self, spec: &SecretSpec, value: &str) -> PortResult<ObservedSecret>;
    /// The current string value.
    async fn get_secret_value(&self, arn: &str) -> PortResult<String>;
    /// Stores a new value.
    async fn put_secret_value(&self, arn: &str, value: &str) -> PortResult<()>;
    /// Schedules deletion with a recovery window of 7–30 days; `0` deletes
    /// at once without recovery (used to undo a secret this run created).
    /// A secret already scheduled for deletion is not an error: that is
    /// what a DeleteSecret retried after a lost answer finds (AWS answers
    /// it `InvalidRequestException`, "marked for deletion").
    async fn delete_secret(&self, arn: &str, recovery_window_days: u32) -> PortResult<()>;
    /// Cancels a scheduled deletion.
    async fn restore_secret(&self, arn: &str) -> PortResult<()>;
    /// Sets the description (`UpdateSecret`).
    async fn set_description(&self, arn: &str, description: &str) -> PortResult<()>;
    /// Adds or overwrites tags.
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()>;
    /// Removes the tags with these keys (`UntagResource`).
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()>;
}

/// CloudWatch Logs.
#[async_trait]
pub trait LogsApi: Send + Sync {
    /// Log groups whose name starts with `prefix` (all pages), with tags.
    async fn describe_log_groups(&self, prefix: &str) -> PortResult<Vec<ObservedLogGroup>>;
    /// Creates a log group with tags and retention.
    async fn create_log_group(&self, spec: &LogGroupSpec) -> PortResult<ObservedLogGroup>;
    /// Sets retention.
    async fn put_retention_policy(&self, name: &str, days: u32) -> PortResult<()>;
    /// Deletes a log group.
    async fn delete_log_group(&self, name: &str) -> PortResult<()>;
    /// Adds or overwrites tags (by log group ARN).
    async fn tag_log_group(&self, arn: &str, tags: &Tags) -> PortResult<()>;
    /// Removes the tags with these keys (by log group ARN; `UntagResource`).
    async fn untag_log_group(&self, arn: &str, keys: &[String]) -> PortResult<()>;
    /// Appends one event, creating the group and stream when missing.
    async fn append_event(&self, group: &str, stream: &str, message: &str) -> PortResult<()>;
    /// [`Self::append_event`] to a stream that most likely does not exist
    /// yet (a new tenant's): created first, which saves the put that would
    /// fail on it. A stream that does exist is used as it is.
    async fn append_event_to_new_stream(&self, group: &str, stream: &str, message: &str) -> PortResult<()> {
        self.append_event(group, stream, message).await
    }
    /// One page of the group's events from `start_ms` on (Unix ms), every
    /// stream interleaved, oldest first (`FilterLogEvents`).
    async fn filter_events(&self, group: &str, start_ms: i64, page: Option<String>) -> PortResult<LogEventPage>;
}

/// One log event (`FilterLogEvents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// When it happened, Unix milliseconds.
    pub timestamp_ms: i64,
    /// The stream it is in.
    pub stream: String,
    /// The message.
    pub message: String,
    /// CloudWatch's id of the event: unique, so a poll that reads an
    /// event again can tell.
    pub event_id: String,
}

/// A page of events and the token of the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogEventPage {
    /// The events, oldest first.
    pub events: Vec<LogEvent>,
    /// Where the next page starts.
    pub next: Option<String>,
}

/// One metric a `GetMetricData` call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// The query's id (lower case, as CloudWatch requires): how its
    /// series is found in the answer.
    pub id: String,
    /// `AWS/ApplicationELB`, `AWS/ECS`, …
    pub namespace: String,
    /// `RequestCount`, `CPUUtilization`, …
    pub metric: String,
    /// Dimension name → value.
    pub dimensions: Vec<(String, String)>,
    /// `Sum`, `Average`, `Maximum`, …
    pub stat: String,
    /// Seconds per point.
    pub period_seconds: u32,
}

/// One query of an alarm: a metric's statistic, or an expression over
/// the others (metric math). Exactly one query of an alarm is returned:
/// what the alarm compares with its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmQuery {
    /// Its id (lower case), what expressions name it by.
    pub id: String,
    /// The metric's statistic (its `id` is unused), or `None` for an
    /// expression.
    pub stat: Option<MetricQuery>,
    /// A metric-math expression over the other queries' ids.
    pub expression: Option<String>,
    /// Whether this is the query the threshold applies to.
    pub returned: bool,
}

/// A CloudWatch metric alarm as bbws sets it: its queries compared with
/// `threshold` (greater than), over `evaluation_periods` periods of which
/// `datapoints_to_alarm` must breach, missing data not breaching, and the
/// topic told on alarm and when OK again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmDefinition {
    /// Name (unique per account and region).
    pub name: String,
    /// What it watches, starting with the ownership line bbws checks.
    pub description: String,
    /// Its queries, dimensions sorted by name.
    pub queries: Vec<AlarmQuery>,
    /// The value it must exceed (whole numbers; AWS's fractions read
    /// rounded).
    pub threshold: i64,
    /// Periods looked at.
    pub evaluation_periods: u32,
    /// Of those, how many must breach.
    pub datapoints_to_alarm: u32,
    /// The SNS topic of its alarm and OK actions.
    pub topic_arn: String,
}

/// An alarm as observed: its definition as bbws reads it, and the settings
/// bbws always sets the same, to see drift of them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAlarm {
    /// The definition (the topic: its first alarm action).
    pub definition: AlarmDefinition,
    /// Whether its alarm and OK actions are exactly the topic, and enabled.
    pub actions_as_set: bool,
    /// `GreaterThanThreshold` as set.
    pub comparison: String,
    /// `notBreaching` as set.
    pub treat_missing_data: String,
}

/// The comparison of every bbws alarm.
pub const ALARM_COMPARISON: &str = "GreaterThanThreshold";
/// How every bbws alarm treats missing data: a tenant without traffic
/// (or without Container Insights) is not alarming.
pub const ALARM_MISSING_DATA: &str = "notBreaching";

impl ObservedAlarm {
    /// Whether it is `want`, with the settings bbws sets.
    pub fn is(&self, want: &AlarmDefinition) -> bool {
        self.definition == *want
            && self.actions_as_set
            && self.comparison == ALARM_COMPARISON
            && self.treat_missing_data == ALARM_MISSING_DATA
    }
}

/// CloudWatch alarms: the tenant's three.
#[async_trait]
pub trait AlarmsApi: Send + Sync {
    /// The metric alarms of these names (all of them: the implementation
    /// asks 100 at a time); missing ones are absent.
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<ObservedAlarm>>;
    /// Creates or replaces an alarm (`PutMetricAlarm`); `tags` are set
    /// when it is created (AWS ignores them on a replace).
    async fn put_alarm(&self, alarm: &AlarmDefinition, tags: &Tags) -> PortResult<()>;
    /// Deletes alarms (`DeleteAlarms`, 100 at a time); missing names are
    /// no error.
    async fn delete_alarms(&self, names: &[String]) -> PortResult<()>;
}

/// A query's answer: its points, oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSeries {
    /// The query's id.
    pub id: String,
    /// (Unix seconds, value), oldest first.
    pub points: Vec<(i64, f64)>,
}

/// CloudWatch metrics: read only.
#[async_trait]
pub trait MetricsApi: Send + Sync {
    /// Every query's series between `start` and `end` (Unix seconds), in
    /// as few `GetMetricData` calls as CloudWatch's paging allows (one for
    /// a tenant's hour).
    async fn metric_data(&self, queries: &[MetricQuery], start: i64, end: i64) -> PortResult<Vec<MetricSeries>>;
}

/// What a target-tracking policy tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackedMetric {
    /// The service's average CPU (`ECSServiceAverageCPUUtilization`), percent.
    Cpu,
    /// Requests per target of an ALB target group
    /// (`ALBRequestCountPerTarget`); the label is
    /// `app/{lb}/{id}/targetgroup/{tg}/{id}`.
    RequestsPerTarget {
        /// The `ResourceLabel`.
        resource_label: String,
    },
}

/// A target-tracking policy on a service's desired count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingPolicy {
    /// Policy name (unique per scalable target).
    pub name: String,
    /// What it tracks.
    pub metric: TrackedMetric,
    /// The value it holds the metric at: bbws sets whole numbers (a
    /// percent, requests per task); AWS's fractional ones read rounded.
    pub target: u32,
}

/// A service's desired count under Application Auto Scaling: the
/// scalable target (min and max) and its target-tracking policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedScaling {
    /// `service/{cluster}/{service}`.
    pub resource_id: String,
    /// Fewest tasks.
    pub min: u32,
    /// Most tasks.
    pub max: u32,
    /// Its target-tracking policies, by name.
    pub policies: Vec<TrackingPolicy>,
}

impl ObservedScaling {
    /// The `autoscaling` block this scaling was made from (an import's
    /// stand-in); `None` for a parked one, whose range is not the block's.
    pub fn as_input(&self, suspended: bool) -> Option<crate::spec::AutoscalingInput> {
        let target = |cpu: bool| {
            self.policies
                .iter()
                .find(|p| matches!(p.metric, TrackedMetric::Cpu) == cpu)
                .map(|p| i64::from(p.target))
        };
        (!suspended).then(|| crate::spec::AutoscalingInput {
            min: Some(i64::from(self.min)),
            max: Some(i64::from(self.max)),
            cpu_target: target(true),
            requests_per_target: target(false),
        })
    }
}

/// Application Auto Scaling of ECS services (`ecs:service:DesiredCount`).
///
/// A scalable target has no name or tags of its own that moto keeps: it
/// is the service's, found by the service's resource id, so it is ours
/// exactly when the service is.
#[async_trait]
pub trait ScalingApi: Send + Sync {
    /// The scalable target of a service and its policies; `None` when the
    /// service's desired count is not registered.
    async fn describe_scaling(&self, resource_id: &str) -> PortResult<Option<ObservedScaling>>;
    /// Registers the service's desired count between `min` and `max`, or
    /// changes the range of one registered (`RegisterScalableTarget`). The
    /// service must exist.
    async fn register_target(&self, resource_id: &str, min: u32, max: u32) -> PortResult<()>;
    /// Creates or replaces a target-tracking policy (`PutScalingPolicy`);
    /// the target must be registered (AWS: `ObjectNotFoundException`).
    async fn put_policy(&self, resource_id: &str, policy: &TrackingPolicy) -> PortResult<()>;
    /// Deletes a policy; a missing one is `NotFound`.
    async fn delete_policy(&self, resource_id: &str, name: &str) -> PortResult<()>;
    /// Removes the scalable target and its policies; a missing target is
    /// `NotFound`.
    async fn deregister_target(&self, resource_id: &str) -> PortResult<()>;
}

/// RDS: where the shared MySQL server is.
#[async_trait]
pub trait RdsApi: Send + Sync {
    /// Endpoint `(host, port)` of a DB instance.
    async fn instance_endpoint(&self, identifier: &str) -> PortResult<(String, u16)>;
    /// An IAM authentication token for logging in to MySQL at
    /// `host:port` as `user` (a SigV4-presigned `connect` URL, valid 15
    /// minutes).
    async fn auth_token(&self, host: &str, port: u16, user: &str) -> PortResult<String>;
}

/// SNS: the topic the tenants' alarms notify. CloudWatch takes any
/// well-formed topic ARN for an alarm's actions, so a mistyped or deleted
/// topic would silence every alarm without an error: bbws checks it.
#[async_trait]
pub trait TopicsApi: Send + Sync {
    /// Whether the topic exists (`GetTopicAttributes`; `NotFound` is
    /// `false`, any other error is returned).
    async fn topic_exists(&self, arn: &str) -> PortResult<bool>;
}

/// STS: who is calling.
#[async_trait]
pub trait StsApi: Send + Sync {
    /// The caller's ARN.
    async fn caller_arn(&self) -> PortResult<String>;
}

/// EventBridge's limit on one `PutEvents` entry, in bytes, as AWS counts
/// it ([`BusEvent::entry_size`]): 256 KB.
pub const MAX_EVENT_ENTRY_BYTES: usize = 256 * 1024;

/// One event for an EventBridge bus (one `PutEvents` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEvent {
    /// The bus's name or ARN.
    pub bus_name: String,
    /// `source`, e.g. `bbws`.
    pub source: String,
    /// `detail-type`, e.g. `Tenant Created`.
    pub detail_type: String,
    /// `detail`: a JSON object, as text.
    pub detail: String,
    /// ARNs the event is about (may be empty).
    pub resources: Vec<String>,
    /// When it happened.
    pub time: std::time::SystemTime,
}

impl BusEvent {
    /// The entry's size as EventBridge computes it against
    /// [`MAX_EVENT_ENTRY_BYTES`]: 14 bytes for the time, plus the UTF-8
    /// bytes of source, detail-type, detail and each resource.
    pub fn entry_size(&self) -> usize {
        14 + self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }
}

/// EventBridge: announcing what happened to downstream systems.
#[async_trait]
pub trait EventsApi: Send + Sync {
    /// Puts one event on its bus (`PutEvents` with one entry). An entry
    /// EventBridge refuses is an error although the request answered 200
    /// (`FailedEntryCount` 1), classified by the entry's error code
    /// (`ThrottlingException`, `InternalFailure`: transient). An entry over
    /// [`MAX_EVENT_ENTRY_BYTES`] is `InvalidInput` and never sent.
    async fn put_event(&self, event: &BusEvent) -> PortResult<()>;
}

/// How to reach and log in to a MySQL server.
#[derive(Clone, PartialEq, Eq)]
pub struct MysqlLogin {
    /// Host name or IP address (the name TLS verifies, in `VERIFY_IDENTITY`).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// The password, or an RDS IAM authentication token.
    pub password: String,
    /// Send the password with `mysql_clear_password` (RDS IAM auth; the
    /// connector refuses it without verified TLS).
    pub cleartext: bool,
    /// TLS mode and trust roots.
    pub tls: MysqlTls,
    /// No statement waits longer than this (server and client side).
    pub statement_timeout: std::time::Duration,
}

impl fmt::Debug for MysqlLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlLogin")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"***")
            .field("cleartext", &self.cleartext)
            .field("tls", &self.tls)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

/// TLS towards MySQL: the mode (MySQL's own names) and the trust roots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MysqlTls {
    /// How much TLS and verification is required.
    pub mode: crate::spec::SslMode,
    /// PEM certificates to trust (for RDS, the AWS global bundle); the
    /// system's roots (`SSL_CERT_FILE` honoured) are trusted too.
    pub ca_pem: Option<String>,
}

/// A tenant's MySQL user as bbws creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MysqlUser<'a> {
    /// User name (host `%`).
    pub name: &'a str,
    /// The one database it has privileges on.
    pub database: &'a str,
    /// `MAX_USER_CONNECTIONS` (0: the server's limit only).
    pub max_connections: u32,
}

/// What a password change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// The old password still logs in (MySQL 8 dual passwords) until
    /// [`MysqlAdmin::discard_old_password`].
    OldRetained,
    /// The old password no longer logs in.
    Replaced,
}

/// MySQL administration inside the shared server. Identifiers are
/// validated and quoted by the implementation; no password reaches a
/// server log in plain text.
#[async_trait]
pub trait MysqlAdmin: Send + Sync {
    /// Which of these databases and users exist, in one round trip.
    async fn observe(
        &self,
        databases: &[String],
        users: &[String],
    ) -> PortResult<(Vec<ObservedDatabase>, Vec<ObservedDatabaseUser>)>;
    /// `CREATE DATABASE`: AlreadyExists when it exists (so that a caller
    /// never counts someone else's database as its own creation).
    async fn create_database(&self, name: &str) -> PortResult<()>;
    /// Whether the database holds no table, view or routine.
    async fn database_is_empty(&self, name: &str) -> PortResult<bool>;
    /// `DROP DATABASE IF EXISTS`: NotFound or success for a missing one.
    async fn drop_database(&self, name: &str) -> PortResult<()>;
    /// `CREATE USER` with the limit, and `GRANT ALL ON db.*`.
    async fn create_user(&self, user: &MysqlUser<'_>, password: &str) -> PortResult<()>;
    /// `ALTER USER` to `password`, the limit and the grant again. With
    /// `retain_old`, the old password keeps working where the server has
    /// dual passwords (MySQL 8.0.14+); the answer says which happened.
    async fn set_password(&self, user: &MysqlUser<'_>, password: &str, retain_old: bool) -> PortResult<PasswordChange>;
    /// `ALTER USER … DISCARD OLD PASSWORD` (nothing where the server has no
    /// dual passwords).
    async fn discard_old_password(&self, name: &str) -> PortResult<()>;
    /// `ALTER USER … WITH MAX_USER_CONNECTIONS`.
    async fn set_max_connections(&self, name: &str, max_connections: u32) -> PortResult<()>;
    /// `ALTER USER … ACCOUNT LOCK/UNLOCK`.
    async fn set_locked(&self, name: &str, locked: bool) -> PortResult<()>;
    /// `DROP USER IF EXISTS`: NotFound or success for a missing one.
    async fn drop_user(&self, name: &str) -> PortResult<()>;
    /// A logical dump of the database's base tables (views and routines
    /// are not dumped: WordPress has none), sent in order to `out`: first
    /// the table names, then per table `DROP TABLE IF EXISTS`, `CREATE
    /// TABLE` and bounded multi-row `INSERT`s, each statement on one line,
    /// then its row count. Read in one consistent snapshot (InnoDB). Stops
    /// with an error when `out` is closed.
    async fn dump(&self, database: &str, out: tokio::sync::mpsc::Sender<DumpItem>) -> PortResult<()>;
    /// Runs statements of a dump ([`DumpItem::Statement`]) in order, on one
    /// session using `database`, with foreign key checks off for the
    /// session (tables are recreated in name order).
    async fn load(&self, database: &str, statements: &[String]) -> PortResult<()>;
}

/// One piece of a database dump ([`MysqlAdmin::dump`]), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpItem {
    /// The base tables that follow, in order.
    Tables(Vec<String>),
    /// One SQL statement on one line, without the `;`.
    Statement(String),
    /// A table is complete, with this many rows.
    TableDone {
        /// The table.
        table: String,
        /// Its rows.
        rows: u64,
    },
}

/// What [`ObjectStoreApi::head_object`] tells of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its size in bytes.
    pub size: u64,
    /// Its server-side encryption (`AES256`, `aws:kms`), if any.
    pub server_side_encryption: Option<String>,
}

/// Amazon S3: the backup bucket. Every object bbws writes is encrypted at
/// rest with S3-managed keys (`AES256`).
#[async_trait]
pub trait ObjectStoreApi: Send + Sync {
    /// Writes one object (`PutObject`, SSE `AES256`).
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> PortResult<()>;
    /// Starts a multipart upload (SSE `AES256`); answers its upload id.
    async fn create_multipart_upload(&self, bucket: &str, key: &str) -> PortResult<String>;
    /// Uploads part `number` (1-based; every part but the last at least
    /// 5 MiB); answers its ETag.
    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> PortResult<String>;
    /// Completes an upload from its `(number, ETag)` parts, in order.
    async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> PortResult<()>;
    /// Aborts an upload, discarding its parts (nothing half-made is left).
    async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> PortResult<()>;
    /// The whole object; `NotFound` when the bucket or key does not exist.
    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<Vec<u8>>;
    /// Size and encryption of an object, `None` when there is none.
    async fn head_object(&self, bucket: &str, key: &str) -> PortResult<Option<ObjectInfo>>;
}

/// Opens a [`MysqlAdmin`] for a login.
#[async_trait]
pub trait MysqlConnector: Send + Sync {
    /// Connects (one connection, so that a wrong host, password or
    /// certificate fails here) and keeps a small pool for later statements.
    async fn connect(&self, login: &MysqlLogin) -> PortResult<Arc<dyn MysqlAdmin>>;
}

/// Fetches a site's status code (for health reports only).
#[async_trait]
pub trait SiteProbe: Send + Sync {
    /// The HTTP status of `GET url`, following no redirect.
    async fn status(&self, url: &str) -> PortResult<u16>;
}

/// Every port the engine uses.
#[derive(Clone)]
pub struct Ports {
    /// ECS.
    pub ecs: Arc<dyn EcsApi>,
    /// ELBv2.
    pub elbv2: Arc<dyn Elbv2Api>,
    /// Route53.
    pub route53: Arc<dyn Route53Api>,
    /// EFS.
    pub efs: Arc<dyn EfsApi>,
    /// Secrets Manager.
    pub secrets: Arc<dyn SecretsApi>,
    /// CloudWatch Logs.
    pub logs: Arc<dyn LogsApi>,
    /// CloudWatch metrics.
    pub metrics: Arc<dyn MetricsApi>,
    /// Application Auto Scaling.
    pub scaling: Arc<dyn ScalingApi>,
    /// ACM.
    pub certificates: Arc<dyn CertificatesApi>,
    /// CloudWatch alarms.
    pub alarms: Arc<dyn AlarmsApi>,
    /// SNS (the alarms' topic).
    pub topics: Arc<dyn TopicsApi>,
    /// RDS.
    pub rds: Arc<dyn RdsApi>,
    /// STS.
    pub sts: Arc<dyn StsApi>,
    /// EventBridge.
    pub events: Arc<dyn EventsApi>,
    /// MySQL.
    pub mysql: Arc<dyn MysqlConnector>,
    /// S3 (the backup bucket).
    pub objects: Arc<dyn ObjectStoreApi>,
    /// The tenants' sites over HTTPS.
    pub site: Arc<dyn SiteProbe>,
}
