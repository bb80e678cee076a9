//! Every HCL example runs against the local stack: applied, re-planned to no
//! changes, destroyed.

use bbws_acceptance_tests::{Stack, Workdir, random_tenant_id, workspace_root};

/// Copies an example directory into a fresh workdir, giving it a tenant id of
/// its own (and a subdomain of its own) so that a developer's own
/// quickstart tenant is never touched.
fn copy_example(stack: &Stack, name: &str) -> (Workdir, String) {
    let w = Workdir::new(stack, name);
    let tid = random_tenant_id();
    let src = workspace_root().join("examples").join(name);
    for entry in std::fs::read_dir(&src).expect("example dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "tf") {
            let text = std::fs::read_to_string(&path).expect("read example");
            let file = path.file_name().and_then(|f| f.to_str()).expect("file name");
            let text = text
                .replace("123456789012", &tid)
                .replace("= \"acme\"", &format!("= \"acme-{}\"", &tid[6..]));
            w.write(file, &text);
        }
    }
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
