//! ELBv2: target groups, listener rules, the load balancer.

use async_trait::async_trait;

use super::*;

const TG_NOT_FOUND: &str = "TargetGroupNotFound";
const RULE_NOT_FOUND: &str = "RuleNotFound";
const LISTENER_NOT_FOUND: &str = "ListenerNotFound";
const VALIDATION: &str = "ValidationError";
/// Highest priority a listener rule may have.
const MAX_PRIORITY: u32 = 50_000;
/// Target groups one ALB may be attached to (AWS's hard limit).
const MAX_TARGET_GROUPS_PER_LOAD_BALANCER: usize = 100;

fn valid_target_group_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.starts_with("internal-")
}

fn check_health_check_path(path: &str) -> PortResult<()> {
    if !path.starts_with('/') || path.len() > 1024 {
        return Err(invalid(
            VALIDATION,
            format!("health check path {path:?} must start with / and be at most 1024 characters"),
        ));
    }
    Ok(())
}

impl FakeState {
    pub(super) fn listener_mut(&mut self, arn: &str) -> PortResult<&mut FakeListener> {
        self.listeners
            .get_mut(arn)
            .ok_or_else(|| not_found(LISTENER_NOT_FOUND, format!("One or more listeners not found: {arn}")))
    }

    fn rule_mut(&mut self, arn: &str) -> PortResult<&mut FakeRule> {
        self.listeners
            .values_mut()
            .find_map(|l| l.rules.get_mut(arn))
            .ok_or_else(|| not_found(RULE_NOT_FOUND, format!("One or more rules not found: {arn}")))
    }

    /// The target groups a load balancer is attached to: those its
    /// listeners' rules and default actions forward to (as AWS counts them
    /// against its 100 per ALB).
    fn target_groups_of(&self, load_balancer_arn: &str) -> std::collections::BTreeSet<String> {
        self.listeners
            .values()
            .filter(|l| l.load_balancer_arn == load_balancer_arn)
            .flat_map(|l| l.rules.values().map(|r| &r.action).chain([&l.default_action]))
            .filter_map(|a| match a {
                RuleAction::Forward(arn) => Some(arn.clone()),
                RuleAction::FixedResponse { .. } => None,
            })
            .collect()
    }

    /// AWS's hard limit: a forward to a target group new to the listener's
    /// load balancer fails once it holds 100 (moto does not enforce it).
    fn check_target_group_limit(&self, listener_arn: &str, action: &RuleAction) -> PortResult<()> {
        let RuleAction::Forward(tg) = action else { return Ok(()) };
        let Some(l) = self.listeners.get(listener_arn) else {
            return Ok(());
        };
        // AWS: a target group belongs to one load balancer (moto lets a
        // second one forward to it).
        let elsewhere = (self.load_balancers.keys())
            .filter(|lb| **lb != l.load_balancer_arn)
            .any(|lb| self.target_groups_of(lb).contains(tg));
        if elsewhere {
            return Err(PortError::new(
                PortErrorKind::Other,
                "TargetGroupAssociationLimit",
                "The following target groups cannot be associated with more than one load balancer",
            ));
        }
        let attached = self.target_groups_of(&l.load_balancer_arn);
        if !attached.contains(tg) && attached.len() >= MAX_TARGET_GROUPS_PER_LOAD_BALANCER {
            return Err(PortError::new(
                PortErrorKind::Other,
                "TooManyTargetGroups",
                "You've reached the limit on the number of target groups per load balancer",
            ));
        }
        Ok(())
    }

    fn check_host_and_action(&self, hosts: &[String], action: &RuleAction) -> PortResult<()> {
        // AWS: at most five condition values per rule, each 1 to 128 characters.
        if hosts.is_empty() || hosts.len() > 5 {
            return Err(invalid(
                VALIDATION,
                format!("a rule holds 1 to 5 condition values, not {}", hosts.len()),
            ));
        }
        if let Some(host) = hosts.iter().find(|h| h.is_empty() || h.len() > 128) {
            return Err(invalid(
                VALIDATION,
                format!("host header value {host:?} must be 1 to 128 characters"),
            ));
        }
        match action {
            RuleAction::Forward(arn) => {
                if !self.target_groups.contains_key(arn) {
                    return Err(not_found(
                        TG_NOT_FOUND,
                        format!("One or more target groups not found: {arn:?}"),
                    ));
                }
            }
            RuleAction::FixedResponse {
                status,
                content_type,
                body,
            } => {
                if !(200..600).contains(status) || (300..400).contains(status) {
                    return Err(invalid(
                        VALIDATION,
                        format!("fixed response status {status} must be 2XX, 4XX or 5XX"),
                    ));
                }
                let types = [
                    "text/plain",
                    "text/css",
                    "text/html",
                    "application/javascript",
                    "application/json",
                ];
                if !types.contains(&content_type.as_str()) {
                    return Err(invalid(
                        VALIDATION,
                        format!("fixed response content type {content_type:?} is not one of {types:?}"),
                    ));
                }
                if body.len() > 1024 {
                    return Err(invalid(VALIDATION, "fixed response body exceeds 1024 characters"));
                }
            }
        }
        Ok(())
    }
}

