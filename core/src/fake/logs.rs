//! CloudWatch Logs.

use async_trait::async_trait;

use super::*;

const NOT_FOUND: &str = "ResourceNotFoundException";
const INVALID: &str = "InvalidParameterException";

/// Retention values CloudWatch Logs accepts.
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

fn check_name(name: &str) -> PortResult<()> {
    let ok =
        (1..=512).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            INVALID,
            format!("log group name {name:?} must be 1 to 512 characters of [.-_/#A-Za-z0-9]"),
        ))
    }
}

fn check_retention(days: u32) -> PortResult<()> {
    if RETENTION_DAYS.contains(&days) {
        Ok(())
    } else {
        Err(invalid(
            INVALID,
            format!("retentionInDays {days} is not one of {RETENTION_DAYS:?}"),
        ))
    }
}

/// Events a `FilterLogEvents` page holds here: few, so that the callers'
/// paging is exercised (AWS's pages hold up to 10,000 events or 1 MB).
const FILTER_PAGE: usize = 10;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

impl FakeLogGroup {
    /// The page of `FilterLogEvents` from `start_ms`: every stream
    /// interleaved, oldest first; a token is the index of the next event.
    fn filter(&self, start_ms: i64, page: Option<&str>) -> PortResult<LogEventPage> {
        let mut all: Vec<LogEvent> = self
            .streams
            .iter()
            .flat_map(|(stream, events)| {
                events.iter().map(move |e| LogEvent {
                    timestamp_ms: e.timestamp_ms,
                    stream: stream.clone(),
                    message: e.message.clone(),
                    event_id: e.event_id.clone(),
                })
            })
            .filter(|e| e.timestamp_ms >= start_ms)
            .collect();
        all.sort_by(|a, b| (a.timestamp_ms, &a.event_id).cmp(&(b.timestamp_ms, &b.event_id)));
        let from = match page {
            None => 0,
            Some(t) => t
                .parse::<usize>()
                .map_err(|_| invalid(INVALID, format!("the next token {t:?} is not valid")))?,
        };
        let to = (from + FILTER_PAGE).min(all.len());
        Ok(LogEventPage {
            next: (to < all.len()).then(|| to.to_string()),
            events: all.get(from..to).map(<[LogEvent]>::to_vec).unwrap_or_default(),
        })
    }
}

fn group(name: &str) -> FakeLogGroup {
    FakeLogGroup {
        name: name.to_owned(),
        arn: format!("arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}"),
        retention_days: None,
        tags: Tags::new(),
        streams: BTreeMap::new(),
        created_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok()),
    }
}

impl FakeLogGroup {
    fn observe(&self) -> ObservedLogGroup {
        ObservedLogGroup {
            name: self.name.clone(),
            arn: self.arn.clone(),
            retention_days: self.retention_days,
            tags: self.tags.clone(),
            created_ms: self.created_ms,
        }
    }
}

impl FakeState {
    fn log_group_mut(&mut self, name: &str) -> PortResult<&mut FakeLogGroup> {
        self.log_groups
            .get_mut(name)
            .ok_or_else(|| not_found(NOT_FOUND, "The specified log group does not exist."))
    }
}

#[async_trait]
impl LogsApi for Port {
    async fn describe_log_groups(&self, prefix: &str) -> PortResult<Vec<ObservedLogGroup>> {
        self.0
            .call("logs.DescribeLogGroups", prefix, |s| {
                Ok(s.log_groups
                    .values()
                    .filter(|g| g.name.starts_with(prefix))
                    .map(FakeLogGroup::observe)
                    .collect())
            })
            .await
    }

    async fn create_log_group(&self, spec: &LogGroupSpec) -> PortResult<ObservedLogGroup> {
        self.0
            .call("logs.CreateLogGroup", spec.name.clone(), |s| {
                check_name(&spec.name)?;
                check_retention(spec.retention_days)?;
                check_tags(&spec.tags, INVALID)?;
                if s.log_groups.contains_key(&spec.name) {
                    return Err(exists(
                        "ResourceAlreadyExistsException",
                        "The specified log group already exists",
                    ));
                }
                let mut g = group(&spec.name);
                g.retention_days = Some(spec.retention_days);
                g.tags = spec.tags.clone();
                let observed = g.observe();
                s.log_groups.insert(spec.name.clone(), g);
                Ok(observed)
            })
            .await
    }

    async fn put_retention_policy(&self, name: &str, days: u32) -> PortResult<()> {
        self.0
            .call("logs.PutRetentionPolicy", name, |s| {
                check_retention(days)?;
                s.log_group_mut(name)?.retention_days = Some(days);
                Ok(())
            })
            .await
    }

    async fn delete_log_group(&self, name: &str) -> PortResult<()> {
        self.0
            .call("logs.DeleteLogGroup", name, |s| {
                s.log_groups
                    .remove(name)
                    .map(|_| ())
                    .ok_or_else(|| not_found(NOT_FOUND, "The specified log group does not exist."))
            })
            .await
    }

    async fn tag_log_group(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.0
            .call("logs.TagResource", arn, |s| {
                let arn = arn.trim_end_matches(":*");
                let g = s
                    .log_groups
                    .values_mut()
                    .find(|g| g.arn == arn)
                    .ok_or_else(|| not_found(NOT_FOUND, "The specified log group does not exist."))?;
                g.tags = merged_tags(&g.tags, tags, INVALID)?;
                Ok(())
            })
            .await
    }

    async fn untag_log_group(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.0
            .call("logs.UntagResource", arn, |s| {
                let arn = arn.trim_end_matches(":*");
                let g = s
                    .log_groups
                    .values_mut()
                    .find(|g| g.arn == arn)
                    .ok_or_else(|| not_found(NOT_FOUND, "The specified log group does not exist."))?;
                untagged(&mut g.tags, keys, INVALID)
            })
            .await
    }

    async fn append_event(&self, group_name: &str, stream: &str, message: &str) -> PortResult<()> {
        self.0
            .call("logs.PutLogEvents", format!("{group_name}:{stream}"), |s| {
                check_name(group_name)?;
                if stream.is_empty() || stream.len() > 512 || stream.contains(':') || stream.contains('*') {
                    return Err(invalid(
                        INVALID,
                        format!("log stream name {stream:?} must be 1 to 512 characters without ':' and '*'"),
                    ));
                }
                if message.is_empty() || message.len() > 256 * 1024 - 26 {
                    return Err(invalid(INVALID, "a log event message must be 1 byte to 256 KiB"));
                }
                let event_id = format!("{:056}", s.next());
                let g = s
                    .log_groups
                    .entry(group_name.to_owned())
                    .or_insert_with(|| group(group_name));
                g.streams.entry(stream.to_owned()).or_default().push(FakeLogEvent {
                    timestamp_ms: now_ms(),
                    message: message.to_owned(),
                    event_id,
                });
                Ok(())
            })
            .await
    }

    async fn filter_events(&self, group_name: &str, start_ms: i64, page: Option<String>) -> PortResult<LogEventPage> {
        self.0
            .call("logs.FilterLogEvents", group_name, |s| {
                s.log_groups
                    .get(group_name)
                    .ok_or_else(|| not_found(NOT_FOUND, "The specified log group does not exist."))?
                    .filter(start_ms, page.as_deref())
            })
            .await
    }
}
