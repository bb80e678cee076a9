//! Issue 17 point 1 with the real terraform and moto: `custom_domains`
//! routes the customer's domains with the tenant's rule and requests one
//! ACM certificate for them, served by the listener once issued (the stack
//! runs moto with `MOTO_ACM_VALIDATION_WAIT=3`: a certificate is issued
//! three seconds after its request, as ACM does once the validation
//! records resolve). Adding a domain is an in-place update that keeps the
//! old certificate serving until the new one is issued; drift is repaired
//! in place; removing the domains removes the certificate; an import plans
//! clean; a domain another tenant routes is refused at plan; bad names are
//! refused at plan naming the element; destroy leaves no certificate. A
//! domain in a hosted zone of the account gets its validation record
//! written there by bbws.

use std::time::Duration;

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, actions, random_tenant_id, resource_change};

/// Longer than the stack's `MOTO_ACM_VALIDATION_WAIT`.
const ISSUED_AFTER: Duration = Duration::from_secs(4);

fn write(w: &Workdir, tid: &str, sub: &str, domains: &[String]) {
    let list = domains
        .iter()
        .map(|d| format!("\"{d}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let domains = if domains.is_empty() {
        String::new()
    } else {
        format!("  custom_domains = [{list}]\n")
    };
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER_BLOCK}
resource "bbws_tenant" "t" {{
  name                   = "Custom"
  contact_email          = "ops@custom.example"
  tenant_id              = "{tid}"
  subdomain              = "{sub}"
  retain_data_on_destroy = false
{domains}}}

output "records" {{
  value = bbws_tenant.t.certificate_validation_records
}}
"#
        ),
    );
}

/// The plan is one in-place update of the tenant; applied; returns the change.
fn apply_in_place(w: &Workdir, why: &str) -> serde_json::Value {
    let (_, plan) = w.plan_json(&[]);
    assert_eq!(actions(&plan, "bbws_tenant.t"), ["update"], "{why}");
    let change = resource_change(&plan, "bbws_tenant.t").clone();
    assert!(change["change"]["replace_paths"].is_null(), "{why}: {change:#}");
    w.apply_plan().ok();
    change
}

fn assert_converged(w: &Workdir, why: &str) {
    let again = w.with_vars("plan", &["-detailed-exitcode"]);
    assert_eq!(again.code, 0, "{why}: converged\n{}", again.stdout);
}

fn state_values(w: &Workdir) -> serde_json::Value {
    w.state_json()["values"]["root_module"]["resources"][0]["values"].clone()
}

