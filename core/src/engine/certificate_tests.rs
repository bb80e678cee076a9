//! The custom domains' certificate against the in-memory cloud: requested
//! with the tenant, served once issued, replaced without a gap in TLS,
//! repaired, removed, destroyed, and rolled back with a failed create.

use std::sync::Arc;

use super::*;
use crate::fake::{FakeCloud, failing_kth};
use crate::naming::{TAG_CERTIFICATE, TAG_CERTIFICATE_SUPERSEDED};
use crate::plan::{CertificateField, ListenerRuleField, PartAction};
use crate::ports::CertificateStatus;
use crate::spec::TenantInput;
use crate::{plan, plan_destroy};

const ID: &str = "123456789012";

fn setup() -> (Arc<FakeCloud>, Arc<Platform>, Engine) {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    (cloud, platform, engine)
}

fn with_domains(platform: Arc<Platform>, domains: &[&str]) -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(ID.into()),
        custom_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        ..TenantInput::default()
    }
    .resolve(platform)
    .expect("valid spec")
}

async fn observe(engine: &Engine) -> ObservedTenant {
    engine.observe_tenant(ID, &[]).await.expect("observe")
}

async fn converge(engine: &Engine, s: &TenantSpec) -> ObservedTenant {
    let observed = observe(engine).await;
    let p = plan(s, &observed);
    engine.apply(s, &observed, &p).await.expect("apply")
}

/// The ARNs the platform's listener serves by SNI.
fn served(cloud: &FakeCloud, platform: &Platform) -> Vec<String> {
    let state = cloud.state();
    state
        .listeners
        .get(platform.first_listener())
        .map(|l| l.certificates.clone())
        .unwrap_or_default()
}

fn marker(o: &ObservedTenant, key: &str) -> Option<String> {
    o.service.as_ref().and_then(|s| s.tags.get(key).cloned())
}

fn assert_converged(s: &TenantSpec, o: &ObservedTenant) {
    let p = plan(s, o);
    assert!(p.is_empty(), "{p}");
}

#[tokio::test]
async fn a_certificate_is_requested_served_once_issued_and_replaced_without_a_gap() {
    let (cloud, platform, engine) = setup();
    let mut s = with_domains(platform.clone(), &["www.acme.com"]);
    let after = converge(&engine, &s).await;
    let first = after.certificate.clone().expect("certificate requested");
    assert_eq!(first.status, CertificateStatus::PendingValidation);
    assert_eq!(marker(&after, TAG_CERTIFICATE), Some(first.arn.clone()));
    let rule = after.listener_rule.as_ref().expect("rule");
    assert_eq!(rule.hosts, vec![s.names().fqdn, "www.acme.com".to_owned()]);
    let outputs = after.outputs(&s.names());
    assert_eq!(outputs.certificate_arn, Some(first.arn.clone()));
    assert_eq!(outputs.certificate_validation_records.map(|r| r.len()), Some(1));
    // Pending: nothing to do until ACM issues it.
    assert!(served(&cloud, &platform).is_empty());
    assert_converged(&s, &after);

    cloud.issue_certificates();
    let now = observe(&engine).await;
    assert_eq!(
        plan(&s, &now).action(Part::Certificate),
        &PartAction::update(vec![CertificateField::Listener])
    );
    let after = converge(&engine, &s).await;
    assert_eq!(served(&cloud, &platform), vec![first.arn.clone()]);
    assert_converged(&s, &after);

    // Another name: a new certificate; the old one serves on meanwhile.
    s.custom_domains = vec!["www.acme.com".into(), "shop.acme.com".into()];
    let p = plan(&s, &after);
    assert_eq!(
        p.action(Part::Certificate),
        &PartAction::update(vec![CertificateField::Domains])
    );
    assert!(p.updates(ListenerRuleField::Host));
    assert_eq!(
        p.planned_outputs(&s, &after).outputs.certificate_arn,
        None,
        "known after apply"
    );
    let after = converge(&engine, &s).await;
    let second = after.certificate.clone().expect("new certificate");
    assert_ne!(second.arn, first.arn);
    assert_eq!(marker(&after, TAG_CERTIFICATE_SUPERSEDED), Some(first.arn.clone()));
    assert_eq!(served(&cloud, &platform), vec![first.arn.clone()]);
    assert_converged(&s, &after);

    // Issued: the new one serves, the old one goes.
    cloud.issue_certificates();
    let now = observe(&engine).await;
    assert_eq!(
        plan(&s, &now).action(Part::Certificate),
        &PartAction::update(vec![CertificateField::Listener, CertificateField::Superseded])
    );
    let after = converge(&engine, &s).await;
    assert_eq!(served(&cloud, &platform), vec![second.arn.clone()]);
    assert!(!cloud.state().certificates.contains_key(&first.arn));
    assert_eq!(marker(&after, TAG_CERTIFICATE_SUPERSEDED), None);
    assert_converged(&s, &after);

    // No custom domains: the certificate and its markers go.
    s.custom_domains.clear();
    assert_eq!(plan(&s, &after).action(Part::Certificate), &PartAction::Delete);
    let after = converge(&engine, &s).await;
    assert!(cloud.state().certificates.is_empty());
    assert!(served(&cloud, &platform).is_empty());
    assert_eq!(marker(&after, TAG_CERTIFICATE), None);
    assert_eq!(after.listener_rule.as_ref().map(|r| r.hosts.len()), Some(1));
    assert_eq!(after.outputs(&s.names()).certificate_arn, None);
    assert_converged(&s, &after);
}

