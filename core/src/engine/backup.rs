//! Backup and restore of a tenant's database (the provider's actions
//! `bbws_tenant_backup` / `bbws_tenant_restore`, and the backup a destroy
//! takes before it deletes data).
//!
//! A backup is the MySQL port's logical dump ([`crate::ports::MysqlAdmin::dump`])
//! behind a header, gzip-compressed as it streams and uploaded to the
//! platform's backup bucket as
//! `{prefix}{env}/{tenant_id}/{timestamp}.sql.gz` — in multipart parts of
//! [`PART_SIZE`] (one `PutObject` when smaller), so memory stays flat
//! however large the database; a failed backup aborts its upload (no
//! half-written object is left). Encrypted at rest (SSE `AES256`).
//!
//! A restore reads such an object, checks all of it before it runs any of
//! it (a bbws dump: the header, every line one of its statements, the end
//! line a complete dump has), refuses a dump of another tenant unless told,
//! and loads it **as the tenant's own MySQL user** — whatever the file
//! holds, it can touch no other tenant's database.

use std::io::{BufRead, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use tokio::sync::mpsc;

use super::Engine;
use crate::error::{CoreError, PartOrPlatform};
use crate::naming::TenantNames;
use crate::observed::ObservedTenant;
use crate::parts::Part;
use crate::ports::{DumpItem, ObjectStoreApi, PortError, PortErrorKind};
use crate::spec::BackupSettings;

/// Uploaded parts are this large (the last one smaller); a smaller dump is
/// one `PutObject`.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// A restore runs statements in batches of about this many bytes.
const RESTORE_BATCH: usize = 4 * 1024 * 1024;
/// The first line of every bbws dump.
pub const DUMP_MAGIC: &str = "-- bbws tenant database dump, format 1";
const TENANT_LINE: &str = "-- tenant: ";
const ENVIRONMENT_LINE: &str = "-- environment: ";
const END_LINE: &str = "-- end: ";

/// Progress messages of a backup or restore, one line each.
pub type Progress = mpsc::UnboundedSender<String>;

fn say(progress: Option<&Progress>, message: String) {
    if let Some(p) = progress {
        // A caller that stopped listening does not stop the backup.
        let _ = p.send(message);
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// `s3://{bucket}/{key}`.
    pub uri: String,
    /// The object's key.
    pub key: String,
    /// Tables dumped.
    pub tables: usize,
    /// Rows dumped.
    pub rows: u64,
    /// Bytes of SQL, before compression.
    pub sql_bytes: u64,
    /// Bytes stored (gzip).
    pub stored_bytes: u64,
}

/// What a restore loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// Where from.
    pub uri: String,
    /// The tenant the dump was taken of (`{env}/{tenant_id}`).
    pub dumped_from: String,
    /// Tables replaced.
    pub tables: usize,
    /// Statements run.
    pub statements: usize,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `s3://bucket/key` → `(bucket, key)`.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// A bucket that does not exist is the `backup` setting's fault.
fn s3_error(settings: &BackupSettings, operation: &'static str, e: PortError) -> CoreError {
    if e.code == "NoSuchBucket" {
        return CoreError::Platform {
            setting: "backup.bucket",
            message: format!(
                "bucket {:?} does not exist ({e}); create it (bbws never creates or empties it) or set backup.bucket",
                settings.bucket
            ),
        };
    }
    CoreError::port(PartOrPlatform::Platform, operation, e)
}

/// The gzip stream on its way to S3: parts go up as they fill.
struct Upload<'a> {
    objects: &'a dyn ObjectStoreApi,
    settings: &'a BackupSettings,
    key: String,
    gzip: GzEncoder<Vec<u8>>,
    upload_id: Option<String>,
    parts: Vec<(i32, String)>,
    sql_bytes: u64,
    stored_bytes: u64,
}

impl<'a> Upload<'a> {
    fn new(objects: &'a dyn ObjectStoreApi, settings: &'a BackupSettings, key: String) -> Self {
        Upload {
            objects,
            settings,
            key,
            gzip: GzEncoder::new(Vec::new(), Compression::default()),
            upload_id: None,
            parts: Vec::new(),
            sql_bytes: 0,
            stored_bytes: 0,
        }
    }

    async fn line(&mut self, line: &str, progress: Option<&Progress>) -> Result<(), CoreError> {
        let written = self
            .gzip
            .write_all(line.as_bytes())
            .and_then(|()| self.gzip.write_all(b"\n"));
        written.map_err(|e| {
            CoreError::port(
                Part::Database,
                "gzip",
                PortError::new(PortErrorKind::Other, "GzipFailed", e.to_string()),
            )
        })?;
        self.sql_bytes += line.len() as u64 + 1;
        if self.gzip.get_ref().len() >= PART_SIZE {
            let part = std::mem::take(self.gzip.get_mut());
            self.send_part(part, progress).await?;
        }
        Ok(())
    }

    async fn send_part(&mut self, part: Vec<u8>, progress: Option<&Progress>) -> Result<(), CoreError> {
        let bucket = &self.settings.bucket;
        let id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .objects
                    .create_multipart_upload(bucket, &self.key)
                    .await
                    .map_err(|e| s3_error(self.settings, "CreateMultipartUpload", e))?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let size = part.len() as u64;
        let etag = self
            .objects
            .upload_part(bucket, &self.key, &id, number, part)
            .await
            .map_err(|e| s3_error(self.settings, "UploadPart", e))?;
        self.parts.push((number, etag));
        self.stored_bytes += size;
        say(
            progress,
            format!("uploaded part {number} ({} stored so far)", mib(self.stored_bytes)),
        );
        Ok(())
    }

    /// The rest of the stream, then the object made whole.
    async fn finish(mut self, progress: Option<&Progress>) -> Result<(u64, u64), CoreError> {
        let gzip = std::mem::replace(&mut self.gzip, GzEncoder::new(Vec::new(), Compression::default()));
        let rest = gzip.finish().map_err(|e| {
            CoreError::port(
                Part::Database,
                "gzip",
                PortError::new(PortErrorKind::Other, "GzipFailed", e.to_string()),
            )
        })?;
        let bucket = &self.settings.bucket;
        match self.upload_id.clone() {
            None => {
                self.stored_bytes = rest.len() as u64;
                self.objects
                    .put_object(bucket, &self.key, rest)
                    .await
                    .map_err(|e| s3_error(self.settings, "PutObject", e))?;
            }
            Some(id) => {
                if !rest.is_empty() {
                    self.send_part(rest, progress).await?;
                }
                let completed = self
                    .objects
                    .complete_multipart_upload(bucket, &self.key, &id, &self.parts)
                    .await;
                match completed {
                    Ok(()) => {}
                    // The SDK's retry of a Complete whose answer was lost
                    // finds the upload gone: the object says whether it
                    // completed (the key, with its timestamp, is this run's).
                    Err(e) if e.code == "NoSuchUpload" && self.stored_meanwhile().await => {
                        tracing::info!(key = %self.key, "CompleteMultipartUpload's answer was lost; the object is there");
                    }
                    Err(e) => return Err(s3_error(self.settings, "CompleteMultipartUpload", e)),
                }
            }
        }
        Ok((self.sql_bytes, self.stored_bytes))
    }

    /// Whether the object is there, of the size this run uploaded.
    async fn stored_meanwhile(&self) -> bool {
        matches!(
            self.objects.head_object(&self.settings.bucket, &self.key).await,
            Ok(Some(info)) if info.size == self.stored_bytes
        )
    }

    /// Discards the parts sent so far: nothing half-written stays.
    async fn abort(&self) {
        if let Some(id) = &self.upload_id
            && let Err(e) = self
                .objects
                .abort_multipart_upload(&self.settings.bucket, &self.key, id)
                .await
        {
            tracing::warn!(key = %self.key, error = %e, "the failed backup's upload could not be aborted");
        }
    }
}

/// Counts of a dump as it streams.
#[derive(Default)]
struct Dumped {
    tables: usize,
    rows: u64,
}

/// Writes the dump's items as lines until the dump ends.
async fn write_items(
    upload: &mut Upload<'_>,
    mut items: mpsc::Receiver<DumpItem>,
    progress: Option<&Progress>,
) -> Result<Dumped, CoreError> {
    let (mut total, mut done) = (0, Dumped::default());
    while let Some(item) = items.recv().await {
        match item {
            DumpItem::Tables(names) => {
                total = names.len();
                say(progress, format!("dumping {total} tables"));
            }
            DumpItem::Statement(s) => upload.line(&format!("{s};"), progress).await?,
            DumpItem::TableDone { table, rows } => {
                done.tables += 1;
                done.rows += rows;
                say(
                    progress,
                    format!(
                        "table {table}: {rows} rows ({}/{total} tables, {} rows, {} of SQL so far)",
                        done.tables,
                        done.rows,
                        mib(upload.sql_bytes)
                    ),
                );
            }
        }
    }
    Ok(done)
}

impl Engine {
    /// The tenant, if an operation may work on it now: it exists, no other
    /// run is creating it, and none of its parts is someone else's.
    pub(super) async fn operable(&self, tenant_id: &str, in_words: &'static str) -> Result<ObservedTenant, CoreError> {
        let refused = |reason: String| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: in_words,
            reason,
        };
        let observed = self.observe_by_id(tenant_id).await?;
        if !observed.exists() {
            return Err(refused(format!(
                "there is no tenant {tenant_id} in {}",
                self.platform.environment
            )));
        }
        let live = observed.lease().filter(|l| l.is_live(std::time::SystemTime::now()));
        if let Some(lease) = live.filter(|_| !self.finished_here(tenant_id)) {
            return Err(refused(format!(
                "another run is creating it (its creation lease expires {}); try again once that run has finished",
                lease.expires_text()
            )));
        }
        if let Some(c) = observed.foreign.first() {
            return Err(refused(format!("its {} {:?} is not this tenant's", c.part, c.name)));
        }
        Ok(observed)
    }

    /// [`Engine::operable`], and the tenant has its database.
    async fn with_database(&self, tenant_id: &str, in_words: &'static str) -> Result<ObservedTenant, CoreError> {
        let observed = self.operable(tenant_id, in_words).await?;
        if observed.database.is_none() {
            return Err(CoreError::NotPossible {
                tenant_id: tenant_id.to_owned(),
                operation: in_words,
                reason: "it has no database".into(),
            });
        }
        Ok(observed)
    }

    fn backup_settings(&self, tenant_id: &str, in_words: &'static str) -> Result<&BackupSettings, CoreError> {
        self.platform.backup.as_ref().ok_or_else(|| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: in_words,
            reason: "the provider has no backup bucket: set backup { bucket = \"…\" } in the provider block".into(),
        })
    }

    /// Dumps the tenant's database to the backup bucket, streaming
    /// progress; leaves an audit record `backup` with the object's key.
    pub async fn backup(&self, tenant_id: &str, progress: Option<&Progress>) -> Result<BackupReport, CoreError> {
        let settings = self.backup_settings(tenant_id, "back up")?;
        self.with_database(tenant_id, "back up").await?;
        self.backup_database(tenant_id, settings, progress).await
    }

    /// The dump and upload, and the audit record (also for destroy's
    /// backup, whose tenant is already observed).
    pub(super) async fn backup_database(
        &self,
        tenant_id: &str,
        settings: &BackupSettings,
        progress: Option<&Progress>,
    ) -> Result<BackupReport, CoreError> {
        let result = self.upload_dump(tenant_id, settings, progress).await;
        let (parts, error) = match &result {
            Ok(r) => (vec![format!("backup: {}", r.uri)], None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        self.audit("backup", tenant_id, parts, error).await;
        result
    }

    async fn upload_dump(
        &self,
        tenant_id: &str,
        settings: &BackupSettings,
        progress: Option<&Progress>,
    ) -> Result<BackupReport, CoreError> {
        let p = &self.platform;
        let database = TenantNames::new(p.environment, tenant_id, tenant_id, &p.domain).database;
        let now = crate::audit::rfc3339(std::time::SystemTime::now());
        let stamp: String = now.chars().filter(|c| *c != '-' && *c != ':').collect();
        let key = format!("{}{}/{tenant_id}/{stamp}.sql.gz", settings.prefix, p.environment);
        let uri = format!("s3://{}/{key}", settings.bucket);
        say(progress, format!("backing up database {database} to {uri}"));
        let mysql = self.mysql().await?;
        let mut upload = Upload::new(self.ports.objects.as_ref(), settings, key.clone());
        let header = [
            DUMP_MAGIC.to_owned(),
            format!("{ENVIRONMENT_LINE}{}", p.environment),
            format!("{TENANT_LINE}{tenant_id}"),
            format!("-- database: {database}"),
            format!("-- time: {now}"),
            format!("-- bbws: {}", env!("CARGO_PKG_VERSION")),
        ];
        let written = async {
            for line in &header {
                upload.line(line, progress).await?;
            }
            let (tx, rx) = mpsc::channel(64);
            let (dumped, written) = tokio::join!(mysql.dump(&database, tx), write_items(&mut upload, rx, progress));
            // The writer's error first: the dump only saw it stop.
            let done = written?;
            dumped.map_err(|e| CoreError::port(Part::Database, "dump", e))?;
            upload
                .line(
                    &format!("{END_LINE}{} tables, {} rows", done.tables, done.rows),
                    progress,
                )
                .await?;
            Ok::<_, CoreError>(done)
        }
        .await;
        let done = match written {
            Ok(done) => done,
            Err(e) => {
                upload.abort().await;
                return Err(e);
            }
        };
        let (sql_bytes, stored_bytes) = upload.finish(progress).await?;
        Ok(BackupReport {
            uri,
            key,
            tables: done.tables,
            rows: done.rows,
            sql_bytes,
            stored_bytes,
        })
    }

    /// Loads a dump from `source` (`s3://bucket/key`) into the tenant's
    /// database as the tenant's own user: every table the dump holds is
    /// dropped and recreated with its rows; tables it does not hold are
    /// left as they are. Refuses a file that is not a complete bbws dump,
    /// and a dump of another tenant or environment unless
    /// `allow_other_tenant`. Leaves an audit record `restore`.
    pub async fn restore(
        &self,
        tenant_id: &str,
        source: &str,
        allow_other_tenant: bool,
        progress: Option<&Progress>,
    ) -> Result<RestoreReport, CoreError> {
        let result = self.restore_from(tenant_id, source, allow_other_tenant, progress).await;
        let (parts, error) = match &result {
            Ok(r) => (vec![format!("restore: {}", r.uri)], None),
            Err(e) => (vec![format!("restore: {source}")], Some(e.to_string())),
        };
        self.audit("restore", tenant_id, parts, error).await;
        result
    }

    async fn restore_from(
        &self,
        tenant_id: &str,
        source: &str,
        allow_other_tenant: bool,
        progress: Option<&Progress>,
    ) -> Result<RestoreReport, CoreError> {
        let refused = |reason: String| CoreError::NotPossible {
            tenant_id: tenant_id.to_owned(),
            operation: "restore",
            reason,
        };
        let (bucket, key) = parse_s3_uri(source)
            .ok_or_else(|| refused(format!("source {source:?} is not an S3 URI: s3://{{bucket}}/{{key}}")))?;
        self.with_database(tenant_id, "restore").await?;
        say(progress, format!("reading {source}"));
        let bytes = self
            .ports
            .objects
            .get_object(bucket, key)
            .await
            .map_err(|e| match e.kind {
                PortErrorKind::NotFound => refused(format!("there is no dump at {source} ({e})")),
                _ => CoreError::port(PartOrPlatform::Platform, "GetObject", e),
            })?;
        let p = &self.platform;
        let expected = format!("{}/{tenant_id}", p.environment);
        let checked =
            check_dump(&bytes).map_err(|why| refused(format!("{source} is not a complete bbws dump: {why}")))?;
        if checked.tenant != expected && !allow_other_tenant {
            return Err(refused(format!(
                "{source} is a dump of tenant {}, not of {expected}; set allow_other_tenant = true to load it anyway",
                checked.tenant
            )));
        }
        say(
            progress,
            format!(
                "{source}: a dump of {} ({} statements); loading it as the tenant's own MySQL user",
                checked.tenant, checked.statements
            ),
        );
        let tenant_db = self.tenant_login(tenant_id).await?;
        let database = TenantNames::new(p.environment, tenant_id, tenant_id, &p.domain).database;
        let (mut batch, mut size, mut tables, mut statements) = (Vec::new(), 0, 0, 0);
        for line in dump_lines(&bytes) {
            let Some(statement) = line.strip_suffix(';') else {
                continue;
            };
            tables += usize::from(statement.starts_with("CREATE TABLE"));
            size += statement.len();
            batch.push(statement.to_owned());
            if size >= RESTORE_BATCH {
                statements += batch.len();
                self.load_batch(tenant_db.as_ref(), &database, &mut batch).await?;
                say(
                    progress,
                    format!("{statements}/{} statements run ({tables} tables)", checked.statements),
                );
                size = 0;
            }
        }
        statements += batch.len();
        self.load_batch(tenant_db.as_ref(), &database, &mut batch).await?;
        say(
            progress,
            format!("{statements}/{} statements run ({tables} tables)", checked.statements),
        );
        Ok(RestoreReport {
            uri: source.to_owned(),
            dumped_from: checked.tenant,
            tables,
            statements,
        })
    }

    async fn load_batch(
        &self,
        db: &dyn crate::ports::MysqlAdmin,
        database: &str,
        batch: &mut Vec<String>,
    ) -> Result<(), CoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        db.load(database, batch)
            .await
            .map_err(|e| CoreError::port(Part::Database, "restore", e))?;
        batch.clear();
        Ok(())
    }

    /// A MySQL session as the tenant's own user (from its secret), at the
    /// server the admin reaches.
    async fn tenant_login(&self, tenant_id: &str) -> Result<std::sync::Arc<dyn crate::ports::MysqlAdmin>, CoreError> {
        let credentials = self.tenant_credentials(tenant_id).await?;
        let facts = self.facts().await?;
        let login = self.platform.database.login(
            &facts.database_host,
            facts.database_port,
            &credentials.username,
            &credentials.password,
        );
        self.ports
            .mysql
            .connect(&login)
            .await
            .map_err(|e| CoreError::port(Part::DatabaseUser, "connect", e))
    }
}