impl FakeTargetGroup {
    fn observe(&self) -> ObservedTargetGroup {
        ObservedTargetGroup {
            arn: self.arn.clone(),
            name: self.name.clone(),
            vpc_id: self.vpc_id.clone(),
            port: self.port,
            health_check_path: self.health_check_path.clone(),
            tags: self.tags.clone(),
        }
    }
}

impl FakeRule {
    fn observe(&self, listener_arn: &str) -> ObservedListenerRule {
        ObservedListenerRule {
            arn: self.arn.clone(),
            listener_arn: listener_arn.to_owned(),
            priority: self.priority,
            hosts: self.hosts.clone(),
            action: Some(self.action.clone()),
            tags: self.tags.clone(),
        }
    }
}

#[async_trait]
impl Elbv2Api for Port {
    async fn describe_target_groups(&self, names: &[String]) -> PortResult<Vec<ObservedTargetGroup>> {
        self.0
            .call("elbv2.DescribeTargetGroups", names.join(","), |s| {
                Ok(names
                    .iter()
                    .filter_map(|n| s.target_groups.values().find(|t| &t.name == n))
                    .map(FakeTargetGroup::observe)
                    .collect())
            })
            .await
    }

    async fn target_group_tags(&self, arn: &str) -> PortResult<Option<Tags>> {
        self.0
            .call("elbv2.DescribeTags", arn.to_owned(), |s| {
                Ok(s.target_groups
                    .values()
                    .find(|t| t.arn == arn)
                    .map(|t| t.observe().tags))
            })
            .await
    }

    async fn create_target_group(&self, spec: &TargetGroupSpec) -> PortResult<ObservedTargetGroup> {
        self.0
            .call("elbv2.CreateTargetGroup", spec.name.clone(), |s| {
                if !valid_target_group_name(&spec.name) {
                    return Err(invalid(
                        VALIDATION,
                        format!("target group name {:?} must be 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen", spec.name),
                    ));
                }
                if !s.vpcs.contains(&spec.vpc_id) {
                    return Err(invalid(VALIDATION, format!("The VPC ID '{}' is not found", spec.vpc_id)));
                }
                if spec.port == 0 {
                    return Err(invalid(VALIDATION, "port must be 1 to 65535"));
                }
                check_health_check_path(&spec.health_check_path)?;
                check_tags(&spec.tags, "TooManyTags")?;
                if let Some(t) = s.target_groups.values().find(|t| t.name == spec.name) {
                    // Like ELBv2: the same name with the same settings returns
                    // the existing group; different settings are a conflict.
                    if t.vpc_id == spec.vpc_id && t.port == spec.port && t.health_check_path == spec.health_check_path {
                        return Ok(t.observe());
                    }
                    return Err(exists("DuplicateTargetGroupName", "A target group with the same name exists, but with different settings"));
                }
                let arn = format!("arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/{}/{}", spec.name, s.hex(16));
                let t = FakeTargetGroup {
                    arn: arn.clone(),
                    name: spec.name.clone(),
                    vpc_id: spec.vpc_id.clone(),
                    port: spec.port,
                    health_check_path: spec.health_check_path.clone(),
                    tags: spec.tags.clone(),
                };
                let observed = t.observe();
                s.target_groups.insert(arn, t);
                Ok(observed)
            })
            .await
    }

    async fn set_health_check_path(&self, arn: &str, path: &str) -> PortResult<()> {
        self.0
            .call("elbv2.ModifyTargetGroup", arn, |s| {
                check_health_check_path(path)?;
                let t = s
                    .target_groups
                    .get_mut(arn)
                    .ok_or_else(|| not_found(TG_NOT_FOUND, format!("One or more target groups not found: {arn}")))?;
                t.health_check_path = path.to_owned();
                Ok(())
            })
            .await
    }

    async fn describe_target_health(&self, arn: &str) -> PortResult<Vec<(String, String)>> {
        self.0
            .call("elbv2.DescribeTargetHealth", arn, |s| {
                if !s.target_groups.contains_key(arn) {
                    return Err(not_found(
                        TG_NOT_FOUND,
                        format!("One or more target groups not found: {arn}"),
                    ));
                }
                // The fake's tasks start at once and pass health checks.
                let running: u32 = s
                    .services
                    .values()
                    .filter(|svc| svc.target_group_arn == arn && svc.status == ACTIVE)
                    .map(FakeService::running_count)
                    .sum();
                Ok((1..=running)
                    .map(|i| (format!("10.0.0.{i}"), "healthy".to_owned()))
                    .collect())
            })
            .await
    }

