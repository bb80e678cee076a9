//! A configured provider: the platform, an engine on it, and the batched
//! observer Terraform's parallel refreshes read through. Every handler
//! (resource, data sources, list resource) works on one.

use std::sync::Arc;

use bbws_core::{Engine, Platform};

/// A configured provider: the platform and an engine on it.
pub(crate) struct Configured {
    pub(crate) platform: Arc<Platform>,
    pub(crate) engine: Arc<Engine>,
    /// Terraform refreshes resources in parallel: their reads share
    /// batched AWS calls.
    pub(crate) observer: Arc<bbws_core::batch::Refresh>,
    /// Subdomains of the tenants planned by this process (one walk): two
    /// tenants of one configuration with one subdomain are refused at plan.
    pub(crate) subdomains: bbws_core::lifecycle::SubdomainClaims,
    /// New tenants planned by this process: the pool must have room for
    /// all of them together.
    pub(crate) placements: bbws_core::placement::PlacementClaims,
    /// Tenants this process refreshed from a state object. Terraform plans
    /// the replacement of a tainted object with a null prior state and no
    /// private data, right after refreshing it: this is how that plan knows
    /// the tenant is in the state (and about to be destroyed), not made
    /// elsewhere.
    pub(crate) in_state: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Configured {
    /// Notes that a state object holds `tenant_id`.
    pub(crate) fn note_in_state(&self, tenant_id: &str) {
        if let Ok(mut ids) = self.in_state.lock() {
            ids.insert(tenant_id.to_owned());
        }
    }

    /// Whether this process refreshed a state object holding `tenant_id`.
    pub(crate) fn is_in_state(&self, tenant_id: &str) -> bool {
        self.in_state.lock().is_ok_and(|ids| ids.contains(tenant_id))
    }
}
