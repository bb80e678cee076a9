//! A tenant's health (SPEC §4): tasks running vs desired, target health,
//! whether its database accepts its own credentials, and the site's HTTP
//! status. Plain data; every probe that fails says why instead of failing
//! the whole report, because a health report is most wanted when things
//! are broken.

use crate::engine::Engine;
use crate::observed::ObservedTenant;
use crate::parts::DbCredentials;
use crate::ports::PortErrorKind;

/// The outcome of one check: a probe that errored tells nothing about the
/// tenant, so it is `Unknown`, never healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthState {
    /// The check ran and passed.
    Healthy,
    /// The check ran and failed.
    Unhealthy,
    /// The check could not run (an API or network error).
    #[default]
    Unknown,
}

impl HealthState {
    /// `healthy`, `unhealthy` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Unknown => "unknown",
        }
    }

    fn of(ok: bool) -> Self {
        if ok {
            HealthState::Healthy
        } else {
            HealthState::Unhealthy
        }
    }
}

/// The checks of [`TenantHealth::checks`], by name.
pub const CHECKS: [&str; 4] = ["service", "targets", "database", "site"];

/// The health of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantHealth {
    /// Tasks the service runs now (0 without a service).
    pub running_count: u32,
    /// Tasks the service should run.
    pub desired_count: u32,
    /// Registered targets by state (`healthy`, `unhealthy`, `initial`, …).
    pub targets: Vec<(String, String)>,
    /// Why the target health could not be read, when it could not.
    pub targets_error: Option<String>,
    /// Whether the tenant's user logs in to its database with the
    /// credentials in its secret.
    pub database_reachable: bool,
    /// Why the database is not reachable, when it is not.
    pub database_error: Option<String>,
    /// Whether the database check ran (its secret was read and the server
    /// answered) or errored before it could say.
    pub database_state: HealthState,
    /// HTTP status of `GET {url}`, when the site answered.
    pub http_status: Option<u16>,
    /// Why the site did not answer, when it did not.
    pub http_error: Option<String>,
}

impl TenantHealth {
    /// Targets in state `healthy`.
    pub fn healthy_targets(&self) -> usize {
        self.targets.iter().filter(|(_, s)| s == "healthy").count()
    }

