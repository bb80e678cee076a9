//! The ephemeral resource `bbws_tenant_credentials`: a tenant's database
//! login, read from its secret when Terraform opens it and handed to
//! whatever uses it in the same run (a migration job's provisioner, another
//! provider's configuration). Terraform never stores an ephemeral result in
//! state or plan; the password is also marked sensitive, so it is never
//! shown, and nothing here logs it.

use bbws_core::parts::DbCredentials;
use magma_protocol::tfplugin6::{self as tf, Schema};

use crate::attr::credentials as attr;
use crate::configured::Configured;
use crate::diag::{core_error_diag, error};
use crate::model::{Reader, Tf, TfNumber, TfString, Writer};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::{self, Value};

/// Type name.
pub const TENANT_CREDENTIALS: &str = "bbws_tenant_credentials";

/// The schema.
pub fn schema() -> Schema {
    let s = |name: &str, d: &str| Attr::string(name).computed().description(d);
    Block::new(0)
        .description("The database login of one tenant — host, port, database, username, password — read from the tenant's secret when Terraform opens it, for a migration job or another provider in the same run. Never in state or plan: Terraform keeps ephemeral values out of both, and the password is sensitive. Only a secret carrying the tenant's ownership tags is read.")
        .attr(Attr::string(attr::TENANT_ID).required().description("The tenant's 12-digit id."))
        .attr(s(attr::HOST, "MySQL host the tenant's tasks connect to."))
        .attr(Attr::number(attr::PORT).computed().description("MySQL port."))
        .attr(s(attr::DATABASE, "The tenant's database, `{tenant_id}_db`."))
        .attr(s(attr::USERNAME, "The tenant's MySQL user, `{tenant_id}_user`."))
        .attr(s(attr::PASSWORD, "The user's password, as the tenant's secret holds it.").sensitive())
        .into_schema()
}

/// The configuration, decoded once. `tenant_id` is `None` while unknown
/// (it comes from a resource not applied yet).
struct CredentialsConfig {
    tenant_id: Option<String>,
}

impl CredentialsConfig {
    fn decode(config: Option<&tf::DynamicValue>) -> Result<CredentialsConfig, tf::Diagnostic> {
        let v = value::decode(config.unwrap_or(&Default::default()))
            .map_err(|e| error("Unreadable configuration", e.to_string(), None))?;
        match Reader(&v).get::<TfString>(attr::TENANT_ID) {
            Tf::Unknown => Ok(CredentialsConfig { tenant_id: None }),
            Tf::Known(s) if bbws_core::validate::is_tenant_id(&s) => Ok(CredentialsConfig { tenant_id: Some(s) }),
            other => Err(error(
                "Invalid tenant_id",
                format!("tenant_id {:?} must be 12 digits", other.as_str().unwrap_or_default()),
                Some(&[attr::TENANT_ID.to_owned()]),
            )),
        }
    }
}

/// The result: the credentials, or unknown values before they can be read.
fn result(tenant_id: TfString, c: Option<&DbCredentials>) -> Value {
    let text = |f: fn(&DbCredentials) -> &str| c.map_or(Tf::Unknown, |c| TfString::of(f(c)));
    let port = c.map_or(Tf::Unknown, |c| TfNumber::of(c.port));
    Writer::default()
        .set(attr::TENANT_ID, &tenant_id)
        .set(attr::HOST, &text(|c| &c.host))
        .set(attr::PORT, &port)
        .set(attr::DATABASE, &text(|c| &c.database))
        .set(attr::USERNAME, &text(|c| &c.username))
        .set(attr::PASSWORD, &text(|c| &c.password))
        .finish()
}

/// ValidateEphemeralResourceConfig.
pub fn validate(type_name: &str, config: Option<&tf::DynamicValue>) -> Vec<tf::Diagnostic> {
    if type_name != TENANT_CREDENTIALS {
        return vec![unknown(type_name)];
    }
    CredentialsConfig::decode(config).err().into_iter().collect()
}

fn unknown(type_name: &str) -> tf::Diagnostic {
    error(
        format!("Unknown ephemeral resource type {type_name:?}"),
        format!("terraform-provider-bbws offers the ephemeral resource {TENANT_CREDENTIALS}."),
        None,
    )
}

/// OpenEphemeralResource: the credentials, or unknown values while the
/// tenant id is unknown. Nothing to renew or close: the secret is read
/// once, and a rotation is a new apply.
pub async fn open(
    configured: Result<std::sync::Arc<Configured>, tf::Diagnostic>,
    r: &tf::open_ephemeral_resource::Request,
) -> tf::open_ephemeral_resource::Response {
    let opened = async {
        if r.type_name != TENANT_CREDENTIALS {
            return Err(unknown(&r.type_name));
        }
        let Some(tenant_id) = CredentialsConfig::decode(r.config.as_ref())?.tenant_id else {
            return Ok(result(Tf::Unknown, None));
        };
        let c = configured?;
        let credentials = c
            .engine
            .tenant_credentials(&tenant_id)
            .await
            .map_err(|e| core_error_diag(&e))?;
        Ok(result(TfString::of(tenant_id), Some(&credentials)))
    }
    .await;
    let mut response = tf::open_ephemeral_resource::Response::default();
    match opened {
        Ok(v) => response.result = Some(value::encode(&v)),
        Err(d) => response.diagnostics.push(d),
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tenant_id: Value) -> tf::DynamicValue {
        value::encode(&Writer::default().set_value(attr::TENANT_ID, tenant_id).finish())
    }

    #[test]
    fn a_bad_tenant_id_is_refused_naming_the_attribute() {
        let d = validate(TENANT_CREDENTIALS, Some(&config(Value::String("12ab".into()))));
        assert_eq!(d.len(), 1);
        assert!(d[0].detail.contains("must be 12 digits"), "{}", d[0].detail);
        assert!(d[0].attribute.is_some());
        assert!(validate(TENANT_CREDENTIALS, Some(&config(Value::Unknown))).is_empty());
        assert!(validate(TENANT_CREDENTIALS, Some(&config(Value::String("123456789012".into())))).is_empty());
        assert_eq!(validate("bbws_nope", None).len(), 1);
    }

    #[test]
    fn the_result_carries_every_attribute_and_marks_the_password_sensitive() {
        let c = DbCredentials {
            host: "db".into(),
            port: 3306,
            database: "123456789012_db".into(),
            username: "123456789012_user".into(),
            password: "pw".into(),
        };
        let v = result(TfString::of("123456789012"), Some(&c));
        let block = schema().block.expect("block");
        for a in &block.attributes {
            assert_ne!(v.get(&a.name), &Value::Null, "{}", a.name);
            assert_eq!(a.sensitive, a.name == attr::PASSWORD, "{}", a.name);
        }
        assert_eq!(v.get(attr::PORT), &Value::Int(3306));
        let unknown = result(Tf::Unknown, None);
        assert_eq!(unknown.get(attr::PASSWORD), &Value::Unknown);
    }

    #[tokio::test]
    async fn an_unknown_tenant_id_opens_to_unknown_values_without_the_provider() {
        let r = tf::open_ephemeral_resource::Request {
            type_name: TENANT_CREDENTIALS.into(),
            config: Some(config(Value::Unknown)),
            ..Default::default()
        };
        let not_configured = Err(error("not configured", "", None));
        let response = open(not_configured, &r).await;
        assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
        let v = value::decode(&response.result.expect("result")).expect("decode");
        assert_eq!(v.get(attr::USERNAME), &Value::Unknown);
    }
}
