//! Crash safety with the real terraform and provider (issue 13): a
//! generated tenant id is known at plan; a tenant whose state was lost by a
//! killed run (its creation lease expired) is adopted without an import; one
//! another run is creating (a live, renewed lease) is refused; a complete
//! tenant with no lease is still refused as made elsewhere; and in prod a
//! replacement passes the destroy guards.

use std::time::Instant;

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id};

fn tenant(name: &str, extra: &str) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name          = "{name}"
  contact_email = "ops@crash.example"
  retain_data_on_destroy = false
{extra}}}
"#
    )
}

fn planned_tenant_id(w: &Workdir) -> String {
    let (_, plan) = w.plan_json(&[]);
    let change = bbws_acceptance_tests::resource_change(&plan, "bbws_tenant.t");
    assert_ne!(
        change["change"]["after_unknown"]["tenant_id"], true,
        "known at plan: {change:#}"
    );
    change["change"]["after"]["tenant_id"]
        .as_str()
        .expect("tenant_id")
        .to_owned()
}

#[test]
fn a_lost_state_is_adopted_through_an_expired_lease_and_refused_without_one() {
    let stack = Stack::load();
    let name = format!("Crash {}", random_tenant_id());
    let w = Workdir::new(&stack, "crash-lease");
    w.write("main.tf", &tenant(&name, ""));
    let tid = planned_tenant_id(&w);
    assert!(tid.len() == 12 && tid.bytes().all(|b| b.is_ascii_digit()), "{tid}");
    w.with_vars("apply", &["-auto-approve"]).ok();
    let state = w.state_json();
    assert_eq!(
        state["values"]["root_module"]["resources"][0]["values"]["tenant_id"],
        tid.as_str()
    );

    // A run killed after building everything: no state, an expired lease.
    w.tf(&["state", "rm", "bbws_tenant.t"]).ok();
    stack.out_of_band(&tid, &tid, "set-lease", Some("-5"));
    assert_eq!(planned_tenant_id(&w), tid, "the same id again, so the parts are found");
    w.with_vars("apply", &["-auto-approve"]).ok();
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["no-op"], "converged after adoption");
    let t = stack.inspect(&tid, &[tid.as_str()]);
    assert!(!t["service"].is_null(), "{t:#}");
    for part in ["listener_rules", "access_points", "dns_records"] {
        assert_eq!(
            t[part].as_array().map(Vec::len),
            Some(1),
            "one {part}, no duplicates: {t:#}"
        );
    }

    // Once the lease has expired, a refresh from the state confirms the
    // tenant (the lease goes): from then on it is a tenant made elsewhere
    // for any state that does not hold it, refused with the way forward.
    stack.out_of_band(&tid, &tid, "set-lease", Some("-1"));
    w.with_vars("plan", &[]).ok();
    let secret = &stack.inspect(&tid, &[tid.as_str()])["secret"]["tags"];
    assert!(
        secret.get("bbws:lease").is_none(),
        "confirmed by the refresh: {secret:#}"
    );
    w.tf(&["state", "rm", "bbws_tenant.t"]).ok();
    let refused = w.with_vars("plan", &[]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("already exists") && refused.stderr.contains("import"),
        "{}",
        refused.stderr
    );
    w.tf(&[
        "import",
        "-var-file",
        &stack.tfvars_path().to_string_lossy(),
        "bbws_tenant.t",
        &tid,
    ])
    .ok();
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

#[test]
fn a_tenant_another_run_is_creating_is_refused_after_waiting_out_its_lease() {
    let stack = Stack::load();
    let name = format!("Racing {}", random_tenant_id());
    let w = Workdir::new(&stack, "crash-live-lease");
    w.write("main.tf", &tenant(&name, ""));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let tid = w.state_json()["values"]["root_module"]["resources"][0]["values"]["tenant_id"]
        .as_str()
        .expect("tenant_id")
        .to_owned();
    w.tf(&["state", "rm", "bbws_tenant.t"]).ok();

    // Another run at work: its lease renewed every few seconds.
    let holder = {
        let python = stack.dir.join("venv/bin/python");
        let script = bbws_acceptance_tests::workspace_root().join("acceptance-tests/tools/oob.py");
        std::process::Command::new(python)
            .arg(script)
            .arg(&stack.settings_path)
            .args([&tid, &tid, "hold-lease", "60"])
            .spawn()
            .expect("hold the lease")
    };
    // Python and boto3 take a moment to start: plan once the lease is there.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let started = Instant::now();
    let refused = w.with_vars("plan", &[]);
    let waited = started.elapsed();
    let mut holder = holder;
    let _ = holder.kill();
    let _ = holder.wait();
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("being created by another run"),
        "{}",
        refused.stderr
    );
    println!("refused after {:.1} s of waiting for the lease", waited.as_secs_f64());

    // That run gone, its lease expires and the tenant is ours to finish.
    stack.out_of_band(&tid, &tid, "set-lease", Some("-1"));
    w.with_vars("apply", &["-auto-approve"]).ok();
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

