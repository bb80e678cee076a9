//! CloudWatch Logs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, LogGroup};

use super::error::{Endpoint, build_error, on, sdk_error};
use crate::parts::*;
use crate::ports::{LogEvent, LogEventPage, LogsApi, PortError, PortErrorKind, PortResult};

/// [`LogsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsLogs {
    client: Client,
    ep: Endpoint,
    /// Resource Groups Tagging API: tags of many log groups in one call.
    tagging: aws_sdk_resourcegroupstagging::Client,
    tagging_ep: Endpoint,
}

/// Listings of more groups than this read their tags in bulk.
const BULK_TAGS_FROM: usize = 3;

/// A log group ARN without the `:*` DescribeLogGroups appends.
fn bare_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

fn group_arn(g: &LogGroup) -> String {
    g.log_group_arn()
        .map(str::to_string)
        .unwrap_or_else(|| bare_arn(g.arn().unwrap_or_default()).to_string())
}

/// A listed group with its tags.
fn observed(g: &LogGroup, tags: Tags) -> ObservedLogGroup {
    ObservedLogGroup {
        name: g.log_group_name().unwrap_or_default().to_string(),
        arn: group_arn(g),
        retention_days: g.retention_in_days().and_then(|d| u32::try_from(d).ok()),
        tags,
        created_ms: g.creation_time(),
    }
}

