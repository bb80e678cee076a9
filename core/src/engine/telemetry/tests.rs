//! Logs and metrics of a tenant, against the in-memory cloud.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::engine::observe_and_plan;
use crate::fake::FakeCloud;
use crate::spec::{Platform, TenantInput};

fn event(ms: i64, id: &str) -> LogEvent {
    LogEvent {
        timestamp_ms: ms,
        stream: "s".into(),
        message: format!("message {id}"),
        event_id: id.into(),
    }
}

#[test]
fn a_tail_returns_each_event_once_across_polls_that_overlap() {
    let mut tail = LogTail::new("/ecs/dev-1".into(), UNIX_EPOCH + Duration::from_millis(100));
    let first = tail.take(vec![event(200, "b"), event(100, "a"), event(200, "c")]);
    assert_eq!(
        first.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    // The next poll starts at 200 ms and reads b and c again, plus d at 200
    // and e later.
    let second = tail.take(vec![event(200, "b"), event(200, "c"), event(200, "d"), event(300, "e")]);
    assert_eq!(
        second.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(),
        ["d", "e"]
    );
    assert!(tail.take(vec![event(300, "e")]).is_empty());
}

#[test]
fn a_follow_backs_off_while_nothing_comes_and_polls_soon_after_news() {
    let mut tail = LogTail::new("g".into(), UNIX_EPOCH);
    assert_eq!(tail.pause(), FOLLOW_FIRST_PAUSE);
    let pauses: Vec<u64> = (0..7)
        .map(|_| {
            tail.take(Vec::new());
            tail.pause().as_secs()
        })
        .collect();
    assert_eq!(pauses, [2, 4, 8, 16, 16, 16, 16]);
    tail.take(vec![event(5, "x")]);
    assert_eq!(tail.pause(), FOLLOW_FIRST_PAUSE);
}

#[test]
fn dimensions_come_from_the_arns() {
    let rule = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/dev-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
    assert_eq!(
        load_balancer_dimension(rule).as_deref(),
        Some("app/dev-alb/50dc6c495c0c9188")
    );
    assert_eq!(
        load_balancer_dimension("arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/a/b/c"),
        None
    );
    let tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/dev-1-tg/73e2d6bc24d8a067";
    assert_eq!(
        target_group_dimension(tg).as_deref(),
        Some("targetgroup/dev-1-tg/73e2d6bc24d8a067")
    );
    assert_eq!(target_group_dimension("arn:aws:ecs:eu-west-1:1:service/x"), None);
    assert_eq!(period_for(Duration::from_secs(3600)), 300);
    assert_eq!(period_for(Duration::from_secs(60)), 60);
}

fn setup() -> (Arc<FakeCloud>, Arc<Platform>, Engine) {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    (cloud, platform, engine)
}

async fn created(engine: &Engine, platform: Arc<Platform>, tenant_id: &str) -> crate::ObservedTenant {
    let spec = TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(tenant_id.into()),
        ..TenantInput::default()
    }
    .resolve(platform)
    .expect("valid spec");
    let (observed, plan) = observe_and_plan(engine, &spec, &[]).await.expect("plan");
    engine.apply(&spec, &observed, &plan).await.expect("apply")
}

