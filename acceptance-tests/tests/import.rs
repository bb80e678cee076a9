//! Import, ImportStateVerify-style: a tenant applied in one state is
//! imported into another by id (CLI), by an `import` block with id and
//! generated configuration, and by identity; every attribute matches and
//! the next plan is empty.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, random_tenant_id};
use serde_json::Value as Json;

fn tenant(label: &str, tid: &str, sub: &str) -> String {
    format!(
        r#"
resource "bbws_tenant" "{label}" {{
  name                   = "Import Test, Inc."
  contact_email          = "ops@import.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  tier                   = "enterprise"
  php_version            = "8.2"
  status                 = "suspended"
  log_retention_days     = 90
  retain_data_on_destroy = false
  environment_variables  = {{ WP_DEBUG = "true" }}
  tags                   = {{ owner = "imports" }}
}}
"#
    )
}

fn values(w: &Workdir, address: &str) -> Json {
    let state = w.state_json();
    state["values"]["root_module"]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["address"] == address))
        .map(|r| r["values"].clone())
        .unwrap_or_else(|| panic!("{address} not in state: {state:#}"))
}

#[test]
fn import_round_trips_by_id_by_block_and_by_identity() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("imp-{}", &tid[6..]);
    let origin = Workdir::new(&stack, "import-origin");
    origin.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("t", &tid, &sub)));
    origin.with_vars("apply", &["-auto-approve"]).ok();
    let want = values(&origin, "bbws_tenant.t");

    // terraform import <tenant_id>: every attribute as applied.
    let cli = Workdir::new(&stack, "import-cli");
    cli.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("t", &tid, &sub)));
    let imported = cli.with_vars("import", &["bbws_tenant.t", &tid]).ok();
    assert!(imported.stdout.contains("Import successful"), "{}", imported.stdout);
    assert_eq!(values(&cli, "bbws_tenant.t"), want, "ImportStateVerify");
    assert_eq!(
        cli.with_vars("plan", &["-detailed-exitcode"]).code,
        0,
        "no changes after import"
    );

    // import block by id + -generate-config-out: the generated HCL plans clean.
    let generated = Workdir::new(&stack, "import-generate");
    generated.write(
        "main.tf",
        &format!("{PROVIDER_BLOCK}\nimport {{\n  to = bbws_tenant.g\n  id = \"{tid}\"\n}}\n"),
    );
    generated.with_vars("plan", &["-generate-config-out=generated.tf"]).ok();
    let hcl = std::fs::read_to_string(generated.dir.join("generated.tf")).expect("generated.tf");
    assert!(hcl.contains("name") && hcl.contains("Import Test, Inc."), "{hcl}");
    let plan = generated.with_vars("plan", &["-no-color"]).ok();
    assert!(
        plan.stdout.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );

    // import block by identity.
    let by_identity = Workdir::new(&stack, "import-identity");
    by_identity.write(
        "main.tf",
        &format!(
            "{PROVIDER_BLOCK}{}\nimport {{\n  to = bbws_tenant.i\n  identity = {{\n    environment = \"{}\"\n    tenant_id   = \"{tid}\"\n  }}\n}}\n",
            tenant("i", &tid, &sub),
            stack.get("environment")
        ),
    );
    let plan = by_identity.with_vars("plan", &["-no-color"]).ok();
    assert!(
        plan.stdout.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    by_identity.with_vars("apply", &["-auto-approve"]).ok();
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(by_identity.dir.join("terraform.tfstate")).expect("state"))
            .expect("state JSON");
    let identity = &state["resources"][0]["instances"][0]["identity"];
    assert_eq!(identity["tenant_id"], tid.as_str(), "{state:#}");
    assert_eq!(identity["environment"], stack.get("environment").as_str());

    // An identity from another environment is refused, naming both.
    let wrong = Workdir::new(&stack, "import-wrong-env");
    wrong.write(
        "main.tf",
        &format!(
            "{PROVIDER_BLOCK}{}\nimport {{\n  to = bbws_tenant.i\n  identity = {{\n    environment = \"prod\"\n    tenant_id   = \"{tid}\"\n  }}\n}}\n",
            tenant("i", &tid, &sub)
        ),
    );
    let refused = wrong.with_vars("plan", &["-no-color"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("another environment"), "{}", refused.stderr);

    // A tenant id that does not exist imports nothing, with a clear error.
    let missing = Workdir::new(&stack, "import-missing");
    missing.write(
        "main.tf",
        &format!("{PROVIDER_BLOCK}{}", tenant("t", "199999999999", "nothing-here")),
    );
    let gone = missing.with_vars("import", &["bbws_tenant.t", "199999999999"]);
    assert_ne!(gone.code, 0, "{}", gone.stdout);

    origin.with_vars("destroy", &["-auto-approve"]).ok();
    let t = stack.inspect(&tid, &[&sub]);
    assert!(t["service"].is_null() && t["database"] == false, "{t:#}");
}
