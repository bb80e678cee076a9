//! Listener-rule priorities: spread by tenant id so that concurrent
//! creators rarely collide, and picked again on `PriorityInUse`.

use std::collections::HashSet;
use std::time::Duration;

use super::Engine;
use crate::parts::{ListenerRuleSpec, ObservedListenerRule};
use crate::ports::{PortError, PortErrorKind};

/// Highest priority an ALB listener rule may have.
pub const MAX_RULE_PRIORITY: u32 = 50_000;
const PRIORITY_ATTEMPTS: u32 = 12;

impl Engine {
    /// Creates the rule for `spec.host` at a priority spread by tenant id,
    /// so that concurrent creators rarely pick the same one; on
    /// `PriorityInUse` the rules are read again and another is picked.
    ///
    /// A rule already routing the host is answered instead of a second
    /// one, and so is the rule a create made whose answer was lost (found
    /// by its host on the next read): the caller tells by the run tag
    /// whether it is its own. No listener ever gets two rules for a host
    /// from here.
    pub(super) async fn create_rule(
        &self,
        spec: &ListenerRuleSpec,
        tenant_id: &str,
    ) -> Result<ObservedListenerRule, PortError> {
        let _serialised = self.listener_lock.lock().await;
        let mut last = None;
        for attempt in 0..PRIORITY_ATTEMPTS {
            // Priorities of all, tags of the host's rule only: the caller
            // judges that one by its run tag; the others only take up
            // priorities (one DescribeTags per twenty rules saved).
            let rules = self
                .ports
                .elbv2
                .describe_rules_routing(&spec.listener_arn, &spec.host)
                .await?;
            if let Some(r) = rule_for_host(&rules, &spec.host) {
                return Ok(r.clone());
            }
            let taken: HashSet<u32> = rules.iter().map(|r| r.priority).collect();
            let Some(priority) = pick_priority(tenant_id, &taken, attempt) else {
                return Err(PortError::new(
                    PortErrorKind::Other,
                    "TooManyRules",
                    "the listener has no free rule priority",
                ));
            };
            match self.ports.elbv2.create_rule(spec, priority).await {
                Err(e) if e.kind == PortErrorKind::PriorityInUse => {
                    last = Some(e);
                    use rand::Rng;
                    let jitter = rand::rng().random_range(10..100u64);
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
                // The rule may exist with its answer lost: read once more.
                Err(e) => {
                    let rules = self
                        .ports
                        .elbv2
                        .describe_rules_routing(&spec.listener_arn, &spec.host)
                        .await;
                    return match rules.ok().as_deref().and_then(|r| rule_for_host(r, &spec.host)) {
                        Some(r) => Ok(r.clone()),
                        None => Err(e),
                    };
                }
                ok => return ok,
            }
        }
        Err(last
            .unwrap_or_else(|| PortError::new(PortErrorKind::PriorityInUse, "PriorityInUse", "no free priority found")))
    }
}

/// The rule routing `host` (host names compare case-insensitively).
fn rule_for_host<'a>(rules: &'a [ObservedListenerRule], host: &str) -> Option<&'a ObservedListenerRule> {
    rules
        .iter()
        .find(|r| r.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
}

/// Picks a free priority: a start derived from the tenant id (FNV-1a), moved
/// on each attempt, then the next free one upwards.
pub fn pick_priority(tenant_id: &str, taken: &HashSet<u32>, attempt: u32) -> Option<u32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tenant_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let span = u64::from(MAX_RULE_PRIORITY);
    let start = (h.wrapping_add(u64::from(attempt) * 7_919) % span) as u32 + 1;
    (0..MAX_RULE_PRIORITY)
        .map(|i| (start - 1 + i) % MAX_RULE_PRIORITY + 1)
        .find(|p| !taken.contains(p))
}
