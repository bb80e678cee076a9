//! Every HCL example runs against the local stack: applied, re-planned to no
//! changes, destroyed.

use bbws_acceptance_tests::{
    Stack, Workdir, copy_example_into, personalise_example, random_tenant_id, serve_issued_certificates, workspace_root,
};

/// Copies an example directory into a fresh workdir (see `copy_example_into`).
fn copy_example(stack: &Stack, name: &str) -> (Workdir, String) {
    let w = Workdir::new(stack, name);
    let tid = copy_example_into(&w, name);
    (w, tid)
}

#[test]
fn quickstart_applies_and_destroys() {
    let stack = Stack::load();
    let (w, tid) = copy_example(&stack, "quickstart");
    let apply = w.with_vars("apply", &["-auto-approve"]).ok();
    assert!(
        apply.stdout.contains("Apply complete! Resources: 1 added"),
        "{}",
        apply.stdout
    );
    let sub = format!("acme-{}", &tid[6..]);
    assert!(
        apply.stdout.contains(&format!("url = \"https://{sub}.")),
        "{}",
        apply.stdout
    );
    let t = stack.inspect(&tid, &[&sub]);
    assert!(!t["service"].is_null(), "{t:#}");
    let again = w.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(stack.inspect(&tid, &[&sub])["service"].is_null());
}

/// An example file with the tenant id, subdomain and environment of this run.
fn example_file(rel: &str, tid: &str, env: &str) -> String {
    let text = std::fs::read_to_string(workspace_root().join("examples").join(rel)).expect("read example");
    personalise_example(&text, tid).replace("environment = \"dev\"", &format!("environment = \"{env}\""))
}

