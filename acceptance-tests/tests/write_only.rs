//! The write-only database password and the state upgrade, with the real
//! terraform: `db_password_wo` reaches MySQL and the secret but never the
//! state or the plan; a new `db_password_wo_version` rotates it; a
//! version-0 state is upgraded with no change planned.

use std::process::Command;

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id};

/// The tenant's configuration; the password comes in through an ephemeral
/// variable (as it would from a vault), set in `password.auto.tfvars`.
fn config(w: &Workdir, tid: &str, password: Option<&str>, version: Option<u32>) -> String {
    let vars = password.map(|p| format!("db_password = \"{p}\"\n")).unwrap_or_default();
    w.write("password.auto.tfvars", &vars);
    let pw = password
        .map(|_| "  db_password_wo = var.db_password\n".to_owned())
        .unwrap_or_default();
    let ver = version
        .map(|v| format!("  db_password_wo_version = {v}\n"))
        .unwrap_or_default();
    format!(
        r#"{PROVIDER_BLOCK}
variable "db_password" {{
  type      = string
  default   = null
  sensitive = true
  ephemeral = true
}}

resource "bbws_tenant" "t" {{
  name                   = "Write Only"
  contact_email          = "ops@wo.example"
  tenant_id              = "{tid}"
  retain_data_on_destroy = false
{pw}{ver}}}
"#
    )
}

/// Whether the tenant's MySQL user can log in with `password`.
fn can_log_in(stack: &Stack, user: &str, password: &str) -> bool {
    let m = &stack.settings["mysql"];
    let out = Command::new("mariadb")
        .args(["-h", m["host"].as_str().unwrap_or("127.0.0.1")])
        .args(["-P", &m["port"].to_string()])
        .args(["-u", user, &format!("-p{password}"), "-N", "-B", "-e", "SELECT 1"])
        .output()
        .expect("run mariadb");
    out.status.success()
}

/// The password in the tenant's secret, read with boto3.
fn secret_password(stack: &Stack, tid: &str) -> String {
    let python = stack.dir.join("venv/bin/python");
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("secretsmanager", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
v = c.get_secret_value(SecretId=f"{s['environment']}-{sys.argv[2]}-db-credentials")["SecretString"]
print(json.loads(v)["password"])
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&stack.settings_path)
        .arg(tid)
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn assert_nowhere(w: &Workdir, secret: &str) {
    let state = std::fs::read_to_string(w.dir.join("terraform.tfstate")).expect("state file");
    assert!(!state.contains(secret), "password in the state file");
    let (_, plan) = w.plan_json(&[]);
    assert!(!plan.to_string().contains(secret), "password in the plan JSON");
}

#[test]
fn write_only_password_sets_rotates_and_never_lands_in_state() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let user = format!("{tid}_user");
    let first = format!("First-{}", &tid[4..]);
    let second = format!("Second-{}", &tid[4..]);
    let w = Workdir::new(&stack, "write-only");

    // Without a version the write-only value cannot be rotated later: refused.
    w.write("main.tf", &config(&w, &tid, Some(&first), None));
    let refused = w.with_vars("plan", &[]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("db_password_wo_version"), "{}", refused.stderr);

    // Without db_password_wo, a generated password, in MySQL and the secret.
    w.write("main.tf", &config(&w, &tid, None, None));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let generated = secret_password(&stack, &tid);
    assert_eq!(generated.len(), 32);
    assert!(can_log_in(&stack, &user, &generated));
    assert_nowhere(&w, &generated);

    // A version-0 state (before the write-only attributes) upgrades with no change.
    let path = w.dir.join("terraform.tfstate");
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("state JSON");
    let instance = &mut raw["resources"][0]["instances"][0];
    instance["schema_version"] = 0.into();
    if let Some(attrs) = instance["attributes"].as_object_mut() {
        attrs.remove("db_password_wo");
        attrs.remove("db_password_wo_version");
    }
    std::fs::write(&path, raw.to_string()).expect("write v0 state");
    assert_eq!(
        w.with_vars("plan", &["-detailed-exitcode"]).code,
        0,
        "a v0 state plans clean"
    );
    w.with_vars("apply", &["-auto-approve"]).ok();
    let upgraded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("state JSON");
    assert_eq!(upgraded["resources"][0]["instances"][0]["schema_version"], 1);

    // Adding db_password_wo with a version sets it in place.
    w.write("main.tf", &config(&w, &tid, Some(&first), Some(1)));
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"]);
    w.apply_plan().ok();
    assert!(
        can_log_in(&stack, &user, &first),
        "MySQL user has the write-only password"
    );
    assert!(!can_log_in(&stack, &user, &generated));
    assert_eq!(secret_password(&stack, &tid), first, "the secret has it too");
    let state = w.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    assert!(values["db_password_wo"].is_null(), "{values:#}");
    assert_eq!(values["db_password_wo_version"], 1);
    assert_nowhere(&w, &first);
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0, "no changes");

    // A new version rotates: MySQL and the secret get the new password.
    w.write("main.tf", &config(&w, &tid, Some(&second), Some(2)));
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"]);
    w.apply_plan().ok();
    assert!(can_log_in(&stack, &user, &second), "rotated");
    assert!(!can_log_in(&stack, &user, &first), "the old password no longer works");
    assert_eq!(secret_password(&stack, &tid), second);
    assert_nowhere(&w, &second);

    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(!can_log_in(&stack, &user, &second), "user removed");
}

