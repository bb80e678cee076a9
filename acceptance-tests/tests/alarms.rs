//! Issue 17 point 3 with the real terraform and moto: with the provider's
//! `alarm_topic_arn`, each tenant gets its three CloudWatch alarms to that
//! topic (tagged, named from SPEC's table), drift of one is repaired in
//! place, unsetting the topic removes them, and destroy leaves none; a bad
//! topic is refused at plan naming the attribute.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id, resource_change};

fn write(w: &Workdir, tid: &str, sub: &str, topic: Option<&str>) {
    let provider = match topic {
        Some(t) => PROVIDER_BLOCK.replacen(
            "provider \"bbws\" {",
            &format!("provider \"bbws\" {{\n  alarm_topic_arn = \"{t}\""),
            1,
        ),
        None => PROVIDER_BLOCK.to_owned(),
    };
    w.write(
        "main.tf",
        &format!(
            r#"{provider}
resource "bbws_tenant" "t" {{
  name                   = "Alarmed"
  contact_email          = "ops@alarmed.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  retain_data_on_destroy = false
}}
"#
        ),
    );
}

fn apply_in_place(w: &Workdir, why: &str) -> serde_json::Value {
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"], "{why}");
    let change = resource_change(&plan, "bbws_tenant.t").clone();
    w.apply_plan().ok();
    let again = w.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(again.code, 0, "{why}: converged\n{}", again.stdout);
    change
}

fn alarms(stack: &Stack, tid: &str, sub: &str) -> Vec<serde_json::Value> {
    stack.inspect(tid, &[sub])["alarms"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn alarms_are_created_repaired_and_removed_with_the_topic() {
    let stack = Stack::load();
    let topic = stack.get("alarm_topic_arn");
    let tid = random_tenant_id();
    let sub = format!("alarm-{}", &tid[6..]);
    let env = stack.get("environment");
    let w = Workdir::new(&stack, "alarms");
    write(&w, &tid, &sub, Some(&topic));
    w.with_vars("apply", &["-auto-approve"]).ok();
    assert_eq!(w.with_vars("plan", &["-detailed-exitcode"]).code, 0, "converged");
    let found = alarms(&stack, &tid, &sub);
    let names: Vec<&str> = found.iter().filter_map(|a| a["name"].as_str()).collect();
    let base = format!("{env}-{tid}");
    assert_eq!(
        names,
        [
            format!("{base}-5xx-rate"),
            format!("{base}-tasks-below-desired"),
            format!("{base}-unhealthy-hosts")
        ],
        "{found:#?}"
    );
    for a in &found {
        assert_eq!(a["alarm_actions"], serde_json::json!([topic.clone()]), "{a:#}");
        assert_eq!(a["ok_actions"], serde_json::json!([topic.clone()]), "{a:#}");
        assert_eq!(a["tags"]["bbws:tenant"], tid.as_str(), "{a:#}");
    }
    let state = w.state_json();
    let parts = &state["values"]["root_module"]["resources"][0]["values"]["parts"];
    assert_eq!(parts["alarms"], "ok", "{parts:#}");

    // Changed, then deleted, out of band: repaired in place.
    stack.out_of_band(&tid, &sub, "set-alarm-threshold", Some("9"));
    let change = apply_in_place(&w, "threshold changed");
    assert_eq!(change["change"]["before"]["parts"]["alarms"], "drifted: definitions");
    let unhealthy = alarms(&stack, &tid, &sub)
        .into_iter()
        .find(|a| a["name"] == format!("{base}-unhealthy-hosts"));
    assert_eq!(unhealthy.map(|a| a["threshold"].clone()), Some(serde_json::json!(0.0)));
    stack.out_of_band(&tid, &sub, "delete-alarm", None);
    apply_in_place(&w, "an alarm deleted");
    assert_eq!(alarms(&stack, &tid, &sub).len(), 3);

    // The topic unset: the alarms go, the tenant stays.
    write(&w, &tid, &sub, None);
    apply_in_place(&w, "topic unset");
    assert!(alarms(&stack, &tid, &sub).is_empty());

    // Back, then destroy: none left.
    write(&w, &tid, &sub, Some(&topic));
    apply_in_place(&w, "topic set again");
    assert_eq!(alarms(&stack, &tid, &sub).len(), 3);
    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(alarms(&stack, &tid, &sub).is_empty(), "destroy removed the alarms");
}

#[test]
fn a_bad_alarm_topic_is_refused_at_plan_naming_the_attribute() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "alarms-bad");
    write(
        &w,
        &tid,
        &format!("abad-{}", &tid[6..]),
        Some("arn:aws:sqs:eu-west-1:123456789012:not-a-topic"),
    );
    let run = w.with_vars("plan", &[]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("alarm_topic_arn"), "{}", run.stderr);

    // Well formed, but no such topic: CloudWatch would take it and every
    // alarm would notify nobody. Refused at plan, nothing made.
    let missing = stack.get("alarm_topic_arn").replace("tenant-alarms", "no-such-topic");
    let sub = format!("amiss-{}", &tid[6..]);
    write(&w, &tid, &sub, Some(&missing));
    let run = w.with_vars("plan", &[]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("alarm_topic_arn") && run.stderr.contains("dev-no-such-topic\" does not"),
        "{}",
        run.stderr
    );
    let apply = w.with_vars("apply", &["-auto-approve"]);
    assert_ne!(apply.code, 0);
    assert!(stack.inspect(&tid, &[&sub])["service"].is_null(), "nothing made");
}
