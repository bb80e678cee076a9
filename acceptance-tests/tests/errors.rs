//! Errors a person can act on, with the real terraform: each wrong setting
//! gives one diagnostic at plan time that names the setting and what to do
//! — never a stack trace or a raw SDK dump — and creates nothing.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Run, Stack, Workdir, assert_actionable, random_tenant_id};

fn config(tid: &str) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name                   = "Erroneous"
  contact_email          = "ops@errors.example"
  tenant_id              = "{tid}"
  retain_data_on_destroy = false
}}
"#
    )
}

fn plan_with(w: &Workdir, var: &str) -> Run {
    w.with_vars("plan", &["-var", var])
}

#[test]
fn wrong_platform_settings_name_the_setting() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "errors-settings");
    w.write("main.tf", &config(&tid));
    let cases = [
        (
            "listener_arn=arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/nope/0123456789abcdef/0123456789abcdef",
            "Provider setting listener_arn is wrong",
            "was not found",
        ),
        (
            "hosted_zone_id=ZNOPE0000",
            "Provider setting hosted_zone_id is wrong",
            "set hosted_zone_id to",
        ),
        (
            "cluster=no-such-cluster",
            "Provider setting cluster is wrong",
            "set cluster to",
        ),
        (
            "efs_file_system_id=fs-0badbad0",
            "Provider setting efs_file_system_id is wrong",
            "set efs_file_system_id to",
        ),
        ("db_port=1", "Provider setting database is wrong", "database.host/port"),
    ];
    for (var, summary, hint) in cases {
        assert_actionable(&plan_with(&w, var), summary, hint);
    }
    assert!(stack.inspect(&tid, &[])["secret"].is_null(), "nothing created");
}

#[test]
fn missing_aws_credentials_say_where_they_are_looked_for() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "errors-credentials");
    w.write("main.tf", &config(&random_tenant_id()));
    let vars = stack.tfvars_path();
    let out = w
        .command(&[
            "plan",
            "-input=false",
            "-no-color",
            "-var-file",
            vars.to_str().expect("utf-8 path"),
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("HOME", &w.dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run terraform");
    assert_actionable(&Run::from(out), "credentials", "AWS_ACCESS_KEY_ID");
}

#[test]
fn a_wrong_database_admin_password_is_named() {
    let stack = Stack::load();
    // An admin secret whose password MariaDB refuses.
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("secretsmanager", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
name = "bbws/errors/wrong-admin-" + sys.argv[2]
arn = c.create_secret(Name=name, SecretString=json.dumps({"username": s["mysql"]["admin_user"], "password": "not-the-password"}))["ARN"]
print(arn)
"#;
    let tid = random_tenant_id();
    let arn = stack.python(script, &[&tid]).trim().to_owned();
    let w = Workdir::new(&stack, "errors-db-auth");
    w.write("main.tf", &config(&tid));
    let run = plan_with(&w, &format!("db_admin_secret_arn={arn}"));
    assert_actionable(&run, "Provider setting database is wrong", "admin_secret_arn");
    assert!(!run.stderr.contains("not-the-password"), "the password is never echoed");
}

/// A server certificate that the given CA did not sign fails the plan,
/// naming `database.ssl_ca` and what to pass (here the server's own leaf
/// certificate stands in for a wrong bundle).
#[test]
fn a_certificate_that_does_not_verify_names_ssl_ca() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "errors-db-tls");
    w.write("main.tf", &config(&tid));
    let leaf = stack.dir.join("tls/server.pem");
    let wrong = std::fs::read_to_string(&leaf).expect("the stack's server certificate");
    let run = plan_with(&w, &format!("db_ssl_ca={wrong}"));
    assert_actionable(&run, "Provider setting database.ssl_ca is wrong", "global-bundle.pem");
}

#[test]
fn a_tenant_that_exists_outside_this_state_says_to_import_it() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let elsewhere = Workdir::new(&stack, "errors-exists-a");
    elsewhere.write("main.tf", &config(&tid));
    elsewhere.with_vars("apply", &["-auto-approve"]).ok();

    let here = Workdir::new(&stack, "errors-exists-b");
    here.write("main.tf", &config(&tid));
    assert_actionable(
        &here.with_vars("plan", &[]),
        &format!("Tenant {tid} already exists"),
        &format!("terraform import <resource address> {tid}"),
    );
    elsewhere.with_vars("destroy", &["-auto-approve"]).ok();
}