/// `TF_LOG=trace` of a whole apply (which also turns the provider's own
/// hclog lines on): the provider's RPC and engine lines are there, and no
/// password is — neither the user's nor the generated one nor MariaDB's admin.
#[test]
fn trace_logs_show_the_provider_and_no_secret() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let password = format!("Logged-{}", &tid[3..]);
    let w = Workdir::new(&stack, "trace-logs");
    // A second tenant with a generated password, in the same apply.
    let other = random_tenant_id();
    let second = format!(
        "\nresource \"bbws_tenant\" \"generated\" {{\n  name = \"Generated\"\n  contact_email = \"ops@wo.example\"\n  tenant_id = \"{other}\"\n  retain_data_on_destroy = false\n}}\n"
    );
    w.write("main.tf", &(config(&w, &tid, Some(&password), Some(1)) + &second));
    let log = w.dir.join("trace.log");
    let vars = stack.tfvars_path();
    let run = |args: &[&str]| {
        let out = w
            .command(args)
            .env("TF_LOG", "trace")
            .env("TF_LOG_PATH", &log)
            .output()
            .expect("run terraform");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let v = vars.to_str().expect("utf-8 path");
    run(&["apply", "-input=false", "-no-color", "-auto-approve", "-var-file", v]);
    let text = std::fs::read_to_string(&log).expect("trace log");
    assert!(
        text.contains("terraform called ApplyResourceChange"),
        "the provider's own log lines reach Terraform's log"
    );
    assert!(text.contains("applying"), "engine lines too");
    assert_eq!(secret_password(&stack, &tid), password);
    let admin = stack.settings["mysql"]["admin_password"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let generated = secret_password(&stack, &other);
    assert_eq!(generated.len(), 32);
    let state = std::fs::read_to_string(w.dir.join("terraform.tfstate")).expect("state");
    assert!(
        !state.contains(&generated) && !state.contains(&password),
        "no password in state"
    );
    for (what, secret) in [
        ("db_password_wo", &password),
        ("generated password", &generated),
        ("admin password", &admin),
    ] {
        assert!(!secret.is_empty());
        assert!(!text.contains(secret.as_str()), "the {what} is in the TF_LOG=trace log");
    }
    run(&["destroy", "-input=false", "-no-color", "-auto-approve", "-var-file", v]);
}
