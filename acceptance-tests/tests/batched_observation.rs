//! Batched observation against moto and MariaDB: concurrent requests served
//! by one batch observe exactly what one-by-one observation does, for
//! tenants in varied states (whole, suspended, with a part deleted out of
//! band, with drift, absent).

use std::sync::Arc;
use std::time::Duration;

use bbws_acceptance_tests::{Stack, random_tenant_id};
use bbws_core::batch::Refresh;
use bbws_core::{Engine, TenantInput, TenantKey, plan, plan_destroy};

#[test]
fn batched_and_unbatched_observations_agree_on_the_emulator() {
    let stack = Stack::load();
    // SAFETY: this binary's only test sets the emulator's credentials
    // before any runtime thread exists or reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"));
        std::env::set_var("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"));
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let platform = Arc::new(stack.platform());
        let engine = Arc::new(Engine::new(platform.clone(), stack.ports().await));
        let specs: Vec<_> = (0..6)
            .map(|i| {
                let tid = random_tenant_id();
                TenantInput {
                    name: format!("Batched {i}"),
                    contact_email: "ops@batched.example".into(),
                    subdomain: Some(format!("b{i}-{}", &tid[6..])),
                    tenant_id: Some(tid),
                    status: Some(if i == 1 { "suspended" } else { "active" }.into()),
                    retain_data_on_destroy: Some(false),
                    ..TenantInput::default()
                }
                .resolve(platform.clone())
                .expect("valid")
            })
            .collect();
        // Five exist; the sixth never does.
        for s in &specs[..5] {
            let o = engine
                .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
                .await
                .expect("observe");
            engine.apply(s, &o, &plan(s, &o)).await.expect("apply");
        }
        stack.out_of_band(&specs[2].tenant_id, &specs[2].subdomain, "delete-service", None);
        stack.out_of_band(&specs[3].tenant_id, &specs[3].subdomain, "set-log-retention", Some("7"));
        stack.out_of_band(&specs[4].tenant_id, &specs[4].subdomain, "delete-database-user", None);

        let keys: Vec<TenantKey> = specs
            .iter()
            .map(|s| TenantKey {
                tenant_id: s.tenant_id.clone(),
                subdomains: vec![s.subdomain.clone()],
                custom_domains: Vec::new(),
            })
            .collect();
        let mut one_by_one = Vec::new();
        for k in &keys {
            one_by_one.push(
                engine
                    .observe_tenant(&k.tenant_id, &k.subdomains)
                    .await
                    .expect("observe"),
            );
        }
        let observer = Arc::new(Refresh::new(engine.clone(), Duration::from_millis(50)));
        let batched = futures::future::join_all(keys.iter().cloned().map(|k| {
            let observer = observer.clone();
            async move { observer.observe(k).await.expect("observe") }
        }))
        .await;
        assert_eq!(batched, one_by_one);
        assert!(!batched[5].exists() && batched[2].service.is_none() && batched[4].database_user.is_none());

        // A fleet refresh in a new process, two tenants a batch: the second
        // batch reads ahead for the rest, the revisions come from what an
        // earlier process saw (the provider's private state). Same answers.
        let fresh = Arc::new(Engine::new(platform.clone(), stack.ports().await));
        for o in &one_by_one {
            if let Some(td) = &o.task_definition {
                fresh.know_revision(td.clone());
            }
        }
        let observer = Arc::new(Refresh::new(fresh, Duration::from_millis(50)));
        let mut in_batches = Vec::new();
        for batch in keys.chunks(2) {
            in_batches.extend(
                futures::future::join_all(batch.iter().cloned().map(|k| {
                    let observer = observer.clone();
                    async move { observer.observe(k).await.expect("observe") }
                }))
                .await,
            );
        }
        assert_eq!(in_batches, one_by_one, "batches with read-ahead and known revisions");

        for (s, o) in specs.iter().zip(&one_by_one).take(5) {
            engine.destroy(s, o, &plan_destroy(s, o)).await.expect("destroy");
        }
    });
}
