//! Issue 15, point 1 on the real binary, terraform, moto and MariaDB: a
//! pool of two listeners (two ALBs of the test's own, made with boto3 by
//! `tools/pool_listeners.py`) with `max_tenants_per_listener = 2`. New
//! tenants fill both; the next is refused at plan naming `listener_arns`;
//! placement is stable; a pinned tenant goes and stays where it is pinned,
//! and moves in place when pinned elsewhere;
//! an apply whose listener filled up since its plan backs off; concurrent
//! applies never overfill a listener. Placement and records are checked
//! with boto3 (`inspect_tenant.py`), not with bbws-core.

use std::process::{Command, Stdio};

use bbws_acceptance_tests::{PROVIDER_BLOCK, Run, Stack, Workdir, random_tenant_id, resource_change, workspace_root};
use serde_json::Value as Json;

/// Two listeners of the test's own (`prefix`-1, `prefix`-2): their ARNs and
/// their load balancers' DNS names.
fn pool(stack: &Stack, prefix: &str) -> (Vec<String>, Vec<String>) {
    let script = workspace_root().join("acceptance-tests/tools/pool_listeners.py");
    let out = Command::new(stack.dir.join("venv/bin/python"))
        .arg(&script)
        .arg(&stack.settings_path)
        .args([prefix, "2"])
        .output()
        .expect("run pool_listeners.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Json = serde_json::from_slice(&out.stdout).expect("pool JSON");
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .expect("list")
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect()
    };
    (list("listener_arns"), list("dns_names"))
}

/// The provider block with the pool instead of the stack's one listener.
fn provider(listeners: &[String], cap: u32) -> String {
    let arns: Vec<String> = listeners.iter().map(|l| format!("{l:?}")).collect();
    let pooled = PROVIDER_BLOCK.replace(
        "  listener_arn       = var.listener_arn\n",
        &format!(
            "  listener_arns            = [{}]\n  max_tenants_per_listener = {cap}\n",
            arns.join(", ")
        ),
    );
    assert_ne!(pooled, PROVIDER_BLOCK, "the provider block names listener_arn");
    // The stack's variable stays declared (the var file sets it).
    pooled
}

fn tenant(name: &str, tenant_id: &str, pinned: Option<&str>) -> String {
    let pin = pinned
        .map(|l| format!("  listener_arn           = {l:?}\n"))
        .unwrap_or_default();
    format!(
        r#"
resource "bbws_tenant" "{name}" {{
  name                   = "Pool {name}"
  contact_email          = "ops@acme.example"
  tenant_id              = "{tenant_id}"
  subdomain              = "p{sub}"
  retain_data_on_destroy = false
{pin}}}
"#,
        sub = &tenant_id[4..]
    )
}

fn workdir(stack: &Stack, name: &str, provider: &str, resources: &str) -> Workdir {
    let w = Workdir::new(stack, name);
    w.write("main.tf", &format!("{provider}{resources}"));
    w
}

/// Each managed tenant's resource name and string attributes `keys`, from
/// the state, sorted by name.
fn state_strings(w: &Workdir, keys: &[&str]) -> Vec<(String, Vec<String>)> {
    let state = w.state_json();
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<(String, Vec<String>)> = resources
        .iter()
        .map(|r| {
            let name = r["name"].as_str().unwrap_or_default().to_owned();
            let values = keys
                .iter()
                .map(|k| r["values"][*k].as_str().unwrap_or_default().to_owned())
                .collect();
            (name, values)
        })
        .collect();
    out.sort();
    out
}

/// Each managed tenant's `listener_arn` and `load_balancer_dns_name` in
/// the state, by resource name.
fn placements(w: &Workdir) -> Vec<(String, String, String)> {
    state_strings(w, &["listener_arn", "load_balancer_dns_name"])
        .into_iter()
        .map(|(name, v)| (name, v[0].clone(), v[1].clone()))
        .collect()
}

