//! The custom domains' certificate: requested from ACM, its ARN kept on
//! the service (`bbws:certificate`), served by the tenant's listener once
//! issued. A change of domains requests a new one while the old one
//! (`bbws:certificate-superseded`) serves on until the new one is issued:
//! the names both cover never lose TLS.
//!
//! Each step is safe to repeat after a run is killed: the request has an
//! idempotency token derived from the marker it replaces, a certificate
//! is removed from listeners and deleted before the marker that names it
//! goes, and a marker naming a deleted certificate is simply rewritten.

use std::time::Duration;

use super::apply::Run;
use super::rollback::Created;
use super::{Engine, StepResult, fail, ignore_not_found};
use crate::error::CoreError;
use crate::naming::{TAG_CERTIFICATE, TAG_CERTIFICATE_LAST, TAG_CERTIFICATE_SUPERSEDED};
use crate::observed::ObservedTenant;
use crate::observed::owned_by;
use crate::parts::{
    CertificateSpec, DesiredTenant, DnsRecordSpec, ListenerRuleSpec, Part, RecordTarget, Tags, TenantRules,
};
use crate::plan::{CertificateField, PartAction};
use crate::ports::{CertificateStatus, ObservedCertificate, PortError, PortErrorKind};

/// How long a run waits for ACM to publish a new certificate's validation
/// records (AWS: a few seconds after the request), so that the apply
/// reports them.
const RECORDS_WAIT: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// How often a delete of a certificate a load balancer just let go of is
/// tried: ELB releases it shortly after the removal.
const IN_USE_TRIES: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

