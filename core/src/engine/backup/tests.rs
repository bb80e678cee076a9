//! Backup and restore against the in-memory cloud: the object's key,
//! encryption and header, multipart for large dumps (and abort on failure),
//! the checks a restore makes before it runs anything, and the backup a
//! destroy takes first.

use std::io::Read;
use std::sync::Arc;

use super::*;
use crate::audit::AuditRecord;
use crate::fake::{BACKUP_BUCKET, FakeCloud};
use crate::spec::{Environment, Platform, TenantInput, TenantSpec};
use crate::{plan, plan_destroy};

const TENANT: &str = "123456789012";

fn spec(platform: &Arc<Platform>, tenant_id: &str) -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(tenant_id.into()),
        retain_data_on_destroy: Some(false),
        backup_before_destroy: Some(true),
        ..TenantInput::default()
    }
    .resolve(platform.clone())
    .expect("valid spec")
}

async fn tenant(platform: Platform, tenant_id: &str, cloud: &Arc<FakeCloud>) -> (Engine, TenantSpec) {
    let platform = Arc::new(platform);
    let engine = Engine::new(platform.clone(), cloud.ports());
    let s = spec(&platform, tenant_id);
    let o = engine.observe_tenant(tenant_id, &[]).await.expect("observe");
    engine.apply(&s, &o, &plan(&s, &o)).await.expect("apply");
    (engine, s)
}

/// A table `t` with `rows` rows of `width` bytes each in the tenant's
/// database, as the fake keeps tables.
fn fill(cloud: &FakeCloud, s: &TenantSpec, rows: usize, width: usize) {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut statements = vec!["CREATE TABLE `t` (`v` longblob)".to_owned()];
    for _ in 0..rows {
        let bytes: String = (0..width).map(|_| format!("{:02X}", rng.random::<u8>())).collect();
        statements.push(format!("INSERT INTO `t` (`v`) VALUES (X'{bytes}')"));
    }
    let mut state = cloud.state();
    state
        .mysql
        .table_rows
        .entry(s.names().database)
        .or_default()
        .insert("t".into(), statements);
}

fn rows_of(cloud: &FakeCloud, s: &TenantSpec) -> Option<Vec<String>> {
    cloud
        .state()
        .mysql
        .table_rows
        .get(&s.names().database)
        .and_then(|t| t.get("t").cloned())
}

fn object(cloud: &FakeCloud, key: &str) -> Option<crate::fake::FakeObject> {
    cloud
        .state()
        .objects
        .get(&(BACKUP_BUCKET.to_owned(), key.to_owned()))
        .cloned()
}

fn text_of(gzip: &[u8]) -> String {
    let mut text = String::new();
    GzDecoder::new(gzip).read_to_string(&mut text).expect("gzip");
    text
}

fn audit_ops(cloud: &FakeCloud) -> Vec<AuditRecord> {
    let state = cloud.state();
    state.log_groups["/bbws/dev/audit"].streams[TENANT]
        .iter()
        .map(|e| serde_json::from_str(&e.message).expect("record"))
        .collect()
}

#[tokio::test]
async fn a_backup_restores_the_rows_it_dumped_and_leaves_audit_records() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let (engine, s) = tenant(platform, TENANT, &cloud).await;
    fill(&cloud, &s, 3, 16);
    let before = rows_of(&cloud, &s).expect("rows");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report = engine.backup(TENANT, Some(&tx)).await.expect("backup");
    drop(tx);

    assert!(
        report.key.starts_with(&format!("tenants/dev/{TENANT}/")),
        "{}",
        report.key
    );
    assert!(report.key.ends_with(".sql.gz"), "{}", report.key);
    assert_eq!(report.uri, format!("s3://{BACKUP_BUCKET}/{}", report.key));
    assert_eq!((report.tables, report.rows), (1, 3));
    let stored = object(&cloud, &report.key).expect("the object");
    assert_eq!(stored.server_side_encryption.as_deref(), Some("AES256"));
    let text = text_of(&stored.body);
    assert!(text.starts_with(DUMP_MAGIC), "{text}");
    assert!(text.contains(&format!("-- tenant: {TENANT}\n")), "{text}");
    assert!(text.contains("DROP TABLE IF EXISTS `t`;\n"), "{text}");
    let mut lines = Vec::new();
    while let Some(l) = rx.recv().await {
        lines.push(l);
    }
    assert!(
        lines.iter().any(|l| l.starts_with("table t: 3 rows (1/1 tables")),
        "{lines:?}"
    );

    cloud.state().mysql.table_rows.clear();
    let restored = engine.restore(TENANT, &report.uri, false, None).await.expect("restore");
    assert_eq!(rows_of(&cloud, &s), Some(before));
    assert_eq!((restored.tables, restored.statements), (1, 5));
    assert_eq!(restored.dumped_from, format!("dev/{TENANT}"));

    let records = audit_ops(&cloud);
    let backup = records
        .iter()
        .find(|r| r.operation == "backup")
        .expect("a backup record");
    assert_eq!(backup.parts, [format!("backup: {}", report.uri)]);
    assert!(
        records
            .iter()
            .any(|r| r.operation == "restore" && r.outcome == "succeeded")
    );
}

