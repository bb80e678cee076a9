//! What a tenant's logs and metrics say (SOP §6.2: view tenant logs, check
//! tenant metrics), for `tenantctl logs` and `tenantctl metrics`. Reads
//! only, and only from parts that carry the tenant's ownership tags.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Engine;
use crate::error::CoreError;
use crate::naming::TenantNames;
use crate::observed::owned_by;
use crate::parts::Part;
use crate::ports::{LogEvent, MetricQuery, MetricSeries};

/// The first pause of a follow that found nothing new, doubled after each
/// empty poll up to [`FOLLOW_MAX_PAUSE`]: a quiet site costs a few calls a
/// minute, a busy one is read every second.
pub const FOLLOW_FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two polls of a follow.
pub const FOLLOW_MAX_PAUSE: Duration = Duration::from_secs(16);

/// A position in a tenant's log group: where the next read starts, and
/// the events already read at that instant (a poll reads them again:
/// `FilterLogEvents` starts at a millisecond, not after an event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// The tenant's log group.
    pub group: String,
    cursor_ms: i64,
    read_at_cursor: BTreeSet<String>,
    empty_polls: u32,
}

impl LogTail {
    /// A tail of `group` from `since`.
    pub fn new(group: String, since: SystemTime) -> Self {
        let ms = since.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        LogTail {
            group,
            cursor_ms: i64::try_from(ms).unwrap_or(i64::MAX),
            read_at_cursor: BTreeSet::new(),
            empty_polls: 0,
        }
    }

    /// The events not read before, oldest first; moves the cursor past them.
    pub fn take(&mut self, mut events: Vec<LogEvent>) -> Vec<LogEvent> {
        events.sort_by(|a, b| (a.timestamp_ms, &a.event_id).cmp(&(b.timestamp_ms, &b.event_id)));
        events.retain(|e| {
            e.timestamp_ms > self.cursor_ms
                || (e.timestamp_ms == self.cursor_ms && !self.read_at_cursor.contains(&e.event_id))
        });
        for e in &events {
            if e.timestamp_ms > self.cursor_ms {
                self.cursor_ms = e.timestamp_ms;
                self.read_at_cursor.clear();
            }
            self.read_at_cursor.insert(e.event_id.clone());
        }
        self.empty_polls = if events.is_empty() { self.empty_polls + 1 } else { 0 };
        events
    }

    /// How long a follow waits before its next poll.
    pub fn pause(&self) -> Duration {
        FOLLOW_FIRST_PAUSE
            .saturating_mul(1 << self.empty_polls.min(8))
            .min(FOLLOW_MAX_PAUSE)
    }
}

/// One of the metrics `tenantctl metrics` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantMetric {
    /// `requests`, `errors_5xx`, `response_time`, `cpu`, `memory`.
    pub name: &'static str,
    /// `count`, `seconds`, `percent`.
    pub unit: &'static str,
    /// (Unix seconds, value), oldest first; a period without data has no point.
    pub points: Vec<(i64, f64)>,
}

/// A tenant's metrics over a window, from one `GetMetricData` call.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantMetrics {
    /// Unix seconds.
    pub start: i64,
    /// Unix seconds.
    pub end: i64,
    /// Seconds per point.
    pub period_seconds: u32,
    /// In the order of [`METRICS`].
    pub metrics: Vec<TenantMetric>,
}

/// Name, unit, namespace, CloudWatch metric and statistic of each metric:
/// the load balancer's per-target-group figures and the service's.
pub const METRICS: [(&str, &str, &str, &str, &str); 5] = [
    ("requests", "count", "AWS/ApplicationELB", "RequestCount", "Sum"),
    (
        "errors_5xx",
        "count",
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
        "Sum",
    ),
    (
        "response_time",
        "seconds",
        "AWS/ApplicationELB",
        "TargetResponseTime",
        "Average",
    ),
    ("cpu", "percent", "AWS/ECS", "CPUUtilization", "Average"),
    ("memory", "percent", "AWS/ECS", "MemoryUtilization", "Average"),
];

/// The `LoadBalancer` dimension (`app/{name}/{id}`) of a listener rule's ARN
/// (`…:listener-rule/app/{name}/{id}/{listener}/{rule}`).
pub fn load_balancer_dimension(rule_arn: &str) -> Option<String> {
    let path = rule_arn.split_once(":listener-rule/")?.1;
    let parts: Vec<&str> = path.split('/').collect();
    (parts.len() == 5).then(|| parts[..3].join("/"))
}

/// The `TargetGroup` dimension (`targetgroup/{name}/{id}`) of its ARN.
pub fn target_group_dimension(arn: &str) -> Option<String> {
    let path = arn.rsplit_once(':')?.1;
    (path.starts_with("targetgroup/") && path.split('/').count() == 3).then(|| path.to_owned())
}

