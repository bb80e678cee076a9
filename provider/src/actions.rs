//! Provider actions: the operating procedure's verbs that are not "make the
//! state look like this" — `bbws_tenant_restart` and
//! `bbws_tenant_rotate_credentials` — invoked with `terraform apply
//! -invoke=action.…` or from a resource's `action_trigger`. Core plans and
//! applies them ([`bbws_core::Engine::restart`],
//! [`bbws_core::Engine::rotate_credentials`]); this module decodes the
//! configuration once and streams progress.

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
/// Every action, for GetMetadata and GetProviderSchema.
pub const ALL: [&str; 2] = [RESTART, ROTATE_CREDENTIALS];

/// How long an action waits for its deployment unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The schema of an action.
pub fn schema(action: &str) -> Schema {
    let description = match action {
        RESTART => {
            "Restarts a tenant: a new ECS deployment of the revision its service runs, so that every task is replaced, waited for as an apply waits (a deployment ECS fails, or one that does not settle in time, is reported and rolled back). Nothing else of the tenant changes. A suspended tenant is refused. Leaves an audit record `restart`."
        }
        _ => {
            "Rotates a tenant's database password: a generated one is given to MySQL first (beside the old one where the server keeps dual passwords), then to the tenant's secret, and the tasks are restarted to read it — the path a new `db_password_wo_version` takes, so quarterly rotation is one scheduled `terraform apply -invoke`. The password is never shown. Leaves an audit record `rotate_credentials`."
        }
    };
    Block::new(0)
        .description(description)
        .attr(
            Attr::string(attr::TENANT_ID)
                .required()
                .description("The tenant's 12-digit id."),
        )
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
        .into_schema()
}

/// An action's configuration, decoded once.
#[derive(Debug, PartialEq)]
struct ActionConfig {
    tenant_id: String,
    wait: DeploymentWait,
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
        Ok(Some(ActionConfig {
            tenant_id,
            wait: wait.then_some(Duration::from_secs(seconds)),
        }))
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
