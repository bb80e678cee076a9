//! The AWS provider's account guards and roles (SPEC §8), with the real
//! terraform: `assume_role`, `allowed_account_ids`, `max_retries`, and the
//! errors a person acts on — a role that cannot be assumed, a wrong
//! account, expired credentials — each naming the setting and what to do.
//!
//! moto never says no: it hands out credentials for any role ARN, accepts
//! any access key and never throttles. Where AWS refuses, the requests go
//! through `tools/aws_faults.py`, a proxy in front of moto that refuses as
//! AWS does (see each test).

use bbws_acceptance_tests::{FaultProxy, PROVIDER_BLOCK, Stack, Workdir, assert_actionable, random_tenant_id};

/// moto's default account, where the stack's platform and credentials live.
const STACK_ACCOUNT: &str = "123456789012";

/// The acceptance provider block with `settings` added, and one tenant.
fn config(tid: &str, settings: &str) -> String {
    let provider = PROVIDER_BLOCK.replace("  database {", &format!("{settings}\n\n  database {{"));
    assert_ne!(provider, PROVIDER_BLOCK, "the provider block has a database block");
    format!(
        r#"{provider}
resource "bbws_tenant" "t" {{
  name                   = "Guarded"
  contact_email          = "ops@guards.example"
  tenant_id              = "{tid}"
  retain_data_on_destroy = false
}}
"#
    )
}

/// A workdir whose every AWS call (the SDK's environment and the
/// provider's endpoints) goes through `proxy`.
fn workdir(stack: &Stack, name: &str, proxy: &FaultProxy, tid: &str, settings: &str) -> Workdir {
    let w = Workdir::new(stack, name).with_env("AWS_ENDPOINT_URL", &proxy.url);
    w.write("main.tf", &config(tid, settings));
    w
}

fn via(proxy: &FaultProxy) -> String {
    format!("aws_endpoint={}", proxy.url)
}

