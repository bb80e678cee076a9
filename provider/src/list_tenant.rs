//! The list resource `bbws_tenant` for `terraform query`: every tenant of
//! the environment as an identity, a display name and, on request, the
//! whole resource object, from which Terraform writes import blocks and
//! configuration.

use magma_protocol::tfplugin6::{self as tf, Schema};

use bbws_core::observed::ObservedStatus;

use crate::configured::Configured;
use crate::diag::{core_error_diag, error};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::{Value, encode};
use crate::tenant;

/// The list resource's config schema.
pub fn schema() -> Schema {
    Block::new(0)
        .description("Lists the tenants of the provider's environment (found by their ownership tags) for `terraform query`; each result has the identity `{environment, tenant_id}` and can generate an `import` block and configuration.")
        .attr(Attr::list_of_string("tenant_ids").optional().description("Only these tenants (by 12-digit id)."))
        .attr(Attr::string("status").optional().description("Only tenants with this status: `active`, `suspended` or `incomplete` (a part is missing)."))
        .into_schema()
}

/// `ValidateListResourceConfig`.
pub fn validate(config: &Value) -> Vec<tf::Diagnostic> {
    match config.get("status").as_str() {
        Some(s) if ObservedStatus::parse(s).is_none() => vec![error(
            "Invalid status filter",
            format!("status must be active, suspended or incomplete, not {s:?}"),
            Some(&["status".to_owned()]),
        )],
        _ => Vec::new(),
    }
}

/// The events of `ListResource`, at most `limit` (0: no limit).
pub async fn events(
    c: &Configured,
    config: &Value,
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
    let want = config.get("status").as_str();
    let only: Option<Vec<&str>> = config
        .get("tenant_ids")
        .as_list()
        .map(|l| l.iter().filter_map(Value::as_str).collect());
    let env = c.platform.environment.as_str();
    let limit = usize::try_from(limit).ok().filter(|l| *l > 0).unwrap_or(usize::MAX);
    all.iter()
        .filter(|o| want.is_none_or(|w| o.status().as_str() == w))
        .filter(|o| only.as_ref().is_none_or(|ids| ids.contains(&o.tenant_id.as_str())))
        .take(limit)
        .map(|o| {
            let name = o
                .recovered_input(&c.platform)
                .map(|i| i.name)
                .unwrap_or_else(|| "(no settings)".to_owned());
            let fqdn = o
                .routed_subdomain(&c.platform.domain)
                .map(|s| format!(" — {s}.{}", c.platform.domain))
                .unwrap_or_default();
            let mut event = tf::list_resource::Event {
                identity: Some(tenant::identity(env, &o.tenant_id)),
                display_name: format!("{name} ({}){fqdn}", o.tenant_id),
                ..Default::default()
            };
            if include_resource {
                match tenant::state_of_observed(&c.platform, o) {
                    Ok(v) => event.resource_object = Some(encode(&v)),
                    Err(d) => event.diagnostic.push(d),
                }
            }
            event
        })
        .collect()
}
