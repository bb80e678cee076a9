//! Elastic Load Balancing v2: target groups and listener rules.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, HostHeaderConditionConfig, Matcher, ProtocolEnum,
    Rule, RuleCondition, Tag, TargetGroup, TargetTypeEnum,
};

use super::error::{Endpoint, on};
use super::tag_pairs;
use crate::parts::*;
use crate::ports::{Elbv2Api, PortError, PortErrorKind, PortResult};

/// Past this many names, the region's target groups are listed (400 a
/// page) rather than asked for by name (20 a call): a region holds at most
/// 3000 by default (8 pages), so a listing never costs more than asking
/// by name would. A refresh of 1000 tenants reads them in 3 pages, not 50.
const LIST_TARGET_GROUPS_ABOVE: usize = 8 * TAGS_BATCH;

/// DescribeTags takes at most 20 ARNs.
const TAGS_BATCH: usize = 20;
/// Health check answers that count as healthy (WordPress redirects).
const HEALTHY_CODES: &str = "200-399";

/// [`Elbv2Api`] on the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsElbv2 {
    client: Client,
    ep: Endpoint,
}

fn elb_tags(tags: &Tags) -> Vec<Tag> {
    tag_pairs(tags)
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn host_condition(hosts: &[String]) -> RuleCondition {
    let config = HostHeaderConditionConfig::builder()
        .set_values(Some(hosts.to_vec()))
        .build();
    RuleCondition::builder()
        .field("host-header")
        .host_header_config(config)
        .build()
}

fn to_action(action: &RuleAction) -> Action {
    match action {
        RuleAction::Forward(arn) => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(arn)
            .order(1)
            .build(),
        RuleAction::FixedResponse {
            status,
            content_type,
            body,
        } => Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(status.to_string())
                    .content_type(content_type)
                    .message_body(body)
                    .build(),
            )
            .order(1)
            .build(),
    }
}

/// The rule's terminal action as plain data.
fn from_actions(actions: &[Action]) -> Option<RuleAction> {
    let mut sorted: Vec<&Action> = actions.iter().collect();
    sorted.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
    sorted.into_iter().find_map(|a| match a.r#type()? {
        ActionTypeEnum::Forward => {
            let arn = a.target_group_arn().map(str::to_string).or_else(|| {
                a.forward_config()?
                    .target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .map(str::to_string)
            })?;
            Some(RuleAction::Forward(arn))
        }
        ActionTypeEnum::FixedResponse => {
            let f = a.fixed_response_config()?;
            Some(RuleAction::FixedResponse {
                status: f.status_code().and_then(|s| s.parse().ok()).unwrap_or(0),
                content_type: f.content_type().unwrap_or_default().to_string(),
                body: f.message_body().unwrap_or_default().to_string(),
            })
        }
        _ => None,
    })
}

fn hosts_of(rule: &Rule) -> Vec<String> {
    let mut hosts = Vec::new();
    for c in rule.conditions() {
        if c.field() != Some("host-header") {
            continue;
        }
        match c.host_header_config() {
            Some(h) if !h.values().is_empty() => hosts.extend(h.values().iter().cloned()),
            _ => hosts.extend(c.values().iter().cloned()),
        }
    }
    hosts
}

fn observe_rule(rule: &Rule, listener_arn: &str) -> Option<ObservedListenerRule> {
    if rule.is_default() == Some(true) {
        return None;
    }
    let priority: u32 = rule.priority()?.parse().ok()?;
    Some(ObservedListenerRule {
        arn: rule.rule_arn()?.to_string(),
        listener_arn: listener_arn.to_string(),
        priority,
        hosts: hosts_of(rule),
        action: from_actions(rule.actions()),
        tags: Tags::new(),
    })
}

fn observe_target_group(tg: &TargetGroup) -> ObservedTargetGroup {
    ObservedTargetGroup {
        arn: tg.target_group_arn().unwrap_or_default().to_string(),
        name: tg.target_group_name().unwrap_or_default().to_string(),
        vpc_id: tg.vpc_id().unwrap_or_default().to_string(),
        port: tg.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        health_check_path: tg.health_check_path().unwrap_or_default().to_string(),
        tags: Tags::new(),
    }
}

impl AwsElbv2 {
    pub(crate) fn new(client: Client, ep: Endpoint) -> Self {
        AwsElbv2 { client, ep }
    }