/// Creates an IAM role in moto's account (moto's IAM, so that the proxy
/// knows it exists) and returns its ARN.
fn create_role(stack: &Stack, name: &str) -> String {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
iam = boto3.client("iam", endpoint_url=s["endpoint"], region_name=s["region"],
                   aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}
try:
    print(iam.get_role(RoleName=sys.argv[2])["Role"]["Arn"])
except iam.exceptions.NoSuchEntityException:
    print(iam.create_role(RoleName=sys.argv[2], AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
"#;
    stack.python(script, &[name]).trim().to_owned()
}

/// The operators of the tenant's audit records.
fn audit_operators(stack: &Stack, tid: &str) -> Vec<String> {
    stack
        .audit_records(tid)
        .iter()
        .filter_map(|r| r["operator"].as_str().map(str::to_owned))
        .collect()
}

/// With `assume_role` and `allowed_account_ids` set to the caller's own
/// account, the tenant is created as the role: its audit record names the
/// assumed role's session as the operator.
#[test]
fn assume_role_in_an_allowed_account_applies_as_the_role() {
    let stack = Stack::load();
    let role = create_role(&stack, "bbws-deployer");
    let proxy = FaultProxy::start(&stack, &["--refuse-missing-roles"]);
    let tid = random_tenant_id();
    let settings = format!(
        "  assume_role {{\n    role_arn     = \"{role}\"\n    session_name = \"bbws-acceptance\"\n    external_id  = \"not-a-secret\"\n  }}\n  allowed_account_ids = [\"{STACK_ACCOUNT}\"]"
    );
    let w = workdir(&stack, "guards-role", &proxy, &tid, &settings);
    let apply = w.with_vars("apply", &["-auto-approve", "-var", &via(&proxy)]).ok();
    assert!(
        apply.stdout.contains("Apply complete! Resources: 1 added"),
        "{}",
        apply.stdout
    );
    let operators = audit_operators(&stack, &tid);
    assert!(
        operators
            .iter()
            .any(|o| o == &format!("arn:aws:sts::{STACK_ACCOUNT}:assumed-role/bbws-deployer/bbws-acceptance")),
        "the tenant was created as the assumed role: {operators:?}"
    );
    w.with_vars("destroy", &["-auto-approve", "-var", &via(&proxy)]).ok();
}

/// AWS refuses sts:AssumeRole of a role that does not exist (or whose
/// trust policy does not name the caller) with AccessDenied; moto does not,
/// so the proxy refuses roles missing from moto's IAM. The plan fails at
/// the provider block, naming `assume_role.role_arn`, and creates nothing.
#[test]
fn a_role_that_cannot_be_assumed_names_the_setting() {
    let stack = Stack::load();
    let proxy = FaultProxy::start(&stack, &["--refuse-missing-roles"]);
    let tid = random_tenant_id();
    let role = "arn:aws:iam::123456789012:role/no-such-deployer";
    let settings = format!("  assume_role {{\n    role_arn = \"{role}\"\n  }}");
    let w = workdir(&stack, "guards-no-role", &proxy, &tid, &settings);
    let run = w.with_vars("plan", &["-var", &via(&proxy)]);
    assert_actionable(&run, "The role of assume_role cannot be assumed", "trust policy");
    let err = run.stderr.replace('\n', " ");
    assert!(err.contains(role), "names the role: {}", run.stderr);
    assert!(
        err.contains("assume_role.role_arn"),
        "names the setting: {}",
        run.stderr
    );
    assert!(
        err.contains("not authorized to perform: sts:AssumeRole"),
        "says what STS said: {}",
        run.stderr
    );
    assert!(stack.inspect(&tid, &[&tid])["service"].is_null(), "nothing was created");
}

/// The stack's credentials are in moto's account 123456789012; a
/// configuration that allows only DEV's account must not touch it.
#[test]
fn a_wrong_account_fails_the_plan_naming_expected_and_actual() {
    let stack = Stack::load();
    let proxy = FaultProxy::start(&stack, &[]);
    let tid = random_tenant_id();
    let w = workdir(
        &stack,
        "guards-account",
        &proxy,
        &tid,
        "  allowed_account_ids = [\"536580886816\"]",
    );
    let run = w.with_vars("plan", &["-var", &via(&proxy)]);
    assert_actionable(
        &run,
        "The AWS credentials are in an account that allowed_account_ids does not allow",
        "Use the credentials of an allowed account",
    );
    let err = run.stderr.replace('\n', " ");
    assert!(
        err.contains("536580886816") && err.contains(&format!("in account {STACK_ACCOUNT}")),
        "names the expected and the actual account: {}",
        run.stderr
    );
    assert!(
        err.contains("allowed_account_ids = ["),
        "points at the setting: {}",
        run.stderr
    );
    // Nor at apply: the guard runs whenever the provider is configured.
    let apply = w.with_vars("apply", &["-auto-approve", "-var", &via(&proxy)]);
    assert_ne!(apply.code, 0, "{}", apply.stdout);
    assert!(stack.inspect(&tid, &[&tid])["service"].is_null(), "nothing was created");
}

/// An expired session token: AWS answers every call with ExpiredToken
/// (moto accepts any key, so the proxy answers for the key below).
#[test]
fn expired_credentials_say_how_to_refresh_them() {
    let stack = Stack::load();
    let key = "ASIAEXPIREDSESSION01";
    let proxy = FaultProxy::start(&stack, &["--expired-key", key]);
    let tid = random_tenant_id();
    let w = workdir(&stack, "guards-expired", &proxy, &tid, "")
        .with_env("AWS_ACCESS_KEY_ID", key)
        .with_env("AWS_SESSION_TOKEN", "an-expired-session-token");
    let run = w.with_vars("plan", &["-var", &via(&proxy)]);
    assert_actionable(&run, "The AWS credentials have expired", "aws sso login");
    let err = run.stderr.replace('\n', " ");
    assert!(err.contains("`profile`"), "names the setting: {}", run.stderr);
    assert!(!err.contains("an-expired-session-token"), "never echoes the token");

    // With a guard, the same refusal comes at the provider block, first.
    let w = workdir(
        &stack,
        "guards-expired-guarded",
        &proxy,
        &tid,
        &format!("  allowed_account_ids = [\"{STACK_ACCOUNT}\"]"),
    )
    .with_env("AWS_ACCESS_KEY_ID", key)
    .with_env("AWS_SESSION_TOKEN", "an-expired-session-token");
    let run = w.with_vars("plan", &["-var", &via(&proxy)]);
    assert_actionable(&run, "The AWS credentials have expired", "GetCallerIdentity");
}

/// `max_retries` is the SDK's retry count: three throttled requests fail a
/// plan that allows no retry and are ridden out by one that allows four.
/// (moto never throttles; the proxy throttles its first three requests.)
#[test]
fn max_retries_rides_out_throttling() {
    let stack = Stack::load();
    let tid = random_tenant_id();

    let proxy = FaultProxy::start(&stack, &["--throttle", "3"]);
    let w = workdir(&stack, "guards-no-retry", &proxy, &tid, "  max_retries = 0");
    let run = w.with_vars("plan", &["-var", &via(&proxy)]);
    assert_ne!(run.code, 0, "a throttled call with no retry fails: {}", run.stdout);
    assert!(
        run.stderr.replace('\n', " ").contains("Rate exceeded"),
        "{}",
        run.stderr
    );
    drop(proxy);

    let proxy = FaultProxy::start(&stack, &["--throttle", "3"]);
    let w = workdir(&stack, "guards-retries", &proxy, &tid, "  max_retries = 4");
    let run = w.with_vars("plan", &["-var", &via(&proxy)]).ok();
    assert!(run.stdout.contains("Plan: 1 to add"), "{}", run.stdout);
}
