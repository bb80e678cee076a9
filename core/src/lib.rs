//! `bbws-core`: one WordPress tenant of the bbws hosting platform as one unit.
//!
//! The data flows one way: a [`TenantInput`] (what the user wrote) is
//! resolved into a [`TenantSpec`] (desired), the [`Engine`] observes what
//! exists into an [`ObservedTenant`], the pure [`plan()`] compares the two
//! into a [`TenantPlan`], and the engine applies that plan through the
//! [`ports`] — one narrow trait per AWS API and one for MySQL.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bbws_core::CoreError> {
//! use std::sync::Arc;
//! use bbws_core::{aws, Engine, Platform, TenantInput};
//!
//! let platform = Arc::new(Platform { domain: "wpdev.example.io".into(), ..Platform::default() });
//! let ports = aws::connect(&aws::AwsSettings::default()).await;
//! let engine = Engine::new(platform.clone(), ports);
//! let spec = TenantInput {
//!     name: "ACME".into(),
//!     contact_email: "ops@acme.example".into(),
//!     tenant_id: Some("123456789012".into()),
//!     ..TenantInput::default()
//! }
//! .resolve(platform)
//! .map_err(bbws_core::CoreError::Invalid)?;
//! let observed = engine.observe_tenant(&spec.tenant_id, &[spec.subdomain.clone()]).await?;
//! let plan = bbws_core::plan(&spec, &observed);
//! println!("{plan}");
//! engine.apply(&spec, &observed, &plan).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod approval;
pub mod audit;
pub mod aws;
pub mod batch;
#[cfg(any(test, feature = "testing"))]
pub mod contract;
pub mod credentials;
pub mod dns_batch;
pub mod engine;
pub mod error;
pub mod events;
#[cfg(any(test, feature = "testing"))]
pub mod fake;
pub mod health;
pub mod lease;
pub mod lifecycle;
pub mod mysql;
pub mod naming;
pub mod observed;
pub mod parts;
pub mod placement;
pub mod plan;
pub mod ports;
pub mod site;
pub mod spec;
pub mod validate;

pub use credentials::{ApplyInputs, DbPassword};
pub use engine::Engine;
pub use error::CoreError;
pub use observed::{ObservedTenant, TenantKey};
pub use parts::Part;
pub use plan::{PartAction, PartChange, TenantPlan, plan, plan_destroy};
pub use spec::{
    AdminAuth, Autoscaling, AutoscalingInput, DatabaseSettings, Environment, EventsSettings, Platform, SslMode,
    TenantInput, TenantSpec, TenantStatus, Tier,
};