    async fn delete_target_group(&self, arn: &str) -> PortResult<()> {
        self.0
            .call("elbv2.DeleteTargetGroup", arn, |s| {
                if s.target_group_in_use(arn) {
                    return Err(PortError::new(
                        PortErrorKind::Other,
                        "ResourceInUse",
                        format!("Target group '{arn}' is currently in use by a listener or a rule"),
                    ));
                }
                // DeleteTargetGroup of an unknown ARN succeeds in ELBv2 (its
                // only documented error is ResourceInUse).
                s.target_groups.remove(arn);
                Ok(())
            })
            .await
    }

    async fn describe_rules(&self, listener_arn: &str) -> PortResult<Vec<ObservedListenerRule>> {
        self.describe_rules_tagging(listener_arn, &|_| true).await
    }

    async fn describe_rules_routing(&self, listener_arn: &str, host: &str) -> PortResult<Vec<ObservedListenerRule>> {
        self.describe_rules_tagging(listener_arn, &|r| r.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
            .await
    }

    async fn describe_tenant_rules(
        &self,
        listener_arn: &str,
        tenant: &TenantRules,
    ) -> PortResult<Vec<ObservedListenerRule>> {
        self.describe_rules_tagging(listener_arn, &|r| tenant.may_hold(r)).await
    }

    /// As AWS's port answers: one listing, then one DescribeTags per
    /// twenty selected rules; the rules not selected come without their
    /// tags, so nothing may lean on them.
    async fn describe_rules_tagging(
        &self,
        listener_arn: &str,
        read_tags: &(dyn for<'r> Fn(&'r ObservedListenerRule) -> bool + Sync),
    ) -> PortResult<Vec<ObservedListenerRule>> {
        let mut rules = self
            .0
            .call("elbv2.DescribeRules", listener_arn, |s| {
                let l = s.listener_mut(listener_arn)?;
                let mut rules: Vec<ObservedListenerRule> = l.rules.values().map(|r| r.observe(listener_arn)).collect();
                rules.sort_by_key(|r| r.priority);
                Ok(rules)
            })
            .await?;
        let selected = rules.iter().filter(|r| read_tags(r)).count();
        for _ in 0..selected.div_ceil(20) {
            self.0.call("elbv2.DescribeTags", listener_arn, |_| Ok(())).await?;
        }
        for r in rules.iter_mut().filter(|r| !read_tags(r)) {
            r.tags.clear();
        }
        Ok(rules)
    }

    async fn create_rule(&self, spec: &ListenerRuleSpec, priority: u32) -> PortResult<ObservedListenerRule> {
        self.0
            .call("elbv2.CreateRule", spec.host.clone(), |s| {
                let limit = s.max_rules_per_listener;
                s.listener_mut(&spec.listener_arn)?;
                if !(1..=MAX_PRIORITY).contains(&priority) {
                    return Err(invalid(
                        VALIDATION,
                        format!("priority {priority} must be 1 to {MAX_PRIORITY}"),
                    ));
                }
                s.check_host_and_action(&spec.hosts(), &spec.action)?;
                s.check_target_group_limit(&spec.listener_arn, &spec.action)?;
                check_tags(&spec.tags, "TooManyTags")?;
                let l = s.listener_mut(&spec.listener_arn)?;
                if l.rules.values().any(|r| r.priority == priority) {
                    return Err(PortError::new(
                        PortErrorKind::PriorityInUse,
                        "PriorityInUse",
                        format!("Priority '{priority}' is currently in use"),
                    ));
                }
                if l.rules.len() >= limit {
                    return Err(PortError::new(
                        PortErrorKind::Other,
                        "TooManyRules",
                        "You've reached the limit on the number of rules per load balancer",
                    ));
                }
                let rule_id = s.hex(16);
                let l = s.listener_mut(&spec.listener_arn)?;
                let listener_path = spec
                    .listener_arn
                    .split_once(":listener/")
                    .map(|x| x.1)
                    .unwrap_or_default();
                let arn = format!(
                    "arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:listener-rule/{listener_path}/{rule_id}"
                );
                let rule = FakeRule {
                    arn: arn.clone(),
                    priority,
                    hosts: spec.hosts(),
                    action: spec.action.clone(),
                    tags: spec.tags.clone(),
                };
                let observed = rule.observe(&spec.listener_arn);
                l.rules.insert(arn, rule);
                Ok(observed)
            })
            .await
    }