/// The registry-layout examples (docs/ embeds them): the resource with the
/// provider, both data sources on it, `terraform query` with the list
/// resource, `terraform import` as import.sh says, and import by identity.
#[test]
fn registry_examples_apply_read_list_and_import() {
    let stack = Stack::load();
    let env = stack.get("environment");
    let tid = random_tenant_id();
    let sub = format!("acme-{}", &tid[6..]);
    let file = |rel: &str| example_file(rel, &tid, &env);

    let w = Workdir::new(&stack, "registry-examples");
    w.write("provider.tf", &file("provider/provider.tf"));
    w.write("resource.tf", &file("resources/bbws_tenant/resource.tf"));
    w.with_vars("apply", &["-auto-approve"]).ok();
    serve_issued_certificates(&w, &[]);
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);

    // Data sources, once the tenant exists.
    w.write("tenant.tf", &file("data-sources/bbws_tenant/data-source.tf"));
    w.write("tenants.tf", &file("data-sources/bbws_tenants/data-source.tf"));
    w.write("platform.tf", &file("data-sources/bbws_platform/data-source.tf"));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let out: serde_json::Value = serde_json::from_str(&w.tf(&["output", "-json"]).ok().stdout).expect("outputs");
    let health = &out["acme_health"]["value"];
    assert_eq!(health["status"], "active", "{out:#}");
    assert_eq!(health["database_reachable"], true, "{out:#}");
    // moto starts no tasks: running is 0 of the 2 desired.
    assert!(health["running"].as_str().is_some_and(|r| r.ends_with("/2")), "{out:#}");
    // So the service check fails (and the site does not resolve): the
    // tenant is unhealthy, while its database login passes.
    assert_eq!(health["health"], "unhealthy", "{out:#}");
    assert_eq!(health["health_checks"]["service"], "unhealthy", "{out:#}");
    assert_eq!(health["health_checks"]["database"], "healthy", "{out:#}");
    let checks = health["health_checks"].as_object().expect("a map of checks");
    assert_eq!(checks.len(), 4, "{out:#}");
    let state = w.state_json();
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .expect("resources");
    let find = |addr: &str| {
        resources
            .iter()
            .find(|r| r["address"] == addr)
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("{addr} in state"))
    };
    let (res, data) = (find("bbws_tenant.acme"), find("data.bbws_tenant.acme"));
    // The pool's one listener holds the tenant, where its state says.
    let platform = find("data.bbws_platform.this");
    let listener = &platform["listeners"][0];
    assert_eq!(listener["listener_arn"], res["listener_arn"], "{platform:#}");
    assert_eq!(
        listener["load_balancer_dns_name"], res["load_balancer_dns_name"],
        "{platform:#}"
    );
    assert!(
        listener["tenant_ids"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|i| i == &serde_json::json!(tid))),
        "{platform:#}"
    );
    assert_eq!(listener["rules_limit"], 100, "{platform:#}");
    assert!(out["free_slots"]["value"].as_u64().is_some_and(|f| f < 100), "{out:#}");
    for k in [
        "service_arn",
        "task_definition_arn",
        "target_group_arn",
        "listener_rule_arn",
        "listener_rule_priority",
        "access_point_id",
        "database_name",
        "database_user",
        "db_secret_arn",
        "log_group_name",
        "fqdn",
        "url",
        "name",
        "tier",
    ] {
        assert_eq!(data[k], res[k], "data source {k} matches the resource");
    }
    assert_eq!(data["desired_count"], 2);
    assert!(
        data["parts"]
            .as_object()
            .expect("parts")
            .values()
            .all(|v| v == "present")
    );
    assert!(
        data["http_status"].is_null() && data["http_error"].is_string(),
        "no site on the emulator: {data:#}"
    );
    assert_eq!(
        out["tenant_urls"]["value"][&tid],
        format!("https://{sub}.{}", stack.get("domain")),
        "{out:#}"
    );

    // terraform query: the list resource finds it, with its identity.
    w.write("list.tfquery.hcl", &file("list-resources/bbws_tenant/list.tfquery.hcl"));
    let vars = stack.tfvars_path();
    let query = w
        .tf(&["query", "-no-color", "-var-file", vars.to_str().expect("utf-8 path")])
        .ok();
    assert!(
        query.stdout.contains(&format!("environment={env},tenant_id={tid}")),
        "{}",
        query.stdout
    );
    std::fs::remove_file(w.dir.join("list.tfquery.hcl")).expect("rm query");

    // terraform import, as import.sh says, into a fresh state.
    let cli = Workdir::new(&stack, "registry-import-sh");
    cli.write("provider.tf", &file("provider/provider.tf"));
    cli.write("resource.tf", &file("resources/bbws_tenant/resource.tf"));
    let line = file("resources/bbws_tenant/import.sh");
    let args: Vec<&str> = line
        .lines()
        .find(|l| l.starts_with("terraform import"))
        .expect("an import command")
        .split_whitespace()
        .skip(2)
        .collect();
    let imported = cli.with_vars("import", &args).ok();
    assert!(imported.stdout.contains("Import successful"), "{}", imported.stdout);
    assert_eq!(
        cli.with_vars("plan", &["-detailed-exitcode"]).code,
        0,
        "import round-trips"
    );

    // Import by identity.
    let by_identity = Workdir::new(&stack, "registry-import-identity");
    by_identity.write("provider.tf", &file("provider/provider.tf"));
    by_identity.write("resource.tf", &file("resources/bbws_tenant/resource.tf"));
    by_identity.write("import.tf", &file("resources/bbws_tenant/import-by-identity.tf"));
    let plan = by_identity.with_vars("plan", &[]).ok();
    assert!(
        plan.stdout.contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );

    std::fs::remove_file(w.dir.join("tenant.tf")).expect("rm");
    std::fs::remove_file(w.dir.join("tenants.tf")).expect("rm");
    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(stack.inspect(&tid, &[&sub])["service"].is_null());
}

