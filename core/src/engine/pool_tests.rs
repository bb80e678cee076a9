//! The listener pool against the in-memory cloud: placement by free slots,
//! the alias to the tenant's own load balancer, stable placement, pinning,
//! the pool-full refusal, and concurrent applies that never overfill.

use std::time::Duration;

use super::*;
use crate::fake::FakeCloud;
use crate::parts::Part;
use crate::parts::{RecordTarget, Tags, TargetGroupSpec};
use crate::placement::PlacementClaims;
use crate::plan;
use crate::ports::{PortError, PortErrorKind};
use crate::spec::TenantInput;

/// A platform of two ALBs, at most `cap` tenants per listener.
fn pool(cap: u32) -> (Arc<FakeCloud>, Arc<Platform>) {
    let (cloud, mut platform) = FakeCloud::with_platform("wpdev.example.io");
    let second = cloud.state().add_load_balancer("dev-alb-2");
    platform.listener_arns.push(second);
    platform.max_tenants_per_listener = Some(cap);
    (cloud, Arc::new(platform))
}

fn spec(platform: &Arc<Platform>, i: u32, pinned: Option<&str>) -> TenantSpec {
    TenantInput {
        name: format!("T{i}"),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(format!("1234567890{i:02}")),
        listener_arn: pinned.map(str::to_owned),
        ..TenantInput::default()
    }
    .resolve(platform.clone())
    .expect("valid spec")
}

async fn converge(engine: &Engine, s: &TenantSpec) -> Result<ObservedTenant, CoreError> {
    let (observed, p) = observe_and_plan(engine, s, &[]).await?;
    engine.check_room(s, &observed, &PlacementClaims::default()).await?;
    engine.apply(s, &observed, &p).await
}

fn listener_of(o: &ObservedTenant) -> String {
    o.listener_rule.as_ref().expect("rule").listener_arn.clone()
}

