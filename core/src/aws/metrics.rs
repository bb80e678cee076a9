//! CloudWatch: metrics, read only (`GetMetricData`), and the tenants'
//! metric alarms.

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, ScanBy, Tag,
};

use super::error::{Endpoint, on};
use crate::parts::Tags;
use crate::ports::{
    ALARM_COMPARISON, ALARM_MISSING_DATA, AlarmDefinition, AlarmQuery, AlarmsApi, MetricQuery, MetricSeries,
    MetricsApi, ObservedAlarm, PortResult,
};

/// [`MetricsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsMetrics {
    client: Client,
    ep: Endpoint,
}

impl AwsMetrics {
    /// A port over `client`.
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsMetrics { client, ep }
    }
}

fn query(q: &MetricQuery) -> MetricDataQuery {
    let dimensions = q
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    let metric = Metric::builder()
        .namespace(&q.namespace)
        .metric_name(&q.metric)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(i32::try_from(q.period_seconds).unwrap_or(i32::MAX))
        .stat(&q.stat)
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(stat)
        .return_data(true)
        .build()
}

#[async_trait]
impl MetricsApi for AwsMetrics {
    async fn metric_data(&self, queries: &[MetricQuery], start: i64, end: i64) -> PortResult<Vec<MetricSeries>> {
        let asked: Vec<MetricDataQuery> = queries.iter().map(query).collect();
        let mut series: Vec<MetricSeries> = queries
            .iter()
            .map(|q| MetricSeries {
                id: q.id.clone(),
                points: Vec::new(),
            })
            .collect();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(asked.clone()))
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(on(&self.ep, "GetMetricData"))?;
            for result in r.metric_data_results() {
                let Some(s) = series.iter_mut().find(|s| Some(s.id.as_str()) == result.id()) else {
                    continue;
                };
                let times = result.timestamps().iter().map(DateTime::secs);
                s.points.extend(times.zip(result.values().iter().copied()));
            }
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        for s in &mut series {
            s.points.sort_by_key(|(t, _)| *t);
        }
        Ok(series)
    }
}

/// An alarm's query as CloudWatch takes it.
fn alarm_query(q: &AlarmQuery) -> MetricDataQuery {
    let b = MetricDataQuery::builder().id(&q.id).return_data(q.returned);
    match (&q.stat, &q.expression) {
        (Some(stat), _) => {
            let MetricDataQuery { metric_stat, .. } = query(stat);
            b.set_metric_stat(metric_stat).build()
        }
        (None, Some(e)) => b.expression(e).build(),
        (None, None) => b.build(),
    }
}

/// A query as bbws reads it back (dimensions sorted by name).
fn read_query(q: &MetricDataQuery) -> AlarmQuery {
    let stat = q.metric_stat().map(|s| {
        let metric = s.metric();
        let mut dimensions: Vec<(String, String)> = metric
            .map(|m| m.dimensions())
            .unwrap_or_default()
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        dimensions.sort();
        MetricQuery {
            id: q.id().unwrap_or_default().to_owned(),
            namespace: metric.and_then(|m| m.namespace()).unwrap_or_default().to_owned(),
            metric: metric.and_then(|m| m.metric_name()).unwrap_or_default().to_owned(),
            dimensions,
            stat: s.stat().unwrap_or_default().to_owned(),
            period_seconds: periods(s.period()),
        }
    });
    AlarmQuery {
        id: q.id().unwrap_or_default().to_owned(),
        stat,
        expression: q.expression().map(str::to_owned),
        // AWS's default for a query that does not say.
        returned: q.return_data().unwrap_or(true),
    }
}

fn periods(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

fn read_alarm(a: &MetricAlarm) -> ObservedAlarm {
    let topic = a.alarm_actions().first().cloned().unwrap_or_default();
    let actions_as_set =
        a.actions_enabled() == Some(true) && a.alarm_actions() == [topic.clone()] && a.ok_actions() == [topic.clone()];
    // Whole numbers as bbws sets them; a fraction set by hand reads rounded
    // (`as` saturates a value out of range).
    let threshold = a.threshold().unwrap_or_default().round() as i64;
    ObservedAlarm {
        definition: AlarmDefinition {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            description: a.alarm_description().unwrap_or_default().to_owned(),
            queries: a.metrics().iter().map(read_query).collect(),
            threshold,
            evaluation_periods: periods(a.evaluation_periods()),
            datapoints_to_alarm: periods(a.datapoints_to_alarm()),
            topic_arn: topic,
        },
        actions_as_set,
        comparison: a
            .comparison_operator()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        treat_missing_data: a.treat_missing_data().unwrap_or_default().to_owned(),
    }
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait]
impl AlarmsApi for AwsMetrics {
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<ObservedAlarm>> {
        let mut found = Vec::new();
        for chunk in names.chunks(100) {
            let mut token: Option<String> = None;
            loop {
                let r = self
                    .client
                    .describe_alarms()
                    .set_alarm_names(Some(chunk.to_vec()))
                    .alarm_types(AlarmType::MetricAlarm)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(on(&self.ep, "DescribeAlarms"))?;
                found.extend(r.metric_alarms().iter().map(read_alarm));
                match r.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    async fn put_alarm(&self, alarm: &AlarmDefinition, tags: &Tags) -> PortResult<()> {
        let tags = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(&alarm.description)
            .actions_enabled(true)
            .alarm_actions(&alarm.topic_arn)
            .ok_actions(&alarm.topic_arn)
            .set_metrics(Some(alarm.queries.iter().map(alarm_query).collect()))
            .threshold(alarm.threshold as f64)
            .comparison_operator(ComparisonOperator::from(ALARM_COMPARISON))
            .evaluation_periods(count(alarm.evaluation_periods))
            .datapoints_to_alarm(count(alarm.datapoints_to_alarm))
            .treat_missing_data(ALARM_MISSING_DATA)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(on(&self.ep, "PutMetricAlarm"))?;
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> PortResult<()> {
        for chunk in names.chunks(100) {
            self.client
                .delete_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(on(&self.ep, "DeleteAlarms"))?;
        }
        Ok(())
    }
}