#[test]
fn in_prod_a_replacement_passes_the_destroy_guards() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "crash-prod-replace");
    let prod = ["-var", "environment=prod"];
    let with_id = |id: &str, extra: &str| tenant("Guarded Replace", &format!("  tenant_id = \"{id}\"\n{extra}"));
    w.write("main.tf", &with_id(&tid, ""));
    w.with_vars("apply", &[&["-auto-approve"], &prod[..]].concat()).ok();

    let other = random_tenant_id();
    w.write("main.tf", &with_id(&other, ""));
    let blocked = w.with_vars("plan", &prod);
    assert_ne!(blocked.code, 0, "{}", blocked.stdout);
    assert!(
        blocked.stderr.contains("Destroy blocked") && blocked.stderr.contains("deletion_protection"),
        "{}",
        blocked.stderr
    );

    // Lifted as for a destroy (deleting the data without a backup bucket
    // needs backup_before_destroy off too): then the replacement plans.
    let lifted =
        "  deletion_protection = false\n  confirm_destroy = \"Guarded Replace\"\n  backup_before_destroy = false\n";
    w.write("main.tf", &with_id(&tid, lifted));
    w.with_vars("apply", &[&["-auto-approve"], &prod[..]].concat()).ok();
    w.write("main.tf", &with_id(&other, lifted));
    let (run, plan) = w.plan_json(&prod);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["delete", "create"]);
    w.write("main.tf", &with_id(&tid, lifted));
    w.with_vars("destroy", &[&["-auto-approve"], &prod[..]].concat()).ok();
}

/// Ctrl-C during an apply of several tenants: Terraform asks the provider to
/// stop (StopProvider); the running creates start no further stage and roll
/// back, Terraform exits, and the next apply converges with every part
/// exactly once.
#[test]
fn an_interrupted_apply_stops_and_the_next_apply_converges() {
    let stack = Stack::load();
    let w = Workdir::new(&stack, "crash-interrupt");
    let base = random_tenant_id();
    let ids: Vec<String> = (0..8).map(|i| format!("{}{i}", &base[..11])).collect();
    let resources: String = ids
        .iter()
        .map(|id| {
            format!(
                "resource \"bbws_tenant\" \"t{id}\" {{\n  name = \"Interrupted {id}\"\n  contact_email = \"ops@crash.example\"\n  tenant_id = \"{id}\"\n  retain_data_on_destroy = false\n}}\n"
            )
        })
        .collect();
    w.write("main.tf", &format!("{PROVIDER_BLOCK}\n{resources}"));
    let vars = stack.tfvars_path();
    let vars = vars.to_str().expect("utf-8 path");
    let mut apply = w
        .command(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-parallelism=2",
            "-var-file",
            vars,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start terraform apply");
    // Ctrl-C as soon as the first tenant is done: one more is being
    // created (parallelism 2), the rest are not started.
    use std::io::{BufRead, Read};
    let mut stderr_pipe = apply.stderr.take().expect("stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let mut lines = std::io::BufReader::new(apply.stdout.take().expect("stdout")).lines();
    let mut stdout = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        stdout.push_str(&line);
        stdout.push('\n');
        if line.contains("Creation complete") {
            break;
        }
    }
    let interrupted = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &apply.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    for line in lines {
        stdout.push_str(&line.unwrap_or_default());
        stdout.push('\n');
    }
    let status = apply.wait().expect("terraform exits");
    let stderr = stderr_reader.join().unwrap_or_default();
    println!(
        "terraform exited {:.1} s after Ctrl-C (code {:?}); {} of 8 tenants created, {} runs stopped at a stage boundary",
        interrupted.elapsed().as_secs_f64(),
        status.code(),
        stdout.matches("Creation complete").count(),
        stderr.matches("Terraform asked the provider to stop").count(),
    );
    assert!(
        stdout.matches("Creation complete").count() < ids.len(),
        "the interrupt came too late to test anything: {stdout}"
    );

    w.with_vars("apply", &["-auto-approve"]).ok();
    let (_, plan) = w.plan_json(&[]);
    for id in &ids {
        let address = format!("bbws_tenant.t{id}");
        assert_eq!(actions(&plan, &address), ["no-op"], "{address} converged");
        let t = stack.inspect(id, &[id.as_str()]);
        for part in ["listener_rules", "access_points", "dns_records"] {
            assert_eq!(t[part].as_array().map(Vec::len), Some(1), "{id}: one {part}: {t:#}");
        }
    }
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

/// A tenant Terraform replaces as itself (tainted, as a failed create leaves
/// it): the new object is planned from nothing, since the old one is
/// destroyed first, so the apply neither trips Terraform's consistency check
/// nor adopts the parts being removed.
#[test]
fn a_tainted_tenant_is_replaced_and_converges() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "crash-taint");
    w.write("main.tf", &tenant("Tainted Ltd", &format!("  tenant_id = \"{tid}\"\n")));
    w.with_vars("apply", &["-auto-approve"]).ok();
    w.tf(&["taint", "bbws_tenant.t"]).ok();
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["delete", "create"]);
    let after = &bbws_acceptance_tests::resource_change(&plan, "bbws_tenant.t")["change"]["after_unknown"];
    assert_eq!(after["service_arn"], true, "planned from nothing: {after:#}");
    w.apply_plan().ok();
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["no-op"]);
    let t = stack.inspect(&tid, &[tid.as_str()]);
    for part in ["listener_rules", "access_points", "dns_records"] {
        assert_eq!(t[part].as_array().map(Vec::len), Some(1), "one {part}: {t:#}");
    }
    w.with_vars("destroy", &["-auto-approve"]).ok();
}
