//! Orphans (SOP §7.2: orphaned resources are documented, then cleaned):
//! tenants of the environment whose parts are incomplete — what a failed
//! run could not remove, or a killed run left — listed with their age and
//! parts, and swept one at a time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{DestroyReport, Engine};
use crate::error::CoreError;
use crate::observed::{ObservedStatus, ObservedTenant};
use crate::parts::Part;
use crate::spec::{TenantInput, TenantSpec};

/// An incomplete tenant.
#[derive(Debug, Clone)]
pub struct Orphan {
    /// The tenant id its parts are tagged with.
    pub tenant_id: String,
    /// How long ago its oldest dated part (the log group) was made, when known.
    pub age: Option<Duration>,
    /// The parts that exist.
    pub present: Vec<Part>,
    /// The parts that do not.
    pub missing: Vec<Part>,
    /// Whether a run is creating it right now (a live creation lease):
    /// not an orphan yet, and never swept.
    pub being_created: bool,
}

impl Orphan {
    fn of(o: &ObservedTenant, now: SystemTime) -> Orphan {
        // A secret waiting out its recovery window is what a destroy leaves
        // on purpose, not a part of an orphan.
        let live = |p: Part| match p {
            Part::Secret => o.secret.as_ref().is_some_and(|s| !s.pending_deletion),
            _ => o.has(p),
        };
        let (present, missing) = Part::ALL.iter().partition(|p| live(**p));
        let age = o
            .log_group
            .as_ref()
            .and_then(|l| l.created_ms)
            .and_then(|ms| u64::try_from(ms).ok())
            .and_then(|ms| now.duration_since(UNIX_EPOCH + Duration::from_millis(ms)).ok());
        Orphan {
            tenant_id: o.tenant_id.clone(),
            age,
            present,
            missing,
            being_created: o.lease().is_some_and(|l| l.is_live(now)),
        }
    }
}

impl Engine {
    /// Every tenant of the environment whose parts are incomplete.
    pub async fn orphans(&self) -> Result<Vec<Orphan>, CoreError> {
        let now = SystemTime::now();
        let all = self.observe_all().await?;
        Ok(all
            .iter()
            .filter(|o| o.status() == ObservedStatus::Incomplete)
            .map(|o| Orphan::of(o, now))
            .filter(|o| !o.present.is_empty())
            .collect())
    }

    /// Removes an orphan: every part, its MySQL user, and its database if
    /// that holds no table (one that does is kept and reported: data is
    /// never swept). Refuses a complete tenant (destroy it instead) and one
    /// a run is creating now.
    pub async fn sweep(&self, tenant_id: &str) -> Result<DestroyReport, CoreError> {
        let found = self.observe_by_id(tenant_id).await?;
        let orphan = Orphan::of(&found, SystemTime::now());
        let refuse = |reason: &str| CoreError::DestroyBlocked {
            tenant_id: tenant_id.to_owned(),
            reason: reason.to_owned(),
            how: "sweep only tenants that `orphans` lists as incomplete".to_owned(),
        };
        if orphan.present.is_empty() {
            return Err(refuse("nothing of it exists"));
        }
        if found.status() != ObservedStatus::Incomplete {
            return Err(refuse("it is complete, not an orphan (use destroy, with its guards)"));
        }
        if orphan.being_created {
            return Err(refuse("a run is creating it right now (its creation lease is live)"));
        }
        let spec = self.sweep_spec(&found).await?;
        let observed = match found.routed_subdomain(&self.platform.domain) {
            Some(sub) => self.observe_tenant(tenant_id, &[sub]).await?,
            None => found,
        };
        let plan = crate::plan_destroy(&spec, &observed);
        self.destroy(&spec, &observed, &plan).await
    }

    /// What a sweep destroys as: the tenant as recorded in its secret when
    /// it has one, else a stand-in with its id; never guarded (an orphan
    /// serves nobody), data removed only where there is none.
    async fn sweep_spec(&self, o: &ObservedTenant) -> Result<TenantSpec, CoreError> {
        let mut input = o.recovered_input(&self.platform).unwrap_or_else(|| TenantInput {
            name: format!("orphan {}", o.tenant_id),
            contact_email: "orphan@bbws.invalid".into(),
            tenant_id: Some(o.tenant_id.clone()),
            subdomain: o.routed_subdomain(&self.platform.domain),
            ..TenantInput::default()
        });
        input.deletion_protection = Some(false);
        let holds_data = match &o.database {
            Some(db) => !self
                .mysql()
                .await?
                .database_is_empty(&db.name)
                .await
                .map_err(|e| CoreError::port(Part::Database, "information_schema", e))?,
            None => false,
        };
        input.retain_data_on_destroy = Some(holds_data);
        input.resolve(self.platform.clone()).map_err(CoreError::Invalid)
    }
}
