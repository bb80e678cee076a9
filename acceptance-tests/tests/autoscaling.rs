//! Issue 17 point 2 with the real terraform and moto: the `autoscaling`
//! block creates the service's scalable target and policies, a change is
//! an in-place update, a count scaling moved is not drift, suspend parks
//! scaling and resume restores it, drift of the target is repaired in
//! place, removing the block removes it, an import plans clean, and
//! destroy leaves none.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id, resource_change};

fn tenant(tid: &str, sub: &str, extra: &str) -> String {
    format!(
        r#"
resource "bbws_tenant" "t" {{
  name                   = "Scaled"
  contact_email          = "ops@scaled.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  desired_count          = 2
  retain_data_on_destroy = false
{extra}}}
"#
    )
}

fn write(w: &Workdir, tid: &str, sub: &str, extra: &str) {
    w.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant(tid, sub, extra)));
}

/// The plan is one in-place update of the tenant; applied; the next plan
/// is empty.
fn updated_in_place(w: &Workdir, why: &str) -> serde_json::Value {
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"], "{why}");
    let change = resource_change(&plan, "bbws_tenant.t").clone();
    assert!(change["change"]["replace_paths"].is_null(), "{why}: {change:#}");
    w.apply_plan().ok();
    let again = w.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(again.code, 0, "{why}: converged\n{}", again.stdout);
    change
}

fn range(t: &serde_json::Value) -> (i64, i64) {
    let s = &t["scaling"];
    (s["min"].as_i64().unwrap_or(-1), s["max"].as_i64().unwrap_or(-1))
}

#[test]
fn autoscaling_is_created_changed_parked_repaired_and_removed() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("scale-{}", &tid[6..]);
    let w = Workdir::new(&stack, "autoscaling");
    let block = |extra: &str| format!("  autoscaling {{\n    min = 1\n    max = 4\n{extra}  }}\n");
    write(&w, &tid, &sub, &block(""));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let t = stack.inspect(&tid, &[&sub]);
    assert_eq!(range(&t), (1, 4), "{t:#}");
    let policies = t["scaling"]["policies"].as_array().cloned().unwrap_or_default();
    assert_eq!(policies.len(), 1, "{t:#}");
    assert_eq!(policies[0]["metric"], "ECSServiceAverageCPUUtilization");
    assert_eq!(policies[0]["target"], 60.0, "the default cpu_target");
    let state = w.state_json();
    let parts = &state["values"]["root_module"]["resources"][0]["values"]["parts"];
    assert_eq!(parts["autoscaling"], "ok", "{parts:#}");
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);

    // Imported elsewhere, the scaled tenant plans clean: the block's
    // defaults are computed, and the scaling is recovered from AWS.
    let imported = Workdir::new(&stack, "autoscaling-import");
    write(&imported, &tid, &sub, &block(""));
    imported.with_vars("import", &["bbws_tenant.t", &tid]).ok();
    let plan = imported.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(plan.code, 0, "no changes after import\n{}", plan.stdout);

    // Scaling moved the count inside its range: not drift.
    stack.out_of_band(&tid, &sub, "set-desired-count", Some("3"));
    assert_eq!(
        w.with_vars("plan", &["-detailed-exitcode"]).code,
        0,
        "a count scaling moved is not fought over"
    );

    // A request-count policy and another CPU target: in place.
    write(
        &w,
        &tid,
        &sub,
        &block("    cpu_target = 70\n    requests_per_target = 500\n"),
    );
    updated_in_place(&w, "policies changed");
    let t = stack.inspect(&tid, &[&sub]);
    let policies = t["scaling"]["policies"].as_array().cloned().unwrap_or_default();
    let metrics: Vec<&str> = policies.iter().filter_map(|p| p["metric"].as_str()).collect();
    assert_eq!(
        metrics,
        ["ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"],
        "{t:#}"
    );
    let label = policies[1]["label"].as_str().unwrap_or_default();
    let group = t["target_group"]["arn"]
        .as_str()
        .unwrap_or("?")
        .rsplit_once(":targetgroup/")
        .map(|x| x.1);
    assert!(
        group.is_some_and(|g| label.ends_with(&format!("targetgroup/{g}"))),
        "{label} / {t:#}"
    );

    // Suspend parks scaling at zero; resume restores the range.
    let scaled = block("    cpu_target = 70\n    requests_per_target = 500\n");
    write(&w, &tid, &sub, &format!("{scaled}  status = \"suspended\"\n"));
    updated_in_place(&w, "suspend");
    let t = stack.inspect(&tid, &[&sub]);
    assert_eq!(range(&t), (0, 0), "{t:#}");
    assert_eq!(t["service"]["desired_count"], 0, "{t:#}");
    write(&w, &tid, &sub, &scaled);
    updated_in_place(&w, "resume");
    let t = stack.inspect(&tid, &[&sub]);
    assert_eq!(range(&t), (1, 4), "{t:#}");
    let count = t["service"]["desired_count"].as_i64().unwrap_or(-1);
    assert!((1..=4).contains(&count), "{t:#}");

    // Drift of the scaling is repaired in place, part by part.
    stack.out_of_band(&tid, &sub, "set-scaling-max", Some("9"));
    let change = updated_in_place(&w, "range drift");
    let before = change["change"]["before"]["parts"]["autoscaling"]
        .as_str()
        .unwrap_or_default();
    assert!(before.starts_with("drifted: min_max"), "{before}");
    assert_eq!(range(&stack.inspect(&tid, &[&sub])), (1, 4));
    stack.out_of_band(&tid, &sub, "deregister-scaling", None);
    let change = updated_in_place(&w, "deleted out of band");
    assert_eq!(change["change"]["before"]["parts"]["autoscaling"], "missing");
    assert_eq!(range(&stack.inspect(&tid, &[&sub])), (1, 4));

    // Without the block: removed in place, the service kept.
    write(&w, &tid, &sub, "");
    updated_in_place(&w, "block removed");
    let t = stack.inspect(&tid, &[&sub]);
    assert!(t["scaling"].is_null(), "{t:#}");
    assert!(!t["service"].is_null(), "{t:#}");

    // And back, then destroy: nothing left.
    write(&w, &tid, &sub, &block(""));
    updated_in_place(&w, "block added to a running tenant");
    assert_eq!(range(&stack.inspect(&tid, &[&sub])), (1, 4));
    w.with_vars("destroy", &["-auto-approve"]).ok();
    let t = stack.inspect(&tid, &[&sub]);
    assert!(t["scaling"].is_null() && t["service"].is_null(), "{t:#}");
}

#[test]
fn a_bad_autoscaling_block_is_refused_at_plan_naming_the_attribute() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "autoscaling-bad");
    write(
        &w,
        &tid,
        &format!("bad-{}", &tid[6..]),
        "  autoscaling {\n    min = 5\n    max = 2\n    cpu_target = 95\n  }\n",
    );
    let run = w.with_vars("plan", &[]);
    assert_ne!(run.code, 0);
    for needle in ["autoscaling.max", "autoscaling.cpu_target", "desired_count"] {
        assert!(run.stderr.contains(needle), "{needle} in:\n{}", run.stderr);
    }
}
