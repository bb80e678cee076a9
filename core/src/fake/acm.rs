//! ACM certificates and a listener's SNI certificates, as AWS documents
//! them where moto is more lenient: a listener serves only an issued
//! certificate (moto adds a pending one), adding one twice keeps one
//! (moto lists it twice), a certificate a listener serves cannot be
//! deleted (`ResourceInUseException`; moto deletes it), and a request is
//! pending until its DNS validation is done ([`FakeCloud::issue_certificates`];
//! moto issues after `MOTO_ACM_VALIDATION_WAIT` seconds).

use async_trait::async_trait;

use super::*;

const NOT_FOUND: &str = "ResourceNotFoundException";
const IN_USE: &str = "ResourceInUseException";
/// What ELB answers for a certificate it cannot serve.
const CERT_NOT_FOUND: &str = "CertificateNotFound";
/// SNI certificates per ALB listener (AWS's default quota).
pub const MAX_LISTENER_CERTIFICATES: usize = 25;
/// Names per certificate (ACM's default quota).
const MAX_NAMES: usize = 10;

/// An ACM certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCertificate {
    /// Its names, the domain name first.
    pub domains: Vec<String>,
    /// `PENDING_VALIDATION`, `ISSUED`, `VALIDATION_TIMED_OUT`, …
    pub status: String,
    /// Tags.
    pub tags: Tags,
    /// The idempotency token it was requested with.
    pub token: String,
}

impl FakeCertificate {
    fn observe(&self, arn: &str) -> ObservedCertificate {
        let status = match self.status.as_str() {
            "PENDING_VALIDATION" => CertificateStatus::PendingValidation,
            "ISSUED" => CertificateStatus::Issued,
            other => CertificateStatus::Unusable(other.to_owned()),
        };
        let mut validation_records: Vec<ValidationRecord> = self
            .domains
            .iter()
            .map(|d| ValidationRecord {
                name: format!("_{}.{d}.", short_hash(d)),
                record_type: "CNAME".into(),
                value: format!("_{}.acm-validations.aws.", short_hash(&format!("{arn}{d}"))),
            })
            .collect();
        validation_records.dedup();
        ObservedCertificate {
            arn: arn.to_owned(),
            domains: self.domains.clone(),
            status,
            validation_records,
        }
    }
}

/// A stable stand-in for ACM's record tokens.
fn short_hash(s: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn no_certificate(arn: &str) -> PortError {
    not_found(NOT_FOUND, format!("Could not find certificate {arn}."))
}

fn check_request(request: &CertificateRequest) -> PortResult<()> {
    const VALIDATION: &str = "ValidationException";
    if request.domains.is_empty() || request.domains.len() > MAX_NAMES {
        return Err(invalid(VALIDATION, format!("a certificate has 1 to {MAX_NAMES} names")));
    }
    if let Some(d) = request.domains.iter().find(|d| d.is_empty() || d.len() > 253) {
        return Err(invalid(VALIDATION, format!("{d:?} is not a domain name")));
    }
    let token = &request.idempotency_token;
    if token.is_empty() || token.len() > 32 || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(VALIDATION, "the idempotency token must match \\w{1,32}"));
    }
    check_tags(&request.tags, "TooManyTagsException")
}

impl FakeCloud {
    /// Issues every pending certificate, as ACM does once their DNS
    /// validation records resolve.
    pub fn issue_certificates(&self) {
        let mut s = self.state();
        for c in s.certificates.values_mut().filter(|c| c.status == "PENDING_VALIDATION") {
            c.status = "ISSUED".into();
        }
    }
}

#[async_trait]
impl CertificatesApi for Port {
    async fn describe_certificate(&self, arn: &str) -> PortResult<Option<ObservedCertificate>> {
        self.0
            .call("acm.DescribeCertificate", arn, |s| {
                Ok(s.certificates.get(arn).map(|c| c.observe(arn)))
            })
            .await
    }

    async fn request_certificate(&self, request: &CertificateRequest) -> PortResult<String> {
        self.0
            .call("acm.RequestCertificate", request.domains.join(","), |s| {
                check_request(request)?;
                let same = s
                    .certificates
                    .iter()
                    .find(|(_, c)| c.token == request.idempotency_token && c.domains == request.domains);
                if let Some((arn, _)) = same {
                    return Ok(arn.clone());
                }
                let id = format!("{}-{}-{}", s.hex(8), s.hex(4), s.hex(12));
                let arn = format!("arn:aws:acm:{REGION}:{ACCOUNT_ID}:certificate/{id}");
                s.certificates.insert(
                    arn.clone(),
                    FakeCertificate {
                        domains: request.domains.clone(),
                        status: "PENDING_VALIDATION".into(),
                        tags: request.tags.clone(),
                        token: request.idempotency_token.clone(),
                    },
                );
                Ok(arn)
            })
            .await
    }

    async fn delete_certificate(&self, arn: &str) -> PortResult<()> {
        self.0
            .call("acm.DeleteCertificate", arn, |s| {
                if !s.certificates.contains_key(arn) {
                    return Err(no_certificate(arn));
                }
                if s.listeners.values().any(|l| l.certificates.iter().any(|c| c == arn)) {
                    return Err(PortError::new(
                        PortErrorKind::Transient,
                        IN_USE,
                        format!("Certificate {arn} in use by a load balancer"),
                    ));
                }
                s.certificates.remove(arn);
                Ok(())
            })
            .await
    }
}

/// The listener-certificate half of [`Elbv2Api`].
impl Port {
    pub(super) async fn fake_listener_certificates(&self, listener_arn: &str) -> PortResult<Vec<String>> {
        self.0
            .call("elbv2.DescribeListenerCertificates", listener_arn, |s| {
                Ok(s.listener_mut(listener_arn)?.certificates.clone())
            })
            .await
    }

    pub(super) async fn fake_add_listener_certificate(
        &self,
        listener_arn: &str,
        certificate_arn: &str,
    ) -> PortResult<()> {
        self.0
            .call("elbv2.AddListenerCertificates", listener_arn, |s| {
                let issued = s
                    .certificates
                    .get(certificate_arn)
                    .is_some_and(|c| c.status == "ISSUED");
                if !issued {
                    return Err(not_found(
                        CERT_NOT_FOUND,
                        format!("Certificate '{certificate_arn}' not found or not issued"),
                    ));
                }
                let l = s.listener_mut(listener_arn)?;
                if l.certificates.iter().any(|c| c == certificate_arn) {
                    return Ok(());
                }
                if l.certificates.len() >= MAX_LISTENER_CERTIFICATES {
                    return Err(PortError::new(
                        PortErrorKind::Other,
                        "TooManyCertificates",
                        "You've reached the limit on the number of certificates per load balancer",
                    ));
                }
                l.certificates.push(certificate_arn.to_owned());
                Ok(())
            })
            .await
    }

    pub(super) async fn fake_remove_listener_certificate(
        &self,
        listener_arn: &str,
        certificate_arn: &str,
    ) -> PortResult<()> {
        self.0
            .call("elbv2.RemoveListenerCertificates", listener_arn, |s| {
                s.listener_mut(listener_arn)?
                    .certificates
                    .retain(|c| c != certificate_arn);
                Ok(())
            })
            .await
    }
}
