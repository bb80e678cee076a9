//! Provider actions: the operating procedure's verbs that are not "make the
//! state look like this" — `bbws_tenant_restart`,
//! `bbws_tenant_rotate_credentials`, `bbws_tenant_backup` and
//! `bbws_tenant_restore` — invoked with `terraform apply -invoke=action.…`
//! or from a resource's `action_trigger`. Core runs them
//! ([`bbws_core::Engine::restart`], [`bbws_core::Engine::rotate_credentials`],
//! [`bbws_core::Engine::backup`], [`bbws_core::Engine::restore`]); this
//! module decodes the configuration once and streams progress.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bbws_core::engine::DeploymentWait;
use futures::Stream;
use magma_protocol::tfplugin6::{self as tf, Schema, invoke_action::event};
use tokio::sync::mpsc;

use crate::attr::action as attr;
use crate::configured::Configured;
use crate::diag::{core_error_diag, error};
use crate::model::{Reader, Tf, TfBool, TfNumber, TfString};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value;

/// `action "bbws_tenant_restart"`.
pub const RESTART: &str = "bbws_tenant_restart";
/// `action "bbws_tenant_rotate_credentials"`.
pub const ROTATE_CREDENTIALS: &str = "bbws_tenant_rotate_credentials";
/// `action "bbws_tenant_backup"`.
pub const BACKUP: &str = "bbws_tenant_backup";
/// `action "bbws_tenant_restore"`.
pub const RESTORE: &str = "bbws_tenant_restore";
/// Every action, for GetMetadata and GetProviderSchema.
pub const ALL: [&str; 4] = [RESTART, ROTATE_CREDENTIALS, BACKUP, RESTORE];

/// Whether an action starts a deployment (and so has the waiting settings).
fn deploys(action: &str) -> bool {
    action == RESTART || action == ROTATE_CREDENTIALS
}

/// How long an action waits for its deployment unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The schema of an action.
pub fn schema(action: &str) -> Schema {
    let description = match action {
        BACKUP => {
            "Backs up a tenant's database: a logical dump (schema and rows of every base table; WordPress has no views or routines, which are not dumped) written by the provider through its MySQL connection, in one consistent snapshot, gzip-compressed as it streams to the provider's `backup` bucket as `{prefix}{environment}/{tenant_id}/{timestamp}.sql.gz`, encrypted at rest (SSE-S3, `AES256`). Progress (tables, rows, bytes) is streamed; the final message and an audit record `backup` name the object's `s3://` key. A failed backup leaves no object behind (its multipart upload is aborted); a runner killed mid-upload leaves an incomplete upload, so give the bucket a lifecycle rule that aborts incomplete multipart uploads after a day (`AbortIncompleteMultipartUpload`). Refused without a `backup` block, for a tenant that does not exist, and while another run is creating it. EFS files (`wp-content`) are not part of the backup."
        }
        RESTORE => {
            "Restores a tenant's database from a dump `bbws_tenant_backup` wrote: the whole file is checked first (a bbws dump, complete, of this tenant), then its statements run as the tenant's own MySQL user — so a dump can touch no other database. Every table the dump holds is dropped and recreated with the dumped rows; tables it does not hold are left as they are. On a live site this replaces its content while it serves: suspend the tenant first for a quiet restore. A dump of another tenant or environment is refused unless `allow_other_tenant = true` (copying a site). Leaves an audit record `restore`."
        }
        RESTART => {
            "Restarts a tenant: a new ECS deployment of the revision its service runs, so that every task is replaced, waited for as an apply waits (a deployment ECS fails, or one that does not settle in time, is reported and rolled back). Nothing else of the tenant changes. A suspended tenant is refused. Leaves an audit record `restart`."
        }
        _ => {
            "Rotates a tenant's database password: a generated one is given to MySQL first (beside the old one where the server keeps dual passwords), then to the tenant's secret, and the tasks are restarted to read it — the path a new `db_password_wo_version` takes, so quarterly rotation is one scheduled `terraform apply -invoke`. The password is never shown. Leaves an audit record `rotate_credentials`."
        }
    };
    let block = Block::new(0).description(description).attr(
        Attr::string(attr::TENANT_ID)
            .required()
            .description("The tenant's 12-digit id."),
    );
    let block = if deploys(action) {
        block
            .attr(
                Attr::bool(attr::WAIT)
                    .optional()
                    .description("Wait until ECS has completed the deployment (default true)."),
            )
            .attr(
                Attr::number(attr::TIMEOUT)
                    .optional()
                    .description("How long to wait for the deployment, in seconds (default 600)."),
            )
    } else if action == RESTORE {
        block
            .attr(
                Attr::string(attr::SOURCE)
                    .required()
                    .description("The dump to load, `s3://{bucket}/{key}` (the key `bbws_tenant_backup` reported)."),
            )
            .attr(Attr::bool(attr::ALLOW_OTHER_TENANT).optional().description(
                "Load a dump taken of another tenant or environment (default false: refused, naming the tenant the dump is of).",
            ))
    } else {
        block
    };
    block.into_schema()
}

