//! The tenant's alarms against the in-memory cloud: put with the tenant,
//! repaired, following a new target group, removed with the topic and
//! the tenant, never written over someone else's, and rolled back with a
//! failed create.

use std::sync::Arc;

use super::*;
use crate::fake::{FakeCloud, failing_kth};
use crate::naming::TAG_ALARMS;
use crate::plan::{AlarmsField, PartAction};
use crate::spec::TenantInput;
use crate::{plan, plan_destroy};

const ID: &str = "123456789012";
const TOPIC: &str = crate::fake::ALARM_TOPIC;

fn platform_with_topic(topic: Option<&str>) -> (Arc<FakeCloud>, Arc<Platform>) {
    let (cloud, mut platform) = FakeCloud::with_platform("wpdev.example.io");
    platform.alarm_topic_arn = topic.map(str::to_owned);
    (cloud, Arc::new(platform))
}

fn tenant(platform: &Arc<Platform>) -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(ID.into()),
        retain_data_on_destroy: Some(false),
        ..TenantInput::default()
    }
    .resolve(platform.clone())
    .expect("valid spec")
}

async fn converge(engine: &Engine, s: &TenantSpec) -> ObservedTenant {
    let observed = engine.observe_tenant(&s.tenant_id, &[]).await.expect("observe");
    let p = plan(s, &observed);
    engine.apply(s, &observed, &p).await.expect("apply")
}

fn alarm_names(cloud: &FakeCloud) -> Vec<String> {
    cloud.state().alarms.keys().cloned().collect()
}

fn marked(o: &ObservedTenant) -> bool {
    o.service.as_ref().is_some_and(|s| s.tags.contains_key(TAG_ALARMS))
}

#[tokio::test]
async fn alarms_are_put_repaired_and_removed_with_the_topic() {
    let (cloud, platform) = platform_with_topic(Some(TOPIC));
    let engine = Engine::new(platform.clone(), cloud.ports());
    let s = tenant(&platform);
    let after = converge(&engine, &s).await;
    let names = s.names().alarms.to_vec();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(alarm_names(&cloud), sorted);
    assert!(marked(&after));
    assert_eq!(after.alarms.len(), 3);
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
    {
        let state = cloud.state();
        let rate = &state.alarms[&names[0]];
        assert_eq!(rate.definition.topic_arn, TOPIC);
        assert_eq!(rate.tags.get("bbws:tenant").map(String::as_str), Some(ID));
        let tg = after.target_group.as_ref().expect("target group");
        let dims = &rate.definition.queries[1].stat.as_ref().expect("a metric").dimensions;
        let watched = dims
            .iter()
            .find(|(k, _)| k == "TargetGroup")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        assert!(
            tg.arn.ends_with(&watched) && watched.starts_with("targetgroup/"),
            "{watched} of {}",
            tg.arn
        );
    }

    // Changed out of band, then deleted: put again, in place.
    cloud
        .state()
        .alarms
        .get_mut(&names[1])
        .expect("alarm")
        .definition
        .threshold = 7;
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert_eq!(
        plan(&s, &now).action(Part::Alarms),
        &PartAction::update(vec![AlarmsField::Definitions])
    );
    converge(&engine, &s).await;
    assert_eq!(cloud.state().alarms[&names[1]].definition.threshold, 0);
    cloud.state().alarms.remove(&names[2]);
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert_eq!(
        plan(&s, &now).action(Part::Alarms),
        &PartAction::update(vec![AlarmsField::Definitions])
    );
    let after = converge(&engine, &s).await;
    assert_eq!(alarm_names(&cloud).len(), 3);
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));

    // The topic unset: the alarms go, then the marker.
    let without = Arc::new(Platform {
        alarm_topic_arn: None,
        ..(*platform).clone()
    });
    let engine = Engine::new(without.clone(), cloud.ports());
    let s = tenant(&without);
    let now = engine.observe_tenant(ID, &[]).await.expect("observe");
    assert_eq!(plan(&s, &now).action(Part::Alarms), &PartAction::Delete);
    let after = converge(&engine, &s).await;
    assert!(alarm_names(&cloud).is_empty());
    assert!(!marked(&after));
    assert!(plan(&s, &after).is_empty(), "{}", plan(&s, &after));
}

