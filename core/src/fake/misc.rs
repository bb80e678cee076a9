//! RDS, STS, SNS and the sites' HTTP probe.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl RdsApi for Port {
    async fn instance_endpoint(&self, identifier: &str) -> PortResult<(String, u16)> {
        self.0
            .call("rds.DescribeDBInstances", identifier, |s| {
                s.rds_instances
                    .get(identifier)
                    .cloned()
                    .ok_or_else(|| not_found("DBInstanceNotFound", format!("DBInstance {identifier} not found.")))
            })
            .await
    }

    async fn auth_token(&self, host: &str, port: u16, user: &str) -> PortResult<String> {
        self.0
            .call("rds-db.GenerateAuthToken", user, |_| {
                Ok(super::fake_iam_token(host, port, user))
            })
            .await
    }
}

#[async_trait]
impl TopicsApi for Port {
    async fn topic_exists(&self, arn: &str) -> PortResult<bool> {
        self.0
            .call("sns.GetTopicAttributes", arn, |s| Ok(s.topics.contains(arn)))
            .await
    }
}

#[async_trait]
impl StsApi for Port {
    async fn caller_arn(&self) -> PortResult<String> {
        self.0
            .call("sts.GetCallerIdentity", "", |s| Ok(s.caller_arn.clone()))
            .await
    }
}

#[async_trait]
impl SiteProbe for Port {
    async fn status(&self, url: &str) -> PortResult<u16> {
        self.0
            .call("site.Get", url, |s| {
                s.sites.get(url).copied().ok_or_else(|| {
                    PortError::new(
                        PortErrorKind::Transient,
                        "NameNotResolved",
                        format!("GET {url}: the host name does not resolve"),
                    )
                })
            })
            .await
    }
}
