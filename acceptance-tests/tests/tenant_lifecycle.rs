//! The walking skeleton end to end: real terraform, real provider, moto and
//! MariaDB. Plan and apply a tenant, check all ten parts independently,
//! re-plan to nothing, update in place, replace, destroy.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id, resource_change};
use serde_json::Value as Json;

fn tenant_config(tenant_id: &str, subdomain: &str, desired_count: u32) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "acme" {{
  name                   = "ACME Corporation"
  contact_email          = "ops@acme.example"
  tenant_id              = "{tenant_id}"
  subdomain              = "{subdomain}"
  tier                   = "professional"
  desired_count          = {desired_count}
  retain_data_on_destroy = true
  environment_variables  = {{ WP_DEBUG = "false" }}
  tags                   = {{ cost-center = "42" }}
}}

output "url" {{ value = bbws_tenant.acme.url }}
"#
    )
}

/// Every AWS part exists under its SPEC §2 name with the ownership tags,
/// and the database and user exist in MariaDB.
fn assert_all_parts(stack: &Stack, tid: &str, sub: &str) {
    let env = stack.get("environment");
    let domain = stack.get("domain");
    let t = stack.inspect(tid, &[sub]);
    let tagged = |what: &str, tags: &Json| {
        assert_eq!(tags["bbws:tenant"], tid, "{what} tag bbws:tenant: {t:#}");
        assert_eq!(tags["bbws:environment"], env.as_str(), "{what} tag bbws:environment");
        assert_eq!(tags["cost-center"], "42", "{what} carries the user's tags");
        assert_eq!(tags["team"], "platform", "{what} carries default_tags");
    };
    assert_eq!(t["service"]["name"], format!("{env}-{tid}-service"), "{t:#}");
    tagged("service", &t["service"]["tags"]);
    assert_eq!(t["task_definition"]["family"], format!("{env}-{tid}"));
    assert_eq!(t["task_definition"]["image"], "wordpress:6.6-php8.3-apache");
    assert_eq!(t["task_definition"]["environment"]["WP_DEBUG"], "false");
    assert!(
        t["task_definition"]["environment"]
            .get("WORDPRESS_DB_PASSWORD")
            .is_none(),
        "password never in plain env"
    );
    tagged("task definition", &t["task_definition"]["tags"]);
    assert_eq!(t["target_group"]["name"], format!("{env}-{tid}-tg"));
    assert_eq!(t["target_group"]["target_type"], "ip");
    tagged("target group", &t["target_group"]["tags"]);
    let rules = t["listener_rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 1, "exactly one listener rule: {t:#}");
    assert_eq!(rules[0]["hosts"][0], format!("{sub}.{domain}"));
    assert_eq!(rules[0]["actions"][0], "forward");
    tagged("listener rule", &rules[0]["tags"]);
    let records = t["dns_records"].as_array().expect("records");
    assert_eq!(records.len(), 1, "one DNS record: {t:#}");
    assert_eq!(records[0]["name"], format!("{sub}.{domain}"));
    let aps = t["access_points"].as_array().expect("aps");
    assert_eq!(aps.len(), 1, "one access point: {t:#}");
    assert_eq!(aps[0]["name"], format!("{env}-{tid}-ap"));
    assert_eq!(aps[0]["root"], format!("/{tid}"));
    tagged("access point", &aps[0]["tags"]);
    assert_eq!(t["secret"]["name"], format!("{env}-{tid}-db-credentials"));
    assert_eq!(t["secret"]["deleted"], false);
    tagged("secret", &t["secret"]["tags"]);
    assert_eq!(t["log_group"]["name"], format!("/ecs/{env}-{tid}"));
    assert_eq!(t["log_group"]["retention"], 30);
    tagged("log group", &t["log_group"]["tags"]);
    assert_eq!(t["database"], true, "database {tid}_db exists");
    assert_eq!(t["database_user"]["locked"], false, "user {tid}_user exists, unlocked");
}

/// After destroy with retain_data_on_destroy: no AWS part is left (the
/// secret only as "scheduled for deletion"); the database and a locked user
/// are kept — exactly those.
fn assert_destroyed_keeping_data(stack: &Stack, tid: &str, sub: &str) {
    let t = stack.inspect(tid, &[sub]);
    assert!(t["service"].is_null(), "service gone: {t:#}");
    assert_eq!(
        t["task_definitions"].as_array().map(Vec::len),
        Some(0),
        "no active task definition: {t:#}"
    );
    assert!(t["task_definition"].is_null());
    assert!(t["target_group"].is_null(), "target group gone");
    assert_eq!(t["listener_rules"].as_array().map(Vec::len), Some(0), "rule gone");
    assert_eq!(t["dns_records"].as_array().map(Vec::len), Some(0), "record gone");
    assert_eq!(
        t["access_points"].as_array().map(Vec::len),
        Some(0),
        "access point gone"
    );
    assert!(t["log_group"].is_null(), "log group gone");
    assert!(
        t["secret"].is_null() || t["secret"]["deleted"] == true,
        "secret deleted (recovery window): {t:#}"
    );
    assert_eq!(t["database"], true, "database kept");
    assert_eq!(t["database_user"]["locked"], true, "user kept, locked");
}

#[test]
fn tenant_lifecycle_end_to_end() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "lifecycle");
    let tid = random_tenant_id();
    let sub = format!("acme-{}", &tid[6..]);
    w.write("main.tf", &tenant_config(&tid, &sub, 2));

    // Plan: one create.
    let (plan, json) = w.plan_json(&[]);
    assert_eq!(actions(&json, "bbws_tenant.acme"), ["create"], "{}", plan.stdout);
    assert!(
        plan.stdout.contains("bbws_tenant.acme will be created"),
        "{}",
        plan.stdout
    );
    let after = &resource_change(&json, "bbws_tenant.acme")["change"]["after"];
    assert_eq!(after["id"], format!("{}-{tid}", stack.get("environment")));
    assert_eq!(after["database_name"], format!("{tid}_db"));
    assert_eq!(after["cpu"], 512, "professional tier default");

    // Apply; every part exists.
    let applied = w.apply_plan().ok();
    assert!(
        applied.stdout.contains("Apply complete! Resources: 1 added"),
        "{}",
        applied.stdout
    );
    assert_all_parts(&stack, &tid, &sub);
    let state = w.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    for attr in [
        "service_arn",
        "task_definition_arn",
        "target_group_arn",
        "listener_rule_arn",
        "access_point_id",
        "db_secret_arn",
    ] {
        assert!(
            values[attr].as_str().is_some_and(|s| !s.is_empty()),
            "{attr} set in state: {values:#}"
        );
    }
    assert!(
        values["listener_rule_priority"]
            .as_u64()
            .is_some_and(|p| (1..=50_000).contains(&p))
    );
    assert_eq!(values["url"], format!("https://{sub}.{}", stack.get("domain")));
    assert!(
        values["parts"]
            .as_object()
            .is_some_and(|m| m.len() == 10 && m.values().all(|v| v == "ok")),
        "{values:#}"
    );

    // A second plan reports no changes.
    let second = w.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(
        second.code, 0,
        "no changes expected\n{}\n{}",
        second.stdout, second.stderr
    );
    assert!(second.stdout.contains("No changes."), "{}", second.stdout);

    // desired_count: update in place.
    w.write("main.tf", &tenant_config(&tid, &sub, 3));
    let (plan, json) = w.plan_json(&[]);
    assert_eq!(actions(&json, "bbws_tenant.acme"), ["update"], "{}", plan.stdout);
    assert!(plan.stdout.contains("updated in-place"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ desired_count"), "{}", plan.stdout);
    w.apply_plan().ok();
    assert_eq!(stack.inspect(&tid, &[&sub])["service"]["desired_count"], 3);
    assert_eq!(
        w.with_vars("plan", &["-detailed-exitcode"]).code,
        0,
        "converged after update"
    );

    // tenant_id: replacement, marked as forced by tenant_id.
    let new_tid = random_tenant_id();
    w.write("main.tf", &tenant_config(&new_tid, &sub, 3));
    let (plan, json) = w.plan_json(&[]);
    let acts = actions(&json, "bbws_tenant.acme");
    assert_eq!(acts, ["delete", "create"], "{}", plan.stdout);
    assert!(plan.stdout.contains("# forces replacement"), "{}", plan.stdout);
    let replace_paths = &resource_change(&json, "bbws_tenant.acme")["change"]["replace_paths"];
    assert!(
        replace_paths
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p[0] == "tenant_id")),
        "replace_paths: {replace_paths}"
    );
    let replaced = w.apply_plan().ok();
    assert!(
        replaced.stdout.contains("1 added, 0 changed, 1 destroyed"),
        "{}",
        replaced.stdout
    );
    // The new tenant routes the same host now: look at the old one by its
    // ownership tags and names only.
    assert_destroyed_keeping_data(&stack, &tid, &tid);
    assert_all_parts(&stack, &new_tid, &sub);

    // Destroy: nothing left but the retained data, and the output says so.
    let destroyed = w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(
        destroyed.stdout.contains("Destroy complete! Resources: 1 destroyed"),
        "{}",
        destroyed.stdout
    );
    let said = format!("{}{}", destroyed.stdout, destroyed.stderr);
    assert!(
        said.contains("data was kept") && said.contains(&format!("{new_tid}_db")),
        "retained data reported: {said}"
    );
    assert_destroyed_keeping_data(&stack, &new_tid, &sub);
}
