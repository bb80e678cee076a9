//! Issue-3 lifecycle depth with the real terraform: drift by part (each of
//! the ten parts deleted out of band is an in-place repair, never a
//! replacement of the tenant), out-of-band changes reverted, suspend and
//! resume, and listener-rule priorities under parallel creation.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id, resource_change};

fn tenant(label: &str, tid: &str, sub: &str, extra: &str) -> String {
    format!(
        r#"
resource "bbws_tenant" "{label}" {{
  name                   = "Depth {label}"
  contact_email          = "ops@depth.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  desired_count          = 2
  log_retention_days     = 30
  retain_data_on_destroy = false
{extra}}}
"#
    )
}

/// Plans, asserts an in-place update that reports `part` in the `parts`
/// map, applies, and asserts the next plan is empty.
fn repaired(w: &Workdir, part: &str, expect: &str) {
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"], "{part}: {expect}");
    let change = resource_change(&plan, "bbws_tenant.t");
    assert!(
        change["change"]["replace_paths"].is_null(),
        "{part}: not a replacement: {change:#}"
    );
    let before = change["change"]["before"]["parts"][part].as_str().unwrap_or_default();
    assert!(
        before.starts_with(expect),
        "{part} is {before:?} before the repair, expected {expect}"
    );
    w.apply_plan().ok();
    let again = w.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(again.code, 0, "{part}: repaired\n{}", again.stdout);
}

#[test]
fn each_part_deleted_out_of_band_is_repaired_in_place() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("drift-{}", &tid[6..]);
    let w = Workdir::new(&stack, "drift");
    w.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("t", &tid, &sub, "")));
    w.with_vars("apply", &["-auto-approve"]).ok();

    for (action, part) in [
        ("delete-service", "service"),
        ("delete-listener-rule", "listener_rule"),
        ("delete-dns-record", "dns_record"),
        ("delete-task-definition", "task_definition"),
        ("delete-access-point", "access_point"),
        ("delete-log-group", "log_group"),
        ("delete-database-user", "database_user"),
        ("delete-database", "database"),
        ("delete-secret", "secret"),
        ("delete-target-group", "target_group"),
    ] {
        stack.out_of_band(&tid, &sub, action, None);
        repaired(&w, part, "missing");
    }
    let t = stack.inspect(&tid, &[&sub]);
    assert!(!t["service"].is_null() && t["database"] == true, "{t:#}");
    assert_eq!(t["listener_rules"].as_array().map(Vec::len), Some(1), "{t:#}");

    // Out-of-band changes show as drift and are reverted.
    stack.out_of_band(&tid, &sub, "set-desired-count", Some("5"));
    repaired(&w, "service", "drifted");
    stack.out_of_band(&tid, &sub, "set-rule-host", Some("elsewhere.example.org"));
    repaired(&w, "listener_rule", "drifted");
    stack.out_of_band(&tid, &sub, "set-log-retention", Some("7"));
    repaired(&w, "log_group", "drifted");
    let t = stack.inspect(&tid, &[&sub]);
    assert_eq!(t["service"]["desired_count"], 2, "{t:#}");
    assert_eq!(
        t["listener_rules"][0]["hosts"][0],
        format!("{sub}.{}", stack.get("domain"))
    );
    assert_eq!(t["log_group"]["retention"], 30);

    w.with_vars("destroy", &["-auto-approve"]).ok();
}

#[test]
fn suspend_scales_to_zero_and_answers_503_and_resume_restores() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("sus-{}", &tid[6..]);
    let w = Workdir::new(&stack, "suspend");
    w.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("t", &tid, &sub, "")));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let before = stack.inspect(&tid, &[&sub]);

    w.write(
        "main.tf",
        &format!(
            "{PROVIDER_BLOCK}{}",
            tenant("t", &tid, &sub, "  status = \"suspended\"\n")
        ),
    );
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"]);
    w.apply_plan().ok();
    let t = stack.inspect(&tid, &[&sub]);
    assert_eq!(t["service"]["desired_count"], 0, "{t:#}");
    assert_eq!(t["listener_rules"][0]["actions"][0], "fixed-response", "{t:#}");
    assert_eq!(t["database"], true, "data untouched");
    assert_eq!(t["access_points"], before["access_points"], "files untouched");
    assert_eq!(t["secret"]["arn"], before["secret"]["arn"]);
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);

    w.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("t", &tid, &sub, "")));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let t = stack.inspect(&tid, &[&sub]);
    assert_eq!(t["service"]["desired_count"], 2, "{t:#}");
    assert_eq!(t["listener_rules"][0]["actions"][0], "forward", "{t:#}");
    assert_eq!(
        t["listener_rules"][0]["priority"],
        before["listener_rules"][0]["priority"]
    );
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

