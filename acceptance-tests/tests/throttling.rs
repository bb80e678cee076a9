//! A fleet under AWS's request rates (issue 15): `tools/aws_faults.py
//! --aws-rates` puts a token bucket per service and action in front of moto
//! at the rates AWS publishes (ECS's per-action buckets, Route53's five
//! requests a second per account; assumed rates where AWS publishes none,
//! `tools/aws_rates.py`) and answers each service's own throttling error
//! when a bucket is empty — which moto never does.
//!
//! 30 tenants created at `-parallelism=10` through it, with the provider's
//! default retry budget, must all succeed in one apply, and the plan after
//! it (through the proxy too) must be empty. The requests per created
//! tenant, by service and action, and the throttled answers are printed.
//! The buckets themselves are tested by `tools/test_aws_rates.py`, run here.

use bbws_acceptance_tests::{
    FLEET_PARTS, FaultProxy, PROVIDER_BLOCK, Stack, Workdir, random_tenant_id, workspace_root,
};
use serde_json::Value as Json;

const TENANTS: usize = 30;
const PARALLELISM: &str = "-parallelism=10";

fn fleet(ids: &[(String, String)]) -> String {
    let mut hcl = PROVIDER_BLOCK.to_owned();
    for (i, (tid, sub)) in ids.iter().enumerate() {
        hcl.push_str(&format!(
            r#"
resource "bbws_tenant" "t{i}" {{
  name                   = "Throttled {i}"
  contact_email          = "ops@throttling.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  retain_data_on_destroy = false
}}
"#
        ));
    }
    hcl
}

/// `after[key]` minus `before[key]`, by "service action".
fn delta(before: &Json, after: &Json, key: &str, prefix: &str) -> Vec<(String, u64)> {
    let ops = |j: &Json| j[key].as_object().cloned().unwrap_or_default();
    let (b, a) = (ops(before), ops(after));
    a.iter()
        .filter_map(|(k, v)| {
            let was = b.get(k).and_then(Json::as_u64).unwrap_or(0);
            let n = v.as_u64().unwrap_or(0).saturating_sub(was);
            Some((k.strip_prefix(prefix)?.to_owned(), n)).filter(|_| n > 0)
        })
        .collect()
}

/// Requests per tenant between two counts of the proxy: in all, and as
/// lines "service action: sent per tenant (sent, throttled)", most first.
fn per_tenant(before: &Json, after: &Json, tenants: usize) -> (f64, f64, Vec<String>) {
    let mut sent = delta(before, after, "requests_by_operation", "");
    let throttled: std::collections::BTreeMap<String, u64> =
        delta(before, after, "by_operation", "throttle ").into_iter().collect();
    sent.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let total: u64 = sent.iter().map(|r| r.1).sum();
    let refused: u64 = throttled.values().sum();
    let per = |n: u64| n as f64 / tenants as f64;
    let lines = sent
        .iter()
        .map(|(k, n)| {
            let t = throttled.get(k).copied().unwrap_or(0);
            format!(
                "{k}: {:.2} sent, {:.2} answered ({n} sent, {t} throttled)",
                per(*n),
                per(n - t)
            )
        })
        .collect();
    (per(total), per(total - refused), lines)
}

/// Requests of `op` ("service Action") between two counts that were
/// answered (sent, less those the proxy throttled).
fn answered_of(before: &Json, after: &Json, op: &str) -> u64 {
    let count = |key: &str, prefix: &str| {
        delta(before, after, key, prefix)
            .into_iter()
            .find(|(k, _)| k == op)
            .map_or(0, |(_, n)| n)
    };
    count("requests_by_operation", "").saturating_sub(count("by_operation", "throttle "))
}

fn throttled(stats: &Json) -> u64 {
    stats["faults"]["throttle"].as_u64().unwrap_or(0)
}

