//! S3: buckets, objects and multipart uploads, as AWS has them: a missing
//! bucket is `NoSuchBucket`, every part but the last of an upload must be
//! at least 5 MiB (`EntityTooSmall` at completion), an aborted upload
//! leaves nothing.

use async_trait::async_trait;

use super::*;

/// The smallest part S3 accepts, except the last one.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeObject {
    /// Its bytes.
    pub body: Vec<u8>,
    /// Its server-side encryption.
    pub server_side_encryption: Option<String>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUpload {
    /// Bucket and key.
    pub target: (String, String),
    /// Parts by number: bytes and ETag.
    pub parts: BTreeMap<i32, (Vec<u8>, String)>,
}

fn no_bucket(bucket: &str) -> PortError {
    not_found("NoSuchBucket", format!("The specified bucket does not exist: {bucket}"))
}

fn no_upload(id: &str) -> PortError {
    not_found("NoSuchUpload", format!("The specified upload does not exist: {id}"))
}

fn check_bucket(s: &FakeState, bucket: &str) -> PortResult<()> {
    if s.buckets.contains(bucket) {
        Ok(())
    } else {
        Err(no_bucket(bucket))
    }
}

const SSE: &str = "AES256";

#[async_trait]
impl ObjectStoreApi for Port {
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> PortResult<()> {
        self.0
            .call("s3.PutObject", format!("{bucket}/{key}"), |s| {
                check_bucket(s, bucket)?;
                let object = FakeObject {
                    body,
                    server_side_encryption: Some(SSE.into()),
                };
                s.objects.insert((bucket.to_owned(), key.to_owned()), object);
                Ok(())
            })
            .await
    }

    async fn create_multipart_upload(&self, bucket: &str, key: &str) -> PortResult<String> {
        self.0
            .call("s3.CreateMultipartUpload", format!("{bucket}/{key}"), |s| {
                check_bucket(s, bucket)?;
                let id = s.hex(32);
                let upload = FakeUpload {
                    target: (bucket.to_owned(), key.to_owned()),
                    parts: BTreeMap::new(),
                };
                s.uploads.insert(id.clone(), upload);
                Ok(id)
            })
            .await
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> PortResult<String> {
        self.0
            .call("s3.UploadPart", format!("{bucket}/{key}"), |s| {
                let etag = format!("\"{}\"", s.hex(32));
                let upload = s.uploads.get_mut(upload_id).ok_or_else(|| no_upload(upload_id))?;
                upload.parts.insert(number, (body, etag.clone()));
                Ok(etag)
            })
            .await
    }

    async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> PortResult<()> {
        self.0
            .call("s3.CompleteMultipartUpload", format!("{bucket}/{key}"), |s| {
                let upload = s.uploads.get(upload_id).ok_or_else(|| no_upload(upload_id))?;
                let mut body = Vec::new();
                for (i, (n, etag)) in parts.iter().enumerate() {
                    let (bytes, stored) = upload
                        .parts
                        .get(n)
                        .filter(|(_, e)| e == etag)
                        .ok_or_else(|| invalid("InvalidPart", format!("part {n} was not uploaded")))?;
                    if i + 1 < parts.len() && bytes.len() < MIN_PART_SIZE {
                        return Err(invalid(
                            "EntityTooSmall",
                            format!("part {n} ({stored}) is smaller than the minimum allowed size"),
                        ));
                    }
                    body.extend_from_slice(bytes);
                }
                s.uploads.remove(upload_id);
                let object = FakeObject {
                    body,
                    server_side_encryption: Some(SSE.into()),
                };
                s.objects.insert((bucket.to_owned(), key.to_owned()), object);
                Ok(())
            })
            .await
    }

    async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> PortResult<()> {
        self.0
            .call("s3.AbortMultipartUpload", format!("{bucket}/{key}"), |s| {
                s.uploads
                    .remove(upload_id)
                    .map(drop)
                    .ok_or_else(|| no_upload(upload_id))
            })
            .await
    }

    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<Vec<u8>> {
        self.0
            .call("s3.GetObject", format!("{bucket}/{key}"), |s| {
                check_bucket(s, bucket)?;
                s.objects
                    .get(&(bucket.to_owned(), key.to_owned()))
                    .map(|o| o.body.clone())
                    .ok_or_else(|| not_found("NoSuchKey", format!("The specified key does not exist: {key}")))
            })
            .await
    }

    async fn head_object(&self, bucket: &str, key: &str) -> PortResult<Option<ObjectInfo>> {
        self.0
            .call("s3.HeadObject", format!("{bucket}/{key}"), |s| {
                check_bucket(s, bucket)?;
                Ok(s.objects.get(&(bucket.to_owned(), key.to_owned())).map(|o| ObjectInfo {
                    size: o.body.len() as u64,
                    server_side_encryption: o.server_side_encryption.clone(),
                }))
            })
            .await
    }
}