fn priorities(stack: &Stack, tenants: &[String]) -> Vec<String> {
    tenants
        .iter()
        .map(|tid| {
            let t = stack.inspect(tid, &[]);
            let rules = t["listener_rules"].as_array().cloned().unwrap_or_default();
            assert_eq!(rules.len(), 1, "one rule for {tid}: {t:#}");
            rules[0]["priority"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[test]
fn twenty_tenants_in_parallel_and_two_concurrent_applies_get_unique_priorities() {
    let stack = Stack::load();
    let many: Vec<String> = (0..20).map(|_| random_tenant_id()).collect();
    let w = Workdir::new(&stack, "priorities-20");
    let body: String = many
        .iter()
        .enumerate()
        .map(|(i, tid)| tenant(&format!("t{i}"), tid, &format!("p{i}-{}", &tid[6..]), ""))
        .collect();
    w.write("main.tf", &format!("{PROVIDER_BLOCK}{body}"));
    let apply = w.with_vars("apply", &["-auto-approve", "-parallelism=20"]).ok();
    assert!(apply.stdout.contains("20 added"), "{}", apply.stdout);

    // Two terraform runs with separate state, on the same listener, at once.
    let (x, y) = (random_tenant_id(), random_tenant_id());
    let wx = Workdir::new(&stack, "priorities-x");
    let wy = Workdir::new(&stack, "priorities-y");
    wx.write(
        "main.tf",
        &format!("{PROVIDER_BLOCK}{}", tenant("x", &x, &format!("x-{}", &x[6..]), "")),
    );
    wy.write(
        "main.tf",
        &format!("{PROVIDER_BLOCK}{}", tenant("y", &y, &format!("y-{}", &y[6..]), "")),
    );
    std::thread::scope(|s| {
        let a = s.spawn(|| wx.with_vars("apply", &["-auto-approve"]).ok());
        let b = s.spawn(|| wy.with_vars("apply", &["-auto-approve"]).ok());
        a.join().expect("apply x");
        b.join().expect("apply y");
    });

    let mut all: Vec<String> = many.clone();
    all.extend([x, y]);
    let mut seen = priorities(&stack, &all);
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "every priority unique");

    w.with_vars("destroy", &["-auto-approve", "-parallelism=20"]).ok();
    wx.with_vars("destroy", &["-auto-approve"]).ok();
    wy.with_vars("destroy", &["-auto-approve"]).ok();
}

/// An interrupted run leaves parts with the bbws tags and no state (here:
/// the state is lost and the later parts are gone): the next apply adopts
/// them — same ARNs, no duplicates, no conflict — and creates the rest.
#[test]
fn parts_left_by_an_interrupted_run_are_adopted() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("adopt-{}", &tid[6..]);
    let w = Workdir::new(&stack, "adopt");
    w.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("t", &tid, &sub, "")));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let before = stack.inspect(&tid, &[&sub]);
    std::fs::remove_file(w.dir.join("terraform.tfstate")).expect("lose the state");
    stack.out_of_band(&tid, &sub, "delete-service", None);
    stack.out_of_band(&tid, &sub, "delete-dns-record", None);
    stack.out_of_band(&tid, &sub, "delete-listener-rule", None);

    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["create"]);
    w.apply_plan().ok();
    let after = stack.inspect(&tid, &[&sub]);
    assert_eq!(after["secret"]["arn"], before["secret"]["arn"], "secret adopted");
    assert_eq!(
        after["target_group"]["arn"], before["target_group"]["arn"],
        "target group adopted"
    );
    assert_eq!(
        after["access_points"], before["access_points"],
        "one access point, adopted"
    );
    assert_eq!(after["task_definitions"], before["task_definitions"], "no new revision");
    assert!(!after["service"].is_null(), "{after:#}");
    assert_eq!(after["listener_rules"].as_array().map(Vec::len), Some(1));
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);
    w.with_vars("destroy", &["-auto-approve"]).ok();
}
