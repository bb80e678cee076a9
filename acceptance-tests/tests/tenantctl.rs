//! The Rust embedding example, `examples/tenantctl` (bbws-core only), run
//! against the local stack: plan, apply, list, show, re-plan, destroy;
//! orphans and sweep; logs (and a follow) and metrics.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bbws_acceptance_tests::{Stack, Workdir, provider_dir, random_tenant_id};
use serde_json::Value as Json;

/// `tenantctl --platform {the stack's} {args}`, with the stack's credentials.
fn command(stack: &Stack, args: &[&str]) -> Command {
    let bin = provider_dir().join("tenantctl");
    assert!(
        bin.exists(),
        "{} is not built; run `cargo build -p tenantctl`",
        bin.display()
    );
    let mut c = Command::new(bin);
    c.arg("--platform")
        .arg(&stack.settings_path)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", stack.get("aws_access_key_id"))
        .env("AWS_SECRET_ACCESS_KEY", stack.get("aws_secret_access_key"));
    c
}

/// `tenantctl --json {args}`, which must succeed: its stdout, one JSON value
/// per line.
fn tenantctl_lines(stack: &Stack, args: &[&str]) -> Vec<Json> {
    let out = command(stack, &[&["--json"], args].concat())
        .output()
        .expect("run tenantctl");
    assert!(
        out.status.success(),
        "tenantctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("--json prints JSON"))
        .collect()
}

/// `tenantctl --json {args}`, which must succeed and print one JSON value.
fn tenantctl(stack: &Stack, args: &[&str]) -> Json {
    let mut lines = tenantctl_lines(stack, args);
    assert_eq!(lines.len(), 1, "one JSON value: {lines:?}");
    lines.remove(0)
}

#[test]
fn tenantctl_plans_applies_lists_shows_and_destroys() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "tenantctl");
    let file = w.dir.join("tenant.yaml");
    std::fs::write(
        &file,
        format!(
            "name: Embedded\ncontact_email: ops@embedded.example\ntenant_id: \"{tid}\"\nsubdomain: emb-{}\ntier: professional\nretain_data_on_destroy: false\n",
            &tid[6..]
        ),
    )
    .expect("write tenant.yaml");
    let f = file.to_str().expect("utf-8 path");

    let plan = tenantctl(&stack, &["plan", "-f", f]);
    assert_eq!(plan["empty"], false);
    assert!(
        plan["changes"]
            .as_array()
            .is_some_and(|c| c.iter().all(|x| x["action"] == "create")),
        "{plan:#}"
    );
    let applied = tenantctl(&stack, &["apply", "-f", f]);
    assert_eq!(applied["status"], "active", "{applied:#}");
    let list = tenantctl(&stack, &["list"]);
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().any(|t| t["tenant_id"] == tid.as_str())),
        "{list:#}"
    );
    let show = tenantctl(&stack, &["show", &tid]);
    assert!(
        show["parts"]
            .as_object()
            .is_some_and(|p| p.values().all(|v| v == "present")),
        "{show:#}"
    );
    assert_eq!(show["health"]["database_reachable"], true);
    assert_eq!(show["health"]["desired_count"], 2);
    assert_eq!(tenantctl(&stack, &["plan", "-f", f])["empty"], true, "converged");

    // The same tenant through the independent inspector.
    let t = stack.inspect(&tid, &[&format!("emb-{}", &tid[6..])]);
    assert!(!t["service"].is_null(), "{t:#}");

    let gone = tenantctl(&stack, &["destroy", &tid]);
    assert_eq!(gone["deleted"].as_array().map(Vec::len), Some(10), "{gone:#}");
    assert!(stack.inspect(&tid, &[])["service"].is_null());
}