#[tokio::test]
async fn new_tenants_fill_the_pool_by_free_slots_and_the_next_is_refused() {
    let (cloud, platform) = pool(2);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let l = &platform.listener_arns;
    let mut placed = Vec::new();
    for i in 0..4 {
        let s = spec(&platform, i, None);
        let after = converge(&engine, &s).await.expect("apply");
        assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
        // The alias points at the tenant's own load balancer.
        let facts = engine.facts().await.expect("facts");
        let lb = facts.listener(&listener_of(&after)).expect("pool listener");
        let alias = &after.dns_records.first().expect("record").target;
        assert!(
            matches!(alias, RecordTarget::Alias { dns_name, .. } if *dns_name == lb.load_balancer_dns_name),
            "{alias:?}"
        );
        let outputs = after.outputs(&s.names());
        assert_eq!(
            outputs.load_balancer_dns_name.as_deref(),
            Some(lb.load_balancer_dns_name.as_str())
        );
        placed.push(listener_of(&after));
    }
    // Each goes where most is free (ties: either): the second and fourth
    // where the first and third did not, two on each listener.
    assert!(placed[0] != placed[1] && placed[2] != placed[3], "{placed:?}");
    for listener in l {
        assert_eq!(placed.iter().filter(|p| *p == listener).count(), 2, "{placed:?}");
    }
    // A later plan (a process of its own: within one, the plan-time count
    // is an estimate that the provider's claims complete).
    let fifth = spec(&platform, 4, None);
    let later = Engine::new(platform.clone(), cloud.ports());
    let (observed, _) = observe_and_plan(&later, &fifth, &[]).await.expect("plan");
    let err = later
        .check_room(&fifth, &observed, &PlacementClaims::default())
        .await
        .expect_err("full");
    assert!(
        matches!(&err, CoreError::Platform { setting: "listener_arns", message } if message.contains("1 more listener(s) needed")),
        "{err}"
    );
    // Nothing of the refused tenant exists; the placed ones stay put.
    assert!(!observed.exists());
    for i in 0..4 {
        let s = spec(&platform, i, None);
        let (o, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
        assert!(p.is_empty(), "{p}");
        assert_eq!(listener_of(&o), placed[i as usize], "tenant {i} stays");
    }
}

#[tokio::test]
async fn one_plan_counts_the_other_new_tenants_it_plans() {
    let (cloud, platform) = pool(2);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let claims = PlacementClaims::default();
    for i in 0..4 {
        let s = spec(&platform, i, None);
        let (observed, _) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
        engine.check_room(&s, &observed, &claims).await.expect("room");
    }
    let s = spec(&platform, 4, None);
    let (observed, _) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    let err = engine.check_room(&s, &observed, &claims).await.expect_err("full");
    assert!(err.to_string().contains("5 new tenant(s)"), "{err}");
}

// Terraform plans each tenant again right before applying it: within one
// process the plan-time room check estimates from the pool's load read
// within the snapshot's TTL, whatever was created since (the claims count
// those), instead of listing every listener again for every new tenant;
// the placement at apply still reads fresh.
#[tokio::test]
async fn the_plan_time_room_check_of_a_fleet_apply_reads_the_pool_once() {
    let (cloud, platform) = pool(3);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let claims = PlacementClaims::default();
    let mut listings_at_plan = Vec::new();
    for i in 0..6 {
        let s = spec(&platform, i, None);
        let (observed, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
        cloud.clear_calls();
        engine.check_room(&s, &observed, &claims).await.expect("room");
        listings_at_plan.push(cloud.calls_to("elbv2.DescribeRules").len());
        engine.apply(&s, &observed, &p).await.expect("apply");
    }
    assert_eq!(
        listings_at_plan[0], 2,
        "the first reads each listener: {listings_at_plan:?}"
    );
    assert!(listings_at_plan[1..].iter().all(|n| *n == 0), "{listings_at_plan:?}");
    // The pool is full: the seventh is refused at plan by the claims,
    // though the estimate was read before the six were made.
    let s = spec(&platform, 6, None);
    let (observed, _) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    let err = engine.check_room(&s, &observed, &claims).await.expect_err("full");
    assert!(err.to_string().contains("listener pool is full"), "{err}");
}

#[tokio::test]
async fn a_pinned_tenant_goes_and_stays_where_it_is_pinned() {
    let (cloud, platform) = pool(2);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let second = platform.listener_arns[1].clone();
    let s = spec(&platform, 0, Some(&second));
    let after = converge(&engine, &s).await.expect("apply");
    assert_eq!(listener_of(&after), second);
    assert!(plan(&s, &after).is_empty());
    // Unpinned again, it stays (placement never moves a tenant).
    let s = spec(&platform, 0, None);
    let (o, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
    assert!(p.is_empty(), "{p}");
    assert_eq!(listener_of(&o), second);
}

/// The tenant's parts that a move touches, as the fake holds them: its
/// target groups (by name), the listeners its rules are on, where its
/// record points, and the target group its service is behind.
#[derive(Debug, PartialEq, Eq)]
struct Where {
    target_groups: Vec<String>,
    rules_on: Vec<String>,
    alias: String,
    service_behind: String,
}

async fn where_is(cloud: &Arc<FakeCloud>, engine: &Engine, s: &TenantSpec) -> Where {
    let n = s.names();
    let ports = cloud.ports();
    let mut target_groups: Vec<String> = ports
        .elbv2
        .describe_target_groups(&[n.target_group.clone(), n.target_group_alternate.clone()])
        .await
        .expect("target groups")
        .into_iter()
        .map(|t| t.name)
        .collect();
    target_groups.sort();
    let mut rules_on = Vec::new();
    for l in &s.platform.listener_arns {
        let rules = ports.elbv2.describe_rules(l).await.expect("rules");
        rules_on.extend(rules.iter().filter(|r| r.hosts.contains(&n.fqdn)).map(|_| l.clone()));
    }
    let o = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    let alias = match o.dns_records.first().map(|r| &r.target) {
        Some(RecordTarget::Alias { dns_name, .. }) => dns_name.clone(),
        other => format!("{other:?}"),
    };
    let service = ports
        .ecs
        .describe_services(&s.platform.cluster, std::slice::from_ref(&n.service))
        .await
        .expect("service");
    let service_behind = service
        .first()
        .and_then(|svc| svc.target_group_arns.first())
        .and_then(|arn| crate::parts::target_group_name(arn))
        .unwrap_or_default()
        .to_owned();
    Where {
        target_groups,
        rules_on,
        alias,
        service_behind,
    }
}

/// Where a tenant of `s` is once it lives on `listener`, behind its target
/// group under its first name or (`alternate`) its other one.
async fn settled(engine: &Engine, s: &TenantSpec, listener: &str, alternate: bool) -> Where {
    let facts = engine.facts().await.expect("facts");
    let n = s.names();
    let group = if alternate {
        n.target_group_alternate
    } else {
        n.target_group
    };
    Where {
        target_groups: vec![group.clone()],
        rules_on: vec![listener.to_owned()],
        alias: facts.listener(listener).expect("pool").load_balancer_dns_name.clone(),
        service_behind: group,
    }
}

#[tokio::test]
async fn a_tenant_pinned_to_another_listener_moves_there_in_place_and_back() {
    let (cloud, platform) = pool(2);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let [first, second] = [platform.listener_arns[0].clone(), platform.listener_arns[1].clone()];
    let on_second = spec(&platform, 0, Some(&second));
    let made = converge(&engine, &on_second).await.expect("apply");
    assert_eq!(
        where_is(&cloud, &engine, &on_second).await,
        settled(&engine, &on_second, &second, false).await
    );
    let service_arn = made.service.as_ref().expect("service").arn.clone();
    for (to, alternate) in [(&first, true), (&second, false)] {
        let s = spec(&platform, 0, Some(to));
        let (o, p) = observe_and_plan(&engine, &s, &[]).await.expect("plan");
        engine
            .check_room(&s, &o, &PlacementClaims::default())
            .await
            .expect("room on the new listener");
        assert!(
            p.action(Part::Service).updates(plan::ServiceField::TargetGroup),
            "in place: {p}"
        );
        let after = engine.apply(&s, &o, &p).await.expect("move");
        assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
        assert_eq!(
            where_is(&cloud, &engine, &s).await,
            settled(&engine, &s, to, alternate).await
        );
        assert_eq!(
            after.service.as_ref().expect("service").arn,
            service_arn,
            "the same service"
        );
        // A fresh engine (another run) finds the same, with nothing left.
        let fresh = Engine::new(platform.clone(), cloud.ports());
        let (o, p) = observe_and_plan(&fresh, &s, &[]).await.expect("plan");
        assert!(
            p.is_empty() && o.leftover_rules.is_empty() && o.leftover_target_groups.is_empty(),
            "{p}"
        );
    }
    // Destroy removes it wherever it moved.
    let s = spec(&platform, 0, Some(&second));
    destroy_tenant(&engine, &s).await;
    let gone = where_is(&cloud, &engine, &s).await;
    assert!(gone.target_groups.is_empty() && gone.rules_on.is_empty(), "{gone:?}");
}

/// Observes the tenant as a fresh run would and destroys what it found.
async fn destroy_tenant(engine: &Engine, s: &TenantSpec) {
    let o = engine
        .observe_tenant(&s.tenant_id, std::slice::from_ref(&s.subdomain))
        .await
        .expect("observe");
    engine
        .destroy(s, &o, &crate::plan::plan_destroy(s, &o))
        .await
        .expect("destroy");
}

/// A run killed in a move after it made the new target group, before the
/// rule, leaves a group no rule or service points at: destroy finds it by
/// name and deletes it when it is the tenant's, and leaves one that is not.
#[tokio::test]
async fn destroy_deletes_a_stray_target_group_of_a_killed_move_and_only_its_own() {
    let (cloud, platform) = pool(2);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let elbv2 = cloud.ports().elbv2;
    for (i, ours) in [(0, true), (1, false)] {
        let s = spec(&platform, i, None);
        let made = converge(&engine, &s).await.expect("apply");
        let group = made.target_group.as_ref().expect("target group");
        let stray = TargetGroupSpec {
            name: s.names().target_group_alternate,
            vpc_id: platform.vpc_id.clone(),
            port: group.port,
            health_check_path: group.health_check_path.clone(),
            tags: if ours { group.tags.clone() } else { Tags::new() },
        };
        elbv2.create_target_group(&stray).await.expect("stray group");
        destroy_tenant(&engine, &s).await;
        let left = where_is(&cloud, &engine, &s).await.target_groups;
        let expected = if ours { Vec::new() } else { vec![stray.name.clone()] };
        assert_eq!(left, expected, "ours: {ours}");
    }
}

/// Fails each mutating call of a move in turn: before the service moved the
/// tenant is back where it was; after, what is left is the tenant's; either
/// way the next apply finishes the move with nothing left over.
#[tokio::test]
async fn a_move_failing_at_any_call_is_finished_by_the_next_apply() {
    for lose_answer in [false, true] {
        for k in 1.. {
            let (cloud, platform) = pool(2);
            let [first, second] = [platform.listener_arns[0].clone(), platform.listener_arns[1].clone()];
            let on_second = spec(&platform, 0, Some(&second));
            converge(&Engine::new(platform.clone(), cloud.ports()), &on_second)
                .await
                .expect("apply");
            let boom = PortError::new(PortErrorKind::Other, "InjectedFailure", "boom");
            let (ports, counter) = if lose_answer {
                crate::fake::losing_kth(cloud.ports(), k, boom)
            } else {
                crate::fake::failing_kth(cloud.ports(), k, boom)
            };
            let s = spec(&platform, 0, Some(&first));
            let first_try = converge(&Engine::new(platform.clone(), ports), &s).await;
            let Some(failed) = counter.failed() else {
                assert!(first_try.is_ok(), "k={k}: {first_try:?}");
                assert!(
                    k > 4,
                    "a move makes a group, a rule, moves the service and the name: k={k}"
                );
                break;
            };
            let clean = Engine::new(platform.clone(), cloud.ports());
            let after = converge(&clean, &s)
                .await
                .unwrap_or_else(|e| panic!("k={k} ({}, lost={lose_answer}): the next apply: {e}", failed.op));
            assert!(
                plan(&s, &after).is_empty(),
                "k={k} ({}): {}",
                failed.op,
                plan(&s, &after)
            );
            let at = where_is(&cloud, &clean, &s).await;
            assert_eq!(
                at.rules_on,
                std::slice::from_ref(&first),
                "k={k} ({}): {at:?}",
                failed.op
            );
            assert_eq!(at.target_groups.len(), 1, "k={k} ({}): {at:?}", failed.op);
            assert_eq!(at.target_groups[0], at.service_behind, "k={k} ({}): {at:?}", failed.op);
            let facts = clean.facts().await.expect("facts");
            assert_eq!(
                at.alias,
                facts.listener(&first).expect("pool").load_balancer_dns_name,
                "k={k}"
            );
        }
    }
}

#[tokio::test]
async fn an_apply_whose_listener_filled_up_since_its_plan_backs_off() {
    let (cloud, platform) = pool(1);
    let first = platform.listener_arns[0].clone();
    let engine_a = Engine::new(platform.clone(), cloud.ports());
    let engine_b = Engine::new(platform.clone(), cloud.ports());
    let a = spec(&platform, 0, Some(&first));
    let b = spec(&platform, 1, Some(&first));
    // B planned while the listener had room; A took the slot since.
    let (observed_b, plan_b) = observe_and_plan(&engine_b, &b, &[]).await.expect("plan");
    engine_b
        .check_room(&b, &observed_b, &PlacementClaims::default())
        .await
        .expect("room at plan time");
    converge(&engine_a, &a).await.expect("apply a");
    let err = engine_b.apply(&b, &observed_b, &plan_b).await.expect_err("backs off");
    assert!(err.to_string().contains("ListenerFilledMeanwhile"), "{err}");
    let rules = cloud.ports().elbv2.describe_rules(&first).await.expect("rules");
    assert_eq!(rules.len(), 1, "the listener holds its one tenant: {rules:?}");
    let left = engine_b
        .observe_tenant(&b.tenant_id, std::slice::from_ref(&b.subdomain))
        .await
        .expect("observe");
    assert!(!left.exists(), "the backed-off run left parts: {left:?}");
}

// On tokio's paused clock with latency, the applies' calls interleave: each
// reads the pool before any has created its rule.
#[tokio::test(start_paused = true)]
async fn concurrent_applies_never_overfill_a_listener() {
    let (cloud, platform) = pool(1);
    cloud.set_latency(Duration::from_millis(20));
    let engines: Vec<Engine> = (0..4).map(|_| Engine::new(platform.clone(), cloud.ports())).collect();
    let specs: Vec<TenantSpec> = (0..4).map(|i| spec(&platform, i, None)).collect();
    let results = futures::future::join_all(
        engines
            .iter()
            .zip(&specs)
            .map(|(e, s)| async move { converge(e, s).await }),
    )
    .await;
    for l in &platform.listener_arns {
        let rules = cloud.ports().elbv2.describe_rules(l).await.expect("rules");
        assert!(rules.len() <= 1, "listener {l} overfilled: {rules:?}");
    }
    // Safety, not liveness: runs that all find the listener overfilled
    // all back off (and a retry places them).
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        let s = r.to_string();
        assert!(
            s.contains("ListenerFilledMeanwhile") || s.contains("listener pool is full"),
            "{s}"
        );
    }
    // Applied again one by one, the pool fills and refuses the rest.
    let mut placed = 0;
    for (e, s) in engines.iter().zip(&specs) {
        if converge(e, s).await.is_ok() {
            placed += 1;
        }
    }
    assert_eq!(placed, 2, "two listeners of one tenant each");
}

// One Terraform walk: one engine creates four tenants at once, each placed
// before any rule is on a listener. Each placement counts the others', so
// all four fit, two on each listener, with no back-off.
#[tokio::test(start_paused = true)]
async fn one_process_creating_at_once_places_each_tenant_in_its_own_slot() {
    let (cloud, platform) = pool(2);
    cloud.set_latency(Duration::from_millis(20));
    let engine = Engine::new(platform.clone(), cloud.ports());
    let specs: Vec<TenantSpec> = (0..4).map(|i| spec(&platform, i, None)).collect();
    let results = futures::future::join_all(specs.iter().map(|s| converge(&engine, s))).await;
    let placed: Vec<String> = results
        .iter()
        .map(|r| listener_of(r.as_ref().expect("every create succeeds")))
        .collect();
    for l in &platform.listener_arns {
        assert_eq!(placed.iter().filter(|p| *p == l).count(), 2, "{placed:?}");
    }
    // The fifth does not fit.
    let fifth = spec(&platform, 4, None);
    let err = converge(&engine, &fifth).await.expect_err("full");
    assert!(err.to_string().contains("listener pool is full"), "{err}");
}

// Placing each new tenant reads the pool's rules fresh, but the tags only
// of the rules this process has not seen: those of the rules it made it
// knows, another process's it reads once. Growing a fleet of 1000 on ten
// listeners cost each new tenant about 55 DescribeTags before.
#[tokio::test]
async fn placing_a_fleet_reads_the_tags_of_unseen_rules_only() {
    let (cloud, platform) = pool(40);
    let engine = Engine::new(platform.clone(), cloud.ports());
    for i in 0..40 {
        converge(&engine, &spec(&platform, i, None)).await.expect("apply");
    }
    cloud.clear_calls();
    let next = converge(&engine, &spec(&platform, 40, None)).await.expect("apply");
    let listings = cloud.calls_to("elbv2.DescribeRules").len();
    assert!(listings >= 2, "the pool's rules are read fresh: {listings}");
    let rule_tags = || {
        let calls = cloud.calls_to("elbv2.DescribeTags");
        calls.into_iter().filter(|c| c.target.contains(":listener/")).count()
    };
    assert_eq!(rule_tags(), 0, "tags of rules this process made were read again");
    // Another process's rule is read once, and counted.
    let other = Engine::new(platform.clone(), cloud.ports());
    let theirs = converge(&other, &spec(&platform, 41, None))
        .await
        .expect("apply by another process");
    cloud.clear_calls();
    let last = converge(&engine, &spec(&platform, 42, None)).await.expect("apply");
    assert_eq!(rule_tags(), 1, "the other process's rule's tags read once");
    let loads = engine.pool_loads().await.expect("loads");
    let counted: usize = loads.iter().map(|l| l.tenants.len()).sum();
    assert_eq!(counted, 43, "{loads:?}");
    let theirs_on = loads
        .iter()
        .find(|l| l.listener_arn == listener_of(&theirs))
        .expect("listener");
    assert!(theirs_on.tenants.contains(&theirs.tenant_id), "{theirs_on:?}");
    for o in [&next, &last] {
        assert!(platform.listener_arns.contains(&listener_of(o)), "placed in the pool");
    }
}

#[tokio::test]
async fn a_tenant_with_custom_domains_is_placed_where_a_certificate_fits() {
    let (cloud, platform) = pool(10);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let l = &platform.listener_arns;
    // The first listener serves AWS's 25 certificates already; it has the
    // most free tenant slots otherwise.
    cloud.state().listeners.get_mut(&l[0]).expect("listener").certificates = (0..25)
        .map(|i| format!("arn:aws:acm:eu-west-1:123456789012:certificate/other-{i}"))
        .collect();
    for i in 0..2 {
        converge(&engine, &spec(&platform, i, Some(&l[1])))
            .await
            .expect("apply");
    }
    let plain = converge(&engine, &spec(&platform, 10, None)).await.expect("apply");
    assert_eq!(
        listener_of(&plain),
        l[0],
        "certificates do not count for a tenant without custom domains"
    );
    let certified = TenantSpec {
        custom_domains: vec!["www.acme.com".into()],
        ..spec(&platform, 11, None)
    };
    let after = converge(&engine, &certified).await.expect("apply");
    assert_eq!(listener_of(&after), l[1], "placed where a certificate fits");
}
