//! SNS: whether the alarms' topic exists.

use async_trait::async_trait;
use aws_sdk_sns::Client;

use super::error::{Endpoint, on};
use crate::ports::{PortResult, TopicsApi};

/// [`TopicsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsTopics {
    client: Client,
    ep: Endpoint,
}

impl AwsTopics {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsTopics { client, ep }
    }
}

#[async_trait]
impl TopicsApi for AwsTopics {
    async fn topic_exists(&self, arn: &str) -> PortResult<bool> {
        match self.client.get_topic_attributes().topic_arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found_exception()) => Ok(false),
            Err(e) => Err(on(&self.ep, "GetTopicAttributes")(e)),
        }
    }
}