/// Copies `examples/{rel}` (files and subdirectories) into `dir`, with
/// `replace` applied to every text file.
fn copy_tree(rel: &str, dir: &std::path::Path, replace: &dyn Fn(String) -> String) {
    let src = workspace_root().join("examples").join(rel);
    for entry in std::fs::read_dir(&src).expect("example dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name").to_owned();
        if path.is_dir() {
            std::fs::create_dir_all(dir.join(&name)).expect("mkdir");
            copy_tree(&format!("{rel}/{}", name.to_string_lossy()), &dir.join(&name), replace);
        } else {
            let text = std::fs::read_to_string(&path).expect("read example");
            std::fs::write(dir.join(&name), replace(text)).expect("write");
        }
    }
}

/// The tenant-fleet module through examples/fleet: tenants from a map and
/// from a YAML file, tier defaults, a suspended one; then clean re-plan.
#[test]
fn fleet_module_applies_tenants_from_a_map_and_yaml() {
    let stack = Stack::load();
    let ids: Vec<String> = (0..3).map(|_| random_tenant_id()).collect();
    let w = Workdir::new(&stack, "fleet");
    let module = workspace_root().join("examples/modules/tenant-fleet");
    let suffix = &ids[0][6..];
    copy_tree("fleet", &w.dir, &|t: String| {
        t.replace("123456789012", &ids[0])
            .replace("123456789013", &ids[1])
            .replace("123456789014", &ids[2])
            .replace(
                "\"../modules/tenant-fleet\"",
                &format!("{:?}", module.display().to_string()),
            )
            .replace("= \"acme\"", &format!("= \"acme-{suffix}\""))
            .replace("subdomain: globex", &format!("subdomain: globex-{suffix}"))
            .replace("subdomain: initech", &format!("subdomain: initech-{suffix}"))
    });
    // Modules need an init; the dev_overrides provider needs no download.
    w.tf(&["init", "-input=false", "-no-color"]).ok();
    w.with_vars("apply", &["-auto-approve"]).ok();
    let out: serde_json::Value = serde_json::from_str(&w.tf(&["output", "-json"]).ok().stdout).expect("outputs");
    let urls = out["urls"]["value"].as_object().expect("urls");
    assert_eq!(urls.len(), 3, "{out:#}");
    assert_eq!(
        urls["initech"],
        format!("https://initech-{suffix}.{}", stack.get("domain"))
    );
    let initech = stack.inspect(&ids[2], &[&format!("initech-{suffix}")]);
    assert_eq!(initech["service"]["desired_count"], 0, "suspended: {initech:#}");
    assert_eq!(initech["listener_rules"][0]["actions"][0], "fixed-response");
    assert_eq!(initech["log_group"]["retention"], 90, "enterprise tier");
    let acme = stack.inspect(&ids[0], &[&format!("acme-{suffix}")]);
    assert_eq!(acme["service"]["desired_count"], 2, "professional tier");
    assert_eq!(acme["service"]["tags"]["fleet-key"], "acme");
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);
    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(stack.inspect(&ids[1], &[])["service"].is_null());
}

/// The module's own `terraform test` (mock_provider, no AWS) passes.
#[test]
fn fleet_module_terraform_test_passes_with_a_mocked_provider() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "fleet-test");
    copy_tree("modules/tenant-fleet", &w.dir, &|t: String| t);
    let run = w.tf(&["test", "-no-color"]).ok();
    assert!(run.stdout.contains("2 passed, 0 failed"), "{}", run.stdout);
}

