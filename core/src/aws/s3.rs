//! S3: the backup bucket. Every object is written with server-side
//! encryption (`AES256`, S3-managed keys); multipart uploads carry it from
//! their creation, as S3 requires.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};

use super::error::{Endpoint, on};
use crate::ports::{ObjectInfo, ObjectStoreApi, PortError, PortErrorKind, PortResult};

/// [`ObjectStoreApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsS3 {
    client: Client,
    ep: Endpoint,
}

impl AwsS3 {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsS3 { client, ep }
    }
}

fn missing(op: &str, what: &str) -> PortError {
    PortError::new(
        PortErrorKind::Other,
        "InvalidResponse",
        format!("{op}: S3 answered without {what}"),
    )
}

#[async_trait]
impl ObjectStoreApi for AwsS3 {
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> PortResult<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(on(&self.ep, "PutObject"))?;
        Ok(())
    }

    async fn create_multipart_upload(&self, bucket: &str, key: &str) -> PortResult<String> {
        let r = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .server_side_encryption(ServerSideEncryption::Aes256)
            .send()
            .await
            .map_err(on(&self.ep, "CreateMultipartUpload"))?;
        r.upload_id()
            .map(str::to_owned)
            .ok_or_else(|| missing("CreateMultipartUpload", "an upload id"))
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> PortResult<String> {
        let r = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(on(&self.ep, "UploadPart"))?;
        r.e_tag()
            .map(str::to_owned)
            .ok_or_else(|| missing("UploadPart", "an ETag"))
    }

    async fn complete_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> PortResult<()> {
        let parts = parts
            .iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(on(&self.ep, "CompleteMultipartUpload"))?;
        Ok(())
    }

    async fn abort_multipart_upload(&self, bucket: &str, key: &str, upload_id: &str) -> PortResult<()> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(on(&self.ep, "AbortMultipartUpload"))?;
        Ok(())
    }

    async fn get_object(&self, bucket: &str, key: &str) -> PortResult<Vec<u8>> {
        let r = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(on(&self.ep, "GetObject"))?;
        let body = r.body.collect().await.map_err(|e| {
            PortError::new(
                PortErrorKind::Transient,
                "ResponseInterrupted",
                format!("GetObject s3://{bucket}/{key}: the download broke off: {e}"),
            )
        })?;
        Ok(body.into_bytes().to_vec())
    }

    async fn head_object(&self, bucket: &str, key: &str) -> PortResult<Option<ObjectInfo>> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(r) => Ok(Some(ObjectInfo {
                size: r.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                server_side_encryption: r.server_side_encryption().map(|s| s.as_str().to_owned()),
            })),
            Err(e) => {
                let e = on(&self.ep, "HeadObject")(e);
                if e.kind == PortErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}
