//! The data source `bbws_platform` (SPEC §8): the listener pool, per
//! listener its load balancer, tenants, rules and target groups against
//! AWS's limits, and free slots — core's one shared read of the pool
//! (`Engine::pool_loads`).

use bbws_core::placement::{self, ListenerLoad};
use magma_protocol::tfplugin6::Schema;

use crate::attr::platform as attr;
use crate::configured::Configured;
use crate::diag::core_error_diag;
use crate::model::{Tf, TfList, TfNumber, TfString, Writer};
use crate::protocol::schema::{Attr, Block};
use crate::protocol::value::Value;

/// Type name of the data source.
pub const PLATFORM: &str = "bbws_platform";

/// Fields of each element of `listeners`, with their types.
const LISTENER_FIELDS: [(&str, &str); 11] = [
    (attr::LISTENER_ARN, "\"string\""),
    (attr::LOAD_BALANCER_ARN, "\"string\""),
    (attr::LOAD_BALANCER_DNS_NAME, "\"string\""),
    (attr::TENANTS, "\"number\""),
    (attr::TENANT_IDS, "[\"list\",\"string\"]"),
    (attr::MAX_TENANTS, "\"number\""),
    (attr::RULES, "\"number\""),
    (attr::RULES_LIMIT, "\"number\""),
    (attr::TARGET_GROUPS, "\"number\""),
    (attr::TARGET_GROUPS_LIMIT, "\"number\""),
    (attr::FREE_SLOTS, "\"number\""),
];

/// `bbws_platform` data source schema.
pub fn schema() -> Schema {
    let object = LISTENER_FIELDS
        .iter()
        .map(|(f, ty)| format!("\"{f}\":{ty}"))
        .collect::<Vec<_>>()
        .join(",");
    Block::new(0)
        .description("The provider's listener pool (`listener_arn` or `listener_arns`): per listener its load balancer, the tenants on it, its rules and its load balancer's target groups against AWS's limits (100 rules per listener by default, 100 target groups per ALB, a hard limit), and the free slots left (the least of those and `max_tenants_per_listener`).")
        .attr(Attr::string(attr::ID).computed().description("The environment."))
        .attr(Attr::number(attr::MAX_TENANTS_PER_LISTENER).computed().description("The provider's `max_tenants_per_listener` (null: none)."))
        .attr(Attr::number(attr::FREE_SLOTS).computed().description("Free slots over the whole pool: how many more tenants it takes."))
        .attr(Attr::of_type(attr::LISTENERS, &format!("[\"list\",[\"object\",{{{object}}}]]")).computed().description("One object per listener, in the pool's order: `listener_arn`, `load_balancer_arn`, `load_balancer_dns_name`, `tenants` and `tenant_ids` (this environment's), `max_tenants` (the cap, null: none), `rules` and `rules_limit` (anyone's rules on the listener, the default rule left out), `target_groups` and `target_groups_limit` (attached to its load balancer), `free_slots`."))
        .into_schema()
}

/// `bbws_platform`: no configuration; everything computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformDataModel {
    pub id: TfString,
    pub max_tenants_per_listener: TfNumber,
    pub free_slots: TfNumber,
    pub listeners: Vec<ListenerModel>,
}

/// One element of `bbws_platform.listeners`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenerModel {
    pub listener_arn: TfString,
    pub load_balancer_arn: TfString,
    pub load_balancer_dns_name: TfString,
    pub tenants: TfNumber,
    pub tenant_ids: TfList,
    pub max_tenants: TfNumber,
    pub rules: TfNumber,
    pub rules_limit: TfNumber,
    pub target_groups: TfNumber,
    pub target_groups_limit: TfNumber,
    pub free_slots: TfNumber,
}

impl PlatformDataModel {
    /// The data source's value.
    pub fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::ID, &self.id)
            .set(attr::MAX_TENANTS_PER_LISTENER, &self.max_tenants_per_listener)
            .set(attr::FREE_SLOTS, &self.free_slots)
            .set_value(
                attr::LISTENERS,
                Value::List(self.listeners.iter().map(ListenerModel::to_value).collect()),
            )
            .finish()
    }
}

