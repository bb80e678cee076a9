//! STS: who is calling.

use async_trait::async_trait;
use aws_sdk_sts::Client;

use super::error::{Endpoint, on};
use crate::ports::{PortError, PortErrorKind, PortResult, StsApi};

/// [`StsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsSts {
    client: Client,
    ep: Endpoint,
}

impl AwsSts {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsSts { client, ep }
    }
}

#[async_trait]
impl StsApi for AwsSts {
    async fn caller_arn(&self) -> PortResult<String> {
        let op = "GetCallerIdentity";
        let r = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        r.arn()
            .map(str::to_string)
            .ok_or_else(|| PortError::new(PortErrorKind::Other, op, format!("{op}: no ARN in the answer")))
    }
}
