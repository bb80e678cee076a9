//! EFS: access points.

use async_trait::async_trait;
use aws_sdk_efs::Client;
use aws_sdk_efs::types::{AccessPointDescription, CreationInfo, PosixUser, RootDirectory, Tag};

use super::error::{Endpoint, build_error, on};
use super::retry::{Created, create_unduplicated, unnamed_create_attempts};
use super::tag_pairs;
use crate::parts::*;
use crate::ports::{EfsApi, PortError, PortErrorKind, PortResult};
use aws_config::retry::RetryConfig;
use futures::TryFutureExt;

/// Permissions of the access point's root directory when EFS creates it.
const ROOT_PERMISSIONS: &str = "0755";
/// The tag EFS shows as the access point's name.
const NAME_TAG: &str = "Name";

/// [`EfsApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsEfs {
    client: Client,
    ep: Endpoint,
}

impl AwsEfs {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsEfs { client, ep }
    }
}

fn efs_tags(op: &str, tags: &Tags) -> PortResult<Vec<Tag>> {
    tag_pairs(tags)
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(|e| build_error(op, e)))
        .collect()
}

fn observe(a: &AccessPointDescription) -> ObservedAccessPoint {
    let mut tags: Tags = a
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let name_tag = tags.remove(NAME_TAG);
    ObservedAccessPoint {
        id: a.access_point_id().unwrap_or_default().to_string(),
        arn: a.access_point_arn().unwrap_or_default().to_string(),
        file_system_id: a.file_system_id().unwrap_or_default().to_string(),
        name: a
            .name()
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .or(name_tag)
            .unwrap_or_default(),
        root_directory: a.root_directory().and_then(|r| r.path()).unwrap_or("/").to_string(),
        posix_uid: a.posix_user().map(|p| p.uid()),
        tags,
    }
}

#[async_trait]
impl EfsApi for AwsEfs {
    async fn describe_access_points(&self, file_system_id: &str) -> PortResult<Vec<ObservedAccessPoint>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .client
                .describe_access_points()
                .file_system_id(file_system_id)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeAccessPoints"))?;
            out.extend(r.access_points().iter().map(observe));
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        if out.is_empty() {
            // EFS answers FileSystemNotFound for an unknown file system;
            // emulators may list nothing instead, so make sure it exists.
            self.client
                .describe_file_systems()
                .file_system_id(file_system_id)
                .send()
                .await
                .map_err(on(&self.ep, "DescribeFileSystems"))?;
        }
        Ok(out)
    }

    async fn create_access_point(&self, spec: &AccessPointSpec) -> PortResult<ObservedAccessPoint> {
        let op = "CreateAccessPoint";
        let mut tags = spec.tags.clone();
        tags.insert(NAME_TAG.into(), spec.name.clone());
        let posix = PosixUser::builder()
            .uid(spec.posix_uid)
            .gid(spec.posix_uid)
            .build()
            .map_err(|e| build_error(op, e))?;
        let creation = CreationInfo::builder()
            .owner_uid(spec.posix_uid)
            .owner_gid(spec.posix_uid)
            .permissions(ROOT_PERMISSIONS)
            .build()
            .map_err(|e| build_error(op, e))?;
        let root = RootDirectory::builder()
            .path(&spec.root_directory)
            .creation_info(creation)
            .build();
        let request = self
            .client
            .create_access_point()
            // Unique per creation (the engine derives it from its run token):
            // a Name-derived token would hand a replacement the access
            // point it replaces while that one exists.
            .set_client_token(spec.client_token.clone())
            .file_system_id(&spec.file_system_id)
            .posix_user(posix)
            .root_directory(root)
            .set_tags(Some(efs_tags(op, &tags)?));
        // Access points have no unique name, and moto ignores ClientToken:
        // the SDK's own retry of a request whose answer was lost would make
        // a second one there. So the port retries, and first looks for the
        // access point this run made.
        let attempts = unnamed_create_attempts(self.client.config().retry_config());
        let sent = create_unduplicated(
            attempts,
            None,
            || {
                request
                    .clone()
                    .customize()
                    .config_override(aws_sdk_efs::config::Builder::default().retry_config(RetryConfig::disabled()))
                    .send()
                    .map_err(on(&self.ep, op))
            },
            || self.made_by_this_run(spec),
        )
        .await?;
        let r = match sent {
            Created::Answered(r) => r,
            Created::Found(made) => return Ok(made),
        };
        let id = r.access_point_id().unwrap_or_default();
        if id.is_empty() {
            return Err(PortError::new(
                PortErrorKind::Other,
                op,
                "CreateAccessPoint returned no access point id",
            ));
        }
        let desc = AccessPointDescription::builder()
            .access_point_id(id)
            .set_access_point_arn(r.access_point_arn().map(str::to_string))
            .set_file_system_id(r.file_system_id().map(str::to_string))
            .set_name(r.name().map(str::to_string))
            .set_tags(Some(r.tags().to_vec()))
            .set_posix_user(r.posix_user().cloned())
            .set_root_directory(r.root_directory().cloned())
            .build();
        let mut o = observe(&desc);
        if o.tags.is_empty() && o.name.is_empty() {
            o.tags = spec.tags.clone();
            o.name = spec.name.clone();
        }
        Ok(o)
    }

    async fn delete_access_point(&self, id: &str) -> PortResult<()> {
        // EFS answers AccessPointNotFound for a missing access point;
        // emulators may accept the delete silently, so look first.
        self.client
            .describe_access_points()
            .access_point_id(id)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeAccessPoints"))?;
        self.client
            .delete_access_point()
            .access_point_id(id)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteAccessPoint"))?;
        Ok(())
    }

    async fn tag_resource(&self, id: &str, tags: &Tags) -> PortResult<()> {
        let op = "TagResource";
        self.client
            .tag_resource()
            .resource_id(id)
            .set_tags(Some(efs_tags(op, tags)?))
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        Ok(())
    }

    async fn untag_resource(&self, id: &str, keys: &[String]) -> PortResult<()> {
        self.client
            .untag_resource()
            .resource_id(id)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(on(&self.ep, "UntagResource"))?;
        Ok(())
    }
}

impl AwsEfs {
    /// The access point named as `spec` that the run creating it made (its
    /// run tag), i.e. an attempt whose answer was lost.
    async fn made_by_this_run(&self, spec: &AccessPointSpec) -> Option<ObservedAccessPoint> {
        let run = spec.tags.get(crate::naming::TAG_RUN)?;
        let all = self.describe_access_points(&spec.file_system_id).await.ok()?;
        all.into_iter()
            .find(|a| a.name == spec.name && a.tags.get(crate::naming::TAG_RUN) == Some(run))
    }
}