    /// Each check's state, in [`CHECKS`] order: tasks running vs desired,
    /// targets (unknown when DescribeTargetHealth failed), the database
    /// login, the site (a site that does not answer is unhealthy).
    pub fn checks(&self) -> [(&'static str, HealthState); 4] {
        let targets = if self.targets_error.is_some() {
            HealthState::Unknown
        } else {
            HealthState::of(self.healthy_targets() == self.targets.len())
        };
        [
            ("service", HealthState::of(self.running_count >= self.desired_count)),
            ("targets", targets),
            ("database", self.database_state),
            ("site", HealthState::of(self.http_status.is_some_and(|s| s < 500))),
        ]
    }

    /// Unhealthy if any check is, else unknown if any check errored, else
    /// healthy.
    pub fn state(&self) -> HealthState {
        let states = self.checks().map(|(_, s)| s);
        if states.contains(&HealthState::Unhealthy) {
            HealthState::Unhealthy
        } else if states.contains(&HealthState::Unknown) {
            HealthState::Unknown
        } else {
            HealthState::Healthy
        }
    }

    /// Every check ran and passed ([`Self::state`] is healthy).
    pub fn is_healthy(&self) -> bool {
        self.state() == HealthState::Healthy
    }
}

impl Engine {
    /// Probes an observed tenant: target health, a login to its database
    /// as its own user, and `GET url`, concurrently.
    pub async fn health(&self, observed: &ObservedTenant, url: &str) -> TenantHealth {
        let ports = self.ports();
        let platform = self.platform();
        let targets = async {
            match &observed.target_group {
                Some(tg) => ports
                    .elbv2
                    .describe_target_health(&tg.arn)
                    .await
                    .map_err(|e| format!("DescribeTargetHealth: {e}")),
                None => Ok(Vec::new()),
            }
        };
        let unhealthy = |e: String| (HealthState::Unhealthy, e);
        let database = async {
            let secret = observed
                .secret
                .as_ref()
                .ok_or_else(|| unhealthy("the tenant has no database secret".into()))?;
            let raw = ports
                .secrets
                .get_secret_value(&secret.arn)
                .await
                .map_err(|e| (HealthState::Unknown, format!("reading the secret: {e}")))?;
            let c: DbCredentials = serde_json::from_str(&raw)
                .map_err(|_| unhealthy("the secret does not hold bbws credentials".into()))?;
            let login = platform.database.login(&c.host, c.port, &c.username, &c.password);
            ports.mysql.connect(&login).await.map(|_| ()).map_err(|e| {
                // Refused credentials are the tenant's problem; a server
                // that did not answer says nothing about them.
                let state = match e.kind {
                    PortErrorKind::Transient => HealthState::Unknown,
                    _ => HealthState::Unhealthy,
                };
                (state, e.to_string())
            })
        };
        let site = ports.site.status(url);
        let (targets, database, site) = futures::join!(targets, database, site);
        let (running_count, desired_count) = observed
            .service
            .as_ref()
            .map_or((0, 0), |s| (s.running_count, s.desired_count));
        let (targets, targets_error) = match targets {
            Ok(t) => (t, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        TenantHealth {
            running_count,
            desired_count,
            targets,
            targets_error,
            database_reachable: database.is_ok(),
            database_state: database.as_ref().map_or_else(|(s, _)| *s, |()| HealthState::Healthy),
            database_error: database.err().map(|(_, e)| e),
            http_status: site.as_ref().ok().copied(),
            http_error: site.err().map(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::HealthState;
    use crate::fake::FakeCloud;
    use crate::spec::{TenantInput, TenantSpec};
    use crate::{Engine, ObservedTenant, plan};

    /// A tenant applied on the fake, its site answering 200.
    async fn answering_tenant(
        desired_count: Option<i64>,
    ) -> (Arc<FakeCloud>, Engine, TenantSpec, ObservedTenant, String) {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Engine::new(platform.clone(), cloud.ports());
        let spec = TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some("123456789012".into()),
            desired_count,
            ..TenantInput::default()
        }
        .resolve(platform)
        .expect("valid");
        let observed = engine.observe_tenant(&spec.tenant_id, &[]).await.expect("observe");
        let after = engine
            .apply(&spec, &observed, &plan(&spec, &observed))
            .await
            .expect("apply");
        let url = format!("https://{}", spec.names().fqdn);
        cloud.state().sites.insert(url.clone(), 200);
        (cloud, engine, spec, after, url)
    }

    #[tokio::test]
    async fn a_converged_tenant_reports_its_health() {
        let (cloud, engine, spec, after, url) = answering_tenant(Some(2)).await;

        let h = engine.health(&after, &url).await;
        assert_eq!((h.running_count, h.desired_count), (2, 2));
        assert_eq!(h.healthy_targets(), 2);
        assert!(h.database_reachable, "{:?}", h.database_error);
        assert_eq!(h.http_status, Some(200));
        assert!(h.is_healthy());

        // A user whose password no longer matches the secret is unreachable.
        cloud
            .state()
            .mysql
            .users
            .get_mut(&spec.names().database_user)
            .expect("user")
            .password = "changed".into();
        cloud.state().sites.clear();
        let h = engine.health(&after, &url).await;
        assert!(!h.database_reachable);
        assert!(
            h.database_error.as_deref().is_some_and(|e| e.contains("Access denied")),
            "{h:?}"
        );
        assert_eq!(h.http_status, None);
        assert!(h.http_error.is_some());
        assert!(!h.is_healthy());
        assert_eq!(h.state(), HealthState::Unhealthy);
    }

    #[tokio::test]
    async fn a_check_that_errored_is_unknown_not_healthy() {
        use crate::ports::{PortError, PortErrorKind};
        let (cloud, engine, _, after, url) = answering_tenant(None).await;
        assert_eq!(engine.health(&after, &url).await.state(), HealthState::Healthy);

        let throttled = PortError::new(PortErrorKind::Transient, "ThrottlingException", "Rate exceeded");
        cloud.fail_on("elbv2.DescribeTargetHealth", None, throttled.clone(), 1);
        cloud.fail_on("secrets.GetSecretValue", None, throttled, 1);
        let h = engine.health(&after, &url).await;
        assert_eq!(
            h.targets_error.as_deref().map(|e| e.contains("Rate exceeded")),
            Some(true),
            "{h:?}"
        );
        assert_eq!(
            h.checks(),
            [
                ("service", HealthState::Healthy),
                ("targets", HealthState::Unknown),
                ("database", HealthState::Unknown),
                ("site", HealthState::Healthy),
            ]
        );
        assert_eq!(h.state(), HealthState::Unknown);
        assert!(!h.is_healthy(), "0 of 0 targets after an error is not healthy");
    }
}