fn certificates(stack: &Stack, tid: &str, sub: &str) -> Vec<serde_json::Value> {
    stack.inspect(tid, &[sub])["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn hosts(stack: &Stack, tid: &str, sub: &str) -> Vec<String> {
    let t = stack.inspect(tid, &[sub]);
    let rules = t["listener_rules"].as_array().cloned().unwrap_or_default();
    assert_eq!(rules.len(), 1, "{t:#}");
    let hosts = rules[0]["hosts"].as_array().cloned().unwrap_or_default();
    hosts.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect()
}

#[test]
fn custom_domains_are_routed_certified_replaced_repaired_and_removed_in_place() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("cd-{}", &tid[6..]);
    let www = format!("www.{sub}-shop.example");
    let apex = format!("{sub}-shop.example");
    let fqdn = format!("{sub}.{}", stack.get("domain"));
    let w = Workdir::new(&stack, "custom-domains");

    // Created with one domain: routed at once, the certificate requested.
    write(&w, &tid, &sub, std::slice::from_ref(&www));
    w.with_vars("apply", &["-auto-approve"]).ok();
    assert_eq!(hosts(&stack, &tid, &sub), [fqdn.clone(), www.clone()]);
    let certs = certificates(&stack, &tid, &sub);
    assert_eq!(certs.len(), 1, "{certs:#?}");
    let first = certs[0]["arn"].as_str().unwrap_or_default().to_owned();
    let v = state_values(&w);
    assert_eq!(v["certificate_arn"], first.as_str(), "{v:#}");
    let records = v["certificate_validation_records"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(records.len(), 1, "{v:#}");
    assert_eq!(records[0]["type"], "CNAME");
    assert!(
        records[0]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with(&format!("{www}."))),
        "{records:#?}"
    );

    // Issued: the next apply adds it to the listener, in place.
    std::thread::sleep(ISSUED_AFTER);
    let change = apply_in_place(&w, "serve the issued certificate");
    assert_eq!(change["change"]["before"]["parts"]["certificate"], "drifted: listener");
    assert_converged(&w, "served");
    let certs = certificates(&stack, &tid, &sub);
    assert_eq!(
        (certs[0]["status"].as_str(), certs[0]["served"].as_bool()),
        (Some("ISSUED"), Some(true))
    );

    // Imported elsewhere: the custom domains are recovered, no changes.
    let imported = Workdir::new(&stack, "custom-domains-import");
    write(&imported, &tid, &sub, std::slice::from_ref(&www));
    imported.with_vars("import", &["bbws_tenant.t", &tid]).ok();
    assert_converged(&imported, "imported");

    // A second domain: a new certificate; the first serves meanwhile.
    write(&w, &tid, &sub, &[www.clone(), apex.clone()]);
    let change = apply_in_place(&w, "a domain added");
    assert!(
        change["change"]["after_unknown"]["certificate_arn"].as_bool() == Some(true),
        "{change:#}"
    );
    assert_eq!(hosts(&stack, &tid, &sub), [fqdn.clone(), www.clone(), apex.clone()]);
    let certs = certificates(&stack, &tid, &sub);
    assert_eq!(certs.len(), 2, "{certs:#?}");
    let old = certs
        .iter()
        .find(|c| c["arn"] == first.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        old["served"], true,
        "the old certificate serves until the new one is issued"
    );
    std::thread::sleep(ISSUED_AFTER);
    let change = apply_in_place(&w, "the new certificate serves, the old one goes");
    assert_eq!(
        change["change"]["before"]["parts"]["certificate"],
        "drifted: listener, superseded"
    );
    assert_converged(&w, "replaced");
    let certs = certificates(&stack, &tid, &sub);
    assert_eq!(certs.len(), 1, "the old certificate is deleted: {certs:#?}");
    assert_ne!(certs[0]["arn"], first.as_str());
    assert_eq!(certs[0]["served"], true);
    assert_eq!(certs[0]["domains"], serde_json::json!([www.clone(), apex.clone()]));

    // Drift: taken off the listener, then deleted: repaired in place.
    stack.out_of_band(&tid, &sub, "detach-certificate", None);
    let change = apply_in_place(&w, "detached out of band");
    assert_eq!(change["change"]["before"]["parts"]["certificate"], "drifted: listener");
    assert_eq!(certificates(&stack, &tid, &sub)[0]["served"], true);
    stack.out_of_band(&tid, &sub, "delete-certificate", None);
    let change = apply_in_place(&w, "deleted out of band");
    assert_eq!(change["change"]["before"]["parts"]["certificate"], "missing");
    std::thread::sleep(ISSUED_AFTER);
    apply_in_place(&w, "the re-requested certificate serves");
    assert_converged(&w, "repaired");

    // No custom domains: the certificate goes, the rule routes the tenant alone.
    write(&w, &tid, &sub, &[]);
    apply_in_place(&w, "domains removed");
    assert_converged(&w, "removed");
    assert!(certificates(&stack, &tid, &sub).is_empty());
    assert_eq!(hosts(&stack, &tid, &sub), [fqdn]);
    let v = state_values(&w);
    assert!(v["certificate_arn"].is_null(), "{v:#}");

    // Back, then destroy: no certificate left.
    write(&w, &tid, &sub, std::slice::from_ref(&www));
    apply_in_place(&w, "a domain added to a running tenant");
    std::thread::sleep(ISSUED_AFTER);
    apply_in_place(&w, "served");
    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(
        certificates(&stack, &tid, &sub).is_empty(),
        "destroy deleted the certificate"
    );
}