impl ListenerModel {
    /// The element of one listener's load.
    pub fn of(l: &ListenerLoad, cap: Option<u32>) -> Self {
        let n = |v: u32| TfNumber::of(i64::from(v));
        ListenerModel {
            listener_arn: TfString::of(l.listener_arn.clone()),
            load_balancer_arn: TfString::of(l.load_balancer_arn.clone()),
            load_balancer_dns_name: TfString::of(l.load_balancer_dns_name.clone()),
            tenants: n(u32::try_from(l.tenants.len()).unwrap_or(u32::MAX)),
            tenant_ids: TfList::of_elements(l.tenants.iter().cloned()),
            max_tenants: cap.map_or(Tf::Null, n),
            rules: n(l.rules),
            rules_limit: n(placement::MAX_RULES_PER_LISTENER),
            target_groups: n(l.target_groups),
            target_groups_limit: n(placement::MAX_TARGET_GROUPS_PER_LOAD_BALANCER),
            free_slots: n(l.free(cap)),
        }
    }

    fn to_value(&self) -> Value {
        Writer::default()
            .set(attr::LISTENER_ARN, &self.listener_arn)
            .set(attr::LOAD_BALANCER_ARN, &self.load_balancer_arn)
            .set(attr::LOAD_BALANCER_DNS_NAME, &self.load_balancer_dns_name)
            .set(attr::TENANTS, &self.tenants)
            .set(attr::TENANT_IDS, &self.tenant_ids)
            .set(attr::MAX_TENANTS, &self.max_tenants)
            .set(attr::RULES, &self.rules)
            .set(attr::RULES_LIMIT, &self.rules_limit)
            .set(attr::TARGET_GROUPS, &self.target_groups)
            .set(attr::TARGET_GROUPS_LIMIT, &self.target_groups_limit)
            .set(attr::FREE_SLOTS, &self.free_slots)
            .finish()
    }
}

/// Reads `bbws_platform`: one read of the pool, fresh.
pub async fn read(c: &Configured) -> Result<Value, magma_protocol::tfplugin6::Diagnostic> {
    let loads = c.engine.pool_loads().await.map_err(|e| core_error_diag(&e))?;
    let cap = c.platform.max_tenants_per_listener;
    let free: u32 = loads.iter().map(|l| l.free(cap)).sum();
    let m = PlatformDataModel {
        id: TfString::of(c.platform.environment.as_str()),
        max_tenants_per_listener: cap.map_or(Tf::Null, |n| TfNumber::of(i64::from(n))),
        free_slots: TfNumber::of(i64::from(free)),
        listeners: loads.iter().map(|l| ListenerModel::of(l, cap)).collect(),
    };
    Ok(m.to_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<String> {
        v.as_map().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn the_model_has_exactly_the_schemas_attributes_and_each_listener_its_fields() {
        let mut names: Vec<String> = schema()
            .block
            .map(|b| b.attributes)
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.name)
            .collect();
        names.sort();
        let load = ListenerLoad {
            listener_arn: "arn:l".into(),
            tenants: vec!["123456789012".into()],
            rules: 3,
            target_groups: 4,
            ..ListenerLoad::default()
        };
        let m = PlatformDataModel {
            listeners: vec![ListenerModel::of(&load, Some(2))],
            ..PlatformDataModel::default()
        };
        let v = m.to_value();
        assert_eq!(keys(&v), names);
        let first = v
            .get(attr::LISTENERS)
            .as_list()
            .and_then(|l| l.first())
            .cloned()
            .expect("one");
        let mut fields: Vec<String> = LISTENER_FIELDS.iter().map(|(f, _)| (*f).to_owned()).collect();
        fields.sort();
        assert_eq!(keys(&first), fields);
        assert_eq!(m.listeners[0].free_slots, TfNumber::of(1));
        assert_eq!(m.listeners[0].tenants, TfNumber::of(1));
    }
}
