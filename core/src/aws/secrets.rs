//! Secrets Manager. Secret values only ever travel in request and response
//! bodies; they never appear in errors or logs.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::Tag;

use super::error::{Endpoint, on, sdk_error};
use super::tag_pairs;
use crate::parts::*;
use crate::ports::{PortError, PortErrorKind, PortResult, SecretsApi};

/// [`SecretsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    client: Client,
    ep: Endpoint,
}

impl AwsSecrets {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsSecrets { client, ep }
    }
}

fn sm_tags(tags: &Tags) -> Vec<Tag> {
    tag_pairs(tags)
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

#[async_trait]
impl SecretsApi for AwsSecrets {
    async fn describe_secret(&self, name: &str) -> PortResult<Option<ObservedSecret>> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(r) => Ok(Some(ObservedSecret {
                arn: r.arn().unwrap_or_default().to_string(),
                name: r.name().unwrap_or_default().to_string(),
                tags: r
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect(),
                pending_deletion: r.deleted_date().is_some(),
                description: r.description().map(str::to_owned),
            })),
            Err(e) => {
                let err = sdk_error(&self.ep, "DescribeSecret", e);
                if err.kind == PortErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn list_secrets(&self, prefix: &str) -> PortResult<Vec<ObservedSecret>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .list_secrets()
                .filters(
                    aws_sdk_secretsmanager::types::Filter::builder()
                        .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                        .values(prefix)
                        .build(),
                )
                .include_planned_deletion(true)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(on(&self.ep, "ListSecrets"))?;
            for e in r.secret_list() {
                let name = e.name().unwrap_or_default();
                // The Name filter matches words anywhere; keep true prefixes.
                if !name.starts_with(prefix) {
                    continue;
                }
                out.push(ObservedSecret {
                    arn: e.arn().unwrap_or_default().to_string(),
                    name: name.to_owned(),
                    tags: e
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                        .collect(),
                    pending_deletion: e.deleted_date().is_some(),
                    description: e.description().map(str::to_owned),
                });
            }
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn create_secret(&self, spec: &SecretSpec, value: &str) -> PortResult<ObservedSecret> {
        let op = "CreateSecret";
        let r = self
            .client
            .create_secret()
            .name(&spec.name)
            .description(&spec.description)
            .secret_string(value)
            .set_client_request_token(spec.client_token.clone())
            .set_tags((!spec.tags.is_empty()).then(|| sm_tags(&spec.tags)))
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let arn = r.arn().unwrap_or_default().to_string();
        if arn.is_empty() {
            return Err(PortError::new(PortErrorKind::Other, op, "CreateSecret returned no ARN"));
        }
        Ok(ObservedSecret {
            arn,
            name: r.name().unwrap_or(&spec.name).to_string(),
            tags: spec.tags.clone(),
            pending_deletion: false,
            description: Some(spec.description.clone()),
        })
    }

    async fn get_secret_value(&self, arn: &str) -> PortResult<String> {
        let op = "GetSecretValue";
        let r = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        r.secret_string().map(str::to_string).ok_or_else(|| {
            PortError::new(
                PortErrorKind::InvalidInput,
                "NoSecretString",
                format!("{op}: secret {arn} holds no string value"),
            )
        })
    }

    async fn put_secret_value(&self, arn: &str, value: &str) -> PortResult<()> {
        self.client
            .put_secret_value()
            .secret_id(arn)
            .secret_string(value)
            .send()
            .await
            .map_err(on(&self.ep, "PutSecretValue"))?;
        Ok(())
    }

    async fn delete_secret(&self, arn: &str, recovery_window_days: u32) -> PortResult<()> {
        let mut req = self.client.delete_secret().secret_id(arn);
        req = if recovery_window_days == 0 {
            req.force_delete_without_recovery(true)
        } else {
            req.recovery_window_in_days(i64::from(recovery_window_days))
        };
        match req.send().await.map_err(on(&self.ep, "DeleteSecret")) {
            Ok(_) => Ok(()),
            // Already scheduled: the deletion asked for is the one in place.
            Err(e) if recovery_window_days > 0 && is_marked_for_deletion(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn restore_secret(&self, arn: &str) -> PortResult<()> {
        self.client
            .restore_secret()
            .secret_id(arn)
            .send()
            .await
            .map_err(on(&self.ep, "RestoreSecret"))?;
        Ok(())
    }

    async fn set_description(&self, arn: &str, description: &str) -> PortResult<()> {
        self.client
            .update_secret()
            .secret_id(arn)
            .description(description)
            .send()
            .await
            .map_err(on(&self.ep, "UpdateSecret"))?;
        Ok(())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.client
            .tag_resource()
            .secret_id(arn)
            .set_tags(Some(sm_tags(tags)))
            .send()
            .await
            .map_err(on(&self.ep, "TagResource"))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.client
            .untag_resource()
            .secret_id(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(on(&self.ep, "UntagResource"))?;
        Ok(())
    }
}

/// Whether Secrets Manager refused a call because the secret is scheduled
/// for deletion (AWS: "… because it was marked for deletion."; moto: "…
/// currently marked deleted.").
fn is_marked_for_deletion(e: &crate::ports::PortError) -> bool {
    let m = e.message.to_ascii_lowercase();
    e.code == "InvalidRequestException" && (m.contains("marked for deletion") || m.contains("marked deleted"))
}