/// `examples/environments`: three provider aliases (DEV, SIT, PROD), each
/// with its account's role and guard, each driving the tenant-fleet module.
/// Their accounts are not the stack's, so the example is initialised and
/// validated here; the guards themselves run against the stack in
/// `account_guards.rs`.
#[test]
fn environments_example_validates() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "environments");
    let module = workspace_root().join("examples/modules/tenant-fleet");
    for file in ["providers.tf", "main.tf"] {
        let text =
            std::fs::read_to_string(workspace_root().join("examples/environments").join(file)).expect("read example");
        w.write(
            file,
            &text.replace("\"../modules/tenant-fleet\"", &format!("\"{}\"", module.display())),
        );
    }
    w.tf(&["init", "-input=false", "-no-color", "-backend=false"]).ok();
    let v = w.tf(&["validate", "-no-color"]).ok();
    assert!(v.stdout.contains("The configuration is valid"), "{}", v.stdout);
    let text = std::fs::read_to_string(w.dir.join("providers.tf")).expect("providers.tf");
    for (alias, account) in [
        ("dev", "536580886816"),
        ("sit", "815856636111"),
        ("prod", "093646564004"),
    ] {
        assert!(text.contains(&format!("alias       = \"{alias}\"")), "{alias}");
        assert!(
            text.contains(&format!("{alias}  = \"{account}\"")) || text.contains(&format!("{alias} = \"{account}\"")),
            "{alias}'s account"
        );
    }
}

/// `examples/promotion`: PROD's plan reads the tenant in SIT through an
/// aliased provider and fails its precondition unless PROD runs what SIT
/// runs. Its own `terraform test` (SIT applied, PROD planned with the same
/// and with other releases) passes against the stack, SIT and PROD sharing
/// the emulated account (SIT's domain a label below the stack's, so the two
/// tenants' records differ); afterwards, with SIT's tenant destroyed, the
/// gate fails closed.
#[test]
fn promotion_example_lets_prod_run_only_what_sit_runs() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "promotion");
    copy_tree("promotion", &w.dir, &|t: String| t);
    let vars: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stack.tfvars_path()).expect("platform vars")).expect("JSON");
    let environment = |domain: String| {
        let mut p = vars.clone();
        let fields = p.as_object_mut().expect("an object");
        fields.retain(|k, _| !["environment", "aws_endpoint"].contains(&k.as_str()));
        fields.insert("domain".into(), domain.into());
        p
    };
    let domain = stack.get("domain");
    let platform = serde_json::json!({
        "platform": { "sit": environment(format!("sit.{domain}")), "prod": environment(domain) },
        "tenant_id": tid,
    });
    w.write("promotion.tfvars.json", &platform.to_string());
    w.tf(&["init", "-input=false", "-no-color"]).ok();
    let test = w.tf(&["test", "-no-color", "-var-file=promotion.tfvars.json"]);
    assert!(
        test.stdout.contains("5 passed, 0 failed"),
        "{}\n{}",
        test.stdout,
        test.stderr
    );
    // The test destroyed SIT's tenant: now PROD's gate has nothing to
    // promote from, and fails closed.
    let release = r#"release={wordpress_version="6.6",php_version="8.3"}"#;
    let plan = w.tf(&[
        "plan",
        "-input=false",
        "-no-color",
        "-var-file=promotion.tfvars.json",
        "-var",
        release,
    ]);
    assert_ne!(plan.code, 0, "{}", plan.stdout);
    assert!(
        plan.stderr.contains(&format!("Tenant {tid} not found")),
        "{}",
        plan.stderr
    );
}

