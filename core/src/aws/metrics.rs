//! CloudWatch metrics, read only: `GetMetricData`.

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

use super::error::{Endpoint, on};
use crate::ports::{MetricQuery, MetricSeries, MetricsApi, PortResult};

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
