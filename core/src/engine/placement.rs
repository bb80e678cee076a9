//! The listener pool at work: each listener's load from one shared read
//! (the rules listing every observation makes, one target group count per
//! load balancer), the plan-time check that a new tenant has room, the
//! apply-time placement, and the re-check after a create that keeps two
//! concurrent applies from overfilling a listener.

use std::sync::Arc;

use super::Engine;
use super::snapshot::{Scope, Stamp};
use crate::error::{CoreError, PartOrPlatform};
use crate::observed::ObservedTenant;
use crate::parts::ObservedListenerRule;
use crate::placement::{self, ListenerLoad, PlacementClaims};
use crate::ports::{PortError, PortErrorKind};
use crate::spec::TenantSpec;

impl Engine {
    /// The load of every listener of the pool, in the pool's order, read
    /// now: the rules with the tags of the rules not seen yet only
    /// (`pool_rules_now`).
    pub async fn pool_loads(&self) -> Result<Vec<ListenerLoad>, CoreError> {
        self.loads(None).await
    }

    /// The load of every listener: from the snapshot where current for
    /// `held` (`None`: read now), and recorded.
    async fn loads(&self, held: Option<Scope>) -> Result<Vec<ListenerLoad>, CoreError> {
        let facts = self.facts().await?.clone();
        let stamp = self.snapshot().stamp_for(held.clone().unwrap_or_default());
        let from_snapshot = held.as_ref().and_then(|scope| self.snapshot().rules_for_load(scope));
        let rules = async {
            if let Some(rules) = from_snapshot {
                return Ok(rules);
            }
            let rules = Arc::new(
                self.pool_rules_now(&self.platform.listener_arns)
                    .await
                    .map_err(|e| self.rules_error(e))?,
            );
            self.snapshot()
                .record_listing(stamp.clone(), |s| &mut s.load_rules, rules.clone());
            Ok(rules)
        };
        let (rules, counts) = futures::try_join!(rules, self.target_group_counts(held.is_some(), &stamp))?;
        let env = self.platform.environment;
        Ok(facts
            .listeners
            .iter()
            .map(|l| {
                let count = counts
                    .iter()
                    .find(|(lb, _)| *lb == l.load_balancer_arn)
                    .map_or(0, |c| c.1);
                ListenerLoad::of(l, &rules, count, env)
            })
            .collect())
    }

    /// The rules of `listener_arns` as counting their load needs them, read
    /// now: one listing per listener, with the tags of the rules this
    /// process has not seen yet only (the others' ownership tags are
    /// known). Growing a fleet of 1000 on ten listeners thus costs each new
    /// tenant ten DescribeRules, not fifty DescribeTags more.
    async fn pool_rules_now(&self, listener_arns: &[String]) -> Result<Vec<ObservedListenerRule>, PortError> {
        let known = self.snapshot().rule_tags.clone();
        let unseen = |r: &ObservedListenerRule| !known.contains_key(&r.arn);
        let each = futures::future::try_join_all(
            listener_arns
                .iter()
                .map(|l| self.ports.elbv2.describe_rules_tagging(l, &unseen)),
        )
        .await?;
        let mut rules: Vec<ObservedListenerRule> = each.into_iter().flatten().collect();
        self.snapshot().learn_rule_tags(rules.iter().filter(|r| unseen(r)));
        for r in &mut rules {
            if let Some(tags) = known.get(&r.arn) {
                r.tags.clone_from(tags);
            }
        }
        Ok(rules)
    }

    /// Target groups attached to each pool load balancer, one call each.
    async fn target_group_counts(&self, shared: bool, stamp: &Stamp) -> Result<Arc<Vec<(String, u32)>>, CoreError> {
        let facts = self.facts().await?.clone();
        let fetch = async move {
            let counts = futures::future::try_join_all(
                facts
                    .listeners
                    .iter()
                    .map(|l| self.ports.elbv2.count_target_groups(&l.load_balancer_arn)),
            )
            .await?;
            Ok::<_, PortError>(
                facts
                    .listeners
                    .iter()
                    .map(|l| l.load_balancer_arn.clone())
                    .zip(counts)
                    .collect(),
            )
        };
        self.listing(shared, stamp, |s| &mut s.target_group_counts, fetch)
            .await
            .map_err(|e| CoreError::port(PartOrPlatform::Platform, "DescribeTargetGroups", e))
    }

