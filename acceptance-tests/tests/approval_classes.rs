//! Approval classes (SOP §6.3) through the real terraform: in prod a plan
//! that changes a tenant carries one warning naming the class of the
//! change and the approval it needs — in `terraform plan -json` for a
//! pipeline gate, and in the human output for a reviewer. A creation, a
//! plan without changes and a dev tenant carry none.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Run, Stack, Workdir, random_tenant_id};

fn tenant(tid: &str, extra: &str) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name          = "Approved Ltd"
  contact_email = "ops@approved.example"
  tenant_id     = "{tid}"
  deletion_protection = false
  confirm_destroy     = "Approved Ltd"
{extra}}}
"#
    )
}

/// The warnings of `terraform plan -json`, as (summary, detail), but
/// Terraform's own about the tests' `dev_overrides`.
fn warnings(run: &Run) -> Vec<(String, String)> {
    run.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["severity"] == "warning")
        .map(|m| {
            let d = &m["diagnostic"];
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
            (text("summary"), text("detail"))
        })
        .filter(|(summary, _)| summary != "Provider development overrides are in effect")
        .collect()
}

#[test]
fn a_prod_plan_names_the_change_class_and_its_approval() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "approval-prod");
    let prod: &[&str] = &["-var", "environment=prod"];
    let plan = |extra: &[&str]| w.with_vars("plan", &[&["-json"], prod, extra].concat()).ok();

    w.write("main.tf", &tenant(&tid, ""));
    assert_eq!(warnings(&plan(&[])), [], "a creation is not a class");
    w.with_vars("apply", &[&["-auto-approve"], prod].concat()).ok();
    assert_eq!(warnings(&plan(&[])), [], "no change, no warning");

    w.write("main.tf", &tenant(&tid, "  desired_count = 3\n"));
    let scaling = warnings(&plan(&[]));
    assert_eq!(scaling.len(), 1, "{scaling:?}");
    assert_eq!(scaling[0].0, "Change class: scaling (SOP §6.3)");
    assert!(scaling[0].1.contains("operations lead"), "{}", scaling[0].1);

    w.write(
        "main.tf",
        &tenant(&tid, "  desired_count = 3\n  php_version = \"8.2\"\n"),
    );
    let upgrade = warnings(&plan(&[]));
    assert_eq!(upgrade.len(), 1, "{upgrade:?}");
    assert_eq!(upgrade[0].0, "Change class: version upgrade (SOP §6.3)");
    assert!(upgrade[0].1.contains("It also includes: scaling."), "{}", upgrade[0].1);
    assert!(upgrade[0].1.contains("change advisory board"), "{}", upgrade[0].1);

    // The reviewer sees the same in the plan's human output.
    let human = w.with_vars("plan", prod).ok();
    assert!(
        human.stdout.contains("Change class: version upgrade"),
        "{}",
        human.stdout
    );

    w.write("main.tf", &tenant(&tid, ""));
    let deletion = warnings(&plan(&["-destroy"]));
    assert_eq!(deletion.len(), 1, "{deletion:?}");
    assert_eq!(deletion[0].0, "Change class: deletion (SOP §6.3)");
    assert!(deletion[0].1.contains("completed backup"), "{}", deletion[0].1);
    w.with_vars("destroy", &[&["-auto-approve"], prod].concat()).ok();
}

#[test]
fn a_dev_plan_needs_no_approval() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "approval-dev");
    w.write("main.tf", &tenant(&tid, ""));
    w.with_vars("apply", &["-auto-approve"]).ok();
    w.write("main.tf", &tenant(&tid, "  desired_count = 3\n"));
    let plan = w.with_vars("plan", &["-json"]).ok();
    assert!(plan.stdout.contains("\"update\""), "the change is planned");
    assert_eq!(warnings(&plan), []);
    w.with_vars("destroy", &["-auto-approve"]).ok();
}