#[tokio::test]
async fn drift_of_the_certificate_is_repaired_and_destroy_removes_it() {
    let (cloud, platform, engine) = setup();
    let s = with_domains(platform.clone(), &["www.acme.com"]);
    converge(&engine, &s).await;
    cloud.issue_certificates();
    let after = converge(&engine, &s).await;
    let arn = after.certificate.as_ref().expect("certificate").arn.clone();

    // Taken off the listener out of band: served again.
    cloud
        .state()
        .listeners
        .values_mut()
        .for_each(|l| l.certificates.clear());
    let now = observe(&engine).await;
    assert_eq!(
        plan(&s, &now).action(Part::Certificate),
        &PartAction::update(vec![CertificateField::Listener])
    );
    converge(&engine, &s).await;
    assert_eq!(served(&cloud, &platform), vec![arn.clone()]);

    // Deleted out of band: requested anew (its marker names a gone one).
    cloud
        .state()
        .listeners
        .values_mut()
        .for_each(|l| l.certificates.clear());
    cloud.state().certificates.clear();
    let now = observe(&engine).await;
    assert_eq!(plan(&s, &now).action(Part::Certificate), &PartAction::Create);
    let after = converge(&engine, &s).await;
    let renewed = after.certificate.clone().expect("requested anew");
    assert_ne!(renewed.arn, arn);
    cloud.issue_certificates();
    let after = converge(&engine, &s).await;
    assert_eq!(served(&cloud, &platform), vec![renewed.arn.clone()]);

    let d = plan_destroy(&s, &after);
    assert_eq!(d.action(Part::Certificate), &PartAction::Delete);
    engine.destroy(&s, &after, &d).await.expect("destroy");
    assert!(cloud.state().certificates.is_empty());
    assert!(served(&cloud, &platform).is_empty());
}

#[tokio::test]
async fn a_custom_domain_routed_by_someone_else_is_a_conflict() {
    let (cloud, platform, engine) = setup();
    let other = TenantInput {
        name: "Other".into(),
        contact_email: "ops@other.example".into(),
        tenant_id: Some("210987654321".into()),
        custom_domains: vec!["www.acme.com".into()],
        ..TenantInput::default()
    }
    .resolve(platform.clone())
    .expect("valid spec");
    let observed = engine.observe_tenant("210987654321", &[]).await.expect("observe");
    engine
        .apply(&other, &observed, &plan(&other, &observed))
        .await
        .expect("apply");

    let s = with_domains(platform, &["www.acme.com"]);
    let key = crate::TenantKey {
        tenant_id: ID.into(),
        subdomains: vec![s.subdomain.clone()],
        custom_domains: s.custom_domains.clone(),
    };
    let o = engine.observe_key(&key).await.expect("observe");
    let p = plan(&s, &o);
    let c = p.conflicts.first().expect("a conflict");
    assert!(c.name.contains("www.acme.com"), "{c:?}");
    assert_eq!(c.owner.as_deref(), Some("210987654321"));
    assert!(engine.apply(&s, &o, &p).await.is_err());
    assert_eq!(cloud.state().certificates.len(), 1, "only the other tenant's");
}