/// `provider::bbws::tenant_names` through real Terraform: the example runs
/// with no provider block (a function needs no configuration), its names
/// are SPEC §2's, and a bad argument is refused naming the argument.
#[test]
fn tenant_names_function_example_runs_without_configuration() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "function-example");
    let versions =
        "terraform {\n  required_providers {\n    bbws = { source = \"registry.terraform.io/bbws/bbws\" }\n  }\n}\n";
    w.write("versions.tf", versions);
    w.write(
        "function.tf",
        &example_file("functions/tenant_names/function.tf", "123456789012", "dev"),
    );
    w.tf(&["apply", "-auto-approve", "-input=false", "-no-color"]).ok();
    let out: serde_json::Value = serde_json::from_str(&w.tf(&["output", "-json"]).ok().stdout).expect("outputs JSON");
    assert_eq!(out["acme_service"]["value"], "dev-123456789012-service", "{out:#}");
    let policy: serde_json::Value =
        serde_json::from_str(out["acme_job_policy"]["value"].as_str().expect("policy")).expect("policy JSON");
    assert_eq!(
        policy["Statement"][0]["Resource"],
        "arn:aws:secretsmanager:*:*:secret:dev-123456789012-db-credentials-*"
    );
    assert_eq!(
        policy["Statement"][1]["Resource"],
        "arn:aws:logs:*:*:log-group:/ecs/dev-123456789012:*"
    );

    w.write(
        "function.tf",
        "output \"bad\" { value = provider::bbws::tenant_names(\"dev\", \"12345\") }\n",
    );
    let bad = w.tf(&["plan", "-input=false", "-no-color"]);
    assert_ne!(bad.code, 0, "{}", bad.stdout);
    let err = bad.stderr.replace('\n', " ");
    assert!(err.contains("tenant_id must be exactly 12 digits"), "{}", bad.stderr);
}