#[tokio::test]
async fn logs_are_read_page_by_page_oldest_first_and_only_from_our_group() {
    let (cloud, platform, engine) = setup();
    created(&engine, platform, "123456789012").await;
    let group = "/ecs/dev-123456789012";
    for i in 0..25 {
        engine
            .ports
            .logs
            .append_event(group, &format!("wordpress/{}", i % 2), &format!("line {i}"))
            .await
            .expect("put");
    }
    let mut tail = engine.tail_logs("123456789012", UNIX_EPOCH).await.expect("our group");
    let lines: Vec<String> = engine
        .read_logs(&mut tail)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(lines.len(), 25, "every page (the fake's pages hold 10)");
    let mut sorted = lines.clone();
    sorted.sort_by_key(|l| l[5..].parse::<u32>().unwrap_or(0));
    assert_eq!(lines, sorted, "oldest first");
    assert!(
        engine.read_logs(&mut tail).await.expect("read").is_empty(),
        "nothing read twice"
    );
    engine
        .ports
        .logs
        .append_event(group, "wordpress/0", "line 25")
        .await
        .expect("put");
    let next = engine.read_logs(&mut tail).await.expect("read");
    assert_eq!(next.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["line 25"]);

    // A group of our name without our tags is refused; a missing one too.
    engine
        .ports
        .logs
        .append_event("/ecs/dev-123456789013", "x", "not ours")
        .await
        .expect("put");
    let foreign = engine
        .tail_logs("123456789013", UNIX_EPOCH)
        .await
        .expect_err("not ours");
    assert!(foreign.to_string().contains("not this tenant's"), "{foreign}");
    let missing = engine.tail_logs("123456789014", UNIX_EPOCH).await.expect_err("missing");
    assert!(missing.to_string().contains("no log group"), "{missing}");
    drop(cloud);
}

#[tokio::test]
async fn metrics_are_one_call_for_the_tenants_target_group_and_service() {
    let (cloud, platform, engine) = setup();
    let observed = created(&engine, platform.clone(), "123456789012").await;
    let rule = observed.listener_rule.as_ref().expect("rule");
    let tg = observed.target_group.as_ref().expect("target group");
    let lb = load_balancer_dimension(&rule.arn).expect("lb dimension");
    let tg = target_group_dimension(&tg.arn).expect("tg dimension");
    let end = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let t0 = 1_800_000_000 - 3600;
    let alb = [("LoadBalancer", lb.as_str()), ("TargetGroup", tg.as_str())];
    cloud.put_metric("AWS/ApplicationELB", "RequestCount", &alb, t0 + 10, 40.0);
    cloud.put_metric("AWS/ApplicationELB", "RequestCount", &alb, t0 + 20, 2.0);
    cloud.put_metric("AWS/ApplicationELB", "RequestCount", &alb, t0 + 400, 7.0);
    // Another target group's requests are not this tenant's.
    cloud.put_metric(
        "AWS/ApplicationELB",
        "RequestCount",
        &[("LoadBalancer", &lb), ("TargetGroup", "targetgroup/x/1")],
        t0 + 10,
        999.0,
    );
    let ecs = [
        ("ClusterName", platform.cluster.as_str()),
        ("ServiceName", "dev-123456789012-service"),
    ];
    cloud.put_metric("AWS/ECS", "CPUUtilization", &ecs, t0 + 30, 20.0);
    cloud.put_metric("AWS/ECS", "CPUUtilization", &ecs, t0 + 40, 40.0);
    cloud.clear_calls();

    let m = engine
        .tenant_metrics("123456789012", Duration::from_secs(3600), end)
        .await
        .expect("metrics");
    assert_eq!(cloud.calls_to("cloudwatch.GetMetricData").len(), 1);
    assert_eq!((m.end - m.start, m.period_seconds), (3600, 300));
    let by = |name: &str| {
        m.metrics
            .iter()
            .find(|x| x.name == name)
            .expect("metric")
            .points
            .clone()
    };
    assert_eq!(by("requests"), [(t0, 42.0), (t0 + 300, 7.0)]);
    assert_eq!(by("cpu"), [(t0, 30.0)]);
    assert!(by("errors_5xx").is_empty() && by("memory").is_empty());
    let names: Vec<&str> = m.metrics.iter().map(|x| x.name).collect();
    assert_eq!(names, ["requests", "errors_5xx", "response_time", "cpu", "memory"]);

    let none = engine
        .tenant_metrics("123456789019", Duration::from_secs(3600), end)
        .await
        .expect_err("no tenant");
    assert!(none.to_string().contains("read the metrics of"), "{none}");
    let _ = SystemTime::now();
}