/// Fails each mutating call of a create with custom domains in turn:
/// nothing is left, the certificate included.
#[tokio::test]
async fn a_failed_create_leaves_no_certificate() {
    let mut k = 1;
    let mut failed_certificate_steps = 0;
    loop {
        let (cloud, platform, _) = setup();
        let injected = PortError::new(PortErrorKind::Other, "InjectedFailure", "boom");
        let (failing, counter) = failing_kth(cloud.ports(), k, injected);
        let engine = Engine::new(platform.clone(), failing);
        let s = with_domains(platform.clone(), &["www.acme.com"]);
        let observed = observe(&engine).await;
        let result = engine.apply(&s, &observed, &plan(&s, &observed)).await;
        let Some(failed) = counter.failed() else {
            result.expect("no failure injected");
            break;
        };
        if result.is_ok() {
            k += 1;
            continue;
        }
        failed_certificate_steps += usize::from(failed.op == "acm.RequestCertificate");
        assert!(cloud.state().certificates.is_empty(), "k={k} ({})", failed.op);
        let clean = Engine::new(platform.clone(), cloud.ports());
        let left = clean.observe_tenant(ID, &[]).await.expect("observe");
        assert!(!left.exists(), "k={k} ({}): {left:?}", failed.op);
        k += 1;
    }
    assert_eq!(failed_certificate_steps, 1, "the request was failed once");
}

/// Two applies planned before either ran, both claiming one domain: the
/// one that finds the other's rule backs off, a create rolled back and an
/// update's rule routing what it did; no domain is left shared.
#[tokio::test]
async fn a_domain_claimed_by_a_concurrent_apply_is_withdrawn() {
    let (cloud, platform, engine) = setup();
    let spec_of = |id: &str| {
        TenantInput {
            name: format!("T{id}"),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some(id.into()),
            custom_domains: vec!["www.acme.com".into()],
            ..TenantInput::default()
        }
        .resolve(platform.clone())
        .expect("valid spec")
    };
    let (a, b) = (spec_of("111111111111"), spec_of("222222222222"));
    // An existing tenant that will add the domain too.
    let mut c = TenantSpec {
        custom_domains: Vec::new(),
        ..spec_of("333333333333")
    };
    converge_as(&engine, &c).await;
    c.custom_domains = vec!["www.acme.com".into()];

    let key = |s: &TenantSpec| crate::TenantKey {
        tenant_id: s.tenant_id.clone(),
        subdomains: vec![s.subdomain.clone()],
        custom_domains: s.custom_domains.clone(),
    };
    let (oa, ob, oc) = (
        engine.observe_key(&key(&a)).await.expect("observe"),
        engine.observe_key(&key(&b)).await.expect("observe"),
        engine.observe_key(&key(&c)).await.expect("observe"),
    );
    let (pa, pb, pc) = (plan(&a, &oa), plan(&b, &ob), plan(&c, &oc));
    assert!(pa.conflicts.is_empty() && pb.conflicts.is_empty() && pc.conflicts.is_empty());
    engine.apply(&a, &oa, &pa).await.expect("the first claim stands");

    let e = engine.apply(&b, &ob, &pb).await.expect_err("the second backs off");
    assert!(e.to_string().contains("www.acme.com"), "{e}");
    let left = engine.observe_tenant("222222222222", &[]).await.expect("observe");
    assert!(!left.exists(), "the create is rolled back: {left:?}");

    let e = engine.apply(&c, &oc, &pc).await.expect_err("the update backs off");
    assert!(e.to_string().contains("tenant 111111111111"), "{e}");
    let now = engine.observe_tenant("333333333333", &[]).await.expect("observe");
    let hosts = &now.listener_rule.as_ref().expect("rule").hosts;
    assert_eq!(hosts.len(), 1, "the update's claim is withdrawn: {hosts:?}");
    let routing = cloud
        .state()
        .listeners
        .values()
        .flat_map(|l| l.rules.values())
        .filter(|r| r.hosts.iter().any(|h| h == "www.acme.com"))
        .count();
    assert_eq!(routing, 1);
}

