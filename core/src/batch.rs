//! Coalesced observation for a process that serves many concurrent reads
//! (Terraform refreshes resources in parallel, one `ReadResource` each):
//! requests arriving within a short window are served by one
//! [`Engine::observe`] of all their tenants, whose reads are shared —
//! services described ten at a time, one rule listing per listener, one
//! record listing per zone, one access-point listing per file system, one
//! log-group listing, one MySQL query. The results are the same as one
//! observation per tenant (a test compares them); only the request count
//! differs.
//!
//! A short-lived cache lets the plan that follows a refresh in the same
//! process reuse the refresh's observation; every write through the
//! provider invalidates its tenant first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::engine::Engine;
use crate::error::CoreError;
use crate::observed::{ObservedTenant, TenantKey};

type Reply = oneshot::Sender<Result<ObservedTenant, CoreError>>;

/// Collects concurrent observation requests into batches.
pub struct BatchedObserver {
    engine: Arc<Engine>,
    window: Duration,
    pending: Arc<Mutex<Vec<(TenantKey, Reply)>>>,
    cache: Mutex<HashMap<TenantKey, (Instant, ObservedTenant)>>,
}

impl BatchedObserver {
    /// Default coalescing window: long enough for Terraform's parallel
    /// reads to arrive together, short against one AWS round trip.
    pub const DEFAULT_WINDOW: Duration = Duration::from_millis(10);

    /// An observer that waits `window` for more requests before reading.
    pub fn new(engine: Arc<Engine>, window: Duration) -> Self {
        BatchedObserver {
            engine,
            window,
            pending: Arc::new(Mutex::new(Vec::new())),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How long a refresh's observation serves the plan that follows it.
    pub const CACHE_TTL: Duration = Duration::from_secs(60);

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<TenantKey, (Instant, ObservedTenant)>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The observation of `key` made within [`Self::CACHE_TTL`], else a
    /// fresh (batched) one.
    pub async fn observe_cached(&self, key: TenantKey) -> Result<ObservedTenant, CoreError> {
        if let Some((at, o)) = self.cache().get(&key)
            && at.elapsed() < Self::CACHE_TTL
        {
            return Ok(o.clone());
        }
        self.observe(key).await
    }

    /// Forgets what was observed of a tenant (before writing to it).
    pub fn invalidate(&self, tenant_id: &str) {
        self.cache().retain(|k, _| k.tenant_id != tenant_id);
    }

    /// Observes one tenant, in a batch with whatever else is asked for
    /// within the window.
    pub async fn observe(&self, key: TenantKey) -> Result<ObservedTenant, CoreError> {
        let observed = self.observe_uncached(key.clone()).await?;
        self.cache().insert(key, (Instant::now(), observed.clone()));
        Ok(observed)
    }

    async fn observe_uncached(&self, key: TenantKey) -> Result<ObservedTenant, CoreError> {
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            pending.push((key, tx));
            pending.len() == 1
        };
        if first {
            // A task of its own, so that a cancelled caller does not strand
            // the others waiting in its batch.
            let (engine, pending, window) = (self.engine.clone(), self.pending.clone(), self.window);
            tokio::spawn(async move {
                // Terraform's parallel reads trickle in over a few window
                // lengths: keep waiting while they do, up to a limit.
                let started = tokio::time::Instant::now();
                let mut seen = 0;
                loop {
                    tokio::time::sleep(window).await;
                    let now = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
                    if now == seen || started.elapsed() >= window * 10 {
                        break;
                    }
                    seen = now;
                }
                let batch = std::mem::take(&mut *pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                let keys: Vec<TenantKey> = batch.iter().map(|(k, _)| k.clone()).collect();
                tracing::debug!(tenants = keys.len(), "observing a batch");
                match engine.observe(&keys).await {
                    Ok(observed) => {
                        for ((_, reply), o) in batch.into_iter().zip(observed) {
                            let _ = reply.send(Ok(o));
                        }
                    }
                    Err(e) => {
                        for (_, reply) in batch {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            });
        }
        rx.await.unwrap_or_else(|_| {
            Err(CoreError::Platform {
                setting: "observe",
                message: "the batched observation was dropped".into(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeCloud;
    use crate::spec::TenantInput;
    use crate::{Platform, plan};

    fn spec(platform: &Arc<Platform>, i: usize) -> crate::TenantSpec {
        TenantInput {
            name: format!("Tenant {i}"),
            contact_email: "ops@example.com".into(),
            tenant_id: Some(format!("1000000000{i:02}")),
            status: Some(if i.is_multiple_of(3) { "suspended" } else { "active" }.into()),
            ..TenantInput::default()
        }
        .resolve(platform.clone())
        .expect("valid")
    }

    /// Tenants in varied states — whole, suspended, missing parts, drifted,
    /// absent — observe the same batched and one by one, with far fewer
    /// calls batched.
    #[tokio::test]
    async fn batched_and_unbatched_observations_are_equal() {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        let specs: Vec<_> = (0..12).map(|i| spec(&platform, i)).collect();
        for s in &specs[..10] {
            let o = engine.observe_one(&s.tenant_id, &[]).await.expect("observe");
            engine.apply(s, &o, &plan(s, &o)).await.expect("apply");
        }
        {
            let mut state = cloud.state();
            let svc = format!("dev-{}-service", specs[1].tenant_id);
            state.services.retain(|(_, name), _| *name != svc);
            state.log_groups.remove(&format!("/ecs/dev-{}", specs[2].tenant_id));
            if let Some(g) = state.log_groups.get_mut(&format!("/ecs/dev-{}", specs[4].tenant_id)) {
                g.retention_days = Some(7);
            }
            state.mysql.users.remove(&format!("{}_user", specs[5].tenant_id));
        }
        let keys: Vec<TenantKey> = specs
            .iter()
            .map(|s| TenantKey {
                tenant_id: s.tenant_id.clone(),
                subdomains: vec![s.subdomain.clone()],
            })
            .collect();

        cloud.clear_calls();
        let mut one_by_one = Vec::new();
        for k in &keys {
            one_by_one.push(engine.observe_one(&k.tenant_id, &k.subdomains).await.expect("observe"));
        }
        let unbatched_calls = cloud.calls().len();

        cloud.clear_calls();
        let observer = Arc::new(BatchedObserver::new(engine.clone(), Duration::from_millis(20)));
        let batched = futures::future::join_all(keys.iter().map(|k| {
            let observer = observer.clone();
            let k = k.clone();
            async move { observer.observe(k).await.expect("observe") }
        }))
        .await;
        let batched_calls = cloud.calls().len();

        assert_eq!(batched, one_by_one, "same observations");
        assert!(
            batched_calls * 3 < unbatched_calls,
            "batched {batched_calls} calls vs {unbatched_calls} one by one"
        );
    }
}
