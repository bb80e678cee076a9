//! `terraform query` with the `bbws_tenant` list resource: it lists the
//! environment's tenants with their identities, filters them, and writes
//! import blocks and configuration that then plan as pure imports.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, random_tenant_id};

fn tenant(label: &str, tid: &str, status: &str) -> String {
    format!(
        r#"
resource "bbws_tenant" "{label}" {{
  name                   = "Listed {label}"
  contact_email          = "ops@list.example"
  tenant_id              = "{tid}"
  status                 = "{status}"
  retain_data_on_destroy = false
}}
"#
    )
}

fn query(w: &Workdir, stack: &Stack, extra: &[&str]) -> bbws_acceptance_tests::Run {
    let vars = stack.tfvars_path();
    let mut args = vec!["query", "-no-color", "-var-file", vars.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    w.tf(&args)
}

#[test]
fn query_lists_filters_and_generates_import_config() {
    let stack = Stack::load();
    let env = stack.get("environment");
    let (a, b) = (random_tenant_id(), random_tenant_id());
    let origin = Workdir::new(&stack, "list-origin");
    origin.write(
        "main.tf",
        &format!(
            "{PROVIDER_BLOCK}{}{}",
            tenant("a", &a, "active"),
            tenant("b", &b, "suspended")
        ),
    );
    origin.with_vars("apply", &["-auto-approve"]).ok();

    let q = Workdir::new(&stack, "list-query");
    q.write("main.tf", PROVIDER_BLOCK);
    let list = |config: &str| {
        format!(
            "list \"bbws_tenant\" \"ours\" {{\n  provider = bbws\n  include_resource = true\n  config {{\n{config}\n  }}\n}}\n"
        )
    };
    let ids = format!("    tenant_ids = [\"{a}\", \"{b}\"]");
    q.write("ours.tfquery.hcl", &list(&ids));
    let out = query(&q, &stack, &[]).ok();
    for (tid, label) in [(&a, "a"), (&b, "b")] {
        assert!(
            out.stdout.contains(&format!("environment={env},tenant_id={tid}")),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains(&format!("Listed {label} ({tid})")),
            "{}",
            out.stdout
        );
    }

    // The status filter.
    q.write("ours.tfquery.hcl", &list(&format!("{ids}\n    status = \"suspended\"")));
    let out = query(&q, &stack, &[]).ok();
    assert!(out.stdout.contains(&b) && !out.stdout.contains(&a), "{}", out.stdout);
    q.write("ours.tfquery.hcl", &list("    status = \"sleeping\""));
    let bad = query(&q, &stack, &[]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("status must be active, suspended or incomplete"),
        "{}",
        bad.stderr
    );

    // -generate-config-out: import blocks by identity plus resource blocks.
    q.write("ours.tfquery.hcl", &list(&ids));
    std::fs::create_dir_all(q.dir.join("gen")).expect("mkdir");
    query(&q, &stack, &["-generate-config-out=gen/tenants.tf"]).ok();
    let generated = std::fs::read_to_string(q.dir.join("gen/tenants.tf")).expect("generated config");
    assert_eq!(generated.matches("import {").count(), 2, "{generated}");
    assert!(generated.contains("identity = {"), "{generated}");
    assert!(
        !generated.contains("service_arn"),
        "computed attributes are not configuration: {generated}"
    );

    let imported = Workdir::new(&stack, "list-imported");
    imported.write("main.tf", PROVIDER_BLOCK);
    imported.write("tenants.tf", &generated);
    let plan = imported.with_vars("plan", &[]).ok();
    assert!(
        plan.stdout.contains("2 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );

    origin.with_vars("destroy", &["-auto-approve"]).ok();
    for tid in [&a, &b] {
        assert!(stack.inspect(tid, &[])["service"].is_null());
    }
}
