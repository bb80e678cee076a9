//! The audit trail with the real terraform: every create, update, suspend,
//! resume and delete — and a failed create — leaves one JSON record in
//! `/bbws/{env}/audit`, read back here with boto3.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, random_tenant_id};

fn tenant(tid: &str, extra: &str) -> String {
    format!(
        r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name                   = "Audited"
  contact_email          = "ops@audit.example"
  tenant_id              = "{tid}"
  retain_data_on_destroy = false
{extra}}}
"#
    )
}

#[test]
fn every_operation_is_audited_with_the_operator() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let w = Workdir::new(&stack, "audit");
    for extra in [
        "",
        "  desired_count = 3\n",
        "  desired_count = 3\n  status = \"suspended\"\n",
        "  desired_count = 3\n",
    ] {
        w.write("main.tf", &tenant(&tid, extra));
        w.with_vars("apply", &["-auto-approve"]).ok();
    }
    w.with_vars("destroy", &["-auto-approve"]).ok();
    let r = stack.audit_records(&tid);
    let ops: Vec<&str> = r.iter().filter_map(|x| x["operation"].as_str()).collect();
    assert_eq!(ops, ["create", "update", "suspend", "resume", "delete"], "{r:#?}");
    for x in &r {
        assert_eq!(x["tenant"], tid.as_str());
        assert_eq!(x["environment"], stack.get("environment").as_str());
        assert_eq!(x["outcome"], "succeeded", "{x:#}");
        assert!(
            x["operator"].as_str().is_some_and(|o| o.starts_with("arn:aws:")),
            "{x:#}"
        );
        assert!(x["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{x:#}");
        assert!(x["parts"].as_array().is_some_and(|p| !p.is_empty()), "{x:#}");
    }

    // A failed create is audited too, with its error.
    let failed = random_tenant_id();
    let f = Workdir::new(&stack, "audit-failed");
    f.write("main.tf", &tenant(&failed, ""));
    let run = f.with_vars("apply", &["-auto-approve", "-var", "vpc_id=vpc-0bad0bad"]);
    assert_ne!(run.code, 0);
    let r = stack.audit_records(&failed);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0]["operation"], "create");
    assert_eq!(r[0]["outcome"], "failed");
    assert!(
        r[0]["error"].as_str().is_some_and(|e| e.contains("ValidationError")),
        "{r:#?}"
    );
}
