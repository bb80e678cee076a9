//! Guarded delete (SPEC §3 Delete) and failed creates, with the real
//! terraform: deletion protection and prod's typed confirmation block a
//! destroy at plan time with a way forward; retained data is reported;
//! a create that fails leaves nothing behind and re-applies cleanly.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, random_tenant_id};

fn tenant(tid: &str, extra: &str) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name          = "Guarded Ltd"
  contact_email = "ops@guarded.example"
  tenant_id     = "{tid}"
{extra}}}
"#
    )
}

#[test]
fn deletion_protection_and_prod_confirmation_block_destroy_until_lifted() {
    let stack = Stack::load();

    // dev: deletion_protection blocks, and says how to proceed.
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "guard-dev");
    w.write(
        "main.tf",
        &tenant(&tid, "  deletion_protection = true\n  retain_data_on_destroy = false\n"),
    );
    w.with_vars("apply", &["-auto-approve"]).ok();
    let blocked = w.with_vars("destroy", &["-auto-approve"]);
    assert_ne!(blocked.code, 0);
    assert!(blocked.stderr.contains("deletion_protection"), "{}", blocked.stderr);
    assert!(
        blocked.stderr.contains("set deletion_protection = false"),
        "{}",
        blocked.stderr
    );
    assert!(!stack.inspect(&tid, &[])["service"].is_null(), "nothing deleted");
    w.write(
        "main.tf",
        &tenant(
            &tid,
            "  deletion_protection = false\n  retain_data_on_destroy = false\n",
        ),
    );
    w.with_vars("apply", &["-auto-approve"]).ok();
    w.with_vars("destroy", &["-auto-approve"]).ok();
    let t = stack.inspect(&tid, &[]);
    assert!(t["service"].is_null() && t["database"] == false, "{t:#}");
    assert_eq!(
        t["secret"]["deleted"], true,
        "the secret waits out its recovery window: {t:#}"
    );

    // prod: protected by default; then the typed confirmation is required.
    let tid = random_tenant_id();
    let p = Workdir::new(&stack, "guard-prod");
    let prod = ["-var", "environment=prod"];
    p.write("main.tf", &tenant(&tid, ""));
    p.with_vars("apply", &[&["-auto-approve"], &prod[..]].concat()).ok();
    let state = p.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["deletion_protection"], true, "default in prod");
    assert_eq!(values["id"], format!("prod-{tid}"));
    let blocked = p.with_vars("destroy", &[&["-auto-approve"], &prod[..]].concat());
    assert_ne!(blocked.code, 0);
    assert!(blocked.stderr.contains("deletion_protection"), "{}", blocked.stderr);

    p.write("main.tf", &tenant(&tid, "  deletion_protection = false\n"));
    p.with_vars("apply", &[&["-auto-approve"], &prod[..]].concat()).ok();
    let blocked = p.with_vars("destroy", &[&["-auto-approve"], &prod[..]].concat());
    assert_ne!(blocked.code, 0);
    assert!(
        blocked.stderr.contains("confirm_destroy") && blocked.stderr.contains("Guarded Ltd"),
        "{}",
        blocked.stderr
    );

    // Confirmed: destroyed, and the kept data is reported.
    p.write(
        "main.tf",
        &tenant(
            &tid,
            "  deletion_protection = false\n  confirm_destroy = \"Guarded Ltd\"\n",
        ),
    );
    p.with_vars("apply", &[&["-auto-approve"], &prod[..]].concat()).ok();
    let destroyed = p.with_vars("destroy", &[&["-auto-approve"], &prod[..]].concat()).ok();
    let out = format!("{}{}", destroyed.stdout, destroyed.stderr);
    assert!(out.contains("its data was kept"), "{out}");
    assert!(out.contains(&format!("{tid}_db")), "{out}");
    let t = stack.inspect(&tid, &[]);
    assert!(t["service"].is_null(), "{t:#}");
    assert_eq!(t["database"], true, "retained by default: {t:#}");
}

#[test]
fn a_failed_create_leaves_nothing_behind_and_reapplies() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "failed-create");
    w.write("main.tf", &tenant(&tid, "  retain_data_on_destroy = false\n"));
    // An EFS file system that does not exist: the access point cannot be made.
    let failed = w.with_vars("apply", &["-auto-approve", "-var", "efs_file_system_id=fs-0badbad0"]);
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    assert!(
        failed.stderr.contains("efs_file_system_id") || failed.stderr.contains("FileSystemNotFound"),
        "{}",
        failed.stderr
    );
    let t = stack.inspect(&tid, &[]);
    assert!(
        t["service"].is_null()
            && t["target_group"].is_null()
            && t["log_group"].is_null()
            && t["listener_rules"].as_array().is_some_and(Vec::is_empty)
            && t["database"] == false,
        "nothing half-created: {t:#}"
    );
    assert!(t["secret"].is_null() || t["secret"]["deleted"] == true, "{t:#}");
    w.with_vars("apply", &["-auto-approve"]).ok();
    assert!(!stack.inspect(&tid, &[])["service"].is_null());
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

/// A step that fails late (the target group, in a VPC that does not exist,
/// while the secret, database, user, access point and log group are being
/// created): the run removes exactly what it created, names the step, the
/// part and the AWS error code, and the corrected apply succeeds.
#[test]
fn a_late_failure_rolls_back_what_the_run_created() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("late-{}", &tid[6..]);
    let w = Workdir::new(&stack, "rollback");
    w.write(
        "main.tf",
        &tenant(
            &tid,
            &format!("  subdomain = \"{sub}\"\n  retain_data_on_destroy = false\n"),
        ),
    );
    let failed = w.with_vars("apply", &["-auto-approve", "-var", "vpc_id=vpc-0bad0bad"]);
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    let err = failed.stderr.replace('\n', " ");
    assert!(
        err.contains("Failed to create target_group"),
        "names the step and part: {err}"
    );
    assert!(
        err.contains("error code ValidationError"),
        "names the AWS error code: {err}"
    );
    assert!(err.contains("removed what this run created"), "{err}");
    let t = stack.inspect(&tid, &[&sub]);
    assert!(
        t["service"].is_null()
            && t["task_definition"].is_null()
            && t["target_group"].is_null()
            && t["log_group"].is_null()
            && t["secret"].is_null()
            && t["database_user"].is_null()
            && t["access_points"].as_array().is_some_and(Vec::is_empty)
            && t["listener_rules"].as_array().is_some_and(Vec::is_empty)
            && t["database"] == false,
        "no orphans: {t:#}"
    );
    assert!(w.state_json()["values"].is_null(), "nothing in state");

    w.with_vars("apply", &["-auto-approve"]).ok();
    assert!(!stack.inspect(&tid, &[&sub])["service"].is_null());
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

/// A record under the tenant's name that someone else made is a conflict
/// at plan time: named, never taken over, nothing created.
#[test]
fn a_foreign_part_under_the_tenants_name_is_refused() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("taken-{}", &tid[6..]);
    let w = Workdir::new(&stack, "foreign");
    w.write("main.tf", &tenant(&tid, &format!("  subdomain = \"{sub}\"\n")));
    stack.out_of_band(&tid, &sub, "create-cname", Some("elsewhere.example.org"));
    let refused = w.with_vars("plan", &[]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("belongs to someone else"), "{}", refused.stderr);
    assert!(stack.inspect(&tid, &[&sub])["secret"].is_null(), "nothing created");
    stack.out_of_band(&tid, &sub, "delete-cname", Some("elsewhere.example.org"));
}