#[test]
fn a_custom_domain_another_tenant_routes_is_refused_at_plan() {
    let stack = Stack::load();
    let (first, second) = (random_tenant_id(), random_tenant_id());
    let domain = format!("www.{}-taken.example", &first[6..]);
    let a = Workdir::new(&stack, "custom-domains-owner");
    write(
        &a,
        &first,
        &format!("own-{}", &first[6..]),
        std::slice::from_ref(&domain),
    );
    a.with_vars("apply", &["-auto-approve"]).ok();

    let b = Workdir::new(&stack, "custom-domains-thief");
    write(
        &b,
        &second,
        &format!("thief-{}", &second[6..]),
        std::slice::from_ref(&domain),
    );
    let run = b.with_vars("plan", &[]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains(&domain), "names the domain:\n{}", run.stderr);
    assert!(
        run.stderr.contains(&first),
        "names the tenant that has it:\n{}",
        run.stderr
    );
    assert!(certificates(&stack, &second, &format!("thief-{}", &second[6..])).is_empty());
    a.with_vars("destroy", &["-auto-approve"]).ok();
}

#[test]
fn bad_custom_domains_are_refused_at_plan_naming_the_element() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("bad-{}", &tid[6..]);
    let w = Workdir::new(&stack, "custom-domains-bad");
    let refused = |domains: &[String], needles: &[&str]| {
        write(&w, &tid, &sub, domains);
        let run = w.with_vars("plan", &[]);
        assert_ne!(run.code, 0, "{domains:?}");
        for needle in needles {
            assert!(run.stderr.contains(needle), "{needle} in:\n{}", run.stderr);
        }
    };
    let ok = "ok.acme.example".to_owned();
    refused(
        &["*.acme.example".to_owned(), ok.clone(), ok.clone()],
        &["custom_domains[0]", "wildcard", "custom_domains[2]", "twice"],
    );
    // Checked once the provider knows the platform's domain.
    let platform = format!("shop.{}", stack.get("domain"));
    refused(&[ok, platform], &["custom_domains[1]", "platform's domain"]);
    let five: Vec<String> = (1..=5).map(|n| format!("w{n}.acme.example")).collect();
    refused(&five, &["custom_domains", "at most 4"]);
}

/// Runs boto3's Route53 against the stack: `op` is `create ZONE` (prints
/// the zone's id), `records ZONE_ID` (prints its CNAMEs as JSON) or
/// `delete ZONE_ID` (its records, then the zone).
const ZONES: &str = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
r = boto3.client("route53", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
op, arg = sys.argv[2], sys.argv[3]
if op == "create":
    z = r.create_hosted_zone(Name=arg, CallerReference=arg)["HostedZone"]
    print(z["Id"].split("/")[-1])
else:
    sets = r.list_resource_record_sets(HostedZoneId=arg)["ResourceRecordSets"]
    cnames = [x for x in sets if x["Type"] == "CNAME"]
    if op == "records":
        print(json.dumps([{"name": x["Name"], "value": x["ResourceRecords"][0]["Value"]} for x in cnames]))
    else:
        for x in cnames:
            r.change_resource_record_sets(HostedZoneId=arg, ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": x}]})
        r.delete_hosted_zone(Id=arg)
"#;

#[test]
fn validation_records_of_a_domain_in_the_accounts_own_zone_are_written_there() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let sub = format!("cz-{}", &tid[6..]);
    let apex = format!("{sub}-own.example");
    let www = format!("www.{apex}");
    let zone = stack.python(ZONES, &["create", &apex]).trim().to_owned();
    let cnames = || -> Vec<serde_json::Value> {
        serde_json::from_str(&stack.python(ZONES, &["records", &zone])).expect("records as JSON")
    };
    let w = Workdir::new(&stack, "custom-domains-own-zone");
    write(&w, &tid, &sub, std::slice::from_ref(&www));
    w.with_vars("apply", &["-auto-approve"]).ok();
    let v = state_values(&w);
    let records = v["certificate_validation_records"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(records.len(), 1, "{v:#}");
    let written: Vec<(String, String)> = cnames()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().trim_end_matches('.').to_owned();
            (s("name"), s("value"))
        })
        .collect();
    let want = |k: &str| {
        records[0][k]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_owned()
    };
    assert_eq!(
        written,
        [(want("name"), want("value"))],
        "bbws wrote the record in the zone"
    );

    // Destroyed: the certificate goes; the record stays (ACM renews any
    // certificate for the name with it, and it may serve others).
    w.with_vars("destroy", &["-auto-approve"]).ok();
    assert!(certificates(&stack, &tid, &sub).is_empty());
    assert_eq!(cnames().len(), 1);
    stack.python(ZONES, &["delete", &zone]);
}
