//! The creation lease ([`crate::lease`]) as the engine holds and honours it:
//! a run that creates or adopts a tenant writes it with (or onto) the
//! secret, renews it while it works, and removes it at the end; a caller
//! that finds someone else's live lease waits it out.

use std::time::SystemTime;

use super::Engine;
use super::apply::Run;
use super::rollback::Created;
use crate::error::CoreError;
use crate::lease::{Lease, RENEW_EVERY, TTL};
use crate::naming::TAG_LEASE;
use crate::observed::{ObservedTenant, TenantKey};
use crate::parts::{Part, Tags};
use crate::plan::PartAction;

impl Engine {
    /// Removes the expired creation lease of a tenant the caller's record
    /// holds (Terraform: a refresh of a state object): from now on a
    /// complete copy of it found without a record is someone else's. A
    /// live lease is left alone (its run is at work); a failure is logged:
    /// the lease is removed by the next confirmation.
    pub async fn confirm_recorded(&self, observed: &ObservedTenant) {
        let (Some(lease), Some(secret)) = (observed.lease(), observed.secret.as_ref()) else {
            return;
        };
        if lease.is_live(SystemTime::now()) {
            return;
        }
        self.remove_lease(&observed.tenant_id, &secret.arn).await;
    }

    /// Removes the leases this engine's finished runs left, once the caller
    /// knows their tenants are recorded (Terraform: when it shuts the
    /// provider down, right before it saves the state). A process killed
    /// before that leaves them to expire, and the tenants stay adoptable.
    pub async fn release_finished_leases(&self) {
        let held = self
            .finished_leases
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        let releases = held.iter().map(|(tenant, arn)| self.remove_lease(tenant, arn));
        futures::future::join_all(releases).await;
    }

    /// Removes the creation lease a finished apply left, for a caller whose
    /// record cannot be lost after the apply returned (a tool that keeps no
    /// state of its own, such as `tenantctl`).
    pub async fn confirm_applied(&self, observed: &ObservedTenant) {
        if let (Some(_), Some(secret)) = (observed.lease(), observed.secret.as_ref()) {
            self.remove_lease(&observed.tenant_id, &secret.arn).await;
        }
    }

    async fn remove_lease(&self, tenant_id: &str, secret_arn: &str) {
        let removed = self
            .ports
            .secrets
            .untag_resource(secret_arn, &[TAG_LEASE.to_owned()])
            .await;
        // A write: the snapshot's secret still shows the lease.
        self.bump_generation_of(tenant_id);
        // A secret a rollback deleted has no lease left to remove.
        if let Err(e) = removed.or_else(|e| {
            if e.kind == crate::ports::PortErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        }) {
            tracing::warn!(tenant = %tenant_id, error = %e, "could not remove the creation lease");
        }
    }

    /// `observed` again once someone else's live creation lease on it is
    /// settled: expired (its run died: the tenant may be adopted), removed
    /// (its run finished), or renewed (its run is alive: the observation
    /// returned still shows the live lease, and the caller refuses). Waits
    /// at most one lease lifetime; without a live lease, returns at once.
    pub async fn wait_out_lease(&self, key: &TenantKey, observed: ObservedTenant) -> Result<ObservedTenant, CoreError> {
        let Some(first) = observed.lease().filter(|l| l.is_live(SystemTime::now())) else {
            return Ok(observed);
        };
        let subdomain = key.subdomains.first().map_or(key.tenant_id.as_str(), String::as_str);
        let name = crate::naming::TenantNames::new(
            self.platform.environment,
            &key.tenant_id,
            subdomain,
            &self.platform.domain,
        )
        .secret;
        tracing::info!(tenant = %key.tenant_id, holder = %first.holder, until = %first.expires_text(), "another run holds the creation lease; waiting for it");
        let deadline = tokio::time::Instant::now() + TTL + RENEW_EVERY;
        loop {
            let wait = first.remaining(SystemTime::now()).min(RENEW_EVERY / 2);
            tokio::time::sleep(wait.max(std::time::Duration::from_millis(200))).await;
            let now_lease = self
                .ports
                .secrets
                .describe_secret(&name)
                .await
                .map_err(|e| CoreError::port(Part::Secret, "DescribeSecret", e))?
                .and_then(|s| Lease::from_tags(&s.tags));
            let settled = match &now_lease {
                None => true,
                Some(l) => l != &first || !l.is_live(SystemTime::now()),
            };
            if settled || tokio::time::Instant::now() >= deadline {
                return self.observe_key(key).await;
            }
        }
    }
}

impl Run<'_> {
    /// Whether this run holds the tenant's creation lease: it creates the
    /// secret, or takes over a lease a dead run left.
    pub(super) fn holds_lease(&self) -> bool {
        *self.action(Part::Secret) == PartAction::Create || self.observed.lease().is_some()
    }

    /// The lease tag as of now, for this run.
    pub(super) fn lease_tag(&self) -> (String, String) {
        Lease::new(self.token.as_str(), SystemTime::now()).tag()
    }

    /// The secret this run's lease lives on, once it exists.
    fn lease_secret(&self) -> Option<String> {
        if *self.action(Part::Secret) != PartAction::Create {
            return self.observed.secret.as_ref().map(|s| s.arn.clone());
        }
        let created = self.created.lock().ok()?;
        created.iter().find_map(|c| match c {
            Created::Secret(arn) => Some(arn.clone()),
            _ => None,
        })
    }

    /// Writes (or renews) this run's lease on the secret; a failure is
    /// logged, not returned: the lease is a courtesy to other runs, and the
    /// secret's unique name already keeps two creates apart.
    pub(super) async fn renew_lease(&self) {
        let Some(arn) = self.lease_secret() else { return };
        let tags: Tags = [self.lease_tag()].into_iter().collect();
        if let Err(e) = self.engine.ports.secrets.tag_resource(&arn, &tags).await {
            tracing::warn!(tenant = %self.spec.tenant_id, error = %e, "could not renew the creation lease");
        }
    }

    /// Renews the lease every [`RENEW_EVERY`]; never returns (the caller
    /// races it against the run).
    pub(super) async fn keep_lease(&self) {
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            self.renew_lease().await;
        }
    }

    /// Notes the lease of a run that finished, for
    /// [`Engine::release_finished_leases`].
    pub(super) fn leave_lease(&self) {
        if let (Some(arn), Ok(mut held)) = (self.lease_secret(), self.engine.finished_leases.lock()) {
            held.push((self.spec.tenant_id.clone(), arn));
        }
    }

    /// Removes the lease after a failed run's rollback, so that the tenant
    /// reads as what it is.
    pub(super) async fn release_lease(&self) {
        if let Some(arn) = self.lease_secret() {
            self.engine.remove_lease(&self.spec.tenant_id, &arn).await;
        }
    }
}
