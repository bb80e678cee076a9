//! Backup and restore (issue 16) with the real terraform, the provider
//! binary, moto's S3 and the stack's MariaDB: rows written through the
//! tenant's own login (a BLOB of all 256 byte values, NULLs, quotes and
//! backslashes, newlines, a table of a few MB) come back exactly after
//! `bbws_tenant_backup`, deleting them and `bbws_tenant_restore`; the object
//! is encrypted and keyed `{prefix}{env}/{tenant_id}/{timestamp}.sql.gz`; a
//! dump of another tenant and a file that is no bbws dump are refused; a
//! destroy that deletes data backs it up first, and in prod without a
//! backup bucket it is refused at plan.

use bbws_acceptance_tests::{PROVIDER_BLOCK, Stack, Workdir, personalise_example, random_tenant_id, workspace_root};

/// The stack's S3 client in Python, `c`, and the settings, `s`.
const BOTO: &str = r#"
import gzip, json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("s3", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
"#;

/// A bucket of this test's own (bbws never creates one).
fn make_bucket(stack: &Stack, name: &str) {
    let script = format!(
        "{BOTO}\nkw = {{}} if s['region'] == 'us-east-1' else {{'CreateBucketConfiguration': {{'LocationConstraint': s['region']}}}}\nc.create_bucket(Bucket=sys.argv[2], **kw)\nprint('ok')"
    );
    stack.python(&script, &[name]);
}

/// `(ServerSideEncryption, size)` of an object, from S3 itself.
fn head(stack: &Stack, bucket: &str, key: &str) -> serde_json::Value {
    let script = format!(
        "{BOTO}\nh = c.head_object(Bucket=sys.argv[2], Key=sys.argv[3])\nprint(json.dumps({{'sse': h.get('ServerSideEncryption'), 'size': h['ContentLength']}}))"
    );
    serde_json::from_str(&stack.python(&script, &[bucket, key])).expect("head JSON")
}

/// Copies a dump with its header rewritten to name another tenant, as a
/// dump taken of that tenant has it; answers the copy's key.
fn forge_other_tenant(stack: &Stack, bucket: &str, key: &str, tid: &str, other: &str) -> String {
    let forged = format!("tenants/dev/{other}/forged.sql.gz");
    let script = format!(
        "{BOTO}\nb, k, tid, other, to = sys.argv[2:7]\nt = gzip.decompress(c.get_object(Bucket=b, Key=k)['Body'].read()).decode()\nassert f'-- tenant: {{tid}}\\n' in t\nt = t.replace(f'-- tenant: {{tid}}\\n', f'-- tenant: {{other}}\\n')\nc.put_object(Bucket=b, Key=to, Body=gzip.compress(t.encode()))\nc.put_object(Bucket=b, Key='not-a-dump.sql.gz', Body=gzip.compress(b'DROP DATABASE mysql;\\n'))\nprint('ok')"
    );
    stack.python(&script, &[bucket, key, tid, other, &forged]);
    forged
}

/// The secret of a tenant of `env`, read with boto3.
fn tenant_secret(stack: &Stack, env: &str, tid: &str) -> serde_json::Value {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("secretsmanager", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
print(c.get_secret_value(SecretId=f"{sys.argv[2]}-{sys.argv[3]}-db-credentials")["SecretString"])
"#;
    serde_json::from_str(&stack.python(script, &[env, tid])).expect("secret JSON")
}

/// The operations of a tenant's audit records in `env`.
fn audit_operations(stack: &Stack, env: &str, tid: &str) -> Vec<String> {
    let script = r#"
import json, sys, boto3
s = json.load(open(sys.argv[1]))
c = boto3.client("logs", endpoint_url=s["endpoint"], region_name=s["region"],
                 aws_access_key_id=s["aws_access_key_id"], aws_secret_access_key=s["aws_secret_access_key"])
events = c.get_log_events(logGroupName=f"/bbws/{sys.argv[2]}/audit", logStreamName=sys.argv[3], startFromHead=True)["events"]
print(json.dumps([json.loads(e["message"])["operation"] for e in events]))
"#;
    serde_json::from_str(&stack.python(script, &[env, tid])).expect("records JSON")
}

/// Runs SQL as the tenant's own MySQL user (the mariadb client, batch
/// mode: tab-separated rows); panics when it fails.
fn as_tenant(stack: &Stack, login: &serde_json::Value, sql: &str) -> String {
    let m = &stack.settings["mysql"];
    let out = std::process::Command::new("mariadb")
        .args(["-h", m["host"].as_str().expect("host"), "-P", &m["port"].to_string()])
        .args(["-u", login["username"].as_str().expect("username")])
        .arg(format!("-p{}", login["password"].as_str().expect("password")))
        .args([
            "-D",
            login["database"].as_str().expect("database"),
            "--batch",
            "--raw",
            // The client's own default is not utf8mb4: 4-byte characters
            // would be refused before they reach the table.
            "--default-character-set=utf8mb4",
            "-e",
            sql,
        ])
        .output()
        .expect("run the mariadb client");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Tables with what a dump must carry exactly; the big one about 6 MB.
const ROWS: &str = r#"
CREATE TABLE edge (id INT PRIMARY KEY, b BLOB, t TEXT, v VARCHAR(200), n INT, d DATETIME, ts TIMESTAMP NULL, j DECIMAL(20,6), f DOUBLE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO edge VALUES
 (1, UNHEX(CONCAT('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F',
  '202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F',
  '606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F',
  'A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF',
  'E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF')),
  'it''s "quoted" \\ back\\slash; -- not a comment\nsecond line\r\n\ttab', 'Ünïcødé ✓ 日本 🚀', -42, '2026-12-02 01:02:03', '2026-06-01 12:00:00', 12345678901234.123456, 0.1),
 (2, NULL, NULL, '', NULL, NULL, NULL, NULL, NULL),
 (3, '', 'NULL', 'X''00''', 0, '1000-01-01 00:00:00', '1970-01-02 00:00:00', -0.000001, -1.5e300);
CREATE TABLE big (id INT PRIMARY KEY, v MEDIUMTEXT) ENGINE=InnoDB;
INSERT INTO big SELECT seq, REPEAT(SHA2(seq, 512), 24) FROM seq_1_to_2000;
"#;

/// Everything of both tables, in one text: every value in hex, so that a
/// byte lost or changed shows.
const FINGERPRINT: &str = "SELECT id, HEX(b), HEX(t), HEX(v), n, d, ts, j, f FROM edge ORDER BY id; \
    SELECT COUNT(*), SUM(LENGTH(v)), SUM(CRC32(CONCAT(id, ':', v))) FROM big";

fn provider_with_backup(bucket: &str) -> String {
    PROVIDER_BLOCK.replace(
        "  default_tags {",
        &format!("  backup {{\n    bucket = \"{bucket}\"\n    prefix = \"tenants/\"\n  }}\n\n  default_tags {{"),
    )
}

/// An example file with this run's tenant id and a subdomain of its own.
fn example(rel: &str, tid: &str) -> String {
    personalise_example(
        &std::fs::read_to_string(workspace_root().join("examples").join(rel)).expect("read example"),
        tid,
    )
}

/// The `s3://` URI the backup's last line names.
fn backed_up_to(stdout: &str) -> String {
    let (_, rest) = stdout
        .split_once("backed up to ")
        .unwrap_or_else(|| panic!("no key: {stdout}"));
    rest.split_whitespace().next().expect("a URI").to_owned()
}

#[test]
fn a_backup_restores_every_byte_and_refuses_another_tenants_dump() {
    let stack = Stack::load();
    let tid = random_tenant_id();
    let bucket = format!("bbws-backups-{tid}");
    make_bucket(&stack, &bucket);
    let w = Workdir::new(&stack, "backup");
    w.write("provider.tf", &provider_with_backup(&bucket));
    w.write("resource.tf", &example("resources/bbws_tenant/resource.tf", &tid));
    w.write("backup.tf", &example("actions/bbws_tenant_backup/action.tf", &tid));
    w.write("restore.tf", &example("actions/bbws_tenant_restore/action.tf", &tid));
    let source = |uri: &str| format!("backup_source={uri}");
    w.with_vars("apply", &["-auto-approve", "-var", &source("s3://unused/x")])
        .ok();
    let login = tenant_secret(&stack, "dev", &tid);
    as_tenant(&stack, &login, ROWS);
    let before = as_tenant(&stack, &login, FINGERPRINT);
    assert!(before.contains("\n2000\t"), "the big table: {before}");

    let backup = w
        .with_vars(
            "apply",
            &[
                "-auto-approve",
                "-invoke=action.bbws_tenant_backup.acme",
                "-var",
                &source("s3://unused/x"),
            ],
        )
        .ok();
    println!("{}", backup.stdout);
    for line in [
        "dumping 2 tables",
        "table big: 2000 rows (1/2 tables",
        "table edge: 3 rows (2/2 tables",
    ] {
        assert!(backup.stdout.contains(line), "progress {line:?}: {}", backup.stdout);
    }
    let uri = backed_up_to(&backup.stdout);
    let key = uri
        .strip_prefix(&format!("s3://{bucket}/"))
        .expect("in the bucket")
        .to_owned();
    let shape = format!("tenants/dev/{tid}/");
    assert!(key.starts_with(&shape) && key.ends_with("Z.sql.gz"), "{key}");
    let object = head(&stack, &bucket, &key);
    assert_eq!(object["sse"], "AES256", "{object}");

    as_tenant(&stack, &login, "DELETE FROM edge; DROP TABLE big");
    assert_ne!(as_tenant(&stack, &login, "SELECT COUNT(*) FROM edge"), before);
    let restore = w
        .with_vars(
            "apply",
            &[
                "-auto-approve",
                "-invoke=action.bbws_tenant_restore.acme",
                "-var",
                &source(&uri),
            ],
        )
        .ok();
    assert!(restore.stdout.contains("2 tables replaced"), "{}", restore.stdout);
    assert_eq!(as_tenant(&stack, &login, FINGERPRINT), before, "every value came back");

    let forged = forge_other_tenant(&stack, &bucket, &key, &tid, "999999999999");
    let forged_uri = format!("s3://{bucket}/{forged}");
    let refused = w.with_vars(
        "apply",
        &[
            "-auto-approve",
            "-invoke=action.bbws_tenant_restore.acme",
            "-var",
            &source(&forged_uri),
        ],
    );
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("dev/999999999999") && refused.stderr.contains("allow_other_tenant"),
        "{}",
        refused.stderr
    );
    let not_a_dump = format!("s3://{bucket}/not-a-dump.sql.gz");
    let refused = w.with_vars(
        "apply",
        &[
            "-auto-approve",
            "-invoke=action.bbws_tenant_restore.acme",
            "-var",
            &source(&not_a_dump),
        ],
    );
    assert!(
        refused.stderr.contains("not a complete bbws dump"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        as_tenant(&stack, &login, FINGERPRINT),
        before,
        "a refused restore ran nothing"
    );

    let records = stack.audit_records(&tid);
    let backed_up = records
        .iter()
        .find(|r| r["operation"] == "backup")
        .expect("a backup record");
    assert_eq!(backed_up["parts"][0], format!("backup: {uri}"), "{backed_up}");
    assert!(
        records
            .iter()
            .any(|r| r["operation"] == "restore" && r["outcome"] == "succeeded")
    );
    w.write("restore.tf", "");
    w.write("backup.tf", "");
    w.with_vars("destroy", &["-auto-approve"]).ok();
}

fn guarded(tid: &str, extra: &str, provider: &str) -> String {
    format!(
        "{provider}\nresource \"bbws_tenant\" \"t\" {{\n  name = \"Backed Ltd\"\n  contact_email = \"ops@backed.example\"\n  tenant_id = \"{tid}\"\n  deletion_protection = false\n  confirm_destroy = \"Backed Ltd\"\n{extra}}}\n"
    )
}

#[test]
fn a_destroy_that_deletes_data_backs_it_up_first_and_prod_needs_a_bucket_for_it() {
    let stack = Stack::load();
    let prod = ["-var", "environment=prod"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&["-auto-approve"][..], &prod[..], extra].concat() };

    // prod without a backup block: the destroy is refused at plan.
    let tid = random_tenant_id();
    let p = Workdir::new(&stack, "backup-prod");
    p.write(
        "main.tf",
        &guarded(&tid, "  retain_data_on_destroy = false\n", PROVIDER_BLOCK),
    );
    p.with_vars("apply", &with(&[])).ok();
    let state = p.state_json();
    assert_eq!(
        state["values"]["root_module"]["resources"][0]["values"]["backup_before_destroy"],
        true
    );
    let blocked = p.with_vars("destroy", &with(&[]));
    assert_ne!(blocked.code, 0, "{}", blocked.stdout);
    assert!(
        blocked.stderr.contains("backup_before_destroy") && blocked.stderr.contains("backup {"),
        "{}",
        blocked.stderr
    );
    assert!(!blocked.stdout.contains("Destroy complete"), "{}", blocked.stdout);
    assert_eq!(stack.inspect(&tid, &[])["database"], true, "nothing deleted");

    // With a bucket, the destroy backs the database up, then deletes it.
    let bucket = format!("bbws-backups-{tid}");
    make_bucket(&stack, &bucket);
    p.write(
        "main.tf",
        &guarded(
            &tid,
            "  retain_data_on_destroy = false\n",
            &provider_with_backup(&bucket),
        ),
    );
    p.with_vars("apply", &with(&[])).ok();
    let login = tenant_secret(&stack, "prod", &tid);
    as_tenant(
        &stack,
        &login,
        "CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('before the end')",
    );
    let destroyed = p.with_vars("destroy", &with(&[])).ok();
    let all = format!("{}{}", destroyed.stdout, destroyed.stderr);
    assert!(all.contains("backed up before its data was deleted"), "{all}");
    let (_, rest) = all
        .split_once(&format!("s3://{bucket}/"))
        .expect("the key in the warning");
    let key: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(key.starts_with(&format!("tenants/prod/{tid}/")), "{key}");
    assert_eq!(head(&stack, &bucket, &key)["sse"], "AES256");
    let t = stack.inspect(&tid, &[]);
    assert_eq!(t["database"], false, "deleted after the backup: {t:#}");
    let ops = audit_operations(&stack, "prod", &tid);
    assert!(ops.ends_with(&["backup".to_owned(), "delete".to_owned()]), "{ops:?}");
}