/// `tenantctl` with a failing exit status: its stderr.
fn tenantctl_fails(stack: &Stack, args: &[&str]) -> String {
    let out = command(stack, args).output().expect("run tenantctl");
    assert!(!out.status.success(), "tenantctl {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tenantctl_lists_an_incomplete_tenant_as_an_orphan_and_sweeps_it() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("orph-{}", &tid[6..]);
    let w = Workdir::new(&stack, "tenantctl-orphans");
    let file = w.dir.join("tenant.yaml");
    std::fs::write(
        &file,
        format!("name: Orphaned\ncontact_email: ops@orphan.example\ntenant_id: \"{tid}\"\nsubdomain: {sub}\n"),
    )
    .expect("write tenant.yaml");
    tenantctl(&stack, &["apply", "-f", file.to_str().expect("utf-8 path")]);
    let refused = tenantctl_fails(&stack, &["sweep", &tid]);
    assert!(refused.contains("not an orphan"), "{refused}");

    // What a failed run could not remove: the service is gone, the rest left.
    stack.out_of_band(&tid, &sub, "delete-service", None);
    let orphans = tenantctl(&stack, &["orphans"]);
    let mine = orphans
        .as_array()
        .and_then(|all| all.iter().find(|o| o["tenant_id"] == tid.as_str()))
        .unwrap_or_else(|| panic!("{tid} listed: {orphans:#}"));
    assert_eq!(mine["missing"], serde_json::json!(["service"]), "{mine:#}");
    assert!(mine["age_seconds"].is_u64(), "{mine:#}");

    let swept = tenantctl(&stack, &["sweep", &tid]);
    assert!(swept["deleted"].as_array().is_some_and(|d| !d.is_empty()), "{swept:#}");
    let t = stack.inspect(&tid, &[&sub]);
    assert!(t["target_group"].is_null() && t["log_group"].is_null(), "{t:#}");
    assert_eq!(t["listener_rules"].as_array().map(Vec::len), Some(0), "{t:#}");
    assert_eq!(t["database"], false, "the empty database went with it: {t:#}");
    let orphans = tenantctl(&stack, &["orphans"]);
    assert!(
        orphans
            .as_array()
            .is_some_and(|all| all.iter().all(|o| o["tenant_id"] != tid.as_str())),
        "{orphans:#}"
    );
}

/// `tenantctl logs` reads every event of the tenant's log group (both
/// streams, every page) oldest first, from the window asked for; `--follow`
/// prints what arrives later; `tenantctl metrics` reads its metric data.
#[test]
fn tenantctl_reads_a_tenants_logs_and_follows_them() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("tel-{}", &tid[6..]);
    let w = Workdir::new(&stack, "tenantctl-telemetry");
    let file = w.dir.join("tenant.yaml");
    let yaml = format!(
        "name: Observed\ncontact_email: ops@observed.example\ntenant_id: \"{tid}\"\nsubdomain: {sub}\nretain_data_on_destroy: false\n"
    );
    std::fs::write(&file, yaml).expect("write tenant.yaml");
    tenantctl(&stack, &["apply", "-f", file.to_str().expect("utf-8 path")]);

    stack.out_of_band(&tid, &sub, "put-log-events", Some("25"));
    let events = tenantctl_lines(&stack, &["logs", &tid, "--since", "10m"]);
    let messages: Vec<&str> = events.iter().filter_map(|e| e["message"].as_str()).collect();
    let expected: Vec<String> = (0..25).map(|i| format!("line {i}")).collect();
    assert_eq!(messages, expected, "{events:#?}");
    assert!(events.iter().any(|e| e["stream"] == "wordpress/b"), "{events:#?}");
    assert!(
        tenantctl_lines(&stack, &["logs", &tid, "--since", "5s"]).is_empty(),
        "the window is honoured"
    );

    let mut follow = command(&stack, &["--json", "logs", &tid, "--since", "10m", "--follow"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("tenantctl logs --follow");
    let (tx, rx) = mpsc::channel();
    let stdout = follow.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("a line within a minute")
    };
    let first: Vec<String> = (0..25).map(|_| next()).collect();
    assert!(first[24].contains("line 24"), "{first:?}");
    stack.out_of_band(&tid, &sub, "put-log-events", Some("1"));
    let later = next();
    follow.kill().ok();
    follow.wait().ok();
    assert!(
        later.contains("\"line 0\""),
        "the event put after the follow began: {later}"
    );

    // `tenantctl metrics`: the tenant's metric data, seeded as AWS
    // publishes it (the ALB's target group, the ECS service), read back
    // from one GetMetricData; a metric nobody published has no points.
    stack.out_of_band(&tid, &sub, "put-metrics", None);
    let m = tenantctl(&stack, &["metrics", &tid, "--window", "1h"]);
    assert_eq!(m["tenant_id"], tid.as_str(), "{m:#}");
    assert_eq!(m["period_seconds"], 300, "{m:#}");
    let values = |name: &str| -> Vec<f64> {
        let points = m["metrics"][name]["points"].as_array().cloned().unwrap_or_default();
        points.iter().filter_map(|p| p[1].as_f64()).collect()
    };
    assert_eq!(values("requests").iter().sum::<f64>(), 42.0, "{m:#}");
    assert_eq!(values("errors_5xx").iter().sum::<f64>(), 1.0, "{m:#}");
    let cpu = values("cpu");
    assert!(
        !cpu.is_empty() && cpu.iter().all(|v| (20.0..=40.0).contains(v)),
        "{m:#}"
    );
    assert!(values("memory").is_empty(), "{m:#}");
    assert_eq!(m["metrics"]["cpu"]["unit"], "percent", "{m:#}");

    tenantctl(&stack, &["destroy", &tid]);
    let refused = tenantctl_fails(&stack, &["logs", &tid]);
    assert!(refused.contains("no log group"), "{refused}");
}