    /// `call` on each twenty of `items`, a few calls at a time; the
    /// answers in order.
    async fn in_batches<T, F, Fut>(&self, items: &[String], call: F) -> PortResult<Vec<T>>
    where
        F: Fn(Self, Vec<String>) -> Fut,
        Fut: std::future::Future<Output = PortResult<Vec<T>>>,
    {
        use futures::{StreamExt, TryStreamExt};
        let batches = items.chunks(TAGS_BATCH).map(<[String]>::to_vec);
        let pages: Vec<Vec<T>> = futures::stream::iter(batches)
            .map(|batch| call(self.clone(), batch))
            .buffered(4)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// Tags of many resources, 20 ARNs per call.
    async fn tags_of(&self, arns: &[String]) -> PortResult<BTreeMap<String, Tags>> {
        Ok(self.in_batches(arns, Self::tags_in).await?.into_iter().collect())
    }

    /// One DescribeTags call (up to twenty ARNs).
    async fn tags_in(self, batch: Vec<String>) -> PortResult<Vec<(String, Tags)>> {
        let r = self
            .client
            .describe_tags()
            .set_resource_arns(Some(batch))
            .send()
            .await
            .map_err(on(&self.ep, "DescribeTags"))?;
        Ok(r.tag_descriptions()
            .iter()
            .filter_map(|d| {
                let tags: Tags = d
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
                    .collect();
                Some((d.resource_arn()?.to_string(), tags))
            })
            .collect())
    }

    /// Every rule of a listener (all pages, the default rule left out), by
    /// priority, with the tags of those `tagged` selects.
    async fn rules_tagged(
        &self,
        listener_arn: &str,
        tagged: impl Fn(&ObservedListenerRule) -> bool,
    ) -> PortResult<Vec<ObservedListenerRule>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let r = self
                .client
                .describe_rules()
                .listener_arn(listener_arn)
                .page_size(400)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeRules"))?;
            out.extend(r.rules().iter().filter_map(|rule| observe_rule(rule, listener_arn)));
            match r.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        let arns: Vec<String> = out.iter().filter(|r| tagged(r)).map(|r| r.arn.clone()).collect();
        let mut tags = self.tags_of(&arns).await?;
        for r in &mut out {
            r.tags = tags.remove(&r.arn).unwrap_or_default();
        }
        out.sort_by_key(|r| r.priority);
        Ok(out)
    }

    /// The target groups of one batch of names. ELBv2 fails a whole call
    /// for one missing name (the usual case when a batch holds tenants
    /// about to be created): then the region's groups are listed, 400 a
    /// page, instead of asking for each name — one call or a few where
    /// asking name by name cost one per name.
    async fn target_groups_in(self, batch: Vec<String>) -> PortResult<Vec<TargetGroup>> {
        if let Some(found) = self.target_groups_named(&batch).await? {
            return Ok(found);
        }
        if batch.len() < 2 {
            return Ok(Vec::new());
        }
        self.target_groups_listed(&batch).await
    }

    /// The region's target groups under `names`, from a listing of all of
    /// them, 400 a page.
    async fn target_groups_listed(&self, names: &[String]) -> PortResult<Vec<TargetGroup>> {
        let wanted: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        let mut groups = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let r = self
                .client
                .describe_target_groups()
                .page_size(400)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeTargetGroups"))?;
            groups.extend(
                r.target_groups()
                    .iter()
                    .filter(|t| t.target_group_name().is_some_and(|n| wanted.contains(n)))
                    .cloned(),
            );
            match r.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(groups)
    }