#[tokio::test]
async fn a_large_dump_goes_up_in_parts_and_a_failed_one_leaves_nothing() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let (engine, s) = tenant(platform, TENANT, &cloud).await;
    // 10 MiB of random bytes, 20 MiB as hex: about 10 MiB of gzip, two parts.
    fill(&cloud, &s, 160, 64 * 1024);
    let report = engine.backup(TENANT, None).await.expect("backup");
    assert_eq!(cloud.calls_to("s3.UploadPart").len(), 2);
    assert!(cloud.calls_to("s3.PutObject").is_empty());
    assert!(report.stored_bytes > PART_SIZE as u64, "{report:?}");
    let body = object(&cloud, &report.key).expect("the object").body;
    assert_eq!(body.len() as u64, report.stored_bytes);
    assert!(text_of(&body).contains("-- end: 1 tables, 160 rows"));

    // The answer to CompleteMultipartUpload lost, the SDK's retry finds
    // the upload gone: the object is there, so the backup succeeded.
    let gone = PortError::new(
        PortErrorKind::NotFound,
        "NoSuchUpload",
        "The specified upload does not exist.",
    );
    cloud.lose_answer_on("s3.CompleteMultipartUpload", None, gone, 1);
    let again = engine
        .backup(TENANT, None)
        .await
        .expect("a lost answer is not a failed backup");
    assert_eq!(
        object(&cloud, &again.key).expect("the object").body.len() as u64,
        again.stored_bytes
    );
    cloud
        .state()
        .objects
        .remove(&(BACKUP_BUCKET.to_owned(), again.key.clone()));

    let refused = PortError::new(PortErrorKind::AccessDenied, "AccessDenied", "no");
    cloud.fail_on("s3.UploadPart", None, refused, 1);
    cloud.clear_calls();
    let failed = engine.backup(TENANT, None).await.expect_err("the upload fails");
    assert!(failed.to_string().contains("UploadPart"), "{failed}");
    assert_eq!(cloud.calls_to("s3.AbortMultipartUpload").len(), 1);
    let state = cloud.state();
    assert!(state.uploads.is_empty(), "no upload is left open");
    assert_eq!(state.objects.len(), 1, "only the first backup exists");
}

#[tokio::test]
async fn a_restore_checks_the_whole_file_and_whose_dump_it_is_first() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let other = "210987654321";
    let (engine, s) = tenant(platform, TENANT, &cloud).await;
    let o = engine.observe_tenant(other, &[]).await.expect("observe");
    let so = spec(engine.platform(), other);
    engine.apply(&so, &o, &plan(&so, &o)).await.expect("apply");
    fill(&cloud, &so, 2, 8);
    let theirs = engine.backup(other, None).await.expect("backup");

    let refused = engine
        .restore(TENANT, &theirs.uri, false, None)
        .await
        .expect_err("refused");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("dev/{other}")) && message.contains("allow_other_tenant"),
        "{message}"
    );
    assert_eq!(rows_of(&cloud, &s), None, "nothing ran");
    engine.restore(TENANT, &theirs.uri, true, None).await.expect("told to");
    assert_eq!(rows_of(&cloud, &s).map(|r| r.len()), Some(3));

    let put = |key: &str, text: &str| {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(text.as_bytes()).expect("gzip");
        let body = gz.finish().expect("gzip");
        cloud.state().objects.insert(
            (BACKUP_BUCKET.into(), key.into()),
            crate::fake::FakeObject {
                body,
                server_side_encryption: None,
            },
        );
        format!("s3://{BACKUP_BUCKET}/{key}")
    };
    let header = format!("{DUMP_MAGIC}\n-- environment: dev\n-- tenant: {TENANT}\n");
    let cases = [
        (put("a", "SELECT 1;\n"), "first line"),
        (put("b", &format!("{header}DROP TABLE IF EXISTS `t`;\n")), "no end line"),
        (
            put(
                "c",
                &format!("{header}GRANT ALL ON *.* TO x;\n-- end: 0 tables, 0 rows\n"),
            ),
            "GRANT ALL",
        ),
        (format!("s3://{BACKUP_BUCKET}/missing"), "there is no dump"),
        ("https://example.com/x".to_owned(), "not an S3 URI"),
    ];
    for (uri, why) in cases {
        let e = engine.restore(TENANT, &uri, true, None).await.expect_err(why);
        assert!(e.to_string().contains(why), "{uri}: {e}");
    }
    assert!(cloud.calls_to("mysql.Load").len() == 1, "only the allowed restore ran");
}

