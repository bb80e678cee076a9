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

/// An alarm as the fake keeps it: what was put, and the tags it was
/// created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAlarm {
    /// As put.
    pub definition: AlarmDefinition,
    /// Tags from its creation.
    pub tags: Tags,
}

/// What AWS refuses of an alarm: a name of 1 to 255 characters, a
/// description of at most 1024, 1 to 10 queries of which exactly one is
/// returned, ids lower case and unique, at least one period.
fn check_alarm(a: &AlarmDefinition) -> PortResult<()> {
    const VALIDATION: &str = "ValidationError";
    if a.name.is_empty() || a.name.len() > 255 {
        return Err(invalid(VALIDATION, "an alarm name has 1 to 255 characters"));
    }
    if a.description.len() > 1024 {
        return Err(invalid(VALIDATION, "an alarm description has at most 1024 characters"));
    }
    if a.queries.is_empty() || a.queries.len() > 10 {
        return Err(invalid(VALIDATION, "an alarm has 1 to 10 metric queries"));
    }
    if a.queries.iter().filter(|q| q.returned).count() != 1 {
        return Err(invalid(VALIDATION, "exactly one metric query of an alarm returns data"));
    }
    let mut ids: Vec<&str> = a.queries.iter().map(|q| q.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let lower = |id: &&str| id.starts_with(|c: char| c.is_ascii_lowercase());
    if ids.len() != a.queries.len() || !ids.iter().all(lower) {
        return Err(invalid(
            VALIDATION,
            "metric query ids are unique and start with a lower-case letter",
        ));
    }
    if a.evaluation_periods == 0 || a.datapoints_to_alarm > a.evaluation_periods {
        return Err(invalid(
            VALIDATION,
            "DatapointsToAlarm must be at most EvaluationPeriods",
        ));
    }
    if !a.topic_arn.starts_with("arn:aws:sns:") {
        return Err(invalid(VALIDATION, format!("invalid alarm action {:?}", a.topic_arn)));
    }
    Ok(())
}

#[async_trait]
impl AlarmsApi for Port {
    async fn describe_alarms(&self, names: &[String]) -> PortResult<Vec<ObservedAlarm>> {
        self.0
            .call("cloudwatch.DescribeAlarms", names.join(","), |s| {
                Ok(names
                    .iter()
                    .filter_map(|n| s.alarms.get(n))
                    .map(|a| ObservedAlarm {
                        definition: a.definition.clone(),
                        actions_as_set: true,
                        comparison: ALARM_COMPARISON.into(),
                        treat_missing_data: ALARM_MISSING_DATA.into(),
                    })
                    .collect())
            })
            .await
    }

    async fn put_alarm(&self, alarm: &AlarmDefinition, tags: &Tags) -> PortResult<()> {
        self.0
            .call("cloudwatch.PutMetricAlarm", alarm.name.clone(), |s| {
                check_alarm(alarm)?;
                check_tags(tags, "LimitExceeded")?;
                // Tags are set when an alarm is created, kept on a replace.
                let tags = s
                    .alarms
                    .get(&alarm.name)
                    .map_or_else(|| tags.clone(), |a| a.tags.clone());
                s.alarms.insert(
                    alarm.name.clone(),
                    FakeAlarm {
                        definition: alarm.clone(),
                        tags,
                    },
                );
                Ok(())
            })
            .await
    }

    async fn delete_alarms(&self, names: &[String]) -> PortResult<()> {
        self.0
            .call("cloudwatch.DeleteAlarms", names.join(","), |s| {
                if names.len() > 100 {
                    return Err(invalid("ValidationError", "at most 100 alarm names per DeleteAlarms"));
                }
                for n in names {
                    s.alarms.remove(n);
                }
                Ok(())
            })
            .await
    }
}
