//! EFS: access points.

use async_trait::async_trait;

use super::*;

const AP_NOT_FOUND: &str = "AccessPointNotFound";
const FS_NOT_FOUND: &str = "FileSystemNotFound";

impl FakeState {
    fn file_system(&self, id: &str) -> PortResult<()> {
        if self.file_systems.contains(id) {
            Ok(())
        } else {
            Err(not_found(FS_NOT_FOUND, format!("File system '{id}' does not exist.")))
        }
    }
}

#[async_trait]
impl EfsApi for Port {
    async fn describe_access_points(&self, file_system_id: &str) -> PortResult<Vec<ObservedAccessPoint>> {
        self.0
            .call("efs.DescribeAccessPoints", file_system_id, |s| {
                s.file_system(file_system_id)?;
                Ok(s.access_points
                    .values()
                    .filter(|a| a.file_system_id == file_system_id)
                    .cloned()
                    .collect())
            })
            .await
    }

    async fn create_access_point(&self, spec: &AccessPointSpec) -> PortResult<ObservedAccessPoint> {
        self.0
            .call("efs.CreateAccessPoint", spec.name.clone(), |s| {
                s.file_system(&spec.file_system_id)?;
                // Like EFS: a retry with the ClientToken of the call that
                // made an access point answers that one; other settings
                // under the same token are a mismatch.
                if let Some(id) = s.made_with_token("efs.CreateAccessPoint", spec.client_token.as_ref())
                    && let Some(a) = s.access_points.get(id)
                {
                    if a.root_directory != spec.root_directory || a.file_system_id != spec.file_system_id {
                        return Err(invalid(
                            "IdempotentParameterMismatch",
                            "The client token is already in use with different parameters.",
                        ));
                    }
                    return Ok(a.clone());
                }
                if s.access_points
                    .values()
                    .filter(|a| a.file_system_id == spec.file_system_id)
                    .count()
                    >= 1000
                {
                    return Err(PortError::new(
                        PortErrorKind::Other,
                        "AccessPointLimitExceeded",
                        format!(
                            "You have reached the maximum number of access points (1000) for file system {}.",
                            spec.file_system_id
                        ),
                    ));
                }
                let root = &spec.root_directory;
                if !root.starts_with('/') || root.len() > 100 {
                    return Err(invalid(
                        "BadRequest",
                        format!("root directory path {root:?} must start with / and be at most 100 characters"),
                    ));
                }
                if spec.posix_uid < 0 || spec.posix_uid > i64::from(u32::MAX) {
                    return Err(invalid(
                        "BadRequest",
                        format!("POSIX uid {} is out of range", spec.posix_uid),
                    ));
                }
                let mut all_tags = spec.tags.clone();
                all_tags.insert("Name".into(), spec.name.clone());
                check_tags(&all_tags, "BadRequest")?;
                let id = format!("fsap-{}", s.hex(17));
                let a = ObservedAccessPoint {
                    arn: format!("arn:aws:elasticfilesystem:{REGION}:{ACCOUNT_ID}:access-point/{id}"),
                    id: id.clone(),
                    file_system_id: spec.file_system_id.clone(),
                    name: spec.name.clone(),
                    root_directory: spec.root_directory.clone(),
                    posix_uid: Some(spec.posix_uid),
                    tags: spec
                        .tags
                        .iter()
                        .filter(|(k, _)| k.as_str() != "Name")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                };
                s.access_points.insert(id.clone(), a.clone());
                s.remember_token("efs.CreateAccessPoint", spec.client_token.as_ref(), id);
                Ok(a)
            })
            .await
    }

    async fn delete_access_point(&self, id: &str) -> PortResult<()> {
        self.0
            .call("efs.DeleteAccessPoint", id, |s| {
                s.access_points
                    .remove(id)
                    .map(|_| ())
                    .ok_or_else(|| not_found(AP_NOT_FOUND, format!("Access point '{id}' does not exist.")))
            })
            .await
    }

    async fn tag_resource(&self, id: &str, tags: &Tags) -> PortResult<()> {
        self.0
            .call("efs.TagResource", id, |s| {
                if id.starts_with("fs-") {
                    s.file_system(id)?;
                    return Ok(());
                }
                let a = s
                    .access_points
                    .get_mut(id)
                    .ok_or_else(|| not_found(AP_NOT_FOUND, format!("Access point '{id}' does not exist.")))?;
                let mut all = a.tags.clone();
                all.insert("Name".into(), a.name.clone());
                let all = merged_tags(&all, tags, "BadRequest")?;
                a.name = all.get("Name").cloned().unwrap_or_default();
                a.tags = all.into_iter().filter(|(k, _)| k != "Name").collect();
                Ok(())
            })
            .await
    }

    async fn untag_resource(&self, id: &str, keys: &[String]) -> PortResult<()> {
        self.0
            .call("efs.UntagResource", id, |s| {
                let a = s
                    .access_points
                    .get_mut(id)
                    .ok_or_else(|| not_found(AP_NOT_FOUND, format!("Access point '{id}' does not exist.")))?;
                if keys.iter().any(|k| k == "Name") {
                    a.name.clear();
                }
                untagged(&mut a.tags, keys, "BadRequest")
            })
            .await
    }
}
