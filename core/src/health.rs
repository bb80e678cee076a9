//! A tenant's health (SPEC §4): tasks running vs desired, target health,
//! whether its database accepts its own credentials, and the site's HTTP
//! status. Plain data; every probe that fails says why instead of failing
//! the whole report, because a health report is most wanted when things
//! are broken.

use crate::engine::Engine;
use crate::observed::ObservedTenant;
use crate::parts::DbCredentials;

/// The health of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantHealth {
    /// Tasks the service runs now (0 without a service).
    pub running_count: u32,
    /// Tasks the service should run.
    pub desired_count: u32,
    /// Registered targets by state (`healthy`, `unhealthy`, `initial`, …).
    pub targets: Vec<(String, String)>,
    /// Whether the tenant's user logs in to its database with the
    /// credentials in its secret.
    pub database_reachable: bool,
    /// Why the database is not reachable, when it is not.
    pub database_error: Option<String>,
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

    /// Running the tasks it should, every target healthy, database
    /// reachable, and the site answering below 500.
    pub fn is_healthy(&self) -> bool {
        self.running_count >= self.desired_count
            && self.healthy_targets() == self.targets.len()
            && self.database_reachable
            && self.http_status.is_some_and(|s| s < 500)
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
                Some(tg) => ports.elbv2.describe_target_health(&tg.arn).await.unwrap_or_default(),
                None => Vec::new(),
            }
        };
        let database = async {
            let secret = observed.secret.as_ref().ok_or("the tenant has no database secret")?;
            let raw = ports
                .secrets
                .get_secret_value(&secret.arn)
                .await
                .map_err(|e| format!("reading the secret: {e}"))?;
            let c: DbCredentials =
                serde_json::from_str(&raw).map_err(|_| "the secret does not hold bbws credentials".to_owned())?;
            let login = platform.database.login(&c.host, c.port, &c.username, &c.password);
            ports.mysql.connect(&login).await.map(|_| ()).map_err(|e| e.to_string())
        };
        let site = ports.site.status(url);
        let (targets, database, site) = futures::join!(targets, database, site);
        let (running_count, desired_count) = observed
            .service
            .as_ref()
            .map_or((0, 0), |s| (s.running_count, s.desired_count));
        TenantHealth {
            running_count,
            desired_count,
            targets,
            database_reachable: database.is_ok(),
            database_error: database.err().map(|e: String| e),
            http_status: site.as_ref().ok().copied(),
            http_error: site.err().map(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::fake::FakeCloud;
    use crate::spec::TenantInput;
    use crate::{Engine, plan};

    #[tokio::test]
    async fn a_converged_tenant_reports_its_health() {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Engine::new(platform.clone(), cloud.ports());
        let spec = TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some("123456789012".into()),
            desired_count: Some(2),
            ..TenantInput::default()
        }
        .resolve(platform)
        .expect("valid");
        let observed = engine.observe_one(&spec.tenant_id, &[]).await.expect("observe");
        let after = engine
            .apply(&spec, &observed, &plan(&spec, &observed))
            .await
            .expect("apply");
        let url = format!("https://{}", spec.names().fqdn);
        cloud.state().sites.insert(url.clone(), 200);

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
    }
}