async fn converge_as(engine: &Engine, s: &TenantSpec) -> ObservedTenant {
    let observed = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
    let p = plan(s, &observed);
    engine.apply(s, &observed, &p).await.expect("apply")
}

/// A custom domain in a public hosted zone of the account: bbws writes its
/// validation record there itself (never over a record of that name), a
/// record deleted while the certificate is pending is written again, and
/// an issued certificate needs none.
#[tokio::test]
async fn validation_records_are_written_into_the_accounts_own_zone() {
    let (cloud, platform, engine) = setup();
    let zone = "ZOWNACMEEXAMPLE".to_owned();
    let other = "ZOTHEREXAMPLE".to_owned();
    for (id, name) in [(&zone, "acme.example"), (&other, "other.example")] {
        cloud.state().zones.insert(
            id.clone(),
            crate::fake::FakeZone {
                id: id.clone(),
                name: name.into(),
                records: Default::default(),
            },
        );
    }
    let s = with_domains(platform.clone(), &["www.acme.example", "shop.elsewhere.example"]);
    let after = converge(&engine, &s).await;
    let cert = after.certificate.clone().expect("requested");
    assert_eq!(cert.status, CertificateStatus::PendingValidation);
    let cname_in = |zone: &str| -> Vec<(String, crate::parts::RecordTarget)> {
        let state = cloud.state();
        state.zones[zone]
            .records
            .iter()
            .map(|((n, _), t)| (n.clone(), t.clone()))
            .collect()
    };
    let ours = cert
        .validation_records
        .iter()
        .find(|r| r.name.contains("www.acme.example"))
        .expect("a record for www.acme.example");
    let name = ours.name.trim_end_matches('.').to_owned();
    assert_eq!(
        cname_in(&zone),
        vec![(
            name.clone(),
            crate::parts::RecordTarget::Cname(ours.value.trim_end_matches('.').to_owned())
        )],
        "written in the zone of its domain, and only that one"
    );
    assert!(cname_in(&other).is_empty(), "nothing in an unrelated zone");
    let zone_lookups_since = |from: usize| {
        (cloud.calls()[from..].iter())
            .filter(|c| c.op == "route53.ListHostedZonesByName")
            .count()
    };
    let calls_before = cloud.calls().len();
    let o = observe(&engine).await;
    assert!(o.validation_missing.is_empty());
    assert_converged(&s, &o);
    assert_eq!(
        zone_lookups_since(calls_before),
        0,
        "zones are looked up once per engine"
    );

    // Deleted while pending: the plan says so, the apply writes it again.
    cloud.state().zones.get_mut(&zone).expect("zone").records.clear();
    let o = observe(&engine).await;
    let p = plan(&s, &o);
    assert!(p.updates(CertificateField::Validation), "{p:?}");
    engine.apply(&s, &o, &p).await.expect("apply");
    assert_eq!(cname_in(&zone).len(), 1);

    // A record of that name someone else wrote is left as it is.
    let foreign = crate::parts::RecordTarget::Cname("someone-else.example.".into());
    cloud
        .state()
        .zones
        .get_mut(&zone)
        .expect("zone")
        .records
        .insert((name.clone(), "CNAME".into()), foreign.clone());
    let o = observe(&engine).await;
    assert!(o.validation_missing.is_empty(), "a CNAME is there: not ours to replace");
    assert_eq!(cname_in(&zone), vec![(name, foreign)]);

    // Issued: nothing to validate, nothing asked of Route53 for it.
    cloud.issue_certificates();
    converge(&engine, &s).await;
    let calls_before = cloud.calls().len();
    let o = observe(&engine).await;
    assert!(o.validation_missing.is_empty());
    let record_reads = (cloud.calls()[calls_before..].iter())
        .filter(|c| c.op == "route53.ListResourceRecordSets" && c.target.starts_with('_'))
        .count();
    assert_eq!(record_reads, 0, "an issued certificate's records are not looked for");
}