/// An action's configuration, decoded once.
#[derive(Debug, PartialEq)]
struct ActionConfig {
    tenant_id: String,
    /// Deployment actions only.
    wait: DeploymentWait,
    /// Restore: the dump.
    source: Option<String>,
    /// Restore: a dump of another tenant is loaded too.
    allow_other_tenant: bool,
}

fn invalid(attribute: &str, detail: String) -> tf::Diagnostic {
    error(format!("Invalid {attribute}"), detail, Some(&[attribute.to_owned()]))
}

impl ActionConfig {
    /// `Ok(None)` while a value is unknown (planned before it is known).
    fn decode(action: &str, config: Option<&tf::DynamicValue>) -> Result<Option<ActionConfig>, tf::Diagnostic> {
        if !ALL.contains(&action) {
            return Err(error(
                format!("Unknown action type {action:?}"),
                format!("terraform-provider-bbws offers the actions {}.", ALL.join(", ")),
                None,
            ));
        }
        let v = value::decode(config.unwrap_or(&Default::default()))
            .map_err(|e| error("Unreadable configuration", e.to_string(), None))?;
        if !v.is_known_deep() {
            return Ok(None);
        }
        let config = Reader(&v);
        let tenant_id = match config.get::<TfString>(attr::TENANT_ID) {
            Tf::Known(id) if bbws_core::validate::is_tenant_id(&id) => id,
            other => {
                let got = other.as_str().unwrap_or_default().to_owned();
                return Err(invalid(attr::TENANT_ID, format!("tenant_id {got:?} must be 12 digits")));
            }
        };
        Ok(Some(ActionConfig {
            tenant_id,
            wait: if deploys(action) { decode_wait(&config)? } else { None },
            source: if action == RESTORE {
                Some(decode_source(&config)?)
            } else {
                None
            },
            allow_other_tenant: config
                .get::<TfBool>(attr::ALLOW_OTHER_TENANT)
                .known()
                .copied()
                .unwrap_or(false),
        }))
    }
}

/// `wait_for_steady_state` and `steady_state_timeout_seconds`.
fn decode_wait(config: &Reader<'_>) -> Result<DeploymentWait, tf::Diagnostic> {
    let seconds = match config.get::<TfNumber>(attr::TIMEOUT).whole() {
        Ok(None) => DEFAULT_TIMEOUT.as_secs(),
        Ok(Some(n)) if n > 0 => n.unsigned_abs(),
        _ => {
            return Err(invalid(
                attr::TIMEOUT,
                "steady_state_timeout_seconds must be a whole number of seconds above 0".into(),
            ));
        }
    };
    let wait = config.get::<TfBool>(attr::WAIT).known().copied().unwrap_or(true);
    Ok(wait.then_some(Duration::from_secs(seconds)))
}

/// A restore's `source`: `s3://{bucket}/{key}`.
fn decode_source(config: &Reader<'_>) -> Result<String, tf::Diagnostic> {
    match config.get::<TfString>(attr::SOURCE) {
        Tf::Known(uri) if bbws_core::engine::parse_s3_uri(&uri).is_some() => Ok(uri),
        other => {
            let got = other.as_str().unwrap_or_default().to_owned();
            Err(invalid(
                attr::SOURCE,
                format!("source {got:?} must be an S3 URI, s3://{{bucket}}/{{key}}"),
            ))
        }
    }
}