/// The token buckets, on a clock the tests move (pure Python, no stack).
#[test]
fn the_token_buckets_hold_aws_rates() {
    let stack = Stack::load();
    let out = std::process::Command::new(stack.dir.join("venv/bin/python"))
        .arg(workspace_root().join("acceptance-tests/tools/test_aws_rates.py"))
        .output()
        .expect("run test_aws_rates.py");
    let text = String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    assert!(out.status.success(), "test_aws_rates.py failed:\n{text}");
    assert!(text.contains("OK"), "no test ran:\n{text}");
}

#[test]
fn thirty_tenants_are_created_at_aws_rates_in_one_apply() {
    let stack = Stack::load();
    let ids: Vec<(String, String)> = (0..TENANTS)
        .map(|i| {
            let tid = random_tenant_id();
            let sub = format!("throttled{i}-{}", &tid[6..]);
            (tid, sub)
        })
        .collect();
    let proxy = FaultProxy::aws_rates(&stack, 1.0);
    let via = format!("aws_endpoint={}", proxy.url);
    let w = Workdir::new(&stack, "throttling");
    w.write("main.tf", &fleet(&ids));

    let before = proxy.stats();
    let started = std::time::Instant::now();
    let apply = w.with_vars("apply", &["-auto-approve", PARALLELISM, "-var", &via]);
    let wall = started.elapsed().as_secs_f64();
    let after_apply = proxy.stats();
    let plan = w.with_vars("plan", &["-detailed-exitcode", PARALLELISM, "-var", &via]);
    let after_plan = proxy.stats();
    let counts = stack.fleet_counts(&ids);

    let (total, answered, rows) = per_tenant(&before, &after_apply, TENANTS);
    let failed = apply.stderr.matches("Error:").count();
    println!(
        "create of {TENANTS} tenants at {PARALLELISM} through AWS's rates:\n  apply: exit {} in {wall:.1} s, {failed} errors\n  throttled answers: {} in the apply, {} in the plan after\n  AWS requests per created tenant: {total:.2} sent, {answered:.2} answered; by service and action:\n    {}\n  plan after: exit {} (0 = no changes)",
        apply.code,
        throttled(&after_apply) - throttled(&before),
        throttled(&after_plan) - throttled(&after_apply),
        rows.join("\n    "),
        plan.code,
    );
    let wrong: Vec<String> = ids
        .iter()
        .flat_map(|(tid, _)| {
            let c = &counts[tid.as_str()];
            FLEET_PARTS
                .iter()
                .filter(move |p| c[**p].as_u64().unwrap_or(0) != 1)
                .map(move |p| format!("{tid} {p}: {}", c[*p]))
        })
        .collect();
    // Route53 allows five requests a second for the account: the record
    // creates of concurrent applies share change batches, so fewer
    // changes reach it than tenants were created (one each, unbatched).
    let changes = answered_of(&before, &after_apply, "route53 ChangeResourceRecordSets");
    println!("  Route53 changes answered: {changes} for {TENANTS} records");
    // Clean up without the proxy: the figures are the create's.
    let destroy = w.with_vars("destroy", &["-auto-approve", PARALLELISM]);

    assert!(
        throttled(&after_apply) > 0,
        "the proxy throttled nothing: the test proves nothing"
    );
    assert_eq!(apply.code, 0, "the apply failed ({failed} errors):\n{}", apply.stderr);
    assert_eq!(plan.code, 0, "the plan after the apply is not empty:\n{}", plan.stdout);
    assert!(wrong.is_empty(), "parts not exactly once: {wrong:?}");
    assert!(
        changes < TENANTS as u64,
        "{changes} Route53 changes for {TENANTS} records: no batch held two"
    );
    // Each tenant read once per create (issue 15, point 3): 39.9 answered
    // requests per tenant when the apply read it again and read it back,
    // 18.0 to 18.7 since, 17.5 once throttled creates stopped looking for
    // what they made and the lease was renewed half as often. Above this,
    // a read or a write per tenant came back.
    assert!(
        answered <= 20.0,
        "{answered:.2} answered AWS requests per created tenant (at most 20)"
    );
    assert_eq!(destroy.code, 0, "the clean-up destroy failed:\n{}", destroy.stderr);
}
