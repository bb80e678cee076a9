//! The operation → detail-type table, and the events of a tenant's life on
//! the in-memory cloud: one per operation, the audit record as the detail,
//! no secret in it, nothing sent without `events`, never failing the
//! operation.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::audit::MAX_RECORD_BYTES;
use crate::fake::FakeCloud;
use crate::ports::{PortError, PortErrorKind};
use crate::spec::{EventsSettings, Platform, TenantInput, TenantSpec};
use crate::{plan, plan_destroy};

#[test]
fn every_operation_has_one_of_the_seven_detail_types() {
    let seven: BTreeSet<&str> = [
        "Tenant Created",
        "Tenant Updated",
        "Tenant Suspended",
        "Tenant Resumed",
        "Tenant Deleted",
        "Tenant Backed Up",
        "Tenant Restored",
    ]
    .into();
    let used: BTreeSet<&str> = DETAIL_TYPES.iter().map(|(_, t)| *t).collect();
    assert_eq!(used, seven, "each detail-type is some operation's, and no other exists");
    let ops: BTreeSet<&str> = DETAIL_TYPES.iter().map(|(op, _)| *op).collect();
    assert_eq!(ops.len(), DETAIL_TYPES.len(), "one row per operation");
    for (op, t) in [
        ("create", "Tenant Created"),
        ("update", "Tenant Updated"),
        ("suspend", "Tenant Suspended"),
        ("resume", "Tenant Resumed"),
        ("delete", "Tenant Deleted"),
        ("backup", "Tenant Backed Up"),
        ("restore", "Tenant Restored"),
        ("restart", "Tenant Updated"),
        ("rotate_credentials", "Tenant Updated"),
        ("something_new", "Tenant Updated"),
    ] {
        assert_eq!(detail_type(op), t, "{op}");
    }
}

const BUS: &str = "billing";

fn setup(events: Option<&str>) -> (Arc<FakeCloud>, Arc<Platform>, Engine) {
    let (cloud, mut platform) = FakeCloud::with_platform("wpdev.example.io");
    platform.events = events.map(|bus| EventsSettings { bus_name: bus.into() });
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    (cloud, platform, engine)
}

fn input() -> TenantInput {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some("123456789012".into()),
        retain_data_on_destroy: Some(false),
        ..TenantInput::default()
    }
}

async fn converge(engine: &Engine, spec: &TenantSpec) -> ObservedTenant {
    let o = engine.observe_tenant(&spec.tenant_id, &[]).await.expect("observe");
    engine.apply(spec, &o, &plan(spec, &o)).await.expect("apply")
}

/// Every password the cloud holds: the tenant's (in its secret and in
/// MySQL) and the admin's.
fn passwords(cloud: &FakeCloud) -> Vec<String> {
    let s = cloud.state();
    let mut out: Vec<String> = s.mysql.users.values().map(|u| u.password.clone()).collect();
    out.push(s.mysql.admin_password.clone());
    for secret in s.secrets.values() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&secret.value)
            && let Some(p) = v["password"].as_str()
        {
            out.push(p.to_owned());
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

#[tokio::test(start_paused = true)]
async fn each_operation_puts_one_event_whose_detail_is_its_audit_record() {
    let (cloud, platform, engine) = setup(Some(BUS));
    let mut input = input();
    let mut secrets = Vec::new();
    converge(&engine, &input.resolve(platform.clone()).expect("valid")).await;
    secrets.extend(passwords(&cloud));
    converge(&engine, &input.resolve(platform.clone()).expect("valid")).await; // no change: no event
    input.desired_count = Some(3);
    converge(&engine, &input.resolve(platform.clone()).expect("valid")).await;
    input.status = Some("suspended".into());
    converge(&engine, &input.resolve(platform.clone()).expect("valid")).await;
    input.status = Some("active".into());
    let spec = input.resolve(platform.clone()).expect("valid");
    converge(&engine, &spec).await;
    engine.restart("123456789012", None).await.expect("restart");
    engine.rotate_credentials("123456789012", None).await.expect("rotate");
    secrets.extend(passwords(&cloud));
    let after = engine.observe_tenant("123456789012", &[]).await.expect("observe");
    let service_arn = after.service.as_ref().expect("service").arn.clone();
    engine
        .destroy(&spec, &after, &plan_destroy(&spec, &after))
        .await
        .expect("destroy");

    let state = cloud.state();
    let records = &state.log_groups["/bbws/dev/audit"].streams["123456789012"];
    let events = &state.events;
    let types: Vec<&str> = events.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "Tenant Created",
            "Tenant Updated",
            "Tenant Suspended",
            "Tenant Resumed",
            "Tenant Updated",
            "Tenant Updated",
            "Tenant Deleted"
        ]
    );
    assert_eq!(events.len(), records.len(), "one event per audit record");
    for (event, record) in events.iter().zip(records) {
        assert_eq!(event.bus_name, BUS);
        assert_eq!(event.source, "bbws");
        assert_eq!(event.detail, record.message, "the detail is the record as written");
        assert_eq!(event.resources, std::slice::from_ref(&service_arn));
        let r: crate::audit::AuditRecord = serde_json::from_str(&event.detail).expect("the record");
        assert_eq!(
            crate::audit::rfc3339(event.time),
            r.time,
            "the event's time is the record's"
        );
        for secret in &secrets {
            assert!(
                !event.detail.contains(secret.as_str()),
                "a password in {}",
                event.detail
            );
        }
    }
    let ops: Vec<String> = events
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).expect("JSON")["operation"].to_string())
        .collect();
    assert_eq!(
        ops[4..6],
        ["\"restart\"", "\"rotate_credentials\""],
        "the actions say which"
    );
    assert!(secrets.len() >= 3, "passwords were looked for: {}", secrets.len());
}