fn to_hash_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Ignores "already exists".
fn created(r: PortResult<()>) -> PortResult<()> {
    match r {
        Err(e) if e.kind == PortErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

impl AwsLogs {
    pub(crate) fn new(
        client: Client,
        ep: Endpoint,
        (tagging, tagging_ep): (aws_sdk_resourcegroupstagging::Client, Endpoint),
    ) -> Self {
        AwsLogs {
            client,
            ep,
            tagging,
            tagging_ep,
        }
    }

    /// The tags of every tagged log group in the region, by bare ARN: one
    /// GetResources call per 100 groups. A group it does not list has no
    /// tags, or was tagged too recently for this eventually consistent API
    /// to know; callers read those one by one.
    async fn tags_in_bulk(&self) -> PortResult<HashMap<String, Tags>> {
        let op = "GetResources";
        let mut out = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .tagging
                .get_resources()
                // The service as a whole: emulators disagree on the name of
                // the log-group type, and the ARNs say what each one is.
                .resource_type_filters("logs")
                .resources_per_page(100)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(on(&self.tagging_ep, op))?;
            for m in r.resource_tag_mapping_list() {
                let Some(arn) = m.resource_arn().filter(|a| a.contains(":log-group:")) else {
                    continue;
                };
                let tags: Tags = m
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                out.insert(bare_arn(arn).to_string(), tags);
            }
            match r.pagination_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn tags(&self, arn: &str, name: &str) -> PortResult<Tags> {
        match self.client.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(r) => Ok(r
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()),
            Err(e) => {
                let err = sdk_error(&self.ep, "ListTagsForResource", e);
                if err.kind == PortErrorKind::NotFound || err.kind == PortErrorKind::AccessDenied {
                    return Err(err);
                }
                // Older endpoints: the deprecated by-name call.
                #[allow(deprecated)]
                let r = self.client.list_tags_log_group().log_group_name(name).send().await;
                match r {
                    Ok(r) => Ok(r
                        .tags()
                        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default()),
                    Err(_) => Err(err),
                }
            }
        }
    }

    async fn observe(&self, g: &LogGroup) -> PortResult<ObservedLogGroup> {
        let tags = self.tags(&group_arn(g), g.log_group_name().unwrap_or_default()).await?;
        Ok(observed(g, tags))
    }

    async fn create_stream(&self, group: &str, stream: &str) -> PortResult<()> {
        self.client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .map(|_| ())
            .map_err(on(&self.ep, "CreateLogStream"))
    }

    /// The stream, created unless it exists (and its group with it).
    async fn ensure_stream(&self, group: &str, stream: &str) -> PortResult<()> {
        match created(self.create_stream(group, stream).await) {
            Err(e) if e.kind == PortErrorKind::NotFound => {
                created(
                    self.client
                        .create_log_group()
                        .log_group_name(group)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(on(&self.ep, "CreateLogGroup")),
                )?;
                created(self.create_stream(group, stream).await)
            }
            other => other,
        }
    }

    async fn put_events(&self, group: &str, stream: &str, message: &str) -> PortResult<()> {
        let op = "PutLogEvents";
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let event = InputLogEvent::builder()
            .timestamp(i64::try_from(now).unwrap_or(i64::MAX))
            .message(message)
            .build()
            .map_err(|e| build_error(op, e))?;
        self.client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .log_events(event)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        Ok(())
    }
}

#[async_trait]
impl LogsApi for AwsLogs {
    async fn describe_log_groups(&self, prefix: &str) -> PortResult<Vec<ObservedLogGroup>> {
        let mut groups = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .describe_log_groups()
                .set_log_group_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeLogGroups"))?;
            groups.extend(
                r.log_groups()
                    .iter()
                    .filter(|g| g.log_group_name().is_some_and(|n| n.starts_with(prefix)))
                    .cloned(),
            );
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        let mut bulk = HashMap::new();
        if groups.len() >= BULK_TAGS_FROM {
            match self.tags_in_bulk().await {
                Ok(tags) => bulk = tags,
                // Not allowed (tag:GetResources) or not served here: one by one.
                Err(e) => tracing::debug!(error = %e, "log group tags in bulk failed; reading them one by one"),
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for g in &groups {
            match bulk.remove(&group_arn(g)) {
                Some(tags) => out.push(observed(g, tags)),
                None => out.push(self.observe(g).await?),
            }
        }
        Ok(out)
    }

    async fn create_log_group(&self, spec: &LogGroupSpec) -> PortResult<ObservedLogGroup> {
        let op = "CreateLogGroup";
        self.client
            .create_log_group()
            .log_group_name(&spec.name)
            .set_tags((!spec.tags.is_empty()).then(|| to_hash_map(&spec.tags)))
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        self.put_retention_policy(&spec.name, spec.retention_days).await?;
        if let Some(arn) = &spec.arn {
            return Ok(ObservedLogGroup {
                name: spec.name.clone(),
                arn: arn.clone(),
                retention_days: Some(spec.retention_days),
                tags: spec.tags.clone(),
                created_ms: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .ok()
                    .and_then(|d| i64::try_from(d.as_millis()).ok()),
            });
        }
        // CreateLogGroup returns nothing: read the ARN back (allowing the
        // new group a moment to become visible).
        let mut found = None;
        for attempt in 0..4u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
            }
            let r = self
                .client
                .describe_log_groups()
                .log_group_name_prefix(&spec.name)
                .send()
                .await
                .map_err(on(&self.ep, "DescribeLogGroups"))?;
            found = r
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(spec.name.as_str()))
                .cloned();
            if found.is_some() {
                break;
            }
        }
        let g = found.ok_or_else(|| {
            PortError::new(
                PortErrorKind::Transient,
                op,
                format!("{op}: log group {} created but not visible yet", spec.name),
            )
        })?;
        let g = &g;
        Ok(ObservedLogGroup {
            name: spec.name.clone(),
            arn: group_arn(g),
            retention_days: g
                .retention_in_days()
                .and_then(|d| u32::try_from(d).ok())
                .or(Some(spec.retention_days)),
            tags: spec.tags.clone(),
            created_ms: g.creation_time(),
        })
    }

    async fn put_retention_policy(&self, name: &str, days: u32) -> PortResult<()> {
        let op = "PutRetentionPolicy";
        let days = i32::try_from(days).map_err(|_| {
            PortError::new(
                PortErrorKind::InvalidInput,
                "InvalidParameterException",
                format!("{op}: {days} days"),
            )
        })?;
        self.client
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        Ok(())
    }

    async fn delete_log_group(&self, name: &str) -> PortResult<()> {
        self.client
            .delete_log_group()
            .log_group_name(name)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteLogGroup"))?;
        Ok(())
    }

    async fn tag_log_group(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.client
            .tag_resource()
            .resource_arn(bare_arn(arn))
            .set_tags(Some(to_hash_map(tags)))
            .send()
            .await
            .map_err(on(&self.ep, "TagResource"))?;
        Ok(())
    }

    async fn untag_log_group(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.client
            .untag_resource()
            .resource_arn(bare_arn(arn))
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(on(&self.ep, "UntagResource"))?;
        Ok(())
    }

    /// A missing stream is the usual case (one stream per tenant, the group
    /// shared by the environment): the stream is created first, and the
    /// group only when that says it is missing too. CreateLogGroup has one
    /// of Logs' smallest rates (5 a second), which the tenants' own log
    /// groups need.
    async fn append_event(&self, group: &str, stream: &str, message: &str) -> PortResult<()> {
        match self.put_events(group, stream, message).await {
            Err(e) if e.kind == PortErrorKind::NotFound => {
                self.ensure_stream(group, stream).await?;
                self.put_events(group, stream, message).await
            }
            other => other,
        }
    }

    async fn append_event_to_new_stream(&self, group: &str, stream: &str, message: &str) -> PortResult<()> {
        self.ensure_stream(group, stream).await?;
        self.put_events(group, stream, message).await
    }

    async fn filter_events(&self, group: &str, start_ms: i64, page: Option<String>) -> PortResult<LogEventPage> {
        let r = self
            .client
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_next_token(page)
            .send()
            .await
            .map_err(on(&self.ep, "FilterLogEvents"))?;
        let mut events: Vec<LogEvent> = r
            .events()
            .iter()
            .map(|e| LogEvent {
                timestamp_ms: e.timestamp().unwrap_or_default(),
                stream: e.log_stream_name().unwrap_or_default().to_owned(),
                message: e.message().unwrap_or_default().to_owned(),
                event_id: e.event_id().unwrap_or_default().to_owned(),
            })
            .collect();
        // Interleaved by time within a page, as the API promises; sorted
        // again so that a server that does not keep it still reads in order.
        events.sort_by_key(|e| e.timestamp_ms);
        Ok(LogEventPage {
            events,
            next: r.next_token().filter(|t| !t.is_empty()).map(str::to_owned),
        })
    }
}
