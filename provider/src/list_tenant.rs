//! The list resource `bbws_tenant` for `terraform query`: every tenant of
//! the environment as an identity, a display name and, on request, the
//! whole resource object, from which Terraform writes import blocks and
//! configuration.

use magma_protocol::tfplugin6::{self as tf, Schema};

use bbws_core::observed::ObservedStatus;

use crate::configured::Configured;
use crate::diag::{core_error_diag, error};
use crate::model::{Reader, TfList, TfString};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::Value;
use crate::tenant::{self, TenantModel};

use crate::attr::list as attr;

/// The list resource's config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListTenantModel {
    /// Only these tenants.
    pub tenant_ids: TfList,
    /// Only tenants with this status.
    pub status: TfString,
}

impl ListTenantModel {
    /// The config's model.
    pub fn from_value(v: &Value) -> Self {
        let r = Reader(v);
        ListTenantModel {
            tenant_ids: r.get(attr::TENANT_IDS),
            status: r.get(attr::STATUS),
        }
    }
}

/// The list resource's config schema.
pub fn schema() -> Schema {
    Block::new(0)
        .description("Lists the tenants of the provider's environment (found by their ownership tags) for `terraform query`; each result has the identity `{environment, tenant_id}` and can generate an `import` block and configuration.")
        .attr(Attr::list_of_string(attr::TENANT_IDS).optional().description("Only these tenants (by 12-digit id)."))
        .attr(Attr::string(attr::STATUS).optional().description("Only tenants with this status: `active`, `suspended` or `incomplete` (a part is missing)."))
        .into_schema()
}

/// `ValidateListResourceConfig`.
pub fn validate(config: &ListTenantModel) -> Vec<tf::Diagnostic> {
    match config.status.as_str() {
        Some(s) if ObservedStatus::parse(s).is_none() => vec![error(
            "Invalid status filter",
            format!("status must be active, suspended or incomplete, not {s:?}"),
            Some(&[attr::STATUS.to_owned()]),
        )],
        _ => Vec::new(),
    }
}

/// The events of `ListResource`, at most `limit` (0: no limit).
pub async fn events(
    c: &Configured,
    config: &ListTenantModel,
    include_resource: bool,
    limit: i64,
) -> Vec<tf::list_resource::Event> {
    let bad = validate(config);
    if !bad.is_empty() {
        return vec![tf::list_resource::Event {
            diagnostic: bad,
            ..Default::default()
        }];
    }
    let all = match c.engine.observe_all().await {
        Ok(all) => all,
        Err(e) => {
            return vec![tf::list_resource::Event {
                diagnostic: vec![core_error_diag(&e)],
                ..Default::default()
            }];
        }
    };
    let want = config.status.as_str();
    let only: Option<Vec<String>> = config.tenant_ids.known().map(|_| config.tenant_ids.known_elements());
    let env = c.platform.environment.as_str();
    let limit = usize::try_from(limit).ok().filter(|l| *l > 0).unwrap_or(usize::MAX);
    all.iter()
        .map(|o| (o, o.summary(&c.platform)))
        .filter(|(_, s)| want.is_none_or(|w| s.status.as_str() == w))
        .filter(|(_, s)| only.as_ref().is_none_or(|ids| ids.contains(&s.tenant_id)))
        .take(limit)
        .map(|(o, s)| {
            let name = s.name.unwrap_or_else(|| "(no settings)".to_owned());
            let fqdn = s.fqdn.map(|f| format!(" — {f}")).unwrap_or_default();
            let mut event = tf::list_resource::Event {
                identity: Some(tenant::identity(env, &s.tenant_id)),
                display_name: format!("{name} ({}){fqdn}", s.tenant_id),
                ..Default::default()
            };
            if include_resource {
                match tenant::state_of_observed(&c.platform, o) {
                    Ok(m) => event.resource_object = Some(TenantModel::encode(Some(&m))),
                    Err(d) => event.diagnostic.push(d),
                }
            }
            event
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_reads_into_its_model_and_a_wrong_status_is_refused_at_it() {
        let names: Vec<String> = schema()
            .block
            .map(|b| b.attributes)
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, [attr::TENANT_IDS, attr::STATUS]);
        let config = Value::Map(
            [
                (
                    attr::TENANT_IDS.to_owned(),
                    Value::List(vec![Value::String("123456789012".into())]),
                ),
                (attr::STATUS.to_owned(), Value::String("paused".into())),
            ]
            .into(),
        );
        let m = ListTenantModel::from_value(&config);
        assert_eq!(m.tenant_ids.known_elements(), ["123456789012"]);
        let d = validate(&m);
        assert_eq!(d.len(), 1);
        assert!(d[0].detail.contains("\"paused\""), "{}", d[0].detail);
        assert!(validate(&ListTenantModel::default()).is_empty());
    }
}