/// `ephemeral "bbws_tenant_credentials"` through real Terraform, as its
/// example uses it: a migration job's provisioner gets the tenant's login
/// (the same as its secret holds), and the password is in neither the
/// state, the plan JSON, Terraform's output nor its trace log.
#[test]
fn tenant_credentials_reach_a_job_and_never_state_plan_or_logs() {
    let stack = Stack::load();
    let env = stack.get("environment");
    let tid = random_tenant_id();
    let file = |rel: &str| example_file(rel, &tid, &env);
    let w = Workdir::new(&stack, "ephemeral-credentials");
    w.write("provider.tf", &file("provider/provider.tf"));
    w.write("resource.tf", &file("resources/bbws_tenant/resource.tf"));
    w.with_vars("apply", &["-auto-approve"]).ok();
    serve_issued_certificates(&w, &[]);

    w.write(
        "ephemeral.tf",
        &file("ephemeral-resources/bbws_tenant_credentials/ephemeral-resource.tf"),
    );
    let job = "#!/bin/sh\nprintf '%s\\n' \"$DB_USER\" \"$DB_NAME\" \"$DB_HOST\" \"$DB_PORT\" \"$DB_PASSWORD\" > job-saw.txt\n";
    w.write("migrate.sh", job);
    let script = w.dir.join("migrate.sh");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let w = w.with_env("TF_LOG", "trace").with_env("TF_LOG_PATH", "trace.log");
    let (_, plan) = w.plan_json(&[]);
    let apply = w.apply_plan().ok();

    let saw = std::fs::read_to_string(w.dir.join("job-saw.txt")).expect("the job ran");
    let saw: Vec<&str> = saw.lines().collect();
    let secret = tenant_secret(&stack, &tid);
    let password = secret["password"].as_str().expect("password");
    assert!(password.len() >= 16, "a generated password");
    assert_eq!(
        saw,
        [
            secret["username"].as_str().expect("username"),
            secret["database"].as_str().expect("database"),
            secret["host"].as_str().expect("host"),
            &secret["port"].to_string(),
            password,
        ],
        "the job got the secret's login"
    );
    assert_eq!(saw[0], format!("{tid}_user"));

    let state = std::fs::read_to_string(w.dir.join("terraform.tfstate")).expect("state file");
    let trace = std::fs::read_to_string(w.dir.join("trace.log")).expect("trace log");
    assert!(trace.contains("OpenEphemeralResource"), "the trace log is Terraform's");
    for (what, text) in [
        ("state", state),
        ("plan JSON", plan.to_string()),
        ("apply output", format!("{}{}", apply.stdout, apply.stderr)),
        ("trace log", trace),
    ] {
        assert!(!text.contains(password), "the password is in the {what}");
    }
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

/// The secret of a tenant, read with boto3.
fn tenant_secret(stack: &Stack, tid: &str) -> serde_json::Value {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("secretsmanager", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
print(c.get_secret_value(SecretId=f"{s['environment']}-{sys.argv[2]}-db-credentials")["SecretString"])
"#;
    serde_json::from_str(&stack.python(script, &[tid])).expect("secret JSON")
}

/// Whether MySQL (the stack's MariaDB) accepts `user`/`password`.
fn mysql_accepts(stack: &Stack, user: &str, password: &str) -> bool {
    let m = &stack.settings["mysql"];
    std::process::Command::new("mariadb")
        .args(["-h", m["host"].as_str().expect("host"), "-P", &m["port"].to_string()])
        .args(["-u", user, &format!("-p{password}"), "-e", "SELECT 1"])
        .output()
        .expect("run the mariadb client")
        .status
        .success()
}

/// The two actions through `terraform apply -invoke`, as their examples
/// write them: a rotation gives MySQL and the secret a new password (the
/// old one stops working, the new one logs in), a restart redeploys; both
/// stream progress, leave an audit record, and the plan after is empty.
/// moto never completes an ECS deployment, so the examples run here with
/// `wait_for_steady_state = false`; the wait itself is tested on the fake.
#[test]
fn actions_rotate_the_credentials_and_restart_a_tenant() {
    let stack = Stack::load();
    let env = stack.get("environment");
    let tid = random_tenant_id();
    let file = |rel: &str| {
        example_file(rel, &tid, &env).replace("  config {\n", "  config {\n    wait_for_steady_state = false\n")
    };
    let w = Workdir::new(&stack, "actions");
    w.write("provider.tf", &file("provider/provider.tf"));
    w.write("resource.tf", &file("resources/bbws_tenant/resource.tf"));
    w.write("rotate.tf", &file("actions/bbws_tenant_rotate_credentials/action.tf"));
    w.write("restart.tf", &file("actions/bbws_tenant_restart/action.tf"));
    w.with_vars("apply", &["-auto-approve"]).ok();
    serve_issued_certificates(&w, &[]);
    let before = tenant_secret(&stack, &tid);
    let user = before["username"].as_str().expect("username").to_owned();
    let old = before["password"].as_str().expect("password").to_owned();
    assert!(mysql_accepts(&stack, &user, &old));

    let rotate = w
        .with_vars(
            "apply",
            &["-auto-approve", "-invoke=action.bbws_tenant_rotate_credentials.acme"],
        )
        .ok();
    assert!(rotate.stdout.contains("credentials rotated"), "{}", rotate.stdout);
    let new = tenant_secret(&stack, &tid)["password"]
        .as_str()
        .expect("password")
        .to_owned();
    assert_ne!(new, old, "a new password");
    assert!(!rotate.stdout.contains(&new) && !rotate.stderr.contains(&new));
    assert!(
        mysql_accepts(&stack, &user, &new),
        "MySQL has the secret's new password"
    );
    assert!(!mysql_accepts(&stack, &user, &old), "the old password is gone");

    let restart = w
        .with_vars("apply", &["-auto-approve", "-invoke=action.bbws_tenant_restart.acme"])
        .ok();
    assert!(
        restart.stdout.contains(&format!("tenant {tid}: restarted on")),
        "{}",
        restart.stdout
    );
    let operations: Vec<String> = stack
        .audit_records(&tid)
        .iter()
        .filter_map(|r| r["operation"].as_str().map(str::to_owned))
        .collect();
    assert!(
        operations.ends_with(&["rotate_credentials".to_owned(), "restart".to_owned()]),
        "{operations:?}"
    );
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0, "nothing drifted");

    w.write(
        "restart.tf",
        &file("actions/bbws_tenant_restart/action.tf").replace("bbws_tenant.acme.tenant_id", "\"12345\""),
    );
    let refused = w.with_vars("plan", &[]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(refused.stderr.contains("must be 12 digits"), "{}", refused.stderr);
    w.write("restart.tf", "");
    w.with_vars("destroy", &["-auto-approve"]).ok();
}