/// Rules on a listener, counted with boto3.
fn rules_on(stack: &Stack, listener: &str) -> usize {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
elb = boto3.client("elbv2", endpoint_url=s["endpoint"], region_name=s["region"],
                   aws_access_key_id="test", aws_secret_access_key="test")
print(len([r for r in elb.describe_rules(ListenerArn=sys.argv[2])["Rules"] if not r["IsDefault"]]))
"#;
    stack.python(script, &[listener]).trim().parse().expect("a count")
}

/// The alias target of a tenant's record, as boto3 reads it.
fn alias_of(stack: &Stack, tid: &str) -> String {
    let sub = format!("p{}", &tid[4..]);
    let t = stack.inspect(tid, &[&sub]);
    t["dns_records"][0]["alias"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn destroy(w: &Workdir) {
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

#[test]
fn a_pool_of_two_fills_both_refuses_the_next_and_placement_is_stable() {
    let stack = Stack::load();
    let (listeners, dns) = pool(&stack, &format!("pool{}", &random_tenant_id()[6..]));
    let p = provider(&listeners, 2);
    let ids: Vec<String> = (0..4).map(|_| random_tenant_id()).collect();
    let four: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| tenant(&format!("t{i}"), id, None))
        .collect();
    let w = workdir(&stack, "pool-fill", &p, &four);

    // A new tenant is placed at apply: its listener is known after apply.
    let (_, plan) = w.plan_json(&[]);
    let change = &resource_change(&plan, "bbws_tenant.t0")["change"];
    assert_eq!(change["after_unknown"]["listener_arn"], Json::Bool(true), "{change:#}");
    assert_eq!(
        change["after_unknown"]["load_balancer_dns_name"],
        Json::Bool(true),
        "{change:#}"
    );
    w.apply_plan().ok();

    let placed = placements(&w);
    for l in &listeners {
        let on = placed.iter().filter(|(_, arn, _)| arn == l).count();
        assert_eq!(on, 2, "two tenants on {l}: {placed:?}");
        assert_eq!(rules_on(&stack, l), 2, "two rules on {l}");
    }
    for (i, id) in ids.iter().enumerate() {
        let (_, arn, lb_dns) = &placed[i];
        let k = listeners.iter().position(|l| l == arn).expect("a pool listener");
        assert_eq!(
            lb_dns.to_ascii_lowercase(),
            dns[k].to_ascii_lowercase(),
            "load_balancer_dns_name"
        );
        assert_eq!(
            alias_of(&stack, id),
            dns[k].to_ascii_lowercase(),
            "the alias points at the tenant's own ALB"
        );
    }

    // The fifth does not fit: refused at plan, naming the setting and the
    // listeners needed; nothing of it is made.
    let fifth = random_tenant_id();
    w.write("main.tf", &format!("{p}{four}{}", tenant("t4", &fifth, None)));
    let refused = w.with_vars("plan", &[]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    let err = refused.stderr.replace('\n', " ");
    assert!(err.contains("listener_arns"), "names the setting: {err}");
    assert!(err.contains("1 more listener(s) needed"), "says how many more: {err}");
    assert!(
        stack.inspect(&fifth, &[])["secret"].is_null(),
        "nothing of the refused tenant exists"
    );

    // Stable: the same configuration plans nothing, and no tenant moves.
    w.write("main.tf", &format!("{p}{four}"));
    let (_, again) = w.plan_json(&["-detailed-exitcode"]);
    let changes: Vec<&Json> = again["resource_changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["change"]["actions"] != serde_json::json!(["no-op"]))
                .collect()
        })
        .unwrap_or_default();
    assert!(changes.is_empty(), "an empty plan: {changes:#?}");
    assert_eq!(placements(&w), placed, "no tenant moved");

    // Still stable when rules go missing: t0's rule, and both rules of the
    // other listener, are deleted behind bbws's back. By free slots t0
    // would now go to the emptier listener; it is repaired where it was,
    // and so are the others.
    let t0_listener = placed[0].1.clone();
    let deleted: Vec<String> = rule_arns(&w)
        .into_iter()
        .filter(|(name, listener, _)| name == "t0" || *listener != t0_listener)
        .map(|(_, _, rule)| rule)
        .collect();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    delete_rules(&stack, &deleted);
    let repaired = w.with_vars("apply", &["-auto-approve"]);
    assert_eq!(repaired.code, 0, "{}{}", repaired.stdout, repaired.stderr);
    assert_eq!(placements(&w), placed, "the repaired rules are where they were");
    for l in &listeners {
        assert_eq!(rules_on(&stack, l), 2, "two rules on {l} again");
    }
    destroy(&w);
}

/// Each managed tenant's resource name, listener and rule ARN in the state.
fn rule_arns(w: &Workdir) -> Vec<(String, String, String)> {
    state_strings(w, &["listener_arn", "listener_rule_arn"])
        .into_iter()
        .map(|(name, v)| (name, v[0].clone(), v[1].clone()))
        .collect()
}

/// Deletes listener rules with boto3 (drift made outside bbws).
fn delete_rules(stack: &Stack, arns: &[String]) {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
elb = boto3.client("elbv2", endpoint_url=s["endpoint"], region_name=s["region"],
                   aws_access_key_id="test", aws_secret_access_key="test")
for arn in sys.argv[2:]:
    elb.delete_rule(RuleArn=arn)
"#;
    let args: Vec<&str> = arns.iter().map(String::as_str).collect();
    stack.python(script, &args);
}

#[test]
fn a_pinned_tenant_goes_and_stays_where_it_is_pinned() {
    let stack = Stack::load();
    let (listeners, dns) = pool(&stack, &format!("pin{}", &random_tenant_id()[6..]));
    let p = provider(&listeners, 2);
    let id = random_tenant_id();
    let w = workdir(&stack, "pool-pin", &p, &tenant("pinned", &id, Some(&listeners[1])));
    let (_, plan) = w.plan_json(&[]);
    let after = &resource_change(&plan, "bbws_tenant.pinned")["change"]["after"];
    assert_eq!(
        after["listener_arn"].as_str(),
        Some(listeners[1].as_str()),
        "planned where pinned"
    );
    w.apply_plan().ok();
    assert_eq!(placements(&w)[0].1, listeners[1]);
    assert_eq!(alias_of(&stack, &id), dns[1].to_ascii_lowercase());
    // Unpinned, it stays: the plan is empty.
    w.write("main.tf", &format!("{p}{}", tenant("pinned", &id, None)));
    let (_, again) = w.plan_json(&[]);
    assert_eq!(
        resource_change(&again, "bbws_tenant.pinned")["change"]["actions"],
        serde_json::json!(["no-op"]),
        "stays where it is"
    );
    // Pinned to the other listener: moved there in place (an update, not a
    // replacement), the record following it, nothing left on the old one.
    w.write("main.tf", &format!("{p}{}", tenant("pinned", &id, Some(&listeners[0]))));
    let (_, moving) = w.plan_json(&[]);
    let change = &resource_change(&moving, "bbws_tenant.pinned")["change"];
    assert_eq!(
        change["actions"],
        serde_json::json!(["update"]),
        "a move is in place: {change:#}"
    );
    assert_eq!(
        change["after"]["listener_arn"].as_str(),
        Some(listeners[0].as_str()),
        "{change:#}"
    );
    let moved = w.apply_plan();
    assert_eq!(moved.code, 0, "{}", moved.stderr);
    assert_eq!(placements(&w)[0].1, listeners[0]);
    assert_eq!(alias_of(&stack, &id), dns[0].to_ascii_lowercase());
    assert_eq!(
        (rules_on(&stack, &listeners[0]), rules_on(&stack, &listeners[1])),
        (1, 0)
    );
    let seen = stack.inspect(&id, &[&format!("p{}", &id[4..])]);
    let tgb = format!("dev-{id}-tgb");
    assert_eq!(
        seen["target_groups"],
        serde_json::json!([tgb]),
        "the old group is gone: {seen:#}"
    );
    assert_eq!(seen["service"]["target_groups"], serde_json::json!([tgb]), "{seen:#}");
    let (_, settled) = w.plan_json(&[]);
    assert_eq!(
        resource_change(&settled, "bbws_tenant.pinned")["change"]["actions"],
        serde_json::json!(["no-op"]),
        "the plan after a move is empty"
    );
    // A listener outside the pool is refused at plan, naming listener_arn.
    w.write(
        "main.tf",
        &format!(
            "{p}{}",
            tenant(
                "pinned",
                &id,
                Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/nope/1/2")
            )
        ),
    );
    let refused = w.with_vars("plan", &[]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("listener_arn"), "{}", refused.stderr);
    w.write("main.tf", &format!("{p}{}", tenant("pinned", &id, None)));
    destroy(&w);
    let gone = stack.inspect(&id, &[&format!("p{}", &id[4..])]);
    assert_eq!(gone["target_groups"], serde_json::json!([]), "{gone:#}");
}

#[test]
fn an_apply_whose_listener_filled_up_since_its_plan_backs_off_and_concurrent_applies_never_overfill() {
    let stack = Stack::load();
    let (listeners, _) = pool(&stack, &format!("race{}", &random_tenant_id()[6..]));
    let p = provider(&listeners, 1);
    let (a, b) = (random_tenant_id(), random_tenant_id());
    // Both planned while the first listener had room for one.
    let wa = workdir(&stack, "pool-race-a", &p, &tenant("a", &a, Some(&listeners[0])));
    let wb = workdir(&stack, "pool-race-b", &p, &tenant("b", &b, Some(&listeners[0])));
    wa.plan_json(&[]);
    wb.plan_json(&[]);
    wa.apply_plan().ok();
    let late: Run = wb.apply_plan();
    assert_ne!(late.code, 0, "the second apply backs off: {}", late.stdout);
    // Refused when the apply finds the pinned listener full before making
    // anything, or backed off by the re-check after its rule was created
    // (the core test `an_apply_whose_listener_filled_up_since_its_plan_backs_off`
    // drives that path alone).
    assert!(
        late.stderr.contains("ListenerFilledMeanwhile") || late.stderr.contains("is full (no free slot)"),
        "{}",
        late.stderr
    );
    assert_eq!(rules_on(&stack, &listeners[0]), 1, "the listener holds one tenant");
    assert!(
        stack.inspect(&b, &[])["secret"].is_null(),
        "the backed-off run removed what it made"
    );
    destroy(&wa);

    // Unpinned and at once: whatever the interleaving, no listener ever
    // holds more than one. Two runs that picked the same listener may both
    // back off (safety over liveness: neither knows which came first); a
    // run that backed off places when it is run again.
    let (c, d) = (random_tenant_id(), random_tenant_id());
    let wc = workdir(&stack, "pool-race-c", &p, &tenant("c", &c, None));
    let wd = workdir(&stack, "pool-race-d", &p, &tenant("d", &d, None));
    let vars = stack.tfvars_path();
    let vars = vars.to_str().expect("utf-8");
    let args = ["apply", "-input=false", "-no-color", "-auto-approve", "-var-file", vars];
    let runs: Vec<_> = [&wc, &wd]
        .iter()
        .map(|w| {
            w.command(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outcomes: Vec<Run> = runs
        .into_iter()
        .map(|r| Run::from(r.wait_with_output().expect("apply ran")))
        .collect();
    for l in &listeners {
        assert!(rules_on(&stack, l) <= 1, "listener {l} overfilled");
    }
    for (w, run) in [&wc, &wd].into_iter().zip(outcomes) {
        if run.code != 0 {
            assert!(run.stderr.contains("ListenerFilledMeanwhile"), "{}", run.stderr);
            w.command(&args).output().map(Run::from).expect("apply ran").ok();
        }
    }
    assert!(
        listeners.iter().all(|l| rules_on(&stack, l) == 1),
        "both placed in the end, one on each listener"
    );
    destroy(&wc);
    destroy(&wd);
}
