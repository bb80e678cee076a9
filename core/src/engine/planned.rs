//! What the plan of a tenant observed, for the apply that follows it in
//! the same process. Terraform plans every resource again in the apply
//! walk (PlanResourceChange) and applies it right after
//! (ApplyResourceChange): observing it twice within milliseconds cost
//! about ten reads per tenant, a quarter of a fleet create's requests
//! against AWS's rates. The apply takes the plan's observation instead,
//! when it is younger than [`MAX_AGE`] and no write through this engine
//! touched the tenant since.
//!
//! Why that is safe: the observation is as old as any read before a write
//! is; what changed meanwhile is found where it matters — a create fails on
//! a name that was taken and is looked up ([`super::create`]), the secret
//! is the tenant's claim, and rule priorities and pool placement are read
//! afresh at apply.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Engine;
use crate::error::CoreError;
use crate::observed::{ObservedTenant, TenantKey};

/// How long after its plan an observation may be used by the apply.
pub const MAX_AGE: Duration = Duration::from_secs(10);

/// The plans' observations, by the key they were made for.
#[derive(Default)]
pub(super) struct Planned {
    kept: Mutex<HashMap<TenantKey, (Instant, ObservedTenant)>>,
}

impl Planned {
    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<TenantKey, (Instant, ObservedTenant)>> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn keep(&self, key: &TenantKey, observed: ObservedTenant) {
        let mut kept = self.kept();
        // A plan-only process never takes them: the old ones go here.
        kept.retain(|_, (at, _)| at.elapsed() < MAX_AGE);
        kept.insert(key.clone(), (Instant::now(), observed));
    }

    fn take(&self, key: &TenantKey) -> Option<ObservedTenant> {
        let (at, observed) = self.kept().remove(key)?;
        (at.elapsed() < MAX_AGE).then_some(observed)
    }

    fn forget(&self, tenant_id: &str) {
        self.kept().retain(|k, _| k.tenant_id != tenant_id);
    }
}

impl Engine {
    /// Keeps what the plan of `key` observed (as observed, before any
    /// lifecycle rebuilt it) for the apply that may follow.
    pub fn keep_for_apply(&self, key: &TenantKey, observed: ObservedTenant) {
        self.planned.keep(key, observed);
    }

    /// The observation an apply of `key` starts from: its plan's, when
    /// kept moments ago and the tenant was not written since; else read.
    pub async fn observe_for_apply(&self, key: &TenantKey) -> Result<ObservedTenant, CoreError> {
        match self.planned.take(key) {
            Some(observed) => Ok(observed),
            None => self.observe_key(key).await,
        }
    }

    /// A write to the tenant: what its plan observed is no longer so.
    pub(super) fn forget_planned(&self, tenant_id: &str) {
        self.planned.forget(tenant_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> TenantKey {
        TenantKey {
            tenant_id: id.to_owned(),
            subdomains: vec!["acme".to_owned()],
            custom_domains: Vec::new(),
        }
    }

    fn observed(id: &str) -> ObservedTenant {
        ObservedTenant {
            tenant_id: id.to_owned(),
            ..ObservedTenant::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_observation_is_taken_once_and_only_while_young() {
        let planned = Planned::default();
        planned.keep(&key("100000000001"), observed("100000000001"));
        assert!(planned.take(&key("100000000001")).is_some(), "taken at once");
        assert!(planned.take(&key("100000000001")).is_none(), "taken once");

        planned.keep(&key("100000000001"), observed("100000000001"));
        tokio::time::advance(MAX_AGE).await;
        assert!(planned.take(&key("100000000001")).is_none(), "too old");
    }

    #[test]
    fn only_the_same_key_takes_it_and_a_write_forgets_it() {
        let planned = Planned::default();
        planned.keep(&key("100000000001"), observed("100000000001"));
        planned.keep(&key("100000000002"), observed("100000000002"));
        let renamed = TenantKey {
            subdomains: vec!["other".to_owned()],
            ..key("100000000002")
        };
        assert!(planned.take(&renamed).is_none(), "another subdomain: another key");
        planned.forget("100000000001");
        assert!(planned.take(&key("100000000001")).is_none(), "forgotten by a write");
        assert!(planned.take(&key("100000000002")).is_some(), "another tenant's stays");
    }
}