/// ValidateActionConfig and PlanAction: the configuration's rules. The
/// tenant itself is not looked up: an action triggered after a create is
/// planned before the tenant exists.
pub fn validate(action: &str, config: Option<&tf::DynamicValue>) -> Vec<tf::Diagnostic> {
    ActionConfig::decode(action, config).err().into_iter().collect()
}

/// The stream of an invocation.
pub type Events = Pin<Box<dyn Stream<Item = Result<tf::invoke_action::Event, tonic::Status>> + Send + 'static>>;

fn progress(message: String) -> tf::invoke_action::Event {
    tf::invoke_action::Event {
        r#type: Some(event::Type::Progress(event::Progress { message })),
    }
}

fn completed(diagnostics: Vec<tf::Diagnostic>) -> tf::invoke_action::Event {
    tf::invoke_action::Event {
        r#type: Some(event::Type::Completed(event::Completed { diagnostics })),
    }
}

/// InvokeAction: progress while the operation runs, then its outcome.
pub fn invoke(configured: Result<Arc<Configured>, tf::Diagnostic>, r: &tf::invoke_action::Request) -> Events {
    let (tx, rx) = mpsc::channel(8);
    let action = r.action_type.clone();
    let decoded = ActionConfig::decode(&action, r.config.as_ref())
        .and_then(|c| c.ok_or_else(|| error("Unknown configuration", "an action runs with known values only", None)));
    tokio::spawn(async move {
        let outcome = match (decoded, configured) {
            (Err(d), _) | (_, Err(d)) => Err(d),
            (Ok(config), Ok(c)) => run(&c, &action, &config, &tx).await,
        };
        let _ = tx.send(Ok(completed(outcome.err().into_iter().collect()))).await;
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

type Sender = mpsc::Sender<Result<tf::invoke_action::Event, tonic::Status>>;

async fn run(c: &Configured, action: &str, config: &ActionConfig, tx: &Sender) -> Result<(), tf::Diagnostic> {
    if !deploys(action) {
        return run_data(c, action, config, tx).await;
    }
    let id = &config.tenant_id;
    let what = if action == RESTART {
        "a new deployment of the revision it runs"
    } else {
        "a generated password for MySQL, then the secret; then the tasks restarted to read it"
    };
    let wait = match config.wait {
        Some(t) => format!(", waiting up to {}s for the deployment", t.as_secs()),
        None => ", not waiting for the deployment".to_owned(),
    };
    let _ = tx.send(Ok(progress(format!("tenant {id}: {what}{wait}")))).await;
    let result = if action == RESTART {
        c.engine.restart(id, config.wait).await
    } else {
        c.engine.rotate_credentials(id, config.wait).await
    };
    let after = result.map_err(|e| core_error_diag(&e))?;
    let revision = after.service.map(|s| s.task_definition_arn).unwrap_or_default();
    let done = if action == RESTART {
        format!("tenant {id}: restarted on {revision}")
    } else {
        format!("tenant {id}: credentials rotated; the tasks run {revision} with the new password")
    };
    let _ = tx.send(Ok(progress(done))).await;
    Ok(())
}

/// Backup and restore: core's progress lines streamed as they come, then
/// the outcome.
async fn run_data(c: &Configured, action: &str, config: &ActionConfig, tx: &Sender) -> Result<(), tf::Diagnostic> {
    let id = config.tenant_id.as_str();
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<String>();
    let work = async move {
        let done = if action == BACKUP {
            c.engine.backup(id, Some(&progress_tx)).await.map(|r| {
                format!(
                    "tenant {id}: backed up to {} ({} tables, {} rows; {:.1} MiB of SQL stored as {:.1} MiB gzip)",
                    r.uri,
                    r.tables,
                    r.rows,
                    r.sql_bytes as f64 / 1_048_576.0,
                    r.stored_bytes as f64 / 1_048_576.0
                )
            })
        } else {
            let source = config.source.as_deref().unwrap_or_default();
            c.engine
                .restore(id, source, config.allow_other_tenant, Some(&progress_tx))
                .await
                .map(|r| {
                    format!(
                        "tenant {id}: restored from {} (a dump of {}): {} tables replaced, {} statements run",
                        r.uri, r.dumped_from, r.tables, r.statements
                    )
                })
        };
        drop(progress_tx);
        done
    };
    let forward = async {
        while let Some(line) = progress_rx.recv().await {
            let _ = tx.send(Ok(progress(format!("tenant {id}: {line}")))).await;
        }
    };
    let (done, ()) = tokio::join!(work, forward);
    let done = done.map_err(|e| core_error_diag(&e))?;
    let _ = tx.send(Ok(progress(done))).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::value::Value;

    fn config(attrs: &[(&str, Value)]) -> tf::DynamicValue {
        let object = attrs
            .iter()
            .fold(crate::model::Writer::default(), |w, (k, v)| w.set_value(k, v.clone()));
        value::encode(&object.finish())
    }

    fn id() -> (&'static str, Value) {
        (attr::TENANT_ID, Value::String("123456789012".into()))
    }

    #[test]
    fn defaults_wait_ten_minutes_and_the_settings_are_honoured() {
        let decoded = |attrs: &[(&str, Value)]| {
            ActionConfig::decode(RESTART, Some(&config(attrs)))
                .expect("valid")
                .expect("known")
                .wait
        };
        assert_eq!(decoded(&[id()]), Some(DEFAULT_TIMEOUT));
        assert_eq!(
            decoded(&[id(), (attr::TIMEOUT, Value::Int(30))]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(decoded(&[id(), (attr::WAIT, Value::Bool(false))]), None);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_attribute() {
        let cases: [(&[(&str, Value)], &str); 3] = [
            (&[(attr::TENANT_ID, Value::String("12".into()))], "must be 12 digits"),
            (&[id(), (attr::TIMEOUT, Value::Int(0))], "above 0"),
            (&[id(), (attr::TIMEOUT, Value::Float(1.5))], "whole number"),
        ];
        for (attrs, rule) in cases {
            let d = validate(ROTATE_CREDENTIALS, Some(&config(attrs)));
            assert_eq!(d.len(), 1, "{attrs:?}");
            assert!(d[0].detail.contains(rule), "{}: wanted {rule}", d[0].detail);
            assert!(d[0].attribute.is_some(), "names the attribute");
        }
        assert_eq!(validate("bbws_tenant_nope", None).len(), 1);
        let unknown = config(&[(attr::TENANT_ID, Value::Unknown)]);
        assert!(validate(RESTART, Some(&unknown)).is_empty(), "unknown until apply");
    }

    #[test]
    fn a_restore_needs_an_s3_source_and_a_backup_waits_for_no_deployment() {
        let d = validate(RESTORE, Some(&config(&[id()])));
        assert_eq!(d.len(), 1);
        assert!(d[0].detail.contains("must be an S3 URI"), "{}", d[0].detail);
        let bad = config(&[id(), (attr::SOURCE, Value::String("https://b/k".into()))]);
        assert_eq!(validate(RESTORE, Some(&bad)).len(), 1);
        let source = (attr::SOURCE, Value::String("s3://b/tenants/k.sql.gz".into()));
        let told = (attr::ALLOW_OTHER_TENANT, Value::Bool(true));
        let restore = |attrs: &[(&str, Value)]| {
            ActionConfig::decode(RESTORE, Some(&config(attrs)))
                .expect("valid")
                .expect("known")
        };
        let plain = restore(&[id(), source.clone()]);
        assert_eq!(plain.source.as_deref(), Some("s3://b/tenants/k.sql.gz"));
        assert!(!plain.allow_other_tenant, "refused unless told");
        assert!(restore(&[id(), source, told]).allow_other_tenant);
        let backup = ActionConfig::decode(BACKUP, Some(&config(&[id()])))
            .expect("valid")
            .expect("known");
        assert_eq!((backup.wait, backup.source), (None, None));
    }

    #[tokio::test]
    async fn an_invocation_without_a_configured_provider_completes_with_the_error() {
        use futures::StreamExt;
        let r = tf::invoke_action::Request {
            action_type: RESTART.into(),
            config: Some(config(&[id()])),
            ..Default::default()
        };
        let events: Vec<_> = invoke(Err(error("not configured", "", None)), &r).collect().await;
        assert_eq!(events.len(), 1);
        let Ok(tf::invoke_action::Event {
            r#type: Some(event::Type::Completed(done)),
        }) = &events[0]
        else {
            panic!("a completed event: {events:?}")
        };
        assert_eq!(done.diagnostics[0].summary, "not configured");
    }
}