    /// Target groups by name; `None` when one of the names is missing
    /// (ELBv2 fails the whole call then).
    async fn target_groups_named(&self, names: &[String]) -> PortResult<Option<Vec<TargetGroup>>> {
        match self
            .client
            .describe_target_groups()
            .set_names(Some(names.to_vec()))
            .send()
            .await
        {
            Ok(r) => Ok(Some(r.target_groups().to_vec())),
            Err(e) => {
                let err = super::error::sdk_error(&self.ep, "DescribeTargetGroups", e);
                if err.kind == PortErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }
}

#[async_trait]
impl Elbv2Api for AwsElbv2 {
    async fn describe_target_groups(&self, names: &[String]) -> PortResult<Vec<ObservedTargetGroup>> {
        let found: Vec<TargetGroup> = if names.len() > LIST_TARGET_GROUPS_ABOVE {
            self.target_groups_listed(names).await?
        } else {
            self.in_batches(names, Self::target_groups_in).await?
        };
        let mut out: Vec<ObservedTargetGroup> = found.iter().map(observe_target_group).collect();
        let arns: Vec<String> = out.iter().map(|t| t.arn.clone()).collect();
        let mut tags = self.tags_of(&arns).await?;
        for t in &mut out {
            t.tags = tags.remove(&t.arn).unwrap_or_default();
        }
        Ok(out)
    }

    async fn target_group_tags(&self, arn: &str) -> PortResult<Option<Tags>> {
        match self.tags_of(&[arn.to_owned()]).await {
            Ok(mut tags) => Ok(tags.remove(arn)),
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_target_group(&self, spec: &TargetGroupSpec) -> PortResult<ObservedTargetGroup> {
        let op = "CreateTargetGroup";
        let r = self
            .client
            .create_target_group()
            .name(&spec.name)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(spec.port))
            .vpc_id(&spec.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_enabled(true)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(&spec.health_check_path)
            .matcher(Matcher::builder().http_code(HEALTHY_CODES).build())
            .set_tags((!spec.tags.is_empty()).then(|| elb_tags(&spec.tags)))
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let tg = r
            .target_groups()
            .first()
            .ok_or_else(|| PortError::new(PortErrorKind::Other, op, "CreateTargetGroup returned no target group"))?;
        let mut o = observe_target_group(tg);
        o.tags = spec.tags.clone();
        Ok(o)
    }

    async fn set_health_check_path(&self, arn: &str, path: &str) -> PortResult<()> {
        self.client
            .modify_target_group()
            .target_group_arn(arn)
            .health_check_path(path)
            .send()
            .await
            .map_err(on(&self.ep, "ModifyTargetGroup"))?;
        Ok(())
    }

    async fn delete_target_group(&self, arn: &str) -> PortResult<()> {
        self.client
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteTargetGroup"))?;
        Ok(())
    }

    async fn describe_target_health(&self, arn: &str) -> PortResult<Vec<(String, String)>> {
        let r = self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeTargetHealth"))?;
        Ok(r.target_health_descriptions()
            .iter()
            .map(|d| {
                let id = d.target().and_then(|t| t.id()).unwrap_or_default().to_owned();
                let state = d
                    .target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "unknown".into());
                (id, state)
            })
            .collect())
    }

    async fn describe_rules(&self, listener_arn: &str) -> PortResult<Vec<ObservedListenerRule>> {
        self.rules_tagged(listener_arn, |_| true).await
    }

    async fn describe_rules_routing(&self, listener_arn: &str, host: &str) -> PortResult<Vec<ObservedListenerRule>> {
        self.rules_tagged(listener_arn, |r| r.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
            .await
    }

    async fn describe_tenant_rules(
        &self,
        listener_arn: &str,
        tenant: &TenantRules,
    ) -> PortResult<Vec<ObservedListenerRule>> {
        self.rules_tagged(listener_arn, |r| tenant.may_hold(r)).await
    }

    async fn describe_rules_tagging(
        &self,
        listener_arn: &str,
        read_tags: &(dyn for<'r> Fn(&'r ObservedListenerRule) -> bool + Sync),
    ) -> PortResult<Vec<ObservedListenerRule>> {
        self.rules_tagged(listener_arn, read_tags).await
    }

    async fn create_rule(&self, spec: &ListenerRuleSpec, priority: u32) -> PortResult<ObservedListenerRule> {
        let op = "CreateRule";
        let prio = i32::try_from(priority).map_err(|_| {
            PortError::new(
                PortErrorKind::InvalidInput,
                "ValidationError",
                format!("{op}: priority {priority} out of range"),
            )
        })?;
        let r = self
            .client
            .create_rule()
            .listener_arn(&spec.listener_arn)
            .priority(prio)
            .conditions(host_condition(&spec.hosts()))
            .actions(to_action(&spec.action))
            .set_tags((!spec.tags.is_empty()).then(|| elb_tags(&spec.tags)))
            .send()
            .await
            .map_err(on(&self.ep, op))?;
        let rule = r
            .rules()
            .first()
            .ok_or_else(|| PortError::new(PortErrorKind::Other, op, "CreateRule returned no rule"))?;
        let mut o = observe_rule(rule, &spec.listener_arn).unwrap_or_else(|| ObservedListenerRule {
            arn: rule.rule_arn().unwrap_or_default().to_string(),
            listener_arn: spec.listener_arn.clone(),
            priority,
            hosts: spec.hosts(),
            action: Some(spec.action.clone()),
            tags: Tags::new(),
        });
        o.tags = spec.tags.clone();
        Ok(o)
    }

    async fn modify_rule(&self, arn: &str, hosts: &[String], action: &RuleAction) -> PortResult<()> {
        self.client
            .modify_rule()
            .rule_arn(arn)
            .conditions(host_condition(hosts))
            .actions(to_action(action))
            .send()
            .await
            .map_err(on(&self.ep, "ModifyRule"))?;
        Ok(())
    }

    async fn delete_rule(&self, arn: &str) -> PortResult<()> {
        // ELBv2 answers RuleNotFound for a missing rule; emulators may accept
        // the delete silently, so look first.
        self.client
            .describe_rules()
            .rule_arns(arn)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeRules"))?;
        self.client
            .delete_rule()
            .rule_arn(arn)
            .send()
            .await
            .map_err(on(&self.ep, "DeleteRule"))?;
        Ok(())
    }

    async fn load_balancer_of_listener(&self, listener_arn: &str) -> PortResult<ListenerFacts> {
        let r = self
            .client
            .describe_listeners()
            .listener_arns(listener_arn)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeListeners"))?;
        let lb_arn = r
            .listeners()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .ok_or_else(|| {
                PortError::new(
                    PortErrorKind::NotFound,
                    "ListenerNotFound",
                    format!("DescribeListeners: no listener {listener_arn}"),
                )
            })?
            .to_string();
        let r = self
            .client
            .describe_load_balancers()
            .load_balancer_arns(&lb_arn)
            .send()
            .await
            .map_err(on(&self.ep, "DescribeLoadBalancers"))?;
        let lb = r.load_balancers().first().ok_or_else(|| {
            PortError::new(
                PortErrorKind::NotFound,
                "LoadBalancerNotFound",
                format!("DescribeLoadBalancers: no load balancer {lb_arn}"),
            )
        })?;
        Ok(ListenerFacts {
            listener_arn: listener_arn.to_string(),
            load_balancer_arn: lb_arn.clone(),
            load_balancer_dns_name: lb.dns_name().unwrap_or_default().to_string(),
            load_balancer_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
        })
    }

    async fn load_balancers_of_listeners(&self, listener_arns: &[String]) -> PortResult<Vec<ListenerFacts>> {
        let r = self
            .client
            .describe_listeners()
            .set_listener_arns(Some(listener_arns.to_vec()))
            .send()
            .await
            .map_err(on(&self.ep, "DescribeListeners"))?;
        let mut lb_of: BTreeMap<String, String> = BTreeMap::new();
        for l in r.listeners() {
            if let (Some(arn), Some(lb)) = (l.listener_arn(), l.load_balancer_arn()) {
                lb_of.insert(arn.to_string(), lb.to_string());
            }
        }
        let mut lb_arns: Vec<String> = lb_of.values().cloned().collect();
        lb_arns.sort();
        lb_arns.dedup();
        let mut lbs = BTreeMap::new();
        for batch in lb_arns.chunks(TAGS_BATCH) {
            let r = self
                .client
                .describe_load_balancers()
                .set_load_balancer_arns(Some(batch.to_vec()))
                .send()
                .await
                .map_err(on(&self.ep, "DescribeLoadBalancers"))?;
            for lb in r.load_balancers() {
                if let Some(arn) = lb.load_balancer_arn() {
                    lbs.insert(arn.to_string(), lb.clone());
                }
            }
        }
        listener_arns
            .iter()
            .map(|listener| {
                let missing = |what: &str| {
                    PortError::new(
                        PortErrorKind::NotFound,
                        "ListenerNotFound",
                        format!("DescribeListeners: no {what} for listener {listener}"),
                    )
                };
                let lb_arn = lb_of.get(listener).ok_or_else(|| missing("listener"))?;
                let lb = lbs.get(lb_arn).ok_or_else(|| missing("load balancer"))?;
                Ok(ListenerFacts {
                    listener_arn: listener.clone(),
                    load_balancer_arn: lb_arn.clone(),
                    load_balancer_dns_name: lb.dns_name().unwrap_or_default().to_string(),
                    load_balancer_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_string(),
                })
            })
            .collect()
    }

    async fn count_target_groups(&self, load_balancer_arn: &str) -> PortResult<u32> {
        let mut count = 0u32;
        let mut marker = None;
        loop {
            let r = match self
                .client
                .describe_target_groups()
                .load_balancer_arn(load_balancer_arn)
                .page_size(400)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeTargetGroups"))
            {
                Ok(r) => r,
                // AWS lists none for an ALB without target groups; moto
                // answers TargetGroupNotFound instead.
                Err(e) if e.code == "TargetGroupNotFound" => return Ok(count),
                Err(e) => return Err(e),
            };
            count = count.saturating_add(u32::try_from(r.target_groups().len()).unwrap_or(u32::MAX));
            match r.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(count)
    }

    async fn add_tags(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.client
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(elb_tags(tags)))
            .send()
            .await
            .map_err(on(&self.ep, "AddTags"))?;
        Ok(())
    }

    async fn remove_tags(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.client
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(on(&self.ep, "RemoveTags"))?;
        Ok(())
    }

    async fn listener_certificates(&self, listener_arn: &str) -> PortResult<Vec<String>> {
        let mut arns = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let r = self
                .client
                .describe_listener_certificates()
                .listener_arn(listener_arn)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(on(&self.ep, "DescribeListenerCertificates"))?;
            let sni = r.certificates().iter().filter(|c| c.is_default() != Some(true));
            arns.extend(sni.filter_map(|c| c.certificate_arn().map(str::to_owned)));
            match r.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_owned()),
                _ => return Ok(arns),
            }
        }
    }