/// Seconds per point: a dozen points per window, in whole minutes.
pub fn period_for(window: Duration) -> u32 {
    let minutes = (window.as_secs() / 12 / 60).max(1);
    u32::try_from(minutes * 60).unwrap_or(u32::MAX)
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

impl Engine {
    /// A tail of the tenant's log group from `since`, refused when the
    /// group is missing or is not this tenant's.
    pub async fn tail_logs(&self, tenant_id: &str, since: SystemTime) -> Result<LogTail, CoreError> {
        let names = TenantNames::new(self.platform.environment, tenant_id, tenant_id, &self.platform.domain);
        let groups = self
            .ports
            .logs
            .describe_log_groups(&names.log_group)
            .await
            .map_err(|e| CoreError::port(Part::LogGroup, "DescribeLogGroups", e))?;
        let refused = |reason: String| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: "read the logs of",
            reason,
        };
        match groups.into_iter().find(|g| g.name == names.log_group) {
            None => Err(refused(format!("it has no log group {}", names.log_group))),
            Some(g) if !owned_by(&g.tags, tenant_id, self.platform.environment) => Err(refused(format!(
                "the log group {} is not this tenant's ({})",
                g.name,
                crate::observed::describe_owner(&g.tags)
            ))),
            Some(g) => Ok(LogTail::new(g.name, since)),
        }
    }

    /// The events after the tail's position, every page, oldest first.
    pub async fn read_logs(&self, tail: &mut LogTail) -> Result<Vec<LogEvent>, CoreError> {
        let mut events = Vec::new();
        let mut page = None;
        loop {
            let got = self
                .ports
                .logs
                .filter_events(&tail.group, tail.cursor_ms, page)
                .await
                .map_err(|e| CoreError::port(Part::LogGroup, "FilterLogEvents", e))?;
            events.extend(got.events);
            match got.next {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        Ok(tail.take(events))
    }

    /// The tenant's requests, 5xx answers and response time (its target
    /// group on its load balancer) and its service's CPU and memory, over
    /// the `window` before `end`.
    pub async fn tenant_metrics(
        &self,
        tenant_id: &str,
        window: Duration,
        end: SystemTime,
    ) -> Result<TenantMetrics, CoreError> {
        let observed = self.observe_by_id(tenant_id).await?;
        let refused = |reason: &str| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: "read the metrics of",
            reason: reason.to_owned(),
        };
        let (Some(rule), Some(tg), Some(_)) = (&observed.listener_rule, &observed.target_group, &observed.service)
        else {
            return Err(refused(
                "it has no listener rule, target group or service (is it a tenant of this environment?)",
            ));
        };
        let lb = load_balancer_dimension(&rule.arn)
            .ok_or_else(|| refused("its listener rule's ARN names no load balancer"))?;
        let tg = target_group_dimension(&tg.arn).ok_or_else(|| refused("its target group's ARN is not one"))?;
        let names = TenantNames::new(self.platform.environment, tenant_id, tenant_id, &self.platform.domain);
        let period_seconds = period_for(window);
        let queries = metric_queries(&lb, &tg, &self.platform.cluster, &names.service, period_seconds);
        let end = unix_seconds(end);
        let start = end - i64::try_from(window.as_secs()).unwrap_or(i64::MAX / 2);
        let series = self
            .ports
            .metrics
            .metric_data(&queries, start, end)
            .await
            .map_err(|e| CoreError::port(Part::Service, "GetMetricData", e))?;
        Ok(TenantMetrics {
            start,
            end,
            period_seconds,
            metrics: tenant_series(series),
        })
    }
}

/// One query per entry of [`METRICS`], its id the metric's name.
fn metric_queries(lb: &str, tg: &str, cluster: &str, service: &str, period_seconds: u32) -> Vec<MetricQuery> {
    METRICS
        .iter()
        .map(|(name, _, namespace, metric, stat)| {
            let dimensions = if *namespace == "AWS/ECS" {
                vec![
                    ("ClusterName".into(), cluster.into()),
                    ("ServiceName".into(), service.into()),
                ]
            } else {
                vec![("LoadBalancer".into(), lb.into()), ("TargetGroup".into(), tg.into())]
            };
            MetricQuery {
                id: (*name).into(),
                namespace: (*namespace).into(),
                metric: (*metric).into(),
                dimensions,
                stat: (*stat).into(),
                period_seconds,
            }
        })
        .collect()
}

fn tenant_series(series: Vec<MetricSeries>) -> Vec<TenantMetric> {
    METRICS
        .iter()
        .map(|(name, unit, ..)| TenantMetric {
            name,
            unit,
            points: series
                .iter()
                .find(|s| s.id == *name)
                .map(|s| s.points.clone())
                .unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
