use std::time::Duration;

use super::*;
use crate::fake::FakeCloud;
use crate::parts::RecordTarget;

fn record(zone: &str, i: usize) -> DnsRecordSpec {
    DnsRecordSpec {
        zone_id: zone.to_owned(),
        name: format!("t{i}.wpdev.example.io"),
        target: RecordTarget::Cname(format!("t{i}.example.net")),
    }
}

// Ten creates at once (one Terraform walk): all are queued before the
// batch task first runs, so they go as one change batch; ten more arriving
// while one is in flight go as the next.
#[tokio::test(start_paused = true)]
async fn creates_arriving_while_a_batch_is_in_flight_go_as_the_next_batch() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    cloud.set_latency(Duration::from_millis(50));
    let batcher = Route53Batcher::new(cloud.ports().route53);
    let zone = platform.hosted_zone_id.clone();
    let specs: Vec<DnsRecordSpec> = (0..10).map(|i| record(&zone, i)).collect();
    let results = futures::future::join_all(specs.iter().map(|s| batcher.create_record(s))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(cloud.calls_to("route53.ChangeResourceRecordSets").len(), 1);

    cloud.clear_calls();
    let more: Vec<DnsRecordSpec> = (10..20).map(|i| record(&zone, i)).collect();
    let first = batcher.create_record(&more[0]);
    let rest = async {
        // Arrive while the first is in flight (its call takes 50 ms).
        tokio::time::sleep(Duration::from_millis(10)).await;
        futures::future::join_all(more[1..].iter().map(|s| batcher.create_record(s))).await
    };
    let (first, rest) = futures::join!(first, rest);
    assert!(first.is_ok() && rest.iter().all(Result::is_ok), "{first:?} {rest:?}");
    assert_eq!(
        cloud.calls_to("route53.ChangeResourceRecordSets").len(),
        2,
        "the first alone, then nine"
    );

    let listed = cloud.ports().route53.list_records(&zone).await.expect("list");
    for s in specs.iter().chain(&more) {
        assert!(listed.iter().any(|r| r.name == s.name), "{} created", s.name);
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_batch_creates_each_record_alone_and_only_the_conflict_fails() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    cloud.set_latency(Duration::from_millis(50));
    let zone = platform.hosted_zone_id.clone();
    let route53 = cloud.ports().route53;
    // Someone's record under the name of the third.
    let theirs = DnsRecordSpec {
        target: RecordTarget::Cname("someone.example.org".into()),
        ..record(&zone, 3)
    };
    route53.create_record(&theirs).await.expect("theirs");
    let batcher = Route53Batcher::new(route53.clone());
    let specs: Vec<DnsRecordSpec> = (0..6).map(|i| record(&zone, i)).collect();
    let results = futures::future::join_all(specs.iter().map(|s| batcher.create_record(s))).await;
    for (i, r) in results.iter().enumerate() {
        match i {
            3 => assert!(matches!(r, Err(e) if e.kind == PortErrorKind::AlreadyExists), "{r:?}"),
            _ => assert!(r.is_ok(), "record {i}: {r:?}"),
        }
    }
    let listed = route53.list_records(&zone).await.expect("list");
    let at_three: Vec<_> = listed.iter().filter(|r| r.name == theirs.name).collect();
    assert_eq!(at_three.len(), 1);
    assert_eq!(at_three[0].target, theirs.target, "their record is untouched");
}
