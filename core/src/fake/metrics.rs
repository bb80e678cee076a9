//! CloudWatch metrics: points stored as `PutMetricData` would, read as
//! `GetMetricData` answers — an exact match of namespace, name and every
//! dimension, points bucketed by the query's period and aggregated by its
//! statistic, oldest first.

use async_trait::async_trait;

use super::*;

const INVALID: &str = "InvalidParameterValueException";

impl FakeCloud {
    /// Stores one data point, as `PutMetricData` does.
    pub fn put_metric(&self, namespace: &str, metric: &str, dimensions: &[(&str, &str)], timestamp: i64, value: f64) {
        let mut dimensions: Vec<(String, String)> = dimensions
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        dimensions.sort();
        self.state().metric_points.push(FakeMetricPoint {
            namespace: namespace.to_owned(),
            metric: metric.to_owned(),
            dimensions,
            timestamp,
            value,
        });
    }
}

fn aggregate(stat: &str, values: &[f64]) -> PortResult<f64> {
    let n = values.len() as f64;
    match stat {
        "Sum" => Ok(values.iter().sum()),
        "Average" => Ok(values.iter().sum::<f64>() / n),
        "Maximum" => Ok(values.iter().copied().fold(f64::MIN, f64::max)),
        "Minimum" => Ok(values.iter().copied().fold(f64::MAX, f64::min)),
        "SampleCount" => Ok(n),
        other => Err(invalid(INVALID, format!("the statistic {other:?} is not supported"))),
    }
}

fn series(points: &[FakeMetricPoint], q: &MetricQuery, start: i64, end: i64) -> PortResult<MetricSeries> {
    if q.period_seconds == 0 || !q.period_seconds.is_multiple_of(60) {
        return Err(invalid(INVALID, "the period must be a multiple of 60 seconds"));
    }
    let period = i64::from(q.period_seconds);
    let mut dimensions = q.dimensions.clone();
    dimensions.sort();
    let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for p in points.iter().filter(|p| {
        p.namespace == q.namespace
            && p.metric == q.metric
            && p.dimensions == dimensions
            && (start..end).contains(&p.timestamp)
    }) {
        let bucket = start + (p.timestamp - start) / period * period;
        buckets.entry(bucket).or_default().push(p.value);
    }
    let points = buckets
        .into_iter()
        .map(|(t, values)| Ok((t, aggregate(&q.stat, &values)?)))
        .collect::<PortResult<_>>()?;
    Ok(MetricSeries {
        id: q.id.clone(),
        points,
    })
}

#[async_trait]
impl MetricsApi for Port {
    async fn metric_data(&self, queries: &[MetricQuery], start: i64, end: i64) -> PortResult<Vec<MetricSeries>> {
        self.0
            .call("cloudwatch.GetMetricData", "", |s| {
                if queries.len() > 500 {
                    return Err(invalid(INVALID, "at most 500 metric data queries per call"));
                }
                queries
                    .iter()
                    .map(|q| series(&s.metric_points, q, start, end))
                    .collect()
            })
            .await
    }
}