    async fn add_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()> {
        // AWS keeps one of each; moto would list a second: look first.
        if self
            .listener_certificates(listener_arn)
            .await?
            .iter()
            .any(|c| c == certificate_arn)
        {
            return Ok(());
        }
        self.client
            .add_listener_certificates()
            .listener_arn(listener_arn)
            .certificates(Certificate::builder().certificate_arn(certificate_arn).build())
            .send()
            .await
            .map_err(on(&self.ep, "AddListenerCertificates"))?;
        Ok(())
    }

    async fn remove_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()> {
        self.client
            .remove_listener_certificates()
            .listener_arn(listener_arn)
            .certificates(Certificate::builder().certificate_arn(certificate_arn).build())
            .send()
            .await
            .map_err(on(&self.ep, "RemoveListenerCertificates"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_elasticloadbalancingv2::types::{ForwardActionConfig, TargetGroupTuple};

    #[test]
    fn rules_parse_both_condition_shapes_and_actions() {
        let legacy = Rule::builder()
            .rule_arn("arn:r")
            .priority("7")
            .is_default(false)
            .conditions(
                RuleCondition::builder()
                    .field("host-header")
                    .values("a.example")
                    .build(),
            )
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .forward_config(
                        ForwardActionConfig::builder()
                            .target_groups(TargetGroupTuple::builder().target_group_arn("arn:tg").build())
                            .build(),
                    )
                    .build(),
            )
            .build();
        let o = observe_rule(&legacy, "arn:l").expect("numbered rule");
        assert_eq!(o.priority, 7);
        assert_eq!(o.hosts, vec!["a.example".to_string()]);
        assert_eq!(o.action, Some(RuleAction::Forward("arn:tg".into())));

        let modern = Rule::builder()
            .rule_arn("arn:r2")
            .priority("12")
            .conditions(host_condition(&["b.example".to_owned()]))
            .actions(to_action(&crate::parts::suspended_action()))
            .build();
        let o = observe_rule(&modern, "arn:l").expect("numbered rule");
        assert_eq!(o.hosts, vec!["b.example".to_string()]);
        assert_eq!(o.action, Some(crate::parts::suspended_action()));

        let default = Rule::builder()
            .rule_arn("arn:d")
            .priority("default")
            .is_default(true)
            .build();
        assert!(observe_rule(&default, "arn:l").is_none());
    }
}