#[tokio::test]
async fn destroy_removes_the_alarms_and_someone_elses_alarm_is_never_overwritten() {
    let (cloud, platform) = platform_with_topic(Some(TOPIC));
    let engine = Engine::new(platform.clone(), cloud.ports());
    let s = tenant(&platform);
    let after = converge(&engine, &s).await;
    let d = plan_destroy(&s, &after);
    assert_eq!(d.action(Part::Alarms), &PartAction::Delete);
    engine.destroy(&s, &after, &d).await.expect("destroy");
    assert!(alarm_names(&cloud).is_empty());

    // Another tenant, with an alarm of its name that bbws did not make.
    let other = TenantSpec {
        tenant_id: "210987654321".into(),
        subdomain: "210987654321".into(),
        ..s.clone()
    };
    let mut theirs = crate::parts::AlarmsSpec::of(&other, &other.names(), "")
        .expect("alarms")
        .definitions("")
        .remove(0);
    theirs.description = "the on-call team's own alarm".into();
    crate::ports::AlarmsApi::put_alarm(&*cloud.ports().alarms, &theirs, &Default::default())
        .await
        .expect("put");
    let observed = engine.observe_tenant(&other.tenant_id, &[]).await.expect("observe");
    let e = engine
        .apply(&other, &observed, &plan(&other, &observed))
        .await
        .expect_err("refused");
    assert!(e.to_string().contains(&theirs.name), "{e}");
    assert_eq!(
        cloud.state().alarms[&theirs.name].definition.description,
        "the on-call team's own alarm"
    );
    let left = engine.observe_tenant(&other.tenant_id, &[]).await.expect("observe");
    assert!(!left.exists(), "the failed create is rolled back: {left:?}");
    assert_eq!(alarm_names(&cloud), [theirs.name.clone()], "theirs only");
}

/// Fails each mutating call of a create with alarms in turn: nothing is
/// left, the alarms included.
#[tokio::test]
async fn a_failed_create_leaves_no_alarm() {
    let mut k = 1;
    let mut failed_puts = 0;
    loop {
        let (cloud, platform) = platform_with_topic(Some(TOPIC));
        let injected = PortError::new(PortErrorKind::Other, "InjectedFailure", "boom");
        let (failing, counter) = failing_kth(cloud.ports(), k, injected);
        let engine = Engine::new(platform.clone(), failing);
        let s = tenant(&platform);
        let observed = engine.observe_tenant(ID, &[]).await.expect("observe");
        let result = engine.apply(&s, &observed, &plan(&s, &observed)).await;
        let Some(failed) = counter.failed() else {
            result.expect("no failure injected");
            break;
        };
        if result.is_ok() {
            k += 1;
            continue;
        }
        failed_puts += usize::from(failed.op == "cloudwatch.PutMetricAlarm");
        assert!(alarm_names(&cloud).is_empty(), "k={k} ({})", failed.op);
        let clean = Engine::new(platform.clone(), cloud.ports());
        let left = clean.observe_tenant(ID, &[]).await.expect("observe");
        assert!(!left.exists(), "k={k} ({}): {left:?}", failed.op);
        k += 1;
    }
    assert_eq!(failed_puts, 3, "each of the three puts was failed once");
}

#[tokio::test]
async fn a_missing_alarm_topic_is_refused_naming_the_setting() {
    let (cloud, platform) = platform_with_topic(Some("arn:aws:sns:eu-west-1:123456789012:no-such-topic"));
    let engine = Engine::new(platform, cloud.ports());
    let e = engine.check_alarm_topic().await.expect_err("missing topic");
    assert!(
        matches!(&e, CoreError::Platform { setting: "alarm_topic_arn", message } if message.contains("no-such-topic")),
        "{e}"
    );
    // Once it exists the check passes, and is not asked again.
    cloud
        .state()
        .topics
        .insert("arn:aws:sns:eu-west-1:123456789012:no-such-topic".into());
    engine.check_alarm_topic().await.expect("topic exists");
    let asked = || {
        cloud
            .calls()
            .iter()
            .filter(|c| c.op == "sns.GetTopicAttributes")
            .count()
    };
    let before = asked();
    engine.check_alarm_topic().await.expect("still");
    assert_eq!(asked(), before);

    let (cloud, platform) = platform_with_topic(None);
    Engine::new(platform, cloud.ports())
        .check_alarm_topic()
        .await
        .expect("no topic, no check");
    assert!(cloud.calls().is_empty());
}
