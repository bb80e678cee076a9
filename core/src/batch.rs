//! A fleet refresh, the one way to observe many tenants: Terraform
//! refreshes resources in parallel, one `ReadResource` each, and the
//! requests arriving within a short window are served by one batch of the
//! engine (`Engine::observe_batch`), whose reads are shared — services
//! described ten at a time, one rule listing per listener, one record
//! listing per zone, one access-point listing per file system, one
//! log-group listing, one MySQL query — and read ahead for the batches to
//! come. A request the engine's snapshot can answer (what this process read
//! since the last write through the engine, within its TTL) is answered at
//! once. The results are the same as one observation per tenant (a test
//! compares them); only the request count differs.
//!
//! A shared read that fails fails nobody: the batch's tenants are observed
//! again one by one, so that one tenant's error is that tenant's alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::engine::Engine;
use crate::error::CoreError;
use crate::observed::{ObservedTenant, TenantKey};

type Reply = oneshot::Sender<Result<ObservedTenant, CoreError>>;

/// Observes tenants for a refresh, concurrent requests in batches.
pub struct Refresh {
    engine: Arc<Engine>,
    window: Duration,
    pending: Arc<Mutex<Vec<(TenantKey, Reply)>>>,
}

impl Refresh {
    /// Default coalescing window: long enough for Terraform's parallel
    /// reads to arrive together, short against one AWS round trip.
    pub const DEFAULT_WINDOW: Duration = Duration::from_millis(10);

