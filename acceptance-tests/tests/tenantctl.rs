//! The Rust embedding example, `examples/tenantctl` (bbws-core only), run
//! against the local stack: plan, apply, list, show, re-plan, destroy.

use std::process::Command;

use bbws_acceptance_tests::{Stack, Workdir, provider_dir, random_tenant_id};
use serde_json::Value as Json;

fn tenantctl(stack: &Stack, args: &[&str]) -> Json {
    let bin = provider_dir().join("tenantctl");
    assert!(
        bin.exists(),
        "{} is not built; run `cargo build -p tenantctl`",
        bin.display()
    );
    let out = Command::new(bin)
        .arg("--platform")
        .arg(&stack.settings_path)
        .arg("--json")
        .args(args)
        .env("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"))
        .env("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"))
        .output()
        .expect("run tenantctl");
    assert!(
        out.status.success(),
        "tenantctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json prints JSON")
}

#[test]
fn tenantctl_plans_applies_lists_shows_and_destroys() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "tenantctl");
    let file = w.dir.join("tenant.yaml");
    std::fs::write(
        &file,
        format!(
            "name: Embedded\ncontact_email: ops@embedded.example\ntenant_id: \"{tid}\"\nsubdomain: emb-{}\ntier: professional\nretain_data_on_destroy: false\n",
            &tid[6..]
        ),
    )
    .expect("write tenant.yaml");
    let f = file.to_str().expect("utf-8 path");

    let plan = tenantctl(&stack, &["plan", "-f", f]);
    assert_eq!(plan["empty"], false);
    assert!(
        plan["changes"]
            .as_array()
            .is_some_and(|c| c.iter().all(|x| x["action"] == "create")),
        "{plan:#}"
    );
    let applied = tenantctl(&stack, &["apply", "-f", f]);
    assert_eq!(applied["status"], "active", "{applied:#}");
    let list = tenantctl(&stack, &["list"]);
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().any(|t| t["tenant_id"] == tid.as_str())),
        "{list:#}"
    );
    let show = tenantctl(&stack, &["show", &tid]);
    assert!(
        show["parts"]
            .as_object()
            .is_some_and(|p| p.values().all(|v| v == "present")),
        "{show:#}"
    );
    assert_eq!(show["health"]["database_reachable"], true);
    assert_eq!(show["health"]["desired_count"], 2);
    assert_eq!(tenantctl(&stack, &["plan", "-f", f])["empty"], true, "converged");

    // The same tenant through the independent inspector.
    let t = stack.inspect(&tid, &[&format!("emb-{}", &tid[6..])]);
    assert!(!t["service"].is_null(), "{t:#}");

    let gone = tenantctl(&stack, &["destroy", &tid]);
    assert_eq!(gone["deleted"].as_array().map(Vec::len), Some(10), "{gone:#}");
    assert!(stack.inspect(&tid, &[])["service"].is_null());
}

/// `tenantctl` with a failing exit status: its stderr.
fn tenantctl_fails(stack: &Stack, args: &[&str]) -> String {
    let out = Command::new(provider_dir().join("tenantctl"))
        .arg("--platform")
        .arg(&stack.settings_path)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"))
        .env("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"))
        .output()
        .expect("run tenantctl");
    assert!(!out.status.success(), "tenantctl {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tenantctl_lists_an_incomplete_tenant_as_an_orphan_and_sweeps_it() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("orph-{}", &tid[6..]);
    let w = Workdir::new(&stack, "tenantctl-orphans");
    let file = w.dir.join("tenant.yaml");
    std::fs::write(
        &file,
        format!("name: Orphaned\ncontact_email: ops@orphan.example\ntenant_id: \"{tid}\"\nsubdomain: {sub}\n"),
    )
    .expect("write tenant.yaml");
    tenantctl(&stack, &["apply", "-f", file.to_str().expect("utf-8 path")]);
    let refused = tenantctl_fails(&stack, &["sweep", &tid]);
    assert!(refused.contains("not an orphan"), "{refused}");

    // What a failed run could not remove: the service is gone, the rest left.
    stack.out_of_band(&tid, &sub, "delete-service", None);
    let orphans = tenantctl(&stack, &["orphans"]);
    let mine = orphans
        .as_array()
        .and_then(|all| all.iter().find(|o| o["tenant_id"] == tid.as_str()))
        .unwrap_or_else(|| panic!("{tid} listed: {orphans:#}"));
    assert_eq!(mine["missing"], serde_json::json!(["service"]), "{mine:#}");
    assert!(mine["age_seconds"].is_u64(), "{mine:#}");

    let swept = tenantctl(&stack, &["sweep", &tid]);
    assert!(swept["deleted"].as_array().is_some_and(|d| !d.is_empty()), "{swept:#}");
    let t = stack.inspect(&tid, &[&sub]);
    assert!(t["target_group"].is_null() && t["log_group"].is_null(), "{t:#}");
    assert_eq!(t["listener_rules"].as_array().map(Vec::len), Some(0), "{t:#}");
    assert_eq!(t["database"], false, "the empty database went with it: {t:#}");
    let orphans = tenantctl(&stack, &["orphans"]);
    assert!(
        orphans
            .as_array()
            .is_some_and(|all| all.iter().all(|o| o["tenant_id"] != tid.as_str())),
        "{orphans:#}"
    );
}
