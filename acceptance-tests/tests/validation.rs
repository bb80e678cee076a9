//! Plan-time validation with the real terraform (SPEC §5): every bad
//! attribute is reported at once with its path and rule; a value unknown
//! at plan time plans as unknown; a subdomain another tenant already routes
//! is refused at plan time, naming that tenant.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, random_tenant_id};

#[test]
fn every_violation_is_reported_with_its_attribute() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "validation-bad");
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "bad" {{
  name          = "Bad"
  contact_email = "not-an-email"
  tenant_id     = "12345"
  subdomain     = "Not_A_Label"
  cpu           = 256
  memory        = 8192
  image         = ""
  status        = "paused"
  tier          = "gold"
}}
"#
        ),
    );
    let run = w.tf(&["validate", "-no-color"]);
    assert_ne!(run.code, 0);
    let plan = w.with_vars("plan", &[]);
    assert_ne!(plan.code, 0);
    for out in [&run.stderr, &plan.stderr] {
        for attr in [
            "tenant_id",
            "subdomain",
            "memory",
            "image",
            "status",
            "tier",
            "contact_email",
        ] {
            assert!(
                out.contains("on main.tf") && out.contains(attr),
                "{attr} is named:\n{out}"
            );
        }
    }
    // Terraform shows the attribute's line for each diagnostic with a path.
    assert!(plan.stderr.matches("Error:").count() >= 7, "{}", plan.stderr);
}

#[test]
fn an_unknown_subdomain_plans_as_unknown_and_applies() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "validation-unknown");
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER_BLOCK}
resource "terraform_data" "label" {{
  input = "late-{suffix}"
}}

resource "bbws_tenant" "t" {{
  name                   = "Late"
  contact_email          = "ops@late.example"
  tenant_id              = "{tid}"
  subdomain              = terraform_data.label.output
  retain_data_on_destroy = false
  # A write-only value in a plan with unknowns is still never planned.
  db_password_wo         = "Unknown-Sub-Pass-1"
  db_password_wo_version = 1
}}
"#,
            suffix = &tid[6..]
        ),
    );
    let (_, plan) = w.plan_json(&[]);
    let change = bbws_acceptance_tests::resource_change(&plan, "bbws_tenant.t");
    assert_eq!(change["change"]["after_unknown"]["subdomain"], true, "{change:#}");
    assert_eq!(change["change"]["after_unknown"]["fqdn"], true, "{change:#}");
    w.apply_plan().ok();
    let t = stack.inspect(&tid, &[&format!("late-{}", &tid[6..])]);
    assert!(!t["service"].is_null(), "{t:#}");
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

#[test]
fn a_subdomain_of_another_tenant_is_refused_at_plan() {
    let stack = Stack::load();
    let (first, second) = (random_tenant_id(), random_tenant_id());
    let sub = format!("taken-{}", &first[6..]);
    let tenant = |label: &str, tid: &str| {
        format!(
            r#"
resource "bbws_tenant" "{label}" {{
  name                   = "Tenant {label}"
  contact_email          = "ops@{label}.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  retain_data_on_destroy = false
}}
"#
        )
    };
    let a = Workdir::new(&stack, "validation-collide-a");
    a.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("a", &first)));
    a.with_vars("apply", &["-auto-approve"]).ok();

    let b = Workdir::new(&stack, "validation-collide-b");
    b.write("main.tf", &format!("{PROVIDER_BLOCK}{}", tenant("b", &second)));
    let plan = b.with_vars("plan", &[]);
    assert_ne!(plan.code, 0, "{}", plan.stdout);
    assert!(plan.stderr.contains("subdomain"), "{}", plan.stderr);
    assert!(
        plan.stderr.contains(&first),
        "names the tenant that has it: {}",
        plan.stderr
    );
    assert!(stack.inspect(&second, &[])["service"].is_null(), "nothing created");

    a.with_vars("destroy", &["-auto-approve"]).ok();
}

/// `cpu = 512.5` once planned the tier's default instead ("Provider
/// produced invalid plan"); every number that is not a whole one in range
/// is now a plan-time error at its attribute, in the resource and in the
/// provider block.
#[test]
fn numbers_that_are_not_whole_are_rejected_at_their_attribute() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "validation-numbers");
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "n" {{
  name                   = "Numbers"
  contact_email          = "ops@numbers.example"
  tenant_id              = "{tid}"
  cpu                    = 512.5
  desired_count          = 1.25
  db_password_wo_version = -1
  log_retention_days     = 1e30
}}
"#
        ),
    );
    let plan = w.with_vars("plan", &["-no-color"]);
    assert_ne!(plan.code, 0, "{}", plan.stdout);
    let err = plan.stderr.replace('\n', " ");
    assert!(!err.contains("invalid plan"), "{err}");
    for (attr, said) in [
        ("cpu", "cpu = 512.5 must be a whole number"),
        ("desired_count", "desired_count = 1.25 must be a whole number"),
        (
            "db_password_wo_version",
            "db_password_wo_version = -1 must be a whole number between 0",
        ),
        ("log_retention_days", "log_retention_days ="),
    ] {
        assert!(err.contains(said), "{attr}: {err}");
    }
    assert!(plan.stderr.matches("Error:").count() >= 4, "{}", plan.stderr);
    let t = stack.inspect(&tid, &[]);
    assert!(
        t["service"].is_null() && t["secret"].is_null(),
        "nothing created: {t:#}"
    );
}