    async fn modify_rule(&self, arn: &str, hosts: &[String], action: &RuleAction) -> PortResult<()> {
        self.0
            .call("elbv2.ModifyRule", arn, |s| {
                s.rule_mut(arn)?;
                s.check_host_and_action(hosts, action)?;
                let listener = (s.listeners.iter())
                    .find(|(_, l)| l.rules.contains_key(arn))
                    .map(|(a, _)| a.clone())
                    .unwrap_or_default();
                s.check_target_group_limit(&listener, action)?;
                let rule = s.rule_mut(arn)?;
                rule.hosts = hosts.to_vec();
                rule.action = action.clone();
                Ok(())
            })
            .await
    }

    async fn delete_rule(&self, arn: &str) -> PortResult<()> {
        self.0
            .call("elbv2.DeleteRule", arn, |s| {
                s.rule_mut(arn)?;
                for l in s.listeners.values_mut() {
                    l.rules.remove(arn);
                }
                Ok(())
            })
            .await
    }

    async fn load_balancer_of_listener(&self, listener_arn: &str) -> PortResult<ListenerFacts> {
        self.0
            .call("elbv2.DescribeListeners", listener_arn, |s| {
                let lb_arn = s.listener_mut(listener_arn)?.load_balancer_arn.clone();
                let lb = s.load_balancers.get(&lb_arn).ok_or_else(|| {
                    not_found(
                        "LoadBalancerNotFound",
                        format!("One or more load balancers not found: {lb_arn}"),
                    )
                })?;
                Ok(ListenerFacts {
                    listener_arn: listener_arn.to_owned(),
                    load_balancer_arn: lb_arn.clone(),
                    load_balancer_dns_name: lb.dns_name.clone(),
                    load_balancer_zone_id: lb.canonical_hosted_zone_id.clone(),
                })
            })
            .await
    }

    async fn count_target_groups(&self, load_balancer_arn: &str) -> PortResult<u32> {
        self.0
            .call("elbv2.DescribeTargetGroups", load_balancer_arn, |s| {
                if !s.load_balancers.contains_key(load_balancer_arn) {
                    return Err(not_found(
                        "LoadBalancerNotFound",
                        format!("One or more load balancers not found: {load_balancer_arn}"),
                    ));
                }
                Ok(u32::try_from(s.target_groups_of(load_balancer_arn).len()).unwrap_or(u32::MAX))
            })
            .await
    }

    async fn add_tags(&self, arn: &str, tags: &Tags) -> PortResult<()> {
        self.0
            .call("elbv2.AddTags", arn, |s| {
                let existing: &mut Tags = if arn.contains(":targetgroup/") {
                    &mut s
                        .target_groups
                        .get_mut(arn)
                        .ok_or_else(|| not_found(TG_NOT_FOUND, format!("One or more target groups not found: {arn}")))?
                        .tags
                } else if arn.contains(":listener-rule/") {
                    &mut s.rule_mut(arn)?.tags
                } else if arn.contains(":listener/") {
                    &mut s.listener_mut(arn)?.tags
                } else if arn.contains(":loadbalancer/") {
                    &mut s
                        .load_balancers
                        .get_mut(arn)
                        .ok_or_else(|| {
                            not_found(
                                "LoadBalancerNotFound",
                                format!("One or more load balancers not found: {arn}"),
                            )
                        })?
                        .tags
                } else {
                    return Err(invalid(
                        VALIDATION,
                        format!("'{arn}' is not a valid Elastic Load Balancing ARN"),
                    ));
                };
                *existing = merged_tags(existing, tags, "TooManyTags")?;
                Ok(())
            })
            .await
    }

    async fn remove_tags(&self, arn: &str, keys: &[String]) -> PortResult<()> {
        self.0
            .call("elbv2.RemoveTags", arn, |s| {
                let tags = if arn.contains(":targetgroup/") {
                    &mut s
                        .target_groups
                        .get_mut(arn)
                        .ok_or_else(|| not_found(TG_NOT_FOUND, format!("One or more target groups not found: {arn}")))?
                        .tags
                } else if arn.contains(":listener-rule/") {
                    &mut s.rule_mut(arn)?.tags
                } else {
                    return Err(invalid(
                        VALIDATION,
                        format!("'{arn}' is not a target group or rule ARN"),
                    ));
                };
                untagged(tags, keys, VALIDATION)
            })
            .await
    }

    async fn listener_certificates(&self, listener_arn: &str) -> PortResult<Vec<String>> {
        self.fake_listener_certificates(listener_arn).await
    }

    async fn add_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()> {
        self.fake_add_listener_certificate(listener_arn, certificate_arn).await
    }

    async fn remove_listener_certificate(&self, listener_arn: &str, certificate_arn: &str) -> PortResult<()> {
        self.fake_remove_listener_certificate(listener_arn, certificate_arn)
            .await
    }
}