    /// A refresh that waits `window` for more requests before reading.
    pub fn new(engine: Arc<Engine>, window: Duration) -> Self {
        Refresh {
            engine,
            window,
            pending: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Observes one tenant: from the engine's snapshot when it holds
    /// everything the tenant needs, else in a batch with whatever else is
    /// asked for within the window. The plan that follows a refresh in the
    /// same process reads here too, and finds what the refresh read.
    pub async fn observe(&self, key: TenantKey) -> Result<ObservedTenant, CoreError> {
        if let Some(o) = self.engine.answer_from_snapshot(&key) {
            return Ok(o);
        }
        self.observe_in_batch(key).await
    }

    async fn observe_in_batch(&self, key: TenantKey) -> Result<ObservedTenant, CoreError> {
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
                match engine.observe_batch(&keys).await {
                    Ok(observed) => {
                        for ((_, reply), o) in batch.into_iter().zip(observed) {
                            let _ = reply.send(Ok(o));
                        }
                    }
                    Err(e) if batch.len() > 1 => {
                        tracing::warn!(tenants = batch.len(), error = %e, "a shared read of the batch failed; observing its tenants one by one");
                        one_by_one(&engine, batch).await;
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

/// After a shared read failed: each tenant observed alone (a few at a
/// time), so that one failing read fails only the tenants it concerns, not
/// every tenant that happened to share its batch.
async fn one_by_one(engine: &Engine, batch: Vec<(TenantKey, Reply)>) {
    use futures::StreamExt;
    futures::stream::iter(batch)
        .for_each_concurrent(4, |(key, reply)| async move {
            let _ = reply.send(engine.observe_key(&key).await);
        })
        .await;
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
    #[tokio::test(start_paused = true)]
    async fn batched_and_unbatched_observations_are_equal() {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        let specs: Vec<_> = (0..12).map(|i| spec(&platform, i)).collect();
        for s in &specs[..10] {
            let o = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
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
        let keys = keys_of(&specs);

        cloud.clear_calls();
        let one_by_one = one_by_one(&engine, &keys).await;
        let unbatched_calls = cloud.calls().len();

        cloud.clear_calls();
        let observer = Arc::new(Refresh::new(engine.clone(), Duration::from_millis(20)));
        let batched = batched(&observer, &keys).await;
        let batched_calls = cloud.calls().len();

        assert_eq!(batched, one_by_one, "same observations");
        assert!(
            batched_calls * 3 < unbatched_calls,
            "batched {batched_calls} calls vs {unbatched_calls} one by one"
        );
    }

    fn keys_of(specs: &[crate::TenantSpec]) -> Vec<TenantKey> {
        specs
            .iter()
            .map(|s| TenantKey {
                tenant_id: s.tenant_id.clone(),
                subdomains: vec![s.subdomain.clone()],
                custom_domains: Vec::new(),
            })
            .collect()
    }

    async fn one_by_one(engine: &Engine, keys: &[TenantKey]) -> Vec<ObservedTenant> {
        let mut out = Vec::new();
        for k in keys {
            out.push(
                engine
                    .observe_tenant(&k.tenant_id, &k.subdomains)
                    .await
                    .expect("observe"),
            );
        }
        out
    }

    async fn batched(observer: &Arc<Refresh>, keys: &[TenantKey]) -> Vec<ObservedTenant> {
        futures::future::join_all(keys.iter().map(|k| {
            let observer = observer.clone();
            let k = k.clone();
            async move { observer.observe(k).await.expect("observe") }
        }))
        .await
    }

    /// Revisions are immutable: one handed back from an earlier process
    /// (the provider's private state) is not described again while the
    /// environment's listing still shows it; a new revision registered
    /// behind our back, or a deregistered one, is seen all the same.
    #[tokio::test(start_paused = true)]
    async fn known_revisions_are_not_described_again() {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        let specs: Vec<_> = (0..6).map(|i| spec(&platform, i)).collect();
        let mut known = Vec::new();
        for s in &specs {
            let o = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
            let after = engine.apply(s, &o, &plan(s, &o)).await.expect("apply");
            known.push(after.task_definition.expect("a revision"));
        }
        let keys = keys_of(&specs);

        // A new process: only what the caller hands it.
        let fresh = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        for td in &known {
            fresh.know_revision(td.clone());
        }
        cloud.clear_calls();
        let observer = Arc::new(Refresh::new(fresh.clone(), Duration::from_millis(20)));
        let seen = batched(&observer, &keys).await;
        assert!(
            cloud.calls_to("ecs.DescribeTaskDefinition").is_empty(),
            "no revision described"
        );
        assert_eq!(
            cloud.calls_to("ecs.ListTaskDefinitions").len(),
            1,
            "one listing for all"
        );
        for (o, td) in seen.iter().zip(&known) {
            assert_eq!(o.task_definition.as_ref(), Some(td));
        }

        // Behind our back: a new revision of tenant 0, tenant 1's deregistered.
        let d = crate::parts::DesiredTenant::new(&specs[0], &seen[0].facts.clone().expect("facts"), &seen[0]);
        let mut td_spec = d.task_definition.clone();
        td_spec.image = "example/other:1".into();
        td_spec.secrets = known[0].secrets.clone();
        td_spec.access_point_id = known[0].access_point_id.clone().unwrap_or_default();
        let registered = cloud
            .ports()
            .ecs
            .register_task_definition(&td_spec)
            .await
            .expect("register");
        cloud
            .ports()
            .ecs
            .deregister_task_definition(&known[1].arn)
            .await
            .expect("deregister");

        let later = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        for td in &known {
            later.know_revision(td.clone());
        }
        let observer = Arc::new(Refresh::new(later, Duration::from_millis(20)));
        cloud.clear_calls();
        let seen = batched(&observer, &keys).await;
        let described: Vec<String> = cloud
            .calls_to("ecs.DescribeTaskDefinition")
            .into_iter()
            .map(|c| c.target)
            .collect();
        assert_eq!(described, vec![registered.arn.clone()], "only the unknown revision");
        assert_eq!(
            seen[0].task_definition.as_ref().map(|t| t.image.as_str()),
            Some("example/other:1")
        );
        assert_eq!(seen[1].task_definition, None, "deregistered");
        let one_by_one = engine
            .observe_tenant(&keys[0].tenant_id, &keys[0].subdomains)
            .await
            .expect("observe");
        assert_eq!(seen[0], one_by_one, "same as an unbatched read");
    }

    /// A fleet refresh arrives as batches of `-parallelism` tenants: the
    /// second batch reads ahead for every tenant the first one's listings
    /// showed, so the batches after it make no per-name read — with the
    /// same results as one-by-one reads, including tenants with parts
    /// missing.
    #[tokio::test(start_paused = true)]
    async fn later_batches_of_a_fleet_refresh_are_read_ahead() {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        let specs: Vec<_> = (0..25)
            .map(|i| {
                TenantInput {
                    name: format!("Fleet {i}"),
                    contact_email: "ops@example.com".into(),
                    tenant_id: Some(format!("2000000000{i:02}")),
                    status: Some(if i % 4 == 0 { "suspended" } else { "active" }.into()),
                    ..TenantInput::default()
                }
                .resolve(platform.clone())
                .expect("valid")
            })
            .collect();
        for s in &specs {
            let o = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
            engine.apply(s, &o, &plan(s, &o)).await.expect("apply");
        }
        {
            let mut state = cloud.state();
            let svc = format!("dev-{}-service", specs[17].tenant_id);
            state.services.retain(|(_, name), _| *name != svc);
            state.mysql.users.remove(&format!("{}_user", specs[22].tenant_id));
        }
        let keys = keys_of(&specs);
        let one_by_one = one_by_one(&engine, &keys).await;

        // A new process, handed the revisions it saw before (as the
        // provider does from Terraform's private state).
        let fresh = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        for td in one_by_one.iter().filter_map(|o| o.task_definition.clone()) {
            fresh.know_revision(td);
        }
        let observer = Arc::new(Refresh::new(fresh, Duration::from_millis(20)));
        let per_name = ["ecs.DescribeServices", "elbv2.DescribeTargetGroups", "mysql.Observe"];
        let mut seen = Vec::new();
        for (i, batch) in keys.chunks(10).enumerate() {
            cloud.clear_calls();
            seen.extend(batched(&observer, batch).await);
            let calls: Vec<&str> = cloud.calls().iter().map(|c| c.op).collect();
            match i {
                0 | 1 => assert!(calls.iter().any(|op| per_name.contains(op)), "batch {i} reads"),
                // Everything read: answered at once, without a call.
                _ => assert!(calls.is_empty(), "batch {i} was read ahead, yet called {calls:?}"),
            }
        }
        assert_eq!(seen, one_by_one, "same observations");

        // What was read ahead is answered at once: no batching window.
        let slow = Refresh::new(observer.engine.clone(), Duration::from_secs(30));
        let o = tokio::time::timeout(Duration::from_secs(5), slow.observe(keys[24].clone()))
            .await
            .expect("answered without waiting for the window")
            .expect("observe");
        assert_eq!(o, one_by_one[24]);
    }

    #[test]
    fn the_latest_revision_of_each_family() {
        let arn = |f: &str, r: u32| format!("arn:aws:ecs:eu-west-1:1:task-definition/{f}:{r}");
        let arns = vec![
            arn("dev-1", 2),
            arn("dev-1", 10),
            arn("dev-10", 1),
            arn("dev-1", 9),
            "junk".into(),
        ];
        let latest = crate::engine::latest_revisions(&arns);
        assert_eq!(latest.len(), 2);
        assert_eq!(latest["dev-1"], arn("dev-1", 10));
        assert_eq!(latest["dev-10"], arn("dev-10", 1));
    }

    /// A shared read that fails once fails nobody: the batch's tenants are
    /// observed again one by one.
    #[tokio::test(start_paused = true)]
    async fn a_failed_shared_read_does_not_fail_the_whole_batch() {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        let specs: Vec<_> = (0..3).map(|i| spec(&platform, i)).collect();
        for s in &specs {
            let o = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
            engine.apply(s, &o, &plan(s, &o)).await.expect("apply");
        }
        let keys = keys_of(&specs);
        let expected = one_by_one(&engine, &keys).await;
        let throttled = crate::ports::PortError::new(
            crate::ports::PortErrorKind::Transient,
            "ThrottlingException",
            "Rate exceeded",
        );
        cloud.fail_on("secrets.ListSecrets", None, throttled, 1);
        let observer = Arc::new(Refresh::new(engine.clone(), Duration::from_millis(20)));
        assert_eq!(batched(&observer, &keys).await, expected);
    }

    /// A fleet of `n` tenants applied on the fake, with a refresh on a new
    /// engine (the provider's process), whose snapshot one batch filled.
    async fn refreshed_fleet(n: usize) -> (Arc<FakeCloud>, Arc<Platform>, Refresh, Vec<crate::TenantSpec>) {
        let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
        let platform = Arc::new(platform);
        let setup = Engine::new(platform.clone(), cloud.ports());
        let specs: Vec<_> = (0..n).map(|i| spec(&platform, i)).collect();
        for s in &specs {
            let o = setup.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
            setup.apply(s, &o, &plan(s, &o)).await.expect("apply");
        }
        let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
        let refresh = Refresh::new(engine, Duration::from_millis(20));
        let keys = keys_of(&specs);
        let first = futures::future::join_all(keys.iter().map(|k| refresh.observe(k.clone()))).await;
        assert!(first.iter().all(Result::is_ok), "the first refresh");
        (cloud, platform, refresh, specs)
    }

    /// What changes a tenant between two refreshes.
    enum Write {
        /// An apply through the engine suspends it.
        Suspend,
        /// A destroy through the engine removes it.
        Destroy,
        /// The engine removes its expired creation lease.
        RemoveExpiredLease,
        /// Its log group's retention changes behind the engine's back.
        Elsewhere,
    }

    /// Makes `write` to tenant `s`; returns the observation the refresh
    /// holds right before the write's effect should show.
    async fn make(write: &Write, refresh: &Refresh, cloud: &Arc<FakeCloud>, s: &crate::TenantSpec) -> ObservedTenant {
        let engine = &refresh.engine;
        let platform = engine.platform().clone();
        let key = keys_of(std::slice::from_ref(s)).remove(0);
        let before = refresh.observe(key.clone()).await.expect("observe");
        match write {
            Write::Suspend => {
                let mut input = before.recovered_input(&platform).expect("input");
                input.status = Some("suspended".into());
                let suspended = input.resolve(platform).expect("valid");
                let o = engine
                    .observe_tenant(&s.tenant_id, &key.subdomains)
                    .await
                    .expect("observe");
                engine
                    .apply(&suspended, &o, &plan(&suspended, &o))
                    .await
                    .expect("apply");
            }
            Write::Destroy => {
                let o = engine
                    .observe_tenant(&s.tenant_id, &key.subdomains)
                    .await
                    .expect("observe");
                let p = crate::plan_destroy(s, &o);
                engine.destroy(s, &o, &p).await.expect("destroy");
            }
            Write::RemoveExpiredLease => {
                let arn = before.secret.as_ref().expect("a secret").arn.clone();
                let old = std::time::SystemTime::now() - Duration::from_secs(3600);
                let tags: crate::parts::Tags = [crate::lease::Lease::new("a-dead-run", old).tag()].into();
                cloud.ports().secrets.tag_resource(&arn, &tags).await.expect("tag");
                // Seen once the TTL is over; then confirmed: a write.
                tokio::time::advance(crate::engine::SNAPSHOT_TTL).await;
                let leased = refresh.observe(key).await.expect("observe");
                assert!(leased.lease().is_some(), "the lease is seen");
                engine.confirm_recorded(&leased).await;
                return leased;
            }
            Write::Elsewhere => {
                let group = format!("/ecs/dev-{}", s.tenant_id);
                cloud.state().log_groups.get_mut(&group).expect("group").retention_days = Some(1);
            }
        }
        before
    }

    /// Every write through the engine bumps the generation: the refresh
    /// after it finds what the write made, never the snapshot from before
    /// (compared with a fresh observation by another process, which leaves
    /// this one's snapshot alone). A change made behind the engine's back
    /// is not seen within the TTL — the snapshot is really used — and is
    /// after it.
    #[tokio::test(start_paused = true)]
    async fn a_write_through_the_engine_leaves_no_stale_read() {
        let cases = [
            ("an apply suspends tenant 1", Write::Suspend, 1),
            ("a destroy removes tenant 2", Write::Destroy, 2),
            ("the expired lease of tenant 4 is removed", Write::RemoveExpiredLease, 4),
            ("tenant 5's log group changes elsewhere", Write::Elsewhere, 5),
        ];
        for (name, write, i) in cases {
            let (cloud, platform, refresh, specs) = refreshed_fleet(6).await;
            let key = keys_of(&specs).remove(i);
            let before = make(&write, &refresh, &cloud, &specs[i]).await;
            let other_process = Engine::new(platform.clone(), cloud.ports());
            let fresh = other_process
                .observe_tenant(&key.tenant_id, &key.subdomains)
                .await
                .expect("fresh");
            assert_ne!(fresh, before, "{name}: the write changed what is observed");
            let after = refresh.observe(key.clone()).await.expect("observe");
            if let Write::Elsewhere = write {
                assert_eq!(after, before, "{name}: within the TTL the snapshot answers");
                tokio::time::advance(crate::engine::SNAPSHOT_TTL).await;
                let later = refresh.observe(key).await.expect("observe");
                assert_eq!(later, fresh, "{name}: after the TTL");
            } else {
                assert_eq!(after, fresh, "{name}: the refresh after the write");
            }
        }
    }

    /// A write of one tenant leaves what was read of the others usable:
    /// the fleet's other tenants are answered without a request, and as a
    /// fresh observation by another process finds them; the written one is
    /// read again.
    #[tokio::test(start_paused = true)]
    async fn a_write_of_one_tenant_leaves_the_others_answered_from_the_snapshot() {
        let (cloud, platform, refresh, specs) = refreshed_fleet(6).await;
        let keys = keys_of(&specs);
        make(&Write::Suspend, &refresh, &cloud, &specs[1]).await;
        cloud.clear_calls();
        let others: Vec<TenantKey> = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, k)| k.clone())
            .collect();
        let seen = futures::future::join_all(others.iter().map(|k| refresh.observe(k.clone()))).await;
        let seen: Vec<ObservedTenant> = seen.into_iter().map(|r| r.expect("observe")).collect();
        assert_eq!(
            cloud.calls().len(),
            0,
            "answered from the snapshot: {:?}",
            cloud.calls()
        );
        let other_process = Engine::new(platform.clone(), cloud.ports());
        assert_eq!(seen, one_by_one(&other_process, &others).await, "as they are");

        let written = refresh.observe(keys[1].clone()).await.expect("observe");
        assert!(!cloud.calls().is_empty(), "the written tenant is read again");
        let fresh = other_process
            .observe_tenant(&keys[1].tenant_id, &keys[1].subdomains)
            .await
            .expect("fresh");
        assert_eq!(written, fresh, "the written tenant as it is now");
    }

    /// A failing read: its name, the call, the failing tenant's target of it,
    /// and which tenant fails (none: the failure is transient).
    type Case = (
        &'static str,
        &'static str,
        fn(&crate::TenantSpec) -> Option<String>,
        Option<usize>,
    );

    /// One tenant's failing read fails that tenant alone: the batch's
    /// shared read (which names every tenant of the batch) fails, and the
    /// tenants observed one by one then succeed but the one whose read
    /// keeps failing. A transient failure of a listing fails nobody.
    #[tokio::test(start_paused = true)]
    async fn a_batch_with_one_failing_tenant_fails_that_tenant_alone() {
        let cases: [Case; 4] = [
            (
                "its service cannot be described",
                "ecs.DescribeServices",
                |s| Some(format!("dev-{}-service", s.tenant_id)),
                Some(1),
            ),
            (
                "its target group cannot be described",
                "elbv2.DescribeTargetGroups",
                |s| Some(s.names().target_group),
                Some(1),
            ),
            (
                "its database cannot be read",
                "mysql.Observe",
                |s| Some(s.names().database),
                Some(1),
            ),
            (
                "the secrets listing is throttled once",
                "secrets.ListSecrets",
                |_| None,
                None,
            ),
        ];
        for (name, op, target, failing) in cases {
            let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
            let platform = Arc::new(platform);
            let engine = Arc::new(Engine::new(platform.clone(), cloud.ports()));
            let specs: Vec<_> = (0..4).map(|i| spec(&platform, i)).collect();
            for s in &specs {
                let o = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
                engine.apply(s, &o, &plan(s, &o)).await.expect("apply");
            }
            let keys = keys_of(&specs);
            let expected = one_by_one(&engine, &keys).await;
            let error = crate::ports::PortError::new(
                crate::ports::PortErrorKind::Transient,
                "ThrottlingException",
                "Rate exceeded",
            );
            let times = if failing.is_some() { 100 } else { 1 };
            let failing_target = failing.and_then(|i| target(&specs[i]));
            cloud.fail_on(
                op,
                failing_target.as_deref().or(target(&specs[0]).as_deref()),
                error,
                times,
            );
            let fleet = Engine::new(platform.clone(), cloud.ports());
            let refresh = Arc::new(Refresh::new(Arc::new(fleet), Duration::from_millis(20)));
            let seen = futures::future::join_all(keys.iter().map(|k| refresh.observe(k.clone()))).await;
            for (i, (seen, expected)) in seen.iter().zip(&expected).enumerate() {
                match seen {
                    Ok(o) => assert_eq!(o, expected, "{name}: tenant {i}"),
                    Err(e) => assert_eq!(Some(i), failing, "{name}: tenant {i} failed: {e}"),
                }
            }
            assert_eq!(
                seen.iter().filter(|r| r.is_err()).count(),
                usize::from(failing.is_some()),
                "{name}: failures"
            );
        }
    }

    /// What a batch read ahead answers the batches after it — and the plan
    /// that follows the refresh — without a request, within the TTL only.
    #[tokio::test(start_paused = true)]
    async fn read_ahead_is_reused_within_the_ttl() {
        let cases = [
            ("at once", Duration::ZERO, true),
            (
                "just within the TTL",
                crate::engine::SNAPSHOT_TTL - Duration::from_millis(100),
                true,
            ),
            ("after the TTL", crate::engine::SNAPSHOT_TTL, false),
        ];
        for (name, wait, reused) in cases {
            let (cloud, _, refresh, specs) = refreshed_fleet(12).await;
            let keys = keys_of(&specs);
            // A second batch reads ahead for the whole fleet.
            let second = futures::future::join_all(keys[..3].iter().map(|k| refresh.observe(k.clone()))).await;
            assert!(second.iter().all(Result::is_ok), "{name}: the second batch");
            tokio::time::advance(wait).await;
            cloud.clear_calls();
            let rest = futures::future::join_all(keys[3..].iter().map(|k| refresh.observe(k.clone()))).await;
            let rest: Vec<ObservedTenant> = rest.into_iter().map(|r| r.expect("observe")).collect();
            let calls = cloud.calls().len();
            assert_eq!(calls == 0, reused, "{name}: {calls} calls");
            let other_process = Engine::new(refresh.engine.platform().clone(), cloud.ports());
            assert_eq!(
                rest,
                one_by_one(&other_process, &keys[3..]).await,
                "{name}: same observations"
            );
        }
    }

    /// The plans of a fleet apply's new tenants arrive one by one as the
    /// walk goes on: past the snapshot's TTL the first of them lists the
    /// environment again, and the next shares that listing, instead of
    /// each reading its own tenant part by part (about eight reads).
    #[tokio::test(start_paused = true)]
    async fn a_lone_tenant_past_the_ttl_lists_again_for_those_after_it() {
        let (cloud, platform, refresh, _) = refreshed_fleet(4).await;
        tokio::time::advance(crate::engine::SNAPSHOT_TTL).await;
        let new: Vec<_> = (4..6).map(|i| spec(&platform, i)).collect();
        let keys = keys_of(&new);
        let ops = |cloud: &FakeCloud| cloud.calls().iter().map(|c| c.op).collect::<Vec<_>>();
        cloud.clear_calls();
        let first = refresh.observe(keys[0].clone()).await.expect("the first");
        let listed = ops(&cloud);
        assert!(listed.contains(&"secrets.ListSecrets"), "listed again: {listed:?}");
        assert!(!listed.contains(&"secrets.DescribeSecret"), "read alone: {listed:?}");
        cloud.clear_calls();
        let second = refresh.observe(keys[1].clone()).await.expect("the second");
        let shared = ops(&cloud);
        assert!(
            !shared.contains(&"secrets.ListSecrets") && !shared.contains(&"secrets.DescribeSecret"),
            "the listing shared: {shared:?}"
        );
        let other_process = Engine::new(platform.clone(), cloud.ports());
        assert_eq!(vec![first, second], one_by_one(&other_process, &keys).await);
    }
}
