//! Safe updates with the real terraform (SPEC §3 Update in place): image,
//! versions, size and environment make a new task definition revision the
//! service moves to; a subdomain change touches only the listener rule and
//! the DNS record; `wait_for_steady_state` waits for the tasks and undoes
//! what does not become stable.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id};

fn tenant(tid: &str, body: &str) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name                   = "Updated"
  contact_email          = "ops@updated.example"
  tenant_id              = "{tid}"
  retain_data_on_destroy = false
{body}}}
"#
    )
}

#[test]
fn task_changes_make_a_new_revision_and_subdomain_changes_only_routing() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("upd-{}", &tid[6..]);
    let w = Workdir::new(&stack, "safe-updates");
    let mut body = format!("  subdomain = \"{sub}\"\n");
    w.write("main.tf", &tenant(&tid, &body));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let mut last = stack.inspect(&tid, &[&sub]);

    for change in [
        "  image = \"public.ecr.aws/docker/library/wordpress\"\n",
        "  wordpress_version = \"6.5\"\n",
        "  php_version = \"8.2\"\n",
        "  cpu = 512\n  memory = 2048\n",
        "  environment_variables = { WP_DEBUG = \"true\" }\n",
    ] {
        body.push_str(change);
        w.write("main.tf", &tenant(&tid, &body));
        let (_, plan) = w.plan_json(&[]);
        assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"], "{change}");
        w.apply_plan().ok();
        let now = stack.inspect(&tid, &[&sub]);
        let revisions = now["task_definitions"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(
            revisions,
            last["task_definitions"].as_array().map(Vec::len).unwrap_or(0) + 1,
            "{change}: a new revision"
        );
        let latest = now["task_definitions"].as_array().and_then(|a| a.last()).cloned();
        assert_eq!(
            Some(now["service"]["task_definition"].clone()),
            latest,
            "{change}: the service runs it"
        );
        assert_eq!(
            now["target_group"]["arn"], last["target_group"]["arn"],
            "{change}: routing untouched"
        );
        last = now;
    }
    let td = &last["task_definition"];
    assert_eq!(td["image"], "public.ecr.aws/docker/library/wordpress:6.5-php8.2-apache");
    assert_eq!((td["cpu"].as_str(), td["memory"].as_str()), (Some("512"), Some("2048")));
    assert_eq!(td["environment"]["WP_DEBUG"], "true");

    // A new subdomain: rule and record move, the task definition does not.
    let new_sub = format!("moved-{}", &tid[6..]);
    let moved = body.replace(&format!("subdomain = \"{sub}\""), &format!("subdomain = \"{new_sub}\""));
    w.write("main.tf", &tenant(&tid, &moved));
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"]);
    w.apply_plan().ok();
    let now = stack.inspect(&tid, &[&sub, &new_sub]);
    assert_eq!(now["task_definitions"], last["task_definitions"], "no new revision");
    assert_eq!(now["service"]["task_definition"], last["service"]["task_definition"]);
    let hosts = &now["listener_rules"][0]["hosts"];
    assert_eq!(hosts[0], format!("{new_sub}.{}", stack.get("domain")), "{now:#}");
    let records: Vec<&str> = now["dns_records"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        records,
        [format!("{new_sub}.{}", stack.get("domain"))],
        "old record removed"
    );
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0);
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

/// moto starts no task for a new service and models no deployment after
/// it: its one deployment stays IN_PROGRESS for ever, an UpdateService
/// starts none (ECS's rollouts, completions and circuit-breaker rollbacks
/// are tested on the fake, `engine::tests`). So against moto a create that
/// waits cannot become stable and is removed again, and an update that
/// waits runs out of time — the one case bbws acts itself: the service is
/// pointed back at the revision it ran, and the next plan tries again.
#[test]
fn wait_for_steady_state_removes_an_unstable_create_and_rolls_back_a_stalled_update() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "steady-state");
    w.write(
        "main.tf",
        &tenant(
            &tid,
            "  wait_for_steady_state = true\n  steady_state_timeout_seconds = 3\n",
        ),
    );
    let failed = w.with_vars("apply", &["-auto-approve"]);
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    let err = failed.stderr.replace('\n', " ");
    assert!(err.contains("did not reach a steady state within 3s"), "{err}");
    assert!(err.contains("IN_PROGRESS"), "says where the deployment stands: {err}");
    let t = stack.inspect(&tid, &[]);
    assert!(
        t["service"].is_null() && t["secret"].is_null(),
        "nothing half-created: {t:#}"
    );

    w.write("main.tf", &tenant(&tid, ""));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let before = stack.inspect(&tid, &[])["service"]["task_definition"].clone();
    w.write(
        "main.tf",
        &tenant(
            &tid,
            "  php_version = \"8.2\"\n  wait_for_steady_state = true\n  steady_state_timeout_seconds = 3\n",
        ),
    );
    let stalled = w.with_vars("apply", &["-auto-approve"]);
    assert_ne!(stalled.code, 0, "{}", stalled.stdout);
    let err = stalled.stderr.replace('\n', " ");
    assert!(err.contains("did not reach a steady state within 3s"), "{err}");
    assert!(err.contains("rolled the service back to"), "{err}");
    let t = stack.inspect(&tid, &[]);
    assert_eq!(
        t["service"]["task_definition"], before,
        "back on the revision it ran: {t:#}"
    );
    assert_eq!(
        w.with_vars("plan", &["-detailed-exitcode"]).code,
        2,
        "the next plan tries again"
    );
    w.write("main.tf", &tenant(&tid, ""));
    w.with_vars("destroy", &["-auto-approve"]).ok();
}
