//! RDS: where the shared MySQL server is.

use async_trait::async_trait;
use aws_sdk_rds::Client;

use super::error::{Endpoint, on};
use crate::ports::{PortError, PortErrorKind, PortResult, RdsApi};

/// [`RdsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsRds {
    client: Client,
    ep: Endpoint,
}

impl AwsRds {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsRds { client, ep }
    }
}

#[async_trait]
impl RdsApi for AwsRds {
    async fn instance_endpoint(&self, identifier: &str) -> PortResult<(String, u16)> {
        let op = "DescribeDBInstances";
        let r = self
            .client
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let not_found = || {
            PortError::new(
                PortErrorKind::NotFound,
                "DBInstanceNotFound",
                format!("{op}: DB instance {identifier} not found"),
            )
        };
        let db = r.db_instances().first().ok_or_else(not_found)?;
        let ep = db.endpoint().ok_or_else(|| {
            PortError::new(
                PortErrorKind::Transient,
                "EndpointNotReady",
                format!(
                    "{op}: DB instance {identifier} has no endpoint yet (status {})",
                    db.db_instance_status().unwrap_or("unknown")
                ),
            )
        })?;
        let host = ep.address().unwrap_or_default().to_string();
        let port = ep.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(3306);
        if host.is_empty() {
            return Err(PortError::new(
                PortErrorKind::Transient,
                "EndpointNotReady",
                format!("{op}: DB instance {identifier} has no address yet"),
            ));
        }
        Ok((host, port))
    }
}
