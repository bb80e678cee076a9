//! Provisioning events with the real terraform: a subscriber (an
//! EventBridge rule on a custom bus, matching source `bbws` and the tenant,
//! targeting an SQS queue — `tools/events_queue.py`, boto3) reads back
//! exactly one event per create, update, suspend, resume and delete, each
//! with its detail-type and the audit record as its detail, and no
//! password anywhere.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, random_tenant_id, workspace_root};
use serde_json::Value as Json;

/// The acceptance provider block with `events` on `bus` (and the
/// EventBridge endpoint set, as a user of an emulator sets it).
fn provider_block(bus: &str) -> String {
    let endpoint = "    sts            = var.aws_endpoint\n";
    assert!(
        PROVIDER_BLOCK.contains(endpoint),
        "the harness's endpoints block changed"
    );
    PROVIDER_BLOCK
        .replace(endpoint, &format!("{endpoint}    events         = var.aws_endpoint\n"))
        .replace(
            "provider \"bbws\" {\n",
            &format!("provider \"bbws\" {{\n  events {{ bus_name = \"{bus}\" }}\n"),
        )
}

fn tenant(bus: &str, tid: &str, extra: &str) -> String {
    format!(
        r#"{}
resource "bbws_tenant" "t" {{
  name                   = "Announced"
  contact_email          = "ops@events.example"
  tenant_id              = "{tid}"
  retain_data_on_destroy = false
{extra}}}
"#,
        provider_block(bus)
    )
}

/// `tools/events_queue.py COMMAND ARGS…`: its stdout.
fn events_queue(stack: &Stack, args: &[&str]) -> String {
    let out = std::process::Command::new(stack.dir.join("venv/bin/python"))
        .arg(workspace_root().join("acceptance-tests/tools/events_queue.py"))
        .arg(&stack.settings_path)
        .args(args)
        .output()
        .expect("run events_queue.py");
    assert!(
        out.status.success(),
        "events_queue.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tenant's database password, read from its secret with boto3.
fn tenant_password(stack: &Stack, secret_arn: &str) -> String {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("secretsmanager", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
print(json.loads(c.get_secret_value(SecretId=sys.argv[2])["SecretString"])["password"])
"#;
    stack.python(script, &[secret_arn]).trim().to_owned()
}

#[test]
fn each_operation_reaches_a_subscriber_as_one_event() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let bus = format!("bbws-test-{tid}");
    let sub: Json = serde_json::from_str(&events_queue(&stack, &["subscribe", &bus, &tid])).expect("JSON");
    let (queue, rule) = (
        sub["queue_url"].as_str().expect("queue"),
        sub["rule"].as_str().expect("rule"),
    );

    let w = Workdir::new(&stack, "events");
    let mut service_arn = String::new();
    let mut password = String::new();
    for extra in [
        "",
        "  desired_count = 3\n",
        "  desired_count = 3\n  status = \"suspended\"\n",
        "  desired_count = 3\n",
    ] {
        w.write("main.tf", &tenant(&bus, &tid, extra));
        w.with_vars("apply", &["-auto-approve"]).ok();
        if password.is_empty() {
            let state = w.state_json();
            let t = &state["values"]["root_module"]["resources"][0]["values"];
            service_arn = t["service_arn"].as_str().expect("service_arn").to_owned();
            password = tenant_password(&stack, t["db_secret_arn"].as_str().expect("db_secret_arn"));
        }
    }
    w.with_vars("destroy", &["-auto-approve"]).ok();

    let mut events: Vec<Json> = serde_json::from_str(&events_queue(&stack, &["read", queue])).expect("JSON");
    events_queue(&stack, &["unsubscribe", &bus, rule, queue]);
    // A standard queue keeps no order: the records' times do.
    events.sort_by_key(|e| e["detail"]["time"].as_str().map(str::to_owned));
    let types: Vec<&str> = events.iter().filter_map(|e| e["detail-type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "Tenant Created",
            "Tenant Updated",
            "Tenant Suspended",
            "Tenant Resumed",
            "Tenant Deleted"
        ],
        "{events:#?}"
    );
    let records = stack.audit_records(&tid);
    assert_eq!(records.len(), events.len(), "{records:#?}");
    assert!(password.len() >= 16, "the tenant's password was read");
    for (event, record) in events.iter().zip(&records) {
        assert_eq!(event["source"], "bbws", "{event:#}");
        assert_eq!(&event["detail"], record, "the detail is the audit record");
        assert_eq!(event["detail"]["tenant"], tid.as_str(), "{event:#}");
        assert_eq!(event["detail"]["environment"], stack.get("environment").as_str());
        assert_eq!(event["detail"]["outcome"], "succeeded", "{event:#}");
        assert_eq!(event["resources"], serde_json::json!([service_arn]), "{event:#}");
        assert!(!event.to_string().contains(&password), "a password in {event:#}");
    }
    let ops: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail"]["operation"].as_str())
        .collect();
    assert_eq!(ops, ["create", "update", "suspend", "resume", "delete"]);
}
