//! AWS Certificate Manager: DNS-validated certificates for the tenants'
//! custom domains.

use async_trait::async_trait;
use aws_sdk_acm::Client;
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus as AcmStatus, Tag, ValidationMethod};

use super::error::{Endpoint, build_error, on};
use crate::parts::Tags;
use crate::ports::{
    CertificateRequest, CertificateStatus, CertificatesApi, ObservedCertificate, PortErrorKind, PortResult,
    ValidationRecord,
};

/// [`CertificatesApi`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsCertificates {
    client: Client,
    ep: Endpoint,
}

impl AwsCertificates {
    /// A port over `client`.
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsCertificates { client, ep }
    }
}

fn status(s: Option<&AcmStatus>) -> CertificateStatus {
    match s {
        Some(AcmStatus::PendingValidation) => CertificateStatus::PendingValidation,
        Some(AcmStatus::Issued) => CertificateStatus::Issued,
        Some(other) => CertificateStatus::Unusable(other.as_str().to_owned()),
        None => CertificateStatus::Unusable("UNKNOWN".to_owned()),
    }
}

fn observe(arn: &str, c: &CertificateDetail) -> ObservedCertificate {
    let mut domains: Vec<String> = c.domain_name().map(str::to_owned).into_iter().collect();
    for san in c.subject_alternative_names() {
        if !domains.contains(san) {
            domains.push(san.clone());
        }
    }
    let mut validation_records: Vec<ValidationRecord> = c
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| ValidationRecord {
            name: r.name().to_owned(),
            record_type: r.r#type().as_str().to_owned(),
            value: r.value().to_owned(),
        })
        .collect();
    // Names under one domain can share a record: listed once.
    validation_records.sort();
    validation_records.dedup();
    ObservedCertificate {
        arn: arn.to_owned(),
        domains,
        status: status(c.status()),
        validation_records,
    }
}

fn acm_tags(tags: &Tags) -> PortResult<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| build_error("RequestCertificate", e))
        })
        .collect()
}

#[async_trait]
impl CertificatesApi for AwsCertificates {
    async fn describe_certificate(&self, arn: &str) -> PortResult<Option<ObservedCertificate>> {
        let r = self
            .client
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeCertificate"));
        match r {
            Ok(r) => Ok(r.certificate().map(|c| observe(arn, c))),
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn request_certificate(&self, request: &CertificateRequest) -> PortResult<String> {
        let first = request.domains.first().cloned().unwrap_or_default();
        let r = self
            .client
            .request_certificate()
            .domain_name(first)
            .set_subject_alternative_names((request.domains.len() > 1).then(|| request.domains.clone()))
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(&request.idempotency_token)
            .set_tags(Some(acm_tags(&request.tags)?))
            .send()
            .await
            .map_err(on(&self.ep, "RequestCertificate"))?;
        Ok(r.certificate_arn().unwrap_or_default().to_owned())
    }

    async fn delete_certificate(&self, arn: &str) -> PortResult<()> {
        self.client
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteCertificate"))?;
        Ok(())
    }
}