impl Run<'_> {
    /// Converges the certificate as the plan says (after the service, whose
    /// tags hold its ARN).
    pub(super) async fn certificate_stage(&self, desired: &DesiredTenant) -> StepResult<()> {
        let action = self.action(Part::Certificate).clone();
        match (&action, &desired.certificate) {
            (PartAction::Delete, _) => self.remove_certificates().await,
            (PartAction::Create, Some(want)) => self.request_certificate(want, desired, true).await,
            (PartAction::Update(_), Some(want)) if self.plan.updates(CertificateField::Domains) => {
                self.request_certificate(want, desired, false).await
            }
            (PartAction::Update(_), Some(_)) => {
                let current = self.observed.certificate.as_ref().map(|c| c.arn.clone());
                if let (Some(arn), true) = (&current, self.plan.updates(CertificateField::Listener)) {
                    self.serve(arn, desired).await?;
                }
                if self.plan.updates(CertificateField::Superseded) {
                    self.retire_superseded(current.as_deref()).await?;
                }
                if self.plan.updates(CertificateField::Validation) {
                    self.write_validation(&self.observed.validation_missing).await?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Requests the certificate for the desired names; the one it replaces
    /// serves on while it is served (else goes now), and a certificate
    /// already issued is served at once.
    async fn request_certificate(
        &self,
        want: &CertificateSpec,
        desired: &DesiredTenant,
        create: bool,
    ) -> StepResult<()> {
        let step = if create { "create" } else { "update" };
        let acm = &self.ports().certificates;
        let arn = (acm.request_certificate(&want.request).await).map_err(fail(
            step,
            Part::Certificate,
            "RequestCertificate",
        ))?;
        if create {
            self.record(Created::Certificate(arn.clone()));
        }
        let o = self.observed;
        let old = o.certificate.as_ref().map(|c| c.arn.clone()).filter(|a| *a != arn);
        let old_serves = old
            .as_ref()
            .is_some_and(|a| o.served_certificates.iter().any(|(_, c)| c == a));
        // One superseded certificate at most: the newest that serves.
        let (keep, drop): (Option<String>, Vec<String>) = match (old, old_serves) {
            (Some(old), true) => (Some(old), o.superseded_certificate.iter().cloned().collect()),
            (Some(old), false) => (o.superseded_certificate.clone(), vec![old]),
            (None, _) => (o.superseded_certificate.clone(), Vec::new()),
        };
        for d in drop.iter().filter(|d| **d != arn) {
            self.engine
                .delete_certificate(o, d)
                .await
                .map_err(|error| super::StepFailure {
                    step: format!("{step} certificate"),
                    part: Part::Certificate,
                    error,
                })?;
        }
        self.mark(&arn, keep.as_deref()).await?;
        let issued = self.wait_for_records(&arn).await;
        if let Some(pending) = issued
            .as_ref()
            .filter(|c| c.status == CertificateStatus::PendingValidation)
        {
            let missing =
                (self.engine.missing_validation_records(pending).await).map_err(|error| super::StepFailure {
                    step: format!("{step} certificate"),
                    part: Part::Certificate,
                    error,
                })?;
            self.write_validation(&missing).await?;
        }
        if issued.is_some_and(|c| c.status == CertificateStatus::Issued) {
            self.serve(&arn, desired).await?;
            if keep.is_some() {
                self.retire(keep.as_deref(), &arn).await?;
            }
        }
        Ok(())
    }

    /// Writes the markers on the service: the current certificate, and the
    /// superseded one or none.
    async fn mark(&self, current: &str, superseded: Option<&str>) -> StepResult<()> {
        let ecs = &self.ports().ecs;
        let arn = self.service_arn(Part::Certificate).await?;
        let mut tags = Tags::new();
        tags.insert(TAG_CERTIFICATE.to_owned(), current.to_owned());
        if let Some(s) = superseded {
            tags.insert(TAG_CERTIFICATE_SUPERSEDED.to_owned(), s.to_owned());
        }
        (ecs.tag_resource(&arn, &tags).await).map_err(fail("update", Part::Service, "TagResource"))?;
        let mut stale = Vec::new();
        if superseded.is_none() && self.marked(TAG_CERTIFICATE_SUPERSEDED) {
            stale.push(TAG_CERTIFICATE_SUPERSEDED.to_owned());
        }
        if self.marked(TAG_CERTIFICATE_LAST) {
            stale.push(TAG_CERTIFICATE_LAST.to_owned());
        }
        if !stale.is_empty() {
            (ecs.untag_resource(&arn, &stale).await).map_err(fail("update", Part::Service, "UntagResource"))?;
        }
        Ok(())
    }

    /// Whether the observed service carries marker `key`.
    fn marked(&self, key: &str) -> bool {
        (self.observed.service.as_ref()).is_some_and(|s| s.tags.contains_key(key))
    }

    /// The new certificate once ACM published its validation records
    /// (or the last read, when it did not in time; `None` when unreadable).
    async fn wait_for_records(&self, arn: &str) -> Option<ObservedCertificate> {
        let acm = &self.ports().certificates;
        let mut last = None;
        for pause in RECORDS_WAIT {
            last = acm.describe_certificate(arn).await.ok().flatten();
            let done =
                |c: &ObservedCertificate| c.status == CertificateStatus::Issued || !c.validation_records.is_empty();
            if last.as_ref().is_some_and(done) {
                return last;
            }
            tokio::time::sleep(pause).await;
        }
        last
    }

    /// Writes validation records into the account's own zones. A record
    /// of that name there already is left as it is: ACM names a domain's
    /// record after the account and the domain, so it is this one, maybe
    /// written for another certificate. None is ever deleted: ACM's
    /// managed renewal needs it for as long as a certificate for the
    /// name lives.
    async fn write_validation(&self, records: &[DnsRecordSpec]) -> StepResult<()> {
        for r in records {
            match self.ports().route53.create_record(r).await {
                Err(e) if e.kind == PortErrorKind::AlreadyExists => {}
                other => other.map_err(fail("update", Part::Certificate, "ChangeResourceRecordSets"))?,
            }
        }
        Ok(())
    }

    /// The tenant's listener serves `arn`; other pool listeners do not
    /// (the tenant moved).
    async fn serve(&self, arn: &str, desired: &DesiredTenant) -> StepResult<()> {
        let elbv2 = &self.ports().elbv2;
        let listener = &desired.listener_rule.listener_arn;
        (elbv2.add_listener_certificate(listener, arn).await).map_err(fail(
            "update",
            Part::Certificate,
            "AddListenerCertificates",
        ))?;
        let elsewhere = (self.observed.served_certificates.iter()).filter(|(l, c)| c == arn && l != listener);
        for (l, _) in elsewhere {
            (elbv2.remove_listener_certificate(l, arn).await).map_err(fail(
                "update",
                Part::Certificate,
                "RemoveListenerCertificates",
            ))?;
        }
        Ok(())
    }

    /// The superseded certificate goes, `current` serving.
    async fn retire_superseded(&self, current: Option<&str>) -> StepResult<()> {
        let superseded = self.observed.superseded_certificate.clone();
        self.retire(superseded.as_deref(), current.unwrap_or_default()).await
    }

    /// Deletes `superseded` (unless it is `current`), then its marker.
    async fn retire(&self, superseded: Option<&str>, current: &str) -> StepResult<()> {
        let Some(old) = superseded.filter(|s| *s != current) else {
            return Ok(());
        };
        self.engine
            .delete_certificate(self.observed, old)
            .await
            .map_err(|error| super::StepFailure {
                step: "update certificate".into(),
                part: Part::Certificate,
                error,
            })?;
        let arn = self.service_arn(Part::Certificate).await?;
        let keys = [TAG_CERTIFICATE_SUPERSEDED.to_owned()];
        (self.ports().ecs.untag_resource(&arn, &keys).await).map_err(fail("update", Part::Service, "UntagResource"))
    }

    /// After this run's rule `ours` came to route the custom domains: that
    /// no one else's rule routes one of them too (a concurrent apply of
    /// another tenant claimed it between its plan and this one's). Both
    /// may find the other and back off; neither keeps a shared domain.
    pub(super) async fn recheck_custom_domains(&self, rule: &ListenerRuleSpec, ours: &str) -> Result<(), PortError> {
        if rule.custom_domains.is_empty() {
            return Ok(());
        }
        let candidates = TenantRules {
            hosts: rule.custom_domains.clone(),
            target_groups: Vec::new(),
        };
        let pool = &self.spec.platform.listener_arns;
        let rules = self.ports().elbv2.describe_pool_tenant_rules(pool, &candidates).await?;
        let env = self.spec.platform.environment;
        let others = rules
            .iter()
            .filter(|r| r.arn != ours && !owned_by(&r.tags, &self.spec.tenant_id, env));
        for r in others {
            if let Some(d) = rule
                .custom_domains
                .iter()
                .find(|d| r.hosts.iter().any(|h| h.eq_ignore_ascii_case(d)))
            {
                let owner = r
                    .tags
                    .get(crate::naming::TAG_TENANT)
                    .map_or("someone else".to_owned(), |t| format!("tenant {t}"));
                return Err(PortError::new(
                    PortErrorKind::AlreadyExists,
                    "CustomDomainTaken",
                    format!(
                        "custom domain {d} is routed by {owner}'s rule (priority {}) too: another apply claimed it meanwhile; \
                         this run's claim is withdrawn — remove the domain from one of the two tenants",
                        r.priority
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Rolls back a certificate this run requested: off the listener,
    /// deleted.
    pub(super) async fn forget_certificate(&self, arn: &str) -> Result<(), PortError> {
        let ports = self.ports();
        for l in &self.spec.platform.listener_arns {
            if ports.elbv2.listener_certificates(l).await?.iter().any(|c| c == arn) {
                ports.elbv2.remove_listener_certificate(l, arn).await?;
            }
        }
        ignore_not_found(ports.certificates.delete_certificate(arn).await)
    }

    /// Every certificate of the tenant's goes, then the markers.
    async fn remove_certificates(&self) -> StepResult<()> {
        self.engine
            .delete_certificates(self.observed)
            .await
            .map_err(|error| super::StepFailure {
                step: "delete certificate".into(),
                part: Part::Certificate,
                error,
            })
    }
}

impl Engine {
    /// The pending certificate's validation records that belong in a
    /// public hosted zone of the account (the most specific one holding
    /// the record's domain) and are not there; a domain in no zone of the
    /// account is its owner's to validate (`certificate_validation_records`).
    pub(super) async fn missing_validation_records(
        &self,
        certificate: &ObservedCertificate,
    ) -> Result<Vec<DnsRecordSpec>, CoreError> {
        if certificate.status != CertificateStatus::PendingValidation {
            return Ok(Vec::new());
        }
        let mut missing = Vec::new();
        for record in certificate
            .validation_records
            .iter()
            .filter(|r| r.record_type == "CNAME")
        {
            let name = record.name.trim_end_matches('.').to_ascii_lowercase();
            let Some(zone_id) = self.own_zone_of(&name).await? else {
                continue;
            };
            let there = (self
                .ports
                .route53
                .records_named(&zone_id, std::slice::from_ref(&name))
                .await)
                .map_err(|e| CoreError::port(Part::Certificate, "ListResourceRecordSets", e))?;
            if !there.iter().any(|r| matches!(r.target, RecordTarget::Cname(_))) {
                missing.push(DnsRecordSpec {
                    zone_id,
                    name,
                    target: RecordTarget::Cname(record.value.trim_end_matches('.').to_owned()),
                });
            }
        }
        Ok(missing)
    }

    /// The account's public hosted zone for a validation record's name
    /// (`_token.www.example.com`): the longest of its parent domains that
    /// is a zone, down to two labels. Each domain is asked once per engine.
    async fn own_zone_of(&self, record_name: &str) -> Result<Option<String>, CoreError> {
        let mut domain = record_name.split_once('.').map_or("", |(_, rest)| rest);
        while domain.contains('.') {
            if let Some(found) = self.zone_named(domain).await? {
                return Ok(Some(found));
            }
            domain = domain.split_once('.').map_or("", |(_, rest)| rest);
        }
        Ok(None)
    }

    async fn zone_named(&self, domain: &str) -> Result<Option<String>, CoreError> {
        let known = |z: &Self| {
            z.zones
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(domain)
                .cloned()
        };
        if let Some(found) = known(self) {
            return Ok(found);
        }
        let found = (self.ports.route53.public_zone_named(domain).await)
            .map_err(|e| CoreError::port(Part::Certificate, "ListHostedZonesByName", e))?;
        (self.zones.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).insert(domain.to_owned(), found.clone());
        Ok(found)
    }

    /// Removes `arn` from every pool listener that serves it, then deletes
    /// it (a missing one is gone already).
    pub(super) async fn delete_certificate(&self, observed: &ObservedTenant, arn: &str) -> Result<(), CoreError> {
        let serving = observed.served_certificates.iter().filter(|(_, c)| c == arn);
        for (listener, _) in serving {
            (self.ports.elbv2.remove_listener_certificate(listener, arn).await)
                .map_err(|e| CoreError::port(Part::Certificate, "RemoveListenerCertificates", e))?;
        }
        let mut tries = IN_USE_TRIES.iter();
        loop {
            match ignore_not_found(self.ports.certificates.delete_certificate(arn).await) {
                Err(e) if e.code == "ResourceInUseException" => match tries.next() {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => return Err(CoreError::port(Part::Certificate, "DeleteCertificate", e)),
                },
                other => return other.map_err(|e| CoreError::port(Part::Certificate, "DeleteCertificate", e)),
            }
        }
    }

    /// Deletes every certificate the service's markers name, then the
    /// markers: what removing the custom domains and destroying do.
    pub(super) async fn delete_certificates(&self, observed: &ObservedTenant) -> Result<(), CoreError> {
        let Some(service) = &observed.service else {
            return Ok(());
        };
        let markers = [TAG_CERTIFICATE, TAG_CERTIFICATE_SUPERSEDED];
        let arns: Vec<&String> = markers.iter().filter_map(|k| service.tags.get(*k)).collect();
        for arn in &arns {
            self.delete_certificate(observed, arn).await?;
        }
        // The last one is remembered, so that domains added again are a
        // new request, not ACM's answer for this one.
        if let Some(last) = service.tags.get(TAG_CERTIFICATE) {
            let tags = Tags::from([(TAG_CERTIFICATE_LAST.to_owned(), last.clone())]);
            ignore_not_found(self.ports.ecs.tag_resource(&service.arn, &tags).await)
                .map_err(|e| CoreError::port(Part::Service, "TagResource", e))?;
        }
        let keys: Vec<String> = (markers.iter())
            .filter(|k| service.tags.contains_key(**k))
            .map(|k| (*k).to_owned())
            .collect();
        if !keys.is_empty() {
            ignore_not_found(self.ports.ecs.untag_resource(&service.arn, &keys).await)
                .map_err(|e| CoreError::port(Part::Service, "UntagResource", e))?;
        }
        Ok(())
    }
}
