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
    pub(crate) observer: Arc<bbws_core::batch::BatchedObserver>,
    /// Subdomains of the tenants planned by this process (one walk): two
    /// tenants of one configuration with one subdomain are refused at plan.
    pub(crate) subdomains: bbws_core::lifecycle::SubdomainClaims,
}