#[tokio::test]
async fn without_a_backup_bucket_backups_and_a_destroy_that_would_take_one_are_refused() {
    let (cloud, mut platform) = FakeCloud::with_platform("wpdev.example.io");
    platform.backup = None;
    let (engine, s) = tenant(platform, TENANT, &cloud).await;
    let e = engine.backup(TENANT, None).await.expect_err("refused");
    assert!(e.to_string().contains("backup { bucket"), "{e}");
    let e = s.check_destroy().expect_err("refused");
    assert!(e.to_string().contains("backup_before_destroy"), "{e}");
    let mut kept = s.clone();
    kept.retain_data_on_destroy = true;
    assert!(kept.check_destroy().is_ok(), "nothing is deleted: nothing to back up");
    let mut p = (*s.platform).clone();
    p.environment = Environment::Prod;
    assert!(
        TenantInput {
            name: "ACME".into(),
            contact_email: "ops@acme.example".into(),
            tenant_id: Some(TENANT.into()),
            ..TenantInput::default()
        }
        .resolve(Arc::new(p))
        .expect("valid")
        .backup_before_destroy,
        "default true in prod"
    );
    assert!(!spec_default_dev(&s).backup_before_destroy, "default false elsewhere");
}

fn spec_default_dev(s: &TenantSpec) -> TenantSpec {
    TenantInput {
        name: "ACME".into(),
        contact_email: "ops@acme.example".into(),
        tenant_id: Some(TENANT.into()),
        ..TenantInput::default()
    }
    .resolve(s.platform.clone())
    .expect("valid")
}

#[tokio::test]
async fn a_destroy_that_deletes_data_backs_it_up_first_and_deletes_nothing_if_it_cannot() {
    let (cloud, platform) = FakeCloud::with_platform("wpdev.example.io");
    let (engine, s) = tenant(platform, TENANT, &cloud).await;
    fill(&cloud, &s, 2, 8);
    let o = engine.observe_tenant(TENANT, &[]).await.expect("observe");
    let refused = PortError::new(PortErrorKind::AccessDenied, "AccessDenied", "no");
    cloud.fail_on("s3.PutObject", None, refused, 1);
    let e = engine
        .destroy(&s, &o, &plan_destroy(&s, &o))
        .await
        .expect_err("no backup");
    assert!(e.to_string().contains("PutObject"), "{e}");
    let after = engine.observe_tenant(TENANT, &[]).await.expect("observe");
    assert!(
        after.service.is_some() && after.database.is_some(),
        "nothing was deleted"
    );

    let report = engine
        .destroy(&s, &after, &plan_destroy(&s, &after))
        .await
        .expect("destroy");
    let uri = report.backup.expect("the backup's key");
    let key = uri
        .strip_prefix(&format!("s3://{BACKUP_BUCKET}/"))
        .expect("in the bucket");
    assert!(text_of(&object(&cloud, key).expect("the object").body).contains("INSERT INTO `t`"));
    assert!(
        engine
            .observe_tenant(TENANT, &[])
            .await
            .expect("observe")
            .database
            .is_none()
    );
    let ops: Vec<String> = audit_ops(&cloud).into_iter().map(|r| r.operation).collect();
    let (b, d) = (
        ops.iter().rposition(|o| o == "backup"),
        ops.iter().rposition(|o| o == "delete"),
    );
    assert!(b < d, "backed up, then deleted: {ops:?}");
}