#[tokio::test(start_paused = true)]
async fn without_events_no_eventbridge_call_is_made() {
    let (cloud, platform, engine) = setup(None);
    converge(&engine, &input().resolve(platform).expect("valid")).await;
    assert!(
        cloud.calls().iter().all(|c| !c.op.starts_with("events.")),
        "{:?}",
        cloud.calls()
    );
    assert!(cloud.state().events.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failing_bus_never_fails_the_operation() {
    let (cloud, platform, engine) = setup(Some(BUS));
    let denied = PortError::new(PortErrorKind::AccessDenied, "AccessDeniedException", "not allowed");
    cloud.fail_on("events.PutEvents", None, denied, usize::MAX);
    let spec = input().resolve(platform).expect("valid");
    let created = converge(&engine, &spec).await;
    assert!(created.service.is_some(), "the create went through");
    assert!(cloud.state().events.is_empty());
    assert_eq!(
        cloud.calls_to("events.PutEvents").len(),
        1,
        "not retried: access denied"
    );
    assert_eq!(
        cloud.state().log_groups["/bbws/dev/audit"].streams["123456789012"].len(),
        1,
        "the audit record is written all the same"
    );
    engine
        .destroy(&spec, &created, &plan_destroy(&spec, &created))
        .await
        .expect("a destroy too");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_event_is_put_again() {
    let (cloud, platform, engine) = setup(Some(BUS));
    let throttled = PortError::new(PortErrorKind::Transient, "ThrottlingException", "Rate exceeded");
    cloud.fail_on("events.PutEvents", None, throttled, 2);
    converge(&engine, &input().resolve(platform).expect("valid")).await;
    assert_eq!(cloud.calls_to("events.PutEvents").len(), 3);
    assert_eq!(cloud.state().events.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_call_the_sdk_already_retried_is_not_put_again() {
    let (cloud, platform, engine) = setup(Some(BUS));
    let throttled = PortError::new(PortErrorKind::Transient, "ThrottlingException", "Rate exceeded").with_attempts(9);
    cloud.fail_on("events.PutEvents", None, throttled, 1);
    converge(&engine, &input().resolve(platform).expect("valid")).await;
    assert_eq!(cloud.calls_to("events.PutEvents").len(), 1, "nine attempts were enough");
    assert!(cloud.state().events.is_empty());
}

#[test]
fn a_record_too_large_for_an_event_is_cut_to_fit() {
    let record = crate::audit::AuditRecord {
        operation: "create".into(),
        time: "2026-12-02T00:00:00.000000Z".into(),
        operator: "arn:aws:iam::123456789012:user/x".into(),
        environment: "dev".into(),
        tenant: "123456789012".into(),
        parts: (0..2000).map(|i| format!("part {i}: {}", "p".repeat(100))).collect(),
        outcome: "failed".into(),
        error: Some("e".repeat(300_000)),
    };
    let bounded = record.bounded();
    let text = serde_json::to_string(&bounded).expect("JSON");
    assert!(text.len() <= MAX_RECORD_BYTES, "{}", text.len());
    assert!(bounded.error.as_deref().is_some_and(|e| e.ends_with("(cut)")));
    let last = bounded.parts.last().expect("parts");
    assert!(last.starts_with("… and ") && last.ends_with(" more"), "{last}");
    let small = crate::audit::AuditRecord {
        error: None,
        parts: vec!["service: create".into()],
        ..bounded
    };
    assert_eq!(small.clone().bounded(), small, "a small record is kept whole");
}

/// A port that reads only the HTTP status: every put "succeeds".
struct StatusOnly;

#[async_trait::async_trait]
impl crate::ports::EventsApi for StatusOnly {
    async fn put_event(&self, _event: &BusEvent) -> crate::ports::PortResult<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_contract_catches_a_port_that_misses_refused_entries() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    crate::contract::events(&cloud.ports(), &platform)
        .await
        .expect("the fake keeps it");
    let mut ports = cloud.ports();
    ports.events = Arc::new(StatusOnly);
    let e = crate::contract::events(&ports, &platform).await.expect_err("caught");
    assert!(e.contains("not JSON"), "{e}");
}