    /// Plan time: a tenant without a rule, or one moving to another
    /// listener, needs a slot in the pool (the one it moves to), and so
    /// do the other new tenants this process plans (`claims`, one
    /// Terraform walk plans them all): fails naming `listener_arns` and
    /// how many more listeners are needed, or `listener_arn` when the
    /// pinned one is full. A single listener without a cap is not checked
    /// (AWS's quota answers at apply, as before pools).
    pub async fn check_room(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
        claims: &PlacementClaims,
    ) -> Result<(), CoreError> {
        let moving = observed.listener_rule.is_some() && self.facts().await?.move_to(spec, observed).is_some();
        if (observed.listener_rule.is_some() && !moving) || !self.platform.places_by_load() {
            return Ok(());
        }
        // An estimate within the snapshot's TTL, whatever this process
        // wrote since: `claims` counts its new tenants apart, and apply
        // places each on a fresh read (Terraform plans every tenant again
        // right before applying it; a fresh read there cost a fleet's
        // every new tenant a listing of each listener).
        let mut loads = self.loads(Some(Scope::Estimate)).await?;
        self.count_certificates(spec, &mut loads).await?;
        let cap = self.platform.max_tenants_per_listener;
        if let Some(pinned) = &spec.listener_arn {
            return match loads.iter().find(|l| &l.listener_arn == pinned) {
                Some(l) if l.free(cap) == 0 => Err(tenant_attribute(
                    "listener_full",
                    format!(
                        "listener {pinned:?} is full (no free slot); pin the tenant to another listener of listener_arns, or leave listener_arn unset"
                    ),
                )),
                _ => Ok(()),
            };
        }
        let placed: Vec<&str> = loads
            .iter()
            .flat_map(|l| l.tenants.iter().map(String::as_str))
            .collect();
        let wanted = claims.claim(&spec.tenant_id, &placed);
        placement::room(&loads, cap, wanted).map_err(|full| CoreError::Platform {
            setting: "listener_arns",
            message: full.to_string(),
        })
    }

    /// Apply time: the listener a new tenant goes on, read fresh; `None`
    /// when nothing is to be placed (the rule exists, the tenant is
    /// pinned, or the pool is one listener without a cap).
    pub(super) async fn place_new(
        &self,
        spec: &TenantSpec,
        observed: &ObservedTenant,
    ) -> Result<Option<String>, CoreError> {
        if observed.listener_rule.is_some() || !self.platform.places_by_load() {
            return Ok(None);
        }
        if let Some(pinned) = &spec.listener_arn {
            // Not placed, but its slot counts for the others this walk places.
            self.placements
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(spec.tenant_id.clone(), pinned.clone());
            return Ok(None);
        }
        let mut loads = self.pool_loads().await?;
        self.count_certificates(spec, &mut loads).await?;
        let mut placements = self
            .placements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        placements.remove(&spec.tenant_id);
        placement::count_placed(&mut loads, &placements);
        let tied =
            placement::best(&loads, self.platform.max_tenants_per_listener).map_err(|full| CoreError::Platform {
                setting: "listener_arns",
                message: full.to_string(),
            })?;
        // `best` is never empty when it answers.
        let chosen = tied[rand::Rng::random_range(&mut rand::rng(), 0..tied.len())]
            .listener_arn
            .clone();
        placements.insert(spec.tenant_id.clone(), chosen.clone());
        Ok(Some(chosen))
    }

    /// For a tenant with custom domains, which needs a certificate slot:
    /// the certificates each listener serves (one call each).
    async fn count_certificates(&self, spec: &TenantSpec, loads: &mut [ListenerLoad]) -> Result<(), CoreError> {
        if spec.custom_domains.is_empty() {
            return Ok(());
        }
        let counts = futures::future::try_join_all(
            loads
                .iter()
                .map(|l| self.ports.elbv2.listener_certificates(&l.listener_arn)),
        )
        .await
        .map_err(|e| CoreError::port(PartOrPlatform::Platform, "DescribeListenerCertificates", e))?;
        for (l, certs) in loads.iter_mut().zip(counts) {
            l.certificates = Some(u32::try_from(certs.len()).unwrap_or(u32::MAX));
        }
        Ok(())
    }

    /// A create that failed gives back the slot [`Self::place_new`] took.
    pub(super) fn unplace(&self, tenant_id: &str) {
        self.placements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(tenant_id);
    }

    /// After this run created `rule`: whether its listener now holds more
    /// than it may (a concurrent apply placed a tenant there meanwhile).
    /// Of two runs that both created, the later to read sees both rules,
    /// so at least one of them backs off (fails, and its rollback removes
    /// the rule): a listener is never left overfilled.
    pub(super) async fn recheck_after_create(&self, rule: &ObservedListenerRule) -> Result<(), PortError> {
        if !self.platform.places_by_load() {
            return Ok(());
        }
        let facts = self
            .facts()
            .await
            .map_err(|e| PortError::new(PortErrorKind::Other, "Facts", e.to_string()))?;
        let Some(listener) = facts.listener(&rule.listener_arn) else {
            return Ok(());
        };
        self.snapshot().learn_rule_tags([rule]);
        let (rules, count) = futures::try_join!(
            self.pool_rules_now(std::slice::from_ref(&rule.listener_arn)),
            self.ports.elbv2.count_target_groups(&listener.load_balancer_arn)
        )?;
        let load = ListenerLoad::of(listener, &rules, count, self.platform.environment);
        if placement::overfilled(&load, self.platform.max_tenants_per_listener) {
            return Err(PortError::new(
                PortErrorKind::Transient,
                "ListenerFilledMeanwhile",
                format!(
                    "listener {} filled up while this apply placed the tenant on it (a concurrent apply took the last slot); \
                     this run's rule is removed again — apply again to place the tenant on another listener of listener_arns",
                    rule.listener_arn
                ),
            ));
        }
        Ok(())
    }
}

/// A violation of the tenant's `listener_arn`.
fn tenant_attribute(rule: &'static str, message: String) -> CoreError {
    CoreError::Invalid(vec![crate::validate::Violation::new(&["listener_arn"], rule, message)])
}
