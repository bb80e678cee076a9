//! A fleet refresh with the real terraform: at `-parallelism=2`, six
//! tenants are read in three batches — the first lists the environment, the
//! second reads ahead for the rest, the third is answered from that — and
//! the task definitions come from the private state. Out-of-band changes to
//! tenants of every batch are still seen, part by part, and repaired.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id, resource_change};

fn fleet(ids: &[(String, String)]) -> String {
    let mut hcl = PROVIDER_BLOCK.to_owned();
    for (i, (tid, sub)) in ids.iter().enumerate() {
        hcl.push_str(&format!(
            r#"
resource "bbws_tenant" "t{i}" {{
  name                   = "Fleet {i}"
  contact_email          = "ops@fleet.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  log_retention_days     = 30
  retain_data_on_destroy = false
}}
"#
        ));
    }
    hcl
}

#[test]
fn drift_is_seen_in_every_batch_of_a_fleet_refresh() {
    let stack = Stack::load();
    let ids: Vec<(String, String)> = (0..6)
        .map(|i| {
            let tid = random_tenant_id();
            let sub = format!("fleet{i}-{}", &tid[6..]);
            (tid, sub)
        })
        .collect();
    let w = Workdir::new(&stack, "fleet-refresh");
    w.write("main.tf", &fleet(&ids));
    w.with_vars("apply", &["-auto-approve", "-parallelism=6"]).ok();

    // The private state holds each tenant's revision.
    let state = w.tf(&["state", "pull"]).ok();
    let state: serde_json::Value = serde_json::from_str(&state.stdout).expect("state JSON");
    let privates = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["private"].is_string() || r["instances"][0]["private"].is_string())
        .count();
    assert_eq!(privates, 6, "every tenant keeps its revision in private state");

    // A plan with nothing changed is empty.
    let quiet = w.with_vars("plan", &["-detailed-exitcode", "-parallelism=2"]);
    assert_eq!(quiet.code, 0, "no changes:\n{}", quiet.stdout);

    // Behind Terraform's back, in tenants that fall in different batches.
    let (tid0, sub0) = &ids[0];
    let (tid3, sub3) = &ids[3];
    let (tid4, sub4) = &ids[4];
    let (tid5, sub5) = &ids[5];
    stack.out_of_band(tid0, sub0, "set-log-retention", Some("7"));
    stack.out_of_band(tid3, sub3, "delete-database-user", None);
    stack.out_of_band(tid4, sub4, "delete-task-definition", None);
    stack.out_of_band(tid5, sub5, "delete-service", None);

    let (_, plan) = w.plan_json(&["-parallelism=2"]);
    let expect = [
        (0, "log_group", "drifted"),
        (3, "database_user", "missing"),
        (4, "task_definition", "missing"),
        (5, "service", "missing"),
    ];
    for i in 0..6 {
        let address = format!("bbws_tenant.t{i}");
        match expect.iter().find(|(j, ..)| *j == i) {
            Some((_, part, status)) => {
                assert_eq!(actions(&plan, &address), ["update"], "{address}");
                let before = &resource_change(&plan, &address)["change"]["before"]["parts"][*part];
                assert!(
                    before.as_str().is_some_and(|s| s.starts_with(status)),
                    "{address}: {part} is {before}, expected {status}"
                );
            }
            None => assert_eq!(actions(&plan, &address), ["no-op"], "{address}"),
        }
    }
    w.apply_plan().ok();
    let again = w.with_vars("plan", &["-detailed-exitcode", "-parallelism=2"]);
    assert_eq!(again.code, 0, "repaired:\n{}", again.stdout);
    let t4 = stack.inspect(tid4, &[sub4]);
    assert!(!t4["task_definition"].is_null(), "a new revision: {t4:#}");
    let t5 = stack.inspect(tid5, &[sub5]);
    assert!(!t5["service"].is_null(), "the service again: {t5:#}");

    // CheckDestroy: nothing of any tenant is left.
    w.with_vars("destroy", &["-auto-approve", "-parallelism=6"]).ok();
    for (tid, sub) in &ids {
        let t = stack.inspect(tid, &[sub]);
        assert!(
            t["service"].is_null()
                && t["task_definition"].is_null()
                && t["target_group"].is_null()
                && t["log_group"].is_null()
                && t["database"] == false
                && t["listener_rules"].as_array().is_some_and(Vec::is_empty),
            "{tid} left parts behind: {t:#}"
        );
    }
}
