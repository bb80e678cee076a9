//! STS: who is calling.
//!
//! The answer is kept for the port's life: the caller of one process is
//! one identity (its credentials, or the one role it assumes, come from the
//! provider block), and every audit record asks for it, so without the
//! cache each created tenant cost a `GetCallerIdentity`. Only an answer is
//! kept; an error is asked again next time.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sts::Client;
use tokio::sync::OnceCell;

use super::error::{Endpoint, on};
use crate::ports::{PortError, PortErrorKind, PortResult, StsApi};

/// [`StsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsSts {
    client: Client,
    ep: Endpoint,
    caller: Arc<OnceCell<String>>,
}

impl AwsSts {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsSts {
            client,
            ep,
            caller: Arc::new(OnceCell::new()),
        }
    }

    async fn ask(&self) -> PortResult<String> {
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

#[async_trait]
impl StsApi for AwsSts {
    async fn caller_arn(&self) -> PortResult<String> {
        self.caller.get_or_try_init(|| self.ask()).await.cloned()
    }
}