/// The lines of a gzip dump; a broken stream ends them (the check before
/// found it whole).
fn dump_lines(gzip: &[u8]) -> impl Iterator<Item = String> + '_ {
    std::io::BufReader::new(GzDecoder::new(gzip))
        .lines()
        .map_while(Result::ok)
}

/// What the check of a dump found.
#[derive(Debug, PartialEq, Eq)]
struct CheckedDump {
    /// `{env}/{tenant_id}` of the header.
    tenant: String,
    statements: usize,
}

/// Reads the whole dump once before any of it runs: the header, each line a
/// comment or one statement of a bbws dump, and the end line.
fn check_dump(gzip: &[u8]) -> Result<CheckedDump, String> {
    let mut lines = std::io::BufReader::new(GzDecoder::new(gzip)).lines();
    let mut next = || {
        lines
            .next()
            .transpose()
            .map_err(|e| format!("unreadable gzip or text ({e})"))
    };
    if next()?.as_deref() != Some(DUMP_MAGIC) {
        return Err(format!("its first line is not {DUMP_MAGIC:?}"));
    }
    let (mut environment, mut tenant, mut statements, mut ended) = (None, None, 0, false);
    while let Some(line) = next()? {
        if ended {
            return Err("there are lines after its end line".into());
        }
        if line.starts_with("-- ") {
            environment = environment.or_else(|| line.strip_prefix(ENVIRONMENT_LINE).map(str::to_owned));
            tenant = tenant.or_else(|| line.strip_prefix(TENANT_LINE).map(str::to_owned));
            ended = line.starts_with(END_LINE);
            continue;
        }
        match line.strip_suffix(';') {
            Some(s) if crate::mysql::is_dump_statement(s) => statements += 1,
            _ => {
                let start: String = line.chars().take(40).collect();
                return Err(format!("line {start:?}… is not a statement a bbws dump holds"));
            }
        }
    }
    if !ended {
        return Err("it has no end line (it was cut short)".into());
    }
    match (environment, tenant) {
        (Some(e), Some(t)) => Ok(CheckedDump {
            tenant: format!("{e}/{t}"),
            statements,
        }),
        _ => Err("its header names no environment and tenant".into()),
    }
}

#[cfg(test)]
mod tests;
